"""A typed formula edited live in the window (issue #14; pytest-qt, offscreen): the
chooser's "Formula…", the editor's validation, debounce and gradient, the constants'
sliders, undo, save and reload, the Maps panel and export on a formula."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt

from engine.scenario import load_scenario
from gui.formula_editor import DEBOUNCE_MS, ERROR_STYLE, EXAMPLE, FORMULA_ITEM

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def choose_formula(win: Any) -> None:
    box = win.landscape_box
    box.setCurrentIndex(box.findText(FORMULA_ITEM))


def type_text(qtbot: Any, win: Any, text: str) -> None:
    """Replace the field's text by keystrokes (as a user types it)."""
    field = win.formula_editor.field
    field.selectAll()
    qtbot.keyClick(field, Qt.Key.Key_Delete)
    qtbot.keyClicks(field, text)


def raced(win: Any) -> str | None:
    return win.session.scenario.objective.formula


def f_at(win: Any, x: float, y: float) -> float:
    obj = win.race.objective
    return float(obj.landscape.value_at(obj.params, x, y))


def test_choosing_formula_races_the_example_and_shows_its_gradient(window: Any) -> None:
    ed = window.formula_editor
    assert ed.isHidden()  # Rosenbrock: no editor
    choose_formula(window)
    assert raced(window) == EXAMPLE
    assert window.race.objective.name == "formula"
    assert ed.isVisible() and ed.field.text() == EXAMPLE
    assert window.landscape_box.currentText() == FORMULA_ITEM
    assert ed.gradient.text().startswith("∂f/∂x = ")
    assert "∂f/∂y = " in ed.gradient.text()
    assert window.formula.text() == f"f(x, y) = {EXAMPLE}"
    assert f_at(window, 3.0, 2.0) == 0.0
    assert len(window.race.objective.minima()) == 4  # the markers of Himmelblau's minima
    assert len(window.landscape.minima.getData()[0]) == 4
    # back to a registered landscape: the editor goes
    window.landscape_box.setCurrentIndex(window.landscape_box.findData("booth"))
    assert raced(window) is None and ed.isHidden()


def test_typing_races_the_formula_after_the_debounce(window: Any, qtbot: Any) -> None:
    choose_formula(window)
    window.session.set_speed(400.0)  # 5,000 steps at 400 steps/s: still playing at the end
    window.play()
    race_before = window.race
    type_text(qtbot, window, "abs(x) + a*y^2")
    # every keystroke is checked at once; the race waits for the typing to pause
    assert window.formula_editor.timer.isActive()
    assert raced(window) == EXAMPLE and window.race is race_before
    qtbot.waitUntil(lambda: raced(window) == "abs(x) + a*y^2", timeout=DEBOUNCE_MS + 3000)
    assert window.race is not race_before
    assert window.formula.text() == "f(x, y) = abs(x) + a*y^2"
    gx, gy = window.formula_editor.gradient.text().splitlines()
    assert gx == "∂f/∂x = sign(x)" and gy == "∂f/∂y = 2*(a*y)"
    # the constant a got a slider in the landscape's form
    assert list(window.ls_form.editors) == ["a"]
    assert f_at(window, -2.0, 1.0) == 3.0
    race = window.race
    assert window.runner.playing  # the new race plays on as the old one did
    qtbot.waitUntil(lambda: min(race.count) > 50, timeout=10000)  # the racers move
    xs = race.trajectory(0).x
    assert not np.allclose(xs[-1], xs[0])
    window.pause()


