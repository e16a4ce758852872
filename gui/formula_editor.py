"""The landscape chooser's "Formula…": a typed formula edited live (issue #14).

Choosing "Formula…" races the formula in the editor (an example the first time); the
editor sits under the chooser while a typed formula runs:

- the text field is parsed on every keystroke (never evaluated as code: see
  ``engine.formula``): while it is not a formula it has a red border and the message,
  with the column and a caret under it, shows beneath; the race keeps the last valid
  formula. A valid text is raced DEBOUNCE_MS after the last keystroke (at once on
  Enter), one undo step per formula applied (``Session.set_formula``).
- the exact gradient (∂f/∂x, ∂f/∂y) of the text is shown beneath it.
- constants: any name the formula uses besides x, y (x1, x2), pi, e and the functions
  is a constant, 1 until given another value; each gets a slider in the landscape's
  parameter form (the session keeps a constant's value while the formula names it).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from engine.formula import Formula, FormulaError
from engine.formula.ops import FUNCTIONS, VARIADIC
from engine.landscapes.typed import NAME as FORMULA
from engine.params import ParamSpec
from engine.scenario import Scenario
from engine.session import DEFAULT_CONSTANT, SessionError, typed_formula

if TYPE_CHECKING:
    from gui.window import MainWindow

#: the chooser's entry (its item data is the landscape name "formula")
FORMULA_ITEM = "Formula…"
#: the pause after the last keystroke before a valid formula is raced
DEBOUNCE_MS = 200
#: what "Formula…" races when nothing was typed yet (Himmelblau: four minima to find)
EXAMPLE = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
#: characters of a derivative shown (the full text is in the tooltip)
SHOWN_CHARS = 400
#: characters quoted on each side of an error's column
QUOTE = 18
ERROR_COLOR = "#B00020"
ERROR_STYLE = f"QLineEdit {{ border: 2px solid {ERROR_COLOR}; background: #fff0f0 }}"

TIP = (
    "A formula in x and y (also x1, x2), parsed and differentiated exactly, never run as "
    "code.\n"
    "Operators: + - * / and ** or ^ (powers); numbers such as 2, 0.5, 1e-3; pi and e.\n"
    f"Functions: {', '.join(sorted({*FUNCTIONS, *VARIADIC}))}.\n"
    "Constants: any other name (a, b, k, sigma…) is a constant, "
    f"{DEFAULT_CONSTANT:g} until you set it: each gets a slider below.\n"
    f"The race follows {DEBOUNCE_MS} ms after you stop typing (Enter: at once); while the "
    "text is not a formula the race keeps the last one."
)


def _short(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def caret_lines(e: FormulaError) -> str:
    """The formula around ``e``'s column with a caret under it (a few characters each
    side, so that it fits the side panel); "" when the problem has no column."""
    if e.column is None:
        return ""
    text = e.text
    col = e.column - 1
    lo = max(0, col - QUOTE)
    hi = min(len(text), col + QUOTE)
    shown = "".join(c if c.isprintable() else " " for c in text[lo:hi])
    pre = "…" if lo > 0 else ""
    post = "…" if hi < len(text) else ""
    return f"{pre}{shown}{post}\n{' ' * (len(pre) + col - lo)}^"


def same_form(a: tuple[ParamSpec, ...], b: tuple[ParamSpec, ...]) -> bool:
    """Whether a parameter form made for ``a`` serves ``b``: the same parameters, bar
    their defaults (a typed formula's constants default to their current values)."""
    return len(a) == len(b) and all(
        replace(x, default=None) == replace(y, default=None) for x, y in zip(a, b, strict=True)
    )


class FormulaEditor(QWidget):
    """The formula's text field, its error and its gradient (module docstring).

    ``formulaTyped(text)``: a valid formula to race (after the debounce or on Enter).
    """

    formulaTyped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.field = QLineEdit()
        self.field.setPlaceholderText("a formula in x and y, e.g. abs(x) + a*y^2")
        self.field.setToolTip(TIP)
        self.field.setMaxLength(2_000)
        lay.addWidget(self.field)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        red = QPalette()
        red.setColor(QPalette.ColorRole.WindowText, QColor(ERROR_COLOR))
        self.error = QLabel()  # coloured by palette: a style sheet would fix its font
        self.error.setWordWrap(True)
        self.error.setPalette(red)
        self.error.hide()
        lay.addWidget(self.error)
        self.caret = QLabel()
        self.caret.setFont(mono)
        self.caret.setTextFormat(Qt.TextFormat.PlainText)
        self.caret.setPalette(red)
        self.caret.hide()
        lay.addWidget(self.caret)
        self.gradient = QLabel()
        self.gradient.setWordWrap(True)
        self.gradient.setTextFormat(Qt.TextFormat.PlainText)
        self.gradient.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.gradient)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.apply)
        self.field.textEdited.connect(self._on_edit)
        self.field.returnPressed.connect(self.apply)
        self.shown: str | None = None  # the formula the session races, as last shown
        self.values: dict[str, Any] = {}  # its constants' values
        self.parsed: Formula | None = None  # the field's text parsed (None: not a formula)

    # ------------------------------------------------------------ typing
    def _on_edit(self, text: str) -> None:
        if self.check(text) is None:
            self.timer.stop()  # the race keeps the last valid formula
        else:
            self.timer.start()

    def check(self, text: str) -> Formula | None:
        """Parse ``text`` (its constants valued as the race has them) and show the
        result: its gradient, or the message and the column."""
        try:
            f = typed_formula(text.strip(), None, self.values)
        except FormulaError as e:
            self.show_error(e)
            self.parsed = None
            if self.shown is not None:  # the gradient of the formula that races
                with contextlib.suppress(FormulaError):
                    self.show_gradient(typed_formula(self.shown, None, self.values))
            return None
        self.show_error(None)
        self.show_gradient(f)
        self.parsed = f
        return f

    def apply(self) -> None:
        """Race the field's formula now, if it is one (the debounce's end, Enter)."""
        self.timer.stop()
        text = self.field.text().strip()
        if self.check(text) is None or text == self.shown:
            return
        self.formulaTyped.emit(text)

    def choose(self) -> None:
        """The chooser's "Formula…": race the field's formula, or the example."""
        if self.check(self.field.text()) is None:
            self.field.setText(EXAMPLE)
            self.check(EXAMPLE)
        self.formulaTyped.emit(self.field.text().strip())

    # ------------------------------------------------------------ showing
    def show_error(self, e: FormulaError | None) -> None:
        """Red with ``e``'s message and caret, or (None) plain."""
        style = ERROR_STYLE if e is not None else ""
        if self.field.styleSheet() != style:
            self.field.setStyleSheet(style)
            if not style:
                self.field.setFont(QFont())  # inherit again (clearing a style sheet sets
                # the application's font)
        self.error.setText(e.message if e is not None else "")
        self.error.setVisible(e is not None)
        lines = caret_lines(e) if e is not None else ""
        self.caret.setText(lines)
        self.caret.setVisible(bool(lines))

    def show_gradient(self, f: Formula) -> None:
        gx, gy = f.gradient_text()
        self.gradient.setText(f"∂f/∂x = {_short(gx)}\n∂f/∂y = {_short(gy)}")
        self.gradient.setToolTip(f"∂f/∂x = {gx}\n∂f/∂y = {gy}")

    def show_scenario(self, s: Scenario) -> None:
        """Follow the session: shown while it races a typed formula; the field shows a
        formula it did not get from the user (a file opened, undo), and keeps the
        user's text otherwise (typing in progress, a text not yet a formula)."""
        o = s.objective
        if o.kind != "landscape" or o.formula is None:
            self.timer.stop()
            self.shown = None
            self.hide()
            return
        self.values = dict(o.params)
        self.show()
        if o.formula == self.shown:
            return
        self.timer.stop()
        self.shown = o.formula
        self.field.setText(o.formula)
        self.field.setCursorPosition(len(o.formula))
        self.check(o.formula)


