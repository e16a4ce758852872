"""The side panel's racer editors, generated from the engine registry."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
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


class RacerEditor(QFrame):
    """Enable, colour, label, optimizer, hyperparameters and schedule of one racer."""

    paramsChanged = Signal(object, dict)  # editor, {name: value}
    scheduleChanged = Signal(object)
    optimizerChanged = Signal(object)
    enabledChanged = Signal(object, bool)
    styleChanged = Signal(object)  # label or colour
    duplicateRequested = Signal(object)
    removeRequested = Signal(object)
    selected = Signal(object)

    def __init__(self, cfg: RacerConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cfg = cfg
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        head = QHBoxLayout()
        self.enable = QCheckBox()
        self.enable.setChecked(cfg.enabled)
        self.enable.setToolTip("take part in the race")
        self.color_btn = QPushButton()
        self.color_btn.setFixedWidth(28)
        self.color_btn.setToolTip("trail colour")
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
        lay.addLayout(sform)
        self.sched_form = ParamForm(get_schedule(cfg.schedule).all_params, cfg.schedule_params)
        lay.addWidget(self.sched_form)
        self.sched_formula = QLabel(get_schedule(cfg.schedule).formula)
        self.sched_formula.setWordWrap(True)
        self.sched_formula.setStyleSheet("color: #555")
        lay.addWidget(self.sched_formula)
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

    def mousePressEvent(self, ev: Any) -> None:
        self.selected.emit(self)
        super().mousePressEvent(ev)

    def set_selected(self, on: bool) -> None:
        self.setStyleSheet("RacerEditor { border: 2px solid #0072B2; }" if on else "")

    def _set_color_button(self) -> None:
        self.color_btn.setStyleSheet(f"background: {self.cfg.color}; border: 1px solid #444")

    def _on_enable(self, on: bool) -> None:
        self.cfg.enabled = on
        self.enabledChanged.emit(self, on)

    def _pick_color(self) -> None:
        c = QColorDialog.getColor(QColor(self.cfg.color or "#000000"), self, "Trail colour")
        if c.isValid():
            self.cfg.color = c.name()
            self._set_color_button()
            self.styleChanged.emit(self)

    def _on_label(self) -> None:
        text = self.label.text().strip() or self.cfg.optimizer
        if text != self.cfg.label:
            self.cfg.label = text
            self.styleChanged.emit(self)

    def _on_param(self, name: str, value: Any) -> None:
        self.paramsChanged.emit(self, {name: value})

    def _on_optimizer(self, name: str) -> None:
        opt = get_optimizer(name)
        self.cfg.optimizer = name
        self.cfg.params = opt.resolve({})
        if self.cfg.label in OPTIMIZERS:
            self.cfg.label = name
            self.label.setText(name)
        new = ParamForm(opt.params, self.cfg.params)
        self.layout().replaceWidget(self.params, new)
        self.params.deleteLater()
        self.params = new
        self.params.changed.connect(self._on_param)
        self.optimizerChanged.emit(self)

    def _on_schedule(self, name: str) -> None:
        sch = get_schedule(name)
        self.cfg.schedule = name
        self.cfg.schedule_params = sch.resolve({})
        new = ParamForm(sch.all_params, self.cfg.schedule_params)
        self.layout().replaceWidget(self.sched_form, new)
        self.sched_form.deleteLater()
        self.sched_form = new
        self.sched_form.changed.connect(self._on_sched_param)
        self.sched_formula.setText(sch.formula)
        self.scheduleChanged.emit(self)

    def _on_sched_param(self, name: str, value: Any) -> None:
        self.cfg.schedule_params = {**self.cfg.schedule_params, name: value}
        self.scheduleChanged.emit(self)