def test_an_invalid_formula_is_red_with_its_column_and_the_race_keeps_the_last(
    window: Any, qtbot: Any
) -> None:
    choose_formula(window)
    type_text(qtbot, window, "x^2 + y^2")
    qtbot.waitUntil(lambda: raced(window) == "x^2 + y^2", timeout=3000)
    race = window.race
    ed = window.formula_editor
    type_text(qtbot, window, "x^2 + sinn(y)")
    assert ed.field.styleSheet() == ERROR_STYLE
    assert ed.error.isVisible()
    assert ed.error.text() == "unknown function 'sinn' at column 7; did you mean sin?"
    caret_line = ed.caret.text().splitlines()
    assert caret_line == ["x^2 + sinn(y)", "      ^"]  # under column 7
    assert not ed.timer.isActive()
    assert ed.gradient.text() == "∂f/∂x = 2*x\n∂f/∂y = 2*y"  # of the formula that races
    qtbot.wait(DEBOUNCE_MS + 100)
    assert raced(window) == "x^2 + y^2" and window.race is race  # the last valid one runs
    ed.field.returnPressed.emit()  # Enter on an invalid text applies nothing either
    assert raced(window) == "x^2 + y^2"
    # an attempt at code is a formula error like any other
    type_text(qtbot, window, "__import__('os').system('true')")
    assert "unknown function '__import__' at column 1" in ed.error.text()
    # a fix turns it plain (in the window's font) and races at once on Enter
    type_text(qtbot, window, "x^2 + sin(y)")
    assert ed.field.styleSheet() == "" and ed.error.isHidden()
    assert ed.field.fontInfo().pointSize() == window.font().pointSize()
    qtbot.keyClick(ed.field, Qt.Key.Key_Return)
    assert raced(window) == "x^2 + sin(y)"


def test_a_constants_slider_changes_the_landscape_and_undo_restores(
    window: Any, qtbot: Any
) -> None:
    choose_formula(window)
    type_text(qtbot, window, "a*x^2 + y^2")
    qtbot.keyClick(window.formula_editor.field, Qt.Key.Key_Return)
    assert f_at(window, 1.0, 0.0) == 1.0
    a = window.ls_form.editors["a"]
    slider = a.slider
    slider.setValue(slider.maximum())  # the top of a's range
    top = window.session.scenario.objective.params["a"]
    assert top > 1.0
    assert f_at(window, 1.0, 0.0) == pytest.approx(top)
    assert window.ls_form.editors["a"] is a  # the form is kept, not rebuilt under a drag
    a.text.setText("3")
    a.text.editingFinished.emit()
    assert f_at(window, 1.0, 0.0) == 3.0
    window.undo_action.trigger()
    assert f_at(window, 1.0, 0.0) == pytest.approx(top)
    window.undo_action.trigger()
    assert f_at(window, 1.0, 0.0) == 1.0
    window.undo_action.trigger()  # the formula typed
    assert raced(window) == EXAMPLE
    assert window.formula_editor.field.text() == EXAMPLE  # the field follows undo
    window.undo_action.trigger()  # "Formula…" chosen
    assert raced(window) is None
    assert window.race.objective.name == "rosenbrock"
    assert window.landscape_box.currentData() == "rosenbrock"
    assert window.formula_editor.isHidden()
    window.redo_action.trigger()
    assert raced(window) == EXAMPLE
    assert window.landscape_box.currentText() == FORMULA_ITEM


def test_typing_is_kept_while_the_session_changes_otherwise(window: Any, qtbot: Any) -> None:
    """An edit elsewhere (the noise) while the field holds an unfinished formula does not
    put the raced formula back into the field."""
    choose_formula(window)
    type_text(qtbot, window, "x^2 + ")
    window.noise.text.setText("0.5")
    window.noise.text.editingFinished.emit()
    assert window.session.scenario.objective.grad_noise == 0.5
    assert window.formula_editor.field.text() == "x^2 + "
    assert raced(window) == EXAMPLE


