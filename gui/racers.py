"""The side panel's racer editors, generated from the engine registry.

An editor shows a racer's config and emits the values the user asks for; it changes no
config itself. The window passes the values to the session, and the session's answer
comes back through :meth:`RacerEditor.show_config` (a refused value is shown undone).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.optimizers import OPTIMIZERS, get_optimizer
from engine.race import RacerConfig
from engine.schedules import SCHEDULES, get_schedule
from gui.editors import ParamForm
from gui.palette import line_icon


class RacerEditor(QFrame):
    """Enable, colour, label, optimizer, hyperparameters and schedule of one racer."""

    paramsChanged = Signal(object, dict)  # editor, {name: value}
    scheduleChanged = Signal(object, str, dict, str)  # editor, name, params, unit
    optimizerChanged = Signal(object, str)  # editor, optimizer name
    enabledChanged = Signal(object, bool)
    styleChanged = Signal(object, str, str)  # editor, label, colour
    startChanged = Signal(object, object)  # editor, tuple of floats or None (scenario start)
    duplicateRequested = Signal(object)
    removeRequested = Signal(object)
    selected = Signal(object)

    def __init__(
        self, cfg: RacerConfig, perceptron: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.cfg = cfg  # what is shown (the editor's own copy; never a racer's config)
        self.perceptron = perceptron
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = self._column = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        head = QHBoxLayout()
        self.enable = QCheckBox()
        self.enable.setChecked(cfg.enabled)
        self.enable.setToolTip("take part in the race")
        # the racer's line as drawn (colour and, where colours repeat, style); a click
        # picks another colour
        self.line_style = Qt.PenStyle.SolidLine
        self.color_btn = QPushButton()
        self.color_btn.setFixedWidth(48)
        self.color_btn.setIconSize(QSize(40, 12))
        self.color_btn.setToolTip("the racer's line: its colour (click to change) and style")
        self.label = QLineEdit(cfg.label)
        self.dup = QPushButton("Copy")
        self.dup.setToolTip("duplicate this racer")
        self.dup.setFixedWidth(48)
        self.rm = QPushButton("×")
        self.rm.setToolTip("remove this racer")
        self.rm.setFixedWidth(28)
        for w in (self.enable, self.color_btn, self.label, self.dup, self.rm):
            head.addWidget(w)
        lay.addLayout(head)
        form = QFormLayout()
        self.opt_box = QComboBox()
        for name, opt in OPTIMIZERS.items():
            self.opt_box.addItem(name, name)
            self.opt_box.setItemData(self.opt_box.count() - 1, opt.title, 3)  # tooltip role
        self.opt_box.setCurrentText(cfg.optimizer)
        form.addRow("optimizer", self.opt_box)
        lay.addLayout(form)
        self.params = ParamForm(get_optimizer(cfg.optimizer).params, cfg.params)
        lay.addWidget(self.params)
        sform = QFormLayout()
        self.sched_box = QComboBox()
        for name, s in SCHEDULES.items():
            self.sched_box.addItem(name, name)
            self.sched_box.setItemData(self.sched_box.count() - 1, s.formula, 3)
        self.sched_box.setCurrentText(cfg.schedule)
        sform.addRow("schedule", self.sched_box)
        self.unit_box = QComboBox()
        self.unit_box.addItem("step (t counts updates)", "step")
        self.unit_box.addItem("epoch (t counts epochs)", "epoch")
        self.unit_box.setCurrentIndex(self.unit_box.findData(cfg.schedule_unit))
        self.unit_box.setToolTip("what the schedule's t counts")
        if perceptron:
            sform.addRow("schedule t", self.unit_box)
        else:
            self.unit_box.hide()
        lay.addLayout(sform)
        self.sched_form = ParamForm(get_schedule(cfg.schedule).all_params, cfg.schedule_params)
        lay.addWidget(self.sched_form)
        self.sched_formula = QLabel(get_schedule(cfg.schedule).formula)
        self.sched_formula.setWordWrap(True)
        self.sched_formula.setStyleSheet("color: #555")
        lay.addWidget(self.sched_formula)
        start_form = QFormLayout()
        self.start = QLineEdit(", ".join(f"{v:g}" for v in cfg.start) if cfg.start else "")
        self.start.setPlaceholderText("the scenario's start")
        self.start.setToolTip(
            "this racer's own start: "
            + ("w1, w2, b" if perceptron else "x, y")
            + " (blank: the scenario's start)"
        )
        start_form.addRow("own start", self.start)
        lay.addLayout(start_form)
        self.start_error = QLabel()
        self.start_error.setStyleSheet("color: #B00020")
        self.start_error.setWordWrap(True)
        self.start_error.hide()
        lay.addWidget(self.start_error)
        self._set_color_button()
        self.enable.toggled.connect(lambda on: self._on_enable(on))
        self.color_btn.clicked.connect(self._pick_color)
        self.label.editingFinished.connect(self._on_label)
        self.dup.clicked.connect(lambda: self.duplicateRequested.emit(self))
        self.rm.clicked.connect(lambda: self.removeRequested.emit(self))
        self.opt_box.currentTextChanged.connect(self._on_optimizer)
        self.sched_box.currentTextChanged.connect(self._on_schedule)
        self.params.changed.connect(self._on_param)
        self.sched_form.changed.connect(self._on_sched_param)
        self.unit_box.activated.connect(self._on_unit)
        self.start.editingFinished.connect(self._on_start)

    def _on_unit(self, _i: int) -> None:
        unit = self.unit_box.currentData()
        if unit != self.cfg.schedule_unit:
            c = self.cfg
            self.scheduleChanged.emit(self, c.schedule, dict(c.schedule_params), unit)

    def _on_start(self) -> None:
        text = self.start.text().strip()
        dim = 3 if self.perceptron else 2
        if not text:
            if self.cfg.start is not None:
                self.startChanged.emit(self, None)
            self.show_start_error(None)
            return
        try:
            pt = tuple(float(t) for t in text.replace(";", ",").split(",") if t.strip())
        except ValueError:
            pt = ()
        if len(pt) != dim or not all(math.isfinite(v) for v in pt):
            what = "w1, w2, b" if self.perceptron else "x, y"
            self.show_start_error(f"start: expected {dim} finite numbers {what}, got {text!r}")
            return
        self.show_start_error(None)
        if pt != self.cfg.start:
            self.startChanged.emit(self, pt)

    def show_start_error(self, message: str | None) -> None:
        self.start.setStyleSheet("background: #ffd6d6" if message else "")
        self.start_error.setText(message or "")
        self.start_error.setVisible(bool(message))

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        self.selected.emit(self)
        super().mousePressEvent(ev)

    def set_selected(self, on: bool) -> None:
        self.setStyleSheet("RacerEditor { border: 2px solid #0072B2; }" if on else "")

    def set_line_style(self, style: Qt.PenStyle) -> None:
        """The style the racer's line is drawn in (gui.palette.line_styles)."""
        if style != self.line_style:
            self.line_style = style
            self._set_color_button()

    def _set_color_button(self) -> None:
        self.color_btn.setIcon(line_icon(self.cfg.color or "#000000", self.line_style))
        self.color_btn.setStyleSheet("background: white; border: 1px solid #444")

    def _on_enable(self, on: bool) -> None:
        self.enabledChanged.emit(self, on)

    def _pick_color(self) -> None:
        c = QColorDialog.getColor(QColor(self.cfg.color or "#000000"), self, "Trail colour")
        if c.isValid():
            self.styleChanged.emit(self, self.cfg.label, c.name())

    def _on_label(self) -> None:
        text = self.label.text().strip() or self.cfg.optimizer
        if text != self.cfg.label:
            self.styleChanged.emit(self, text, self.cfg.color or "")

    def _on_param(self, name: str, value: Any) -> None:
        self.paramsChanged.emit(self, {name: value})

    def _on_optimizer(self, name: str) -> None:
        if name != self.cfg.optimizer:
            self.optimizerChanged.emit(self, name)

    def _on_schedule(self, name: str) -> None:
        if name != self.cfg.schedule:
            self.scheduleChanged.emit(self, name, {}, self.cfg.schedule_unit)

    def _on_sched_param(self, name: str, value: Any) -> None:
        c = self.cfg
        params = {**c.schedule_params, name: value}
        self.scheduleChanged.emit(self, c.schedule, params, c.schedule_unit)

    # ------------------------------------------------------------ showing
    def show_config(self, cfg: RacerConfig) -> None:
        """Show ``cfg`` (the session's racer, copied) without emitting anything."""
        old, self.cfg = self.cfg, cfg
        widgets = (self.enable, self.label, self.opt_box, self.sched_box, self.unit_box)
        for w in widgets:
            w.blockSignals(True)
        self.enable.setChecked(cfg.enabled)
        self.label.setText(cfg.label)
        self.opt_box.setCurrentText(cfg.optimizer)
        self.sched_box.setCurrentText(cfg.schedule)
        self.unit_box.setCurrentIndex(self.unit_box.findData(cfg.schedule_unit))
        for w in widgets:
            w.blockSignals(False)
        self._set_color_button()
        if cfg.optimizer != old.optimizer:
            self.params = self._replace_form(
                self.params, ParamForm(get_optimizer(cfg.optimizer).params, cfg.params)
            )
            self.params.changed.connect(self._on_param)
        else:
            self.params.set_values(cfg.params)
        if cfg.schedule != old.schedule:
            sch = get_schedule(cfg.schedule)
            self.sched_form = self._replace_form(
                self.sched_form, ParamForm(sch.all_params, cfg.schedule_params)
            )
            self.sched_form.changed.connect(self._on_sched_param)
            self.sched_formula.setText(sch.formula)
        else:
            self.sched_form.set_values(cfg.schedule_params)
        self.start.setText(", ".join(f"{v:g}" for v in cfg.start) if cfg.start else "")
        self.show_start_error(None)

    def _replace_form(self, old: ParamForm, new: ParamForm) -> ParamForm:
        self._column.replaceWidget(old, new)
        old.deleteLater()
        return new
