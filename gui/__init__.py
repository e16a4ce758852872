"""Gradient Arena's Qt user interface (PySide6 + pyqtgraph)."""