def test_a_saved_formula_scenario_reopens_with_its_text(
    window: Any, qtbot: Any, tmp_path: Path
) -> None:
    choose_formula(window)
    type_text(qtbot, window, "k*abs(x) + (y - 1)^2")
    qtbot.keyClick(window.formula_editor.field, Qt.Key.Key_Return)
    window.ls_form.editors["k"].text.setText("0.5")
    window.ls_form.editors["k"].text.editingFinished.emit()
    path = tmp_path / "typed.toml"
    assert window.files.save_to(path)
    assert 'formula = "k*abs(x) + (y - 1)^2"' in path.read_text(encoding="utf-8")
    back = load_scenario(path)
    assert back.objective.formula == "k*abs(x) + (y - 1)^2"
    assert back.objective.params == {"k": 0.5}
    # another landscape, then the file again: the chooser and the editor show it
    window.landscape_box.setCurrentIndex(window.landscape_box.findData("booth"))
    assert window.files.open_path(path, ask=False)
    assert window.landscape_box.currentText() == FORMULA_ITEM
    assert window.formula_editor.field.text() == "k*abs(x) + (y - 1)^2"
    assert window.ls_form.editors["k"].value() == 0.5
    assert f_at(window, -2.0, 1.0) == 1.0


def test_a_lecture_formula_scenario_opens_in_the_editor(window: Any) -> None:
    window.load(load_scenario(ROOT / "scenarios" / "lecture_formula_kink.toml"))
    assert window.landscape_box.currentText() == FORMULA_ITEM
    ed = window.formula_editor
    assert ed.isVisible() and ed.field.text() == "abs(x) + y^2"
    assert ed.gradient.text() == "∂f/∂x = sign(x)\n∂f/∂y = 2*y"
    assert window.formula.text() == "f(x, y) = abs(x) + y^2"
    assert window.race.objective.minima() == [(0.0, 0.0)]  # as the file lists them


def test_maps_and_export_work_on_a_typed_formula(window: Any, qtbot: Any, tmp_path: Path) -> None:
    window.load(load_scenario(ROOT / "scenarios" / "lecture_formula_kink.toml"))
    panel = window.maps
    panel.first.setCurrentIndex(panel.first.findData("start"))
    panel.res.setValue(12)
    panel.steps.setValue(50)
    with qtbot.waitSignal(panel.mapShown, timeout=60000):
        assert panel.start_map(None)
    res = panel.shown[0]
    assert res.spec.shape == (12, 12)
    assert set(res.metrics["minimum"].ravel().tolist()) == {0}  # one minimum: one basin
    # a new formula removes the map (it was for the old one)
    window.formula_editor.field.setText("abs(x) + 2*y^2")
    window.formula_editor.apply()
    assert raced(window) == "abs(x) + 2*y^2"
    assert "changed" in panel.status.text()
    window.race.run()
    files = window.files.export_to(tmp_path)
    summary = next(p for p in files if p.name == "summary.json")
    saved = json.loads(summary.read_text(encoding="utf-8"))["scenario"]["objective"]
    assert saved["formula"] == "abs(x) + 2*y^2"


def test_hover_and_small_multiples_show_a_typed_formula(window: Any, qtbot: Any) -> None:
    window.load(load_scenario(ROOT / "scenarios" / "lecture_formula_kink.toml"))
    panel = window.landscape
    vb = panel.plotItem.vb
    panel._on_move(vb.mapViewToScene(QPointF(-1.0, 0.5)))
    lines = panel.hover.toPlainText().splitlines()
    assert lines[-1] == "f = 1.25"  # |−1| + 0.5²
    # the gradient field and the step arrows
    window.quiver_action.setChecked(True)
    assert panel.quiver.xData is not None and panel.quiver.xData.size > 0
    window.arrows_action.setChecked(True)
    window.step_action.trigger()
    assert window.runner.wait_idle()
    window.frames.on_frame()
    assert any(a.xData is not None and a.xData.size > 0 for a in panel.arrows)
    window.multiples_action.trigger()
    assert window.central.currentWidget() is window.multiples
    assert window.multiples.lid == window.race.objective.landscape.lid
    assert window.multiples.minima_xy == [(0.0, 0.0)]
