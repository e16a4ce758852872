"""Gradient Arena engine: landscapes, optimizers, schedules and the race runner.

The engine never imports Qt (an import-linter contract in pyproject.toml checks it).
"""

__version__ = "0.1.0"
