"""Editors generated from the engine's ParamSpecs (one registry drives every form).

A float gets a text field (accepts 1e-3 notation) and a slider, log-scaled where the
spec says so; an int a spin box; a bool a check box. Every editor validates through
the spec and shows what is expected instead of applying a bad value.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.params import ParamError, ParamSpec

SLIDER_STEPS = 1000


def _display_range(spec: ParamSpec) -> tuple[float, float]:
    d = float(spec.default) if spec.kind in ("float", "int") else 0.0
    if spec.log:
        base = abs(d) if d != 0 else 1e-3
        lo = max(spec.lo if spec.lo > 0 else 0.0, base / 1e4)
        hi = min(spec.hi, base * 1e3)
        return lo, hi
    lo = spec.lo if math.isfinite(spec.lo) else d - max(10.0, abs(d) * 10)
    hi = spec.hi if math.isfinite(spec.hi) else max(d * 10.0, lo + 10.0, 1.0)
    if spec.hi_open:
        hi = hi - (hi - lo) * 1e-3
    return lo, hi


class FloatEditor(QWidget):
    """Text field + slider for one float parameter."""

    valueChanged = Signal(float)
    sliderReleased = Signal()
    #: a token while any slider is being dragged (None otherwise): the undo stack merges
    #: every change of one field made during one drag into one step
    active_drag: ClassVar[object | None] = None

    def __init__(self, spec: ParamSpec, value: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._value = float(value)
        self.lo, self.hi = _display_range(spec)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(1)
        lay = QHBoxLayout()
        outer.addLayout(lay)
        self.error = QLabel()  # what was expected, at the field, while the text is bad
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #B00020")
        self.error.hide()
        outer.addWidget(self.error)
        self.text = QLineEdit(f"{value:g}")
        self.text.setMaximumWidth(90)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        lay.addWidget(self.text)
        lay.addWidget(self.slider, 1)
        tip = f"{spec.doc}\nvalid: {spec.range_text()}\ndefault: {spec.default}"
        if spec.log:
            tip += "\n(slider is log-scaled)"
        self.setToolTip(tip)
        self.text.setToolTip(tip)
        self._sync_slider()
        self.text.editingFinished.connect(self._on_text)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(self._drag_start)
        self.slider.sliderReleased.connect(self._drag_end)
        self.slider.sliderReleased.connect(self.sliderReleased)

    @staticmethod
    def _drag_start() -> None:
        FloatEditor.active_drag = object()

    @staticmethod
    def _drag_end() -> None:
        FloatEditor.active_drag = None

    def value(self) -> float:
        return self._value

    def setValue(self, v: float) -> None:
        self._value = float(v)
        self.text.setText(f"{v:g}")
        self._show_error(None)
        self._sync_slider()

    def _show_error(self, message: str | None) -> None:
        self.text.setStyleSheet("background: #ffd6d6" if message else "")
        self.text.setToolTip(message or self.toolTip())
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def _to_slider(self, v: float) -> int:
        lo, hi = self.lo, self.hi
        if self.spec.log and lo > 0 and v > 0:
            u = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            u = (v - lo) / (hi - lo) if hi > lo else 0.0
        return round(min(max(u, 0.0), 1.0) * SLIDER_STEPS)

    def _from_slider(self, k: int) -> float:
        u = k / SLIDER_STEPS
        lo, hi = self.lo, self.hi
        if self.spec.log and lo > 0:
            v = 10 ** (math.log10(lo) + u * (math.log10(hi) - math.log10(lo)))
            return float(f"{v:.3g}")
        return float(f"{lo + u * (hi - lo):.4g}")

    def _sync_slider(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(self._value))
        self.slider.blockSignals(False)

    def _apply(self, v: float) -> bool:
        try:
            v = self.spec.validate(v)
        except ParamError as e:
            self._show_error(f"{self.spec.name}: {e}")
            return False
        self._show_error(None)
        if v != self._value:
            self._value = v
            self.valueChanged.emit(v)
        return True

    def _on_text(self) -> None:
        try:
            v = float(self.text.text())
        except ValueError:
            self._show_error(f"{self.spec.name}: expected a number, e.g. 0.01 or 1e-3")
            return
        if self._apply(v):
            self._sync_slider()

    def _on_slider(self, k: int) -> None:
        v = self._from_slider(k)
        if self._apply(v):
            self.text.setText(f"{v:g}")


class IntEditor(QSpinBox):
    """Spin box for one int parameter."""

    def __init__(self, spec: ParamSpec, value: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        lo = int(spec.lo) if math.isfinite(spec.lo) else -(10**9)
        hi = int(spec.hi) if math.isfinite(spec.hi) else 10**9
        self.setRange(lo, hi)
        self.setValue(int(value))
        self.setToolTip(f"{spec.doc}\nvalid: {spec.range_text()}\ndefault: {spec.default}")


class BigIntEditor(QLineEdit):
    """A text field for an int parameter beyond a spin box's 32 bits (e.g. a seed)."""

    valueChanged = Signal(int)

    def __init__(self, spec: ParamSpec, value: int, parent: QWidget | None = None) -> None:
        super().__init__(str(int(value)), parent)
        self.spec = spec
        self._value = int(value)
        self._tip = f"{spec.doc}\nvalid: {spec.range_text()}\ndefault: {spec.default}"
        self.setToolTip(self._tip)
        self.editingFinished.connect(self._on_edit)

    def value(self) -> int:
        return self._value

    def setValue(self, v: int) -> None:
        self._value = int(v)
        self.setText(str(self._value))
        self.setStyleSheet("")

    def _on_edit(self) -> None:
        try:
            v = int(self.spec.validate(int(self.text().strip())))
        except (ValueError, ParamError) as e:
            self.setStyleSheet("background: #ffd6d6")
            msg = (
                e if isinstance(e, ParamError) else f"expected an integer, {self.spec.range_text()}"
            )
            self.setToolTip(f"{self.spec.name}: {msg}")
            return
        self.setStyleSheet("")
        self.setToolTip(self._tip)
        if v != self._value:
            self._value = v
            self.valueChanged.emit(v)


