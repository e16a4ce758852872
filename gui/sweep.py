"""The sweep dialog: one racer's hyperparameter over a list or a range of values."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.optimizers import get_optimizer
from engine.race import RacerConfig
from engine.sweep import (
    MAX_SWEEP,
    SweepError,
    gradient_colors,
    parse_values,
    range_values,
    sweep_racers,
)

LECTURE_LRS = "0.001, 0.005, 0.01, 0.015, 0.02"  # the notes' panels of η


class SweepDialog(QDialog):
    """Choose racer, parameter and values; the preview shows labels and colours."""

    def __init__(
        self, racers: list[RacerConfig], selected: int = 0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweep a hyperparameter")
        self.racers = racers
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.racer = QComboBox()
        for c in racers:
            self.racer.addItem(c.label)
        self.racer.setCurrentIndex(min(selected, len(racers) - 1))
        form.addRow("racer", self.racer)
        self.param = QComboBox()
        form.addRow("parameter", self.param)
        modes = QHBoxLayout()
        self.mode_list = QRadioButton("values")
        self.mode_log = QRadioButton("log range")
        self.mode_lin = QRadioButton("linear range")
        self.modes = QButtonGroup(self)
        for i, b in enumerate((self.mode_list, self.mode_log, self.mode_lin)):
            self.modes.addButton(b, i)
            modes.addWidget(b)
        self.mode_list.setChecked(True)
        form.addRow("as", modes)
        self.values = QLineEdit(LECTURE_LRS)
        self.values.setToolTip("numbers separated by commas")
        form.addRow("values", self.values)
        rng = QHBoxLayout()
        self.lo = QLineEdit("1e-4")
        self.hi = QLineEdit("1e-1")
        self.count = QSpinBox()
        self.count.setRange(1, MAX_SWEEP)
        self.count.setValue(5)
        for w in (QLabel("from"), self.lo, QLabel("to"), self.hi, QLabel("count"), self.count):
            rng.addWidget(w)
        form.addRow("range", rng)
        self.replace = QCheckBox("replace the swept racer (otherwise keep it and add copies)")
        self.replace.setChecked(True)
        form.addRow(self.replace)
        lay.addLayout(form)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        lay.addWidget(self.preview)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.racer.currentIndexChanged.connect(self._fill_params)
        for sig in (
            self.param.currentIndexChanged,
            self.modes.idClicked,
            self.values.textChanged,
            self.lo.textChanged,
            self.hi.textChanged,
            self.count.valueChanged,
        ):
            sig.connect(self._update)
        self._fill_params()

    def _fill_params(self, *_a: object) -> None:
        cfg = self.racers[self.racer.currentIndex()]
        self.param.blockSignals(True)
        self.param.clear()
        for p in get_optimizer(cfg.optimizer).params:
            if p.kind in ("float", "int"):
                self.param.addItem(p.name)
                self.param.setItemData(self.param.count() - 1, p.doc, 3)
        self.param.setCurrentText("lr")
        self.param.blockSignals(False)
        self._update()

    def value_list(self) -> list[float]:
        """The values asked for; SweepError says what is wrong."""
        mode = self.modes.checkedId()
        if mode == 0:
            return parse_values(self.values.text())
        try:
            lo, hi = float(self.lo.text()), float(self.hi.text())
        except ValueError:
            raise SweepError("expected numbers for the ends of the range") from None
        return range_values(lo, hi, self.count.value(), log=mode == 1)

    def result_racers(self) -> list[RacerConfig]:
        cfg = self.racers[self.racer.currentIndex()]
        return sweep_racers(cfg, self.param.currentText(), self.value_list())

    def _update(self, *_a: object) -> None:
        list_mode = self.modes.checkedId() == 0
        self.values.setEnabled(list_mode)
        for w in (self.lo, self.hi, self.count):
            w.setEnabled(not list_mode)
        try:
            made = self.result_racers()
        except SweepError as e:
            self.preview.setText(f"<span style='color:#B00020'>{e}</span>")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        cols = gradient_colors(len(made))
        self.preview.setText(
            "  ".join(
                f"<b style='color:{c}'>■</b> {r.label}" for r, c in zip(made, cols, strict=True)
            )
        )