def install(win: MainWindow) -> FormulaEditor:
    """The editor under ``win``'s landscape chooser, "Formula…" in the chooser, and the
    editor's formulas to the session (a refusal is shown at the field or in the status
    bar)."""
    editor = FormulaEditor()
    box = win.landscape_box
    lay = win.obj_layout
    lay.insertWidget(lay.indexOf(box) + 1, editor)
    box.insertSeparator(box.count())
    box.addItem(FORMULA_ITEM, FORMULA)
    box.setItemData(box.count() - 1, "Type a formula: f(x, y) = …", Qt.ItemDataRole.ToolTipRole)

    def race(text: str) -> None:
        before = editor.shown
        editor.shown = text  # the field keeps its text (and cursor) as it is raced
        try:
            win.session.set_formula(text)
        except FormulaError as e:
            editor.shown = before
            editor.show_error(e)
            _reselect(win)
        except SessionError as e:
            editor.shown = before
            win.statusBar().showMessage(str(e), 8000)
            _reselect(win)  # the chooser shows what runs

    editor.formulaTyped.connect(race)
    win.bridge.scenarioChanged.connect(editor.show_scenario)
    editor.show_scenario(win.session.scenario)
    return editor


def _reselect(win: MainWindow) -> None:
    box = win.landscape_box
    box.blockSignals(True)
    box.setCurrentIndex(box.findData(win.session.scenario.objective.name))
    box.blockSignals(False)