INT32 = 2**31 - 1


class BoolEditor(QCheckBox):
    """Check box for one bool parameter."""

    def __init__(self, spec: ParamSpec, value: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setChecked(bool(value))
        self.setToolTip(f"{spec.doc}\ndefault: {spec.default}")


class ParamForm(QWidget):
    """A form of editors for a tuple of ParamSpecs; emits ``changed(name, value)``."""

    changed = Signal(str, object)

    def __init__(
        self, specs: tuple[ParamSpec, ...], values: dict[str, Any], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.specs = specs
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for spec in specs:
            v = values.get(spec.name, spec.default)
            ed: QWidget
            if spec.kind == "float":
                ed = FloatEditor(spec, float(v))
                ed.valueChanged.connect(lambda val, n=spec.name: self.changed.emit(n, val))
            elif spec.kind == "int" and (spec.hi > INT32 or spec.lo < -INT32):
                ed = BigIntEditor(spec, int(v))
                ed.valueChanged.connect(lambda val, n=spec.name: self.changed.emit(n, int(val)))
            elif spec.kind == "int":
                ed = IntEditor(spec, int(v))
                ed.valueChanged.connect(lambda val, n=spec.name: self.changed.emit(n, int(val)))
            elif spec.kind == "bool":
                ed = BoolEditor(spec, bool(v))
                ed.toggled.connect(lambda val, n=spec.name: self.changed.emit(n, bool(val)))
            else:
                ed = _ListEditor(spec, v)
                ed.listChanged.connect(lambda val, n=spec.name: self.changed.emit(n, val))
            label = spec.name + (f" ({spec.symbol})" if spec.symbol else "")
            form.addRow(label, ed)
            self.editors[spec.name] = ed

    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values`` without emitting; an editor already showing its value is left
        alone (a slider being dragged must not jump to the rounded value)."""
        for name, ed in self.editors.items():
            if name not in values:
                continue
            ed.blockSignals(True)
            if isinstance(ed, FloatEditor):
                if ed.value() != float(values[name]) or not ed.error.isHidden():
                    ed.setValue(float(values[name]))
            elif isinstance(ed, (IntEditor, BigIntEditor)):
                ed.setValue(int(values[name]))
            elif isinstance(ed, BoolEditor):
                ed.setChecked(bool(values[name]))
            elif isinstance(ed, _ListEditor):
                ed.set_list(values[name])
            ed.blockSignals(False)


class _ListEditor(QLineEdit):
    """Comma-separated numbers (milestones) or JSON-ish wells; validated by the spec."""

    listChanged = Signal(object)

    def __init__(self, spec: ParamSpec, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.set_list(value)
        self.setToolTip(f"{spec.doc}\nvalid: {spec.range_text()}")
        self.editingFinished.connect(self._on_edit)

    def set_list(self, value: Any) -> None:
        if self.spec.kind == "wells":
            self.setText("; ".join(", ".join(f"{c:g}" for c in w) for w in value))
        else:
            self.setText(", ".join(f"{c:g}" for c in value))

    def _on_edit(self) -> None:
        try:
            if self.spec.kind == "wells":
                raw: Any = [
                    [float(c) for c in part.split(",")]
                    for part in self.text().split(";")
                    if part.strip()
                ]
            else:
                raw = [float(c) for c in self.text().split(",") if c.strip()]
            val = self.spec.validate(raw)
        except (ValueError, ParamError) as e:
            self.setStyleSheet("background: #ffd6d6")
            self.setToolTip(f"{self.spec.name}: {e}")
            return
        self.setStyleSheet("")
        self.listChanged.emit(val)
