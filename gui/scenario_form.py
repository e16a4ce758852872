"""The scenario's own fields (name, description, seed, tolerance, start, view, data).

The racers, the landscape and its parameters, the steps and the gradient noise are
edited in the Race panel; this form holds the rest of the file, so that every key of
a scenario can be edited in the window. A field does not check its value itself: it
emits ``edited(key, value)`` with the key path of the scenario file ("view.x_range"),
the window validates the whole scenario with the engine's one validation
(:func:`engine.scenario.scenario_from_dict`) and hands the problems back with
:meth:`ScenarioForm.show_problems`, which shows each at its field.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.data import GENERATORS
from engine.scenario import Problem, Scenario
from gui.editors import ParamForm

#: emitted as the value of a key that should be removed from the file (e.g. "auto")
DELETE = object()
ERROR_STYLE = "background: #ffd6d6"


class _TextArea(QPlainTextEdit):
    """Multi-line text that commits when it loses focus."""

    committed = Signal(str)

    def focusOutEvent(self, ev: QFocusEvent) -> None:
        self.committed.emit(self.toPlainText())
        super().focusOutEvent(ev)


def _num_list(text: str) -> list[float]:
    return [float(t) for t in text.replace(";", ",").split(",") if t.strip()]


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


class ScenarioForm(QWidget):
    """Every scenario field not in the Race panel, with its error shown in place."""

    edited = Signal(str, object)  # key path, value (or DELETE)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._perceptron = False
        self._shown_description = ""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.general_error = self._error_label()
        outer.addWidget(self.general_error)

        about = QGroupBox("Scenario")
        form = QFormLayout(about)
        self.name = QLineEdit()
        self._row(form, "name", "name", self.name, "the title shown in the window")
        self.name.editingFinished.connect(lambda: self._emit("name", self.name.text().strip()))
        self.description = _TextArea()
        self.description.setPlaceholderText("What to notice in this race (shown in the window)")
        self.description.setFixedHeight(90)
        self._row(form, "description", "description", self.description, "free text")
        self.description.committed.connect(self._on_description)
        self.seed = QLineEdit()
        self._row(form, "seed", "seed", self.seed, "integer ≥ 0: gradient noise, shuffling, data")
        self.seed.editingFinished.connect(lambda: self._int("seed", self.seed.text()))
        self.tol_loss = QLineEdit()
        tip = "a run has converged when |f − f*| ≤ this (landscapes with a known f*)"
        self._row(form, "tolerance.loss", "tolerance |f − f*|", self.tol_loss, tip)
        self.tol_loss.editingFinished.connect(
            lambda: self._float("tolerance.loss", self.tol_loss.text())
        )
        self.tol_grad = QLineEdit()
        self._row(form, "tolerance.grad", "tolerance |∇f|", self.tol_grad,
                  "…or when the gradient norm is ≤ this")  # fmt: skip
        self.tol_grad.editingFinished.connect(
            lambda: self._float("tolerance.grad", self.tol_grad.text())
        )
        self.tol_div = QLineEdit()
        self._row(form, "tolerance.divergence", "divergence factor", self.tol_div,
                  "a run has diverged once its loss gap grows beyond this × its gap at the "
                  "start (> 1)")  # fmt: skip
        self.tol_div.editingFinished.connect(
            lambda: self._float("tolerance.divergence", self.tol_div.text())
        )
        self.start = QLineEdit()
        tip = "where every racer starts: x, y (landscape) or w1, w2, b (perceptron)"
        self._row(form, "objective.start", "start", self.start, tip)
        self.start.editingFinished.connect(self._on_start)
        outer.addWidget(about)

        self.view_box = QGroupBox("View")
        vform = QFormLayout(self.view_box)
        self.x_range = QLineEdit()
        self.x_range.setPlaceholderText("auto")
        self._row(vform, "view.x_range", "x range", self.x_range, "lo, hi (blank: the map's own)")
        self.x_range.editingFinished.connect(lambda: self._pair("view.x_range", self.x_range))
        self.y_range = QLineEdit()
        self.y_range.setPlaceholderText("auto")
        self._row(vform, "view.y_range", "y range", self.y_range, "lo, hi (blank: the map's own)")
        self.y_range.editingFinished.connect(lambda: self._pair("view.y_range", self.y_range))
        self.levels = QLineEdit()
        self.levels.setPlaceholderText("auto")
        self._row(vform, "view.levels", "contour levels", self.levels, "1 … 200 (blank: auto)")
        self.levels.editingFinished.connect(self._on_levels)
        self.log_color = QComboBox()
        self.log_color.addItems(["auto", "log", "linear"])
        self._row(vform, "view.log_color", "colour scale", self.log_color,
                  "heat-map colour scale of the loss")  # fmt: skip
        self.log_color.activated.connect(self._on_log_color)
        outer.addWidget(self.view_box)

        self.data_box = QGroupBox("Perceptron data and training")
        dform = QFormLayout(self.data_box)
        self.data_kind = QComboBox()
        for name, g in GENERATORS.items():
            self.data_kind.addItem(name, name)
            self.data_kind.setItemData(self.data_kind.count() - 1, g.description, 3)
        self.data_kind.addItem("CSV file", "csv")
        self.data_kind.addItem("rows in the file", "rows")  # data = { rows = [...] }
        self._row(dform, "objective.data", "data set", self.data_kind,
                  "a seeded generator, or a CSV file with columns x1, x2, y")  # fmt: skip
        self.data_kind.activated.connect(self._on_data_kind)
        self.csv_row = QWidget()
        ch = QHBoxLayout(self.csv_row)
        ch.setContentsMargins(0, 0, 0, 0)
        self.csv_path = QLineEdit()
        self.csv_path.editingFinished.connect(self._on_csv_text)
        pick = QPushButton("…")
        pick.setFixedWidth(28)
        pick.clicked.connect(self._pick_csv)
        ch.addWidget(self.csv_path, 1)
        ch.addWidget(pick)
        dform.addRow("CSV", self.csv_row)
        self.data_params = ParamForm((), {})
        self._data_form = dform
        dform.addRow(self.data_params)
        self._data: dict[str, Any] = {}
        self.batch = QLineEdit()
        self._row(dform, "objective.batch_size", "batch size", self.batch,
                  "rows per update: 1 (stochastic), B (mini-batch) or full (batch)")  # fmt: skip
        self.batch.editingFinished.connect(self._on_batch)
        self.epochs = QLineEdit()
        self._row(dform, "objective.epochs", "epochs", self.epochs, "passes over the data")
        self.epochs.editingFinished.connect(
            lambda: self._int("objective.epochs", self.epochs.text())
        )
        self.val_frac = QLineEdit()
        self._row(dform, "objective.validation_fraction", "validation fraction", self.val_frac,
                  "share of rows held out for validation (0 … 0.9)")  # fmt: skip
        self.val_frac.editingFinished.connect(
            lambda: self._float("objective.validation_fraction", self.val_frac.text())
        )
        self.standardize = QCheckBox("standardise x1, x2")
        tip = "scale x1, x2 by the training rows' mean and standard deviation (shown in the window)"
        self._row(dform, "objective.standardize", "", self.standardize, tip)
        self.standardize.toggled.connect(lambda on: self._emit("objective.standardize", on))
        outer.addWidget(self.data_box)
        outer.addStretch(1)

    # ------------------------------------------------------------ building
    @staticmethod
    def _error_label() -> QLabel:
        lab = QLabel()
        lab.setWordWrap(True)
        lab.setStyleSheet("color: #B00020")
        lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lab.hide()
        return lab

    def _row(self, form: QFormLayout, key: str, label: str, w: QWidget, tip: str) -> None:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(1)
        v.addWidget(w)
        err = self._error_label()
        v.addWidget(err)
        w.setToolTip(tip)
        form.addRow(label, box)
        self.inputs[key] = w
        self.errors[key] = err

    # ------------------------------------------------------------ parsing -> edited
    def _emit(self, key: str, value: Any) -> None:
        self.edited.emit(key, value)

    def _local_error(self, key: str, message: str) -> None:
        self.show_problems([Problem("", key, message)])

    def _int(self, key: str, text: str) -> None:
        try:
            v = int(text.strip())
        except ValueError:
            self._local_error(key, f"expected an integer, got {text.strip()!r}")
            return
        self._emit(key, v)

    def _float(self, key: str, text: str) -> None:
        try:
            v = float(text.strip())
        except ValueError:
            self._local_error(key, f"expected a number such as 1e-6, got {text.strip()!r}")
            return
        self._emit(key, v)

    def _pair(self, key: str, w: QLineEdit) -> None:
        text = w.text().strip()
        if not text or text == "auto":
            self._emit(key, DELETE)
            return
        try:
            self._emit(key, _num_list(text))
        except ValueError:
            self._local_error(key, f"expected two numbers 'lo, hi' or blank, got {text!r}")

    def _on_description(self, text: str) -> None:
        if text != self._shown_description:
            self._emit("description", text)

    def _on_start(self) -> None:
        text = self.start.text()
        try:
            self._emit("objective.start", _num_list(text))
        except ValueError:
            self._local_error("objective.start", f"expected numbers separated by commas, "
                              f"got {text.strip()!r}")  # fmt: skip

    def _on_levels(self) -> None:
        text = self.levels.text().strip()
        if not text or text == "auto":
            self._emit("view.levels", DELETE)
        else:
            self._int("view.levels", text)

    def _on_log_color(self, i: int) -> None:
        self._emit("view.log_color", (DELETE, True, False)[i])

    def _on_batch(self) -> None:
        text = self.batch.text().strip()
        if text.lower() == "full":
            self._emit("objective.batch_size", "full")
        else:
            self._int("objective.batch_size", text)

    def _on_data_kind(self, _i: int) -> None:
        kind = self.data_kind.currentData()
        if kind == "csv":
            self._data_form.setRowVisible(self.csv_row, True)
            self.data_params.setVisible(False)
            if self.csv_path.text().strip():
                self._on_csv_text()
            return
        if kind == "rows":  # the file's own rows (edited in the file, not here)
            self._data_form.setRowVisible(self.csv_row, False)
            self.data_params.setVisible(False)
            self._emit("objective.data", {"rows": self._data.get("rows", [])})
            return
        self._emit("objective.data", {"kind": kind})

    def _on_csv_text(self) -> None:
        self._emit("objective.data", {"csv": self.csv_path.text().strip()})

    def _pick_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Data (x1, x2, y)", "", "CSV (*.csv)")
        if path:
            self.csv_path.setText(path)
            self._on_csv_text()

    def _on_data_param(self, name: str, value: Any) -> None:
        self._emit("objective.data", {**self._data, name: value})

    # ------------------------------------------------------------ showing
    def show_scenario(self, s: Scenario) -> None:
        """Fill every field from ``s`` (no signals)."""
        self._perceptron = s.objective.kind == "perceptron"
        self._shown_description = s.description
        for w in self.inputs.values():
            w.blockSignals(True)
        self.name.setText(s.name)
        self.name.setCursorPosition(0)  # show the start of a long name
        self.description.setPlainText(s.description)
        self.seed.setText(str(s.seed))
        self.tol_loss.setText(_fmt(s.tolerance.loss))
        self.tol_grad.setText(_fmt(s.tolerance.grad))
        self.tol_div.setText(_fmt(s.tolerance.divergence))
        self.start.setText(_fmt(list(s.objective.start)))
        self.x_range.setText(_fmt(s.view.x_range))
        self.y_range.setText(_fmt(s.view.y_range))
        self.levels.setText(_fmt(s.view.levels))
        self.log_color.setCurrentIndex({None: 0, True: 1, False: 2}[s.view.log_color])
        self.view_box.setVisible(not self._perceptron)
        self.data_box.setVisible(self._perceptron)
        o = s.objective
        if self._perceptron:
            data = dict(o.data or {})
            self._data = data
            csv = "csv" in data
            which = "csv" if csv else "rows" if "rows" in data else data["kind"]
            self.data_kind.setCurrentIndex(self.data_kind.findData(which))
            self._data_form.setRowVisible(self.csv_row, csv)
            self.csv_path.setText(str(data.get("csv", "")))
            specs = GENERATORS[which].all_params if which in GENERATORS else ()
            new = ParamForm(specs, {k: v for k, v in data.items() if k != "kind"})
            self._data_form.replaceWidget(self.data_params, new)
            self.data_params.deleteLater()
            self.data_params = new
            new.setVisible(which in GENERATORS)
            new.changed.connect(self._on_data_param)
            self.batch.setText(_fmt(o.batch_size))
            self.epochs.setText(_fmt(o.epochs))
            self.val_frac.setText(_fmt(o.validation_fraction))
            self.standardize.setChecked(bool(o.standardize))
        for w in self.inputs.values():
            w.blockSignals(False)
        self.show_problems([])

    def show_problems(self, problems: list[Problem]) -> None:
        """Each problem at its field (red, with the message under it); others on top."""
        by_field: dict[str, list[str]] = {k: [] for k in self.errors}
        other: list[str] = []
        for p in problems:
            key = self._field_of(p.key)
            if key is None:
                other.append(str(p))
            else:
                where = p.key[len(key) :].lstrip(".")
                by_field[key].append(f"{where}: {p.message}" if where else p.message)
        for key, msgs in by_field.items():
            lab, w = self.errors[key], self.inputs[key]
            lab.setText("\n".join(msgs))
            lab.setVisible(bool(msgs))
            w.setStyleSheet(ERROR_STYLE if msgs else "")
        self.general_error.setText("\n".join(other))
        self.general_error.setVisible(bool(other))

    def _field_of(self, key: str) -> str | None:
        best = None
        for k in self.inputs:
            inside = key == k or key.startswith(k + ".") or key.startswith(k + "[")
            if inside and (best is None or len(k) > len(best)):
                best = k
        return best

    def error_text(self, key: str) -> str:
        """The error shown at field ``key`` ("" when none)."""
        lab = self.errors[key]
        return lab.text() if not lab.isHidden() else ""
