"""The theory overlay in the window (gui/theory_overlay.py): eigen-directions on the
landscape, the predicted loss dashed beside the measured one, the table of predicted
against measured rates, the lines at η* and 2/λmax on the learning-rate map."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.scenario import load_scenario, loads_scenario
from engine.theory import predicted_curve, race_quadratic, race_theory

ROOT = Path(__file__).resolve().parent.parent
RAVINE = ROOT / "scenarios" / "lecture_theory_ravine.toml"

#: the lecture's E(w1, w2): A = [[1/2, -1/6], [-1/6, 2/9]] (rotated eigenvectors), c = (3, 4),
#: f* = 0.05; GD and heavy ball, and Adam (not covered)
TILTED = """
schema = 1
name = "tilted bowl"
steps = 400
[objective]
kind = "landscape"
name = "quadratic_matrix"
start = [1.5, 2.0]
[view]
theory = true
[[optimizers]]
name = "sgd"
label = "GD"
color = "#0072B2"
params = { lr = 1.5 }
[[optimizers]]
name = "sgd"
label = "heavy ball"
color = "#D55E00"
params = { lr = 1.0, momentum = 0.3 }
[[optimizers]]
name = "adam"
label = "Adam"
color = "#009E73"
params = { lr = 0.05 }
"""


def _window(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: Any) -> Any:
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from gui.settings import Settings
    from gui.window import MainWindow

    w = MainWindow(scenario, start_runner=False, settings=Settings(remember=False))
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.race.run()
    w.theory.rebuild()  # what the overlay's timer does once rows arrived
    return w


def _shafts(w: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, half-vector) of each eigen-arrow drawn: 10 points per arrow, the shaft first."""
    xs, ys = w.theory.axes_item.getData()
    assert xs is not None and xs.shape[0] == 20
    out = []
    for k in range(2):
        a = np.array([xs[10 * k], ys[10 * k]])
        b = np.array([xs[10 * k + 1], ys[10 * k + 1]])
        out.append((0.5 * (a + b), 0.5 * (b - a)))
    return out


def _plotted(w: Any, gap: np.ndarray, f_star: float) -> np.ndarray:
    """What the loss panel would plot for losses f* + gap in its mode (tests' own rule)."""
    v = gap if w.gap_y.isChecked() else gap + f_star
    if not w.log_y.isChecked():
        return np.where(np.isfinite(v), v, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(np.isfinite(v) & (v > 0), np.log10(np.where(v > 0, v, 1.0)), np.nan)


def _assert_curves(w: Any) -> None:
    q = race_quadratic(w.race)
    assert q is not None
    for i, c in enumerate(w.theory.curves):
        gap = predicted_curve(w.race, i, q)
        x, y = c.getData()
        if gap is None:
            assert not c.isVisible()
            continue
        assert c.isVisible()
        np.testing.assert_array_equal(x, np.arange(w.race.steps + 1))
        np.testing.assert_allclose(y, _plotted(w, gap, q.f_star), rtol=1e-12, equal_nan=True)


def _table_matches(w: Any) -> None:
    from gui.theory_overlay import num

    blocks = race_theory(w.race)
    assert blocks is not None and w.theory.blocks == blocks
    t = w.theory.table
    assert t.table.rowCount() == len(blocks)
    for r, b in enumerate(blocks):
        if b["covered"]:
            assert t.cell(r, 2) == num(b["predicted_rate"])
            assert t.cell(r, 3) == num(b["measured_rate"])
            assert t.cell(r, 5) == b["agreement"]
        else:
            assert t.cell(r, 1) == b["reason"] and t.cell(r, 5) == "n/a"


def test_overlay_on_the_ravine(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = _window(qtbot, tmp_path, monkeypatch, load_scenario(RAVINE))
    assert w.scenario.view.theory is True and w.theory.action.isChecked()
    assert w.theory.shown and w.theory.dock.isVisibleTo(w)
    # eigen-directions: along x (λ₁ = 2, the longer arrow) and y (λ₂ = 100), through (0, 0)
    (c1, h1), (c2, h2) = _shafts(w)
    np.testing.assert_allclose(c1, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(c2, [0.0, 0.0], atol=1e-12)
    assert abs(h1[1]) < 1e-12 < abs(h1[0]) and abs(h2[0]) < 1e-12 < abs(h2[1])
    assert np.hypot(*h1) > 5 * np.hypot(*h2)
    assert [t.toPlainText() for t in w.theory.labels] == ["λ₁ = 2", "λ₂ = 100"]
    # the predicted gaps, dashed, log y of |f − f*| as the panel shows
    assert w.log_y.isChecked() and w.gap_y.isChecked()
    _assert_curves(w)
    from PySide6.QtCore import Qt

    assert w.theory.curves[0].opts["pen"].style() == Qt.PenStyle.CustomDashLine
    # the table: race_theory's figures, the lecture's numbers
    _table_matches(w)
    t = w.theory.table
    assert [t.cell(2, k) for k in (1, 2, 3, 5)] == ["GD", "0.960784", "0.960784", "agree"]
    assert [t.cell(4, k) for k in (2, 3, 5)] == ["1.1", "1.1", "agree"]  # η = 0.021 diverges
    assert [t.cell(5, k) for k in (1, 2, 3, 4)] == ["heavy ball", "0.752201", "0.753219",
                                                   "+0.135 %"]  # fmt: skip
    text = t.figures.text()
    assert "κ = 50" in text and "2/λmax = 0.02" in text and "0.01961" in text
    assert "ρ = 0.5658" in text and "√ρ = 0.7522" in text
    w.document.forget_changes()


def test_rotated_quadratic_and_the_loss_modes(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _window(qtbot, tmp_path, monkeypatch, loads_scenario(TILTED))
    lam, vec = np.linalg.eigh(np.array([[0.5, -1.0 / 6.0], [-1.0 / 6.0, 2.0 / 9.0]]))
    for k, (c, h) in enumerate(_shafts(w)):
        np.testing.assert_allclose(c, [3.0, 4.0], atol=1e-9)
        u = h / np.hypot(*h)
        assert abs(float(u @ vec[:, k])) == pytest.approx(1.0, abs=1e-12)
    assert w.theory.labels[0].toPlainText() == f"λ₁ = {lam[0]:.4g}"
    _assert_curves(w)
    assert not w.theory.curves[2].isVisible()  # Adam: no prediction ...
    t = w.theory.table
    assert t.cell(2, 1).startswith("not covered: adam")  # ... and the table says why
    _table_matches(w)
    # the loss panel's modes: plain y, then f itself (f* = 0.05 + the gap)
    w.log_y.click()
    _assert_curves(w)
    w.gap_y.click()
    assert not w.gap_y.isChecked()
    _assert_curves(w)
    y = w.theory.curves[0].getData()[1]
    assert y[-1] == pytest.approx(0.05, abs=1e-9)
    w.document.forget_changes()


def test_overlay_follows_the_racers_and_the_landscape(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _window(qtbot, tmp_path, monkeypatch, load_scenario(RAVINE))
    # racer 1's lr through its editor (the window's intents): prediction max|1 − ηλ| anew
    before = w.theory.curves[1].getData()[1].copy()
    lr = w.editors[1].params.editors["lr"]
    lr.text.setText("0.015")
    lr.text.editingFinished.emit()
    assert w.race.racers[1].params["lr"] == pytest.approx(0.015)
    _assert_curves(w)
    assert not np.allclose(w.theory.curves[1].getData()[1], before, equal_nan=True)
    assert w.theory.table.cell(1, 2) == "0.97"  # max(|1 − 0.03|, |1 − 1.5|)
    w.race.run()
    w.theory.measure(force=True)
    _table_matches(w)
    # a landscape that is not a quadratic: nothing drawn, the dock says why
    w.landscape_box.setCurrentIndex(w.landscape_box.findData("rosenbrock"))
    assert w.race.objective.name == "rosenbrock" and not w.theory.shown
    assert w.theory.axes_item.getData()[0] is None or len(w.theory.axes_item.getData()[0]) == 0
    assert not any(t.isVisible() for t in w.theory.labels)
    assert not any(c.isVisible() for c in w.theory.curves)
    assert w.theory.table.table.rowCount() == 0
    assert "rosenbrock is not one" in w.theory.table.figures.text()
    # back on a quadratic: shown again
    w.landscape_box.setCurrentIndex(w.landscape_box.findData("quadratic"))
    assert w.theory.shown and len(w.theory.axes_item.getData()[0]) == 20
    # the toggle is a [view] edit: off hides everything
    w.theory.action.trigger()
    assert w.scenario.view.theory is False and not w.theory.shown
    assert not w.theory.dock.isVisibleTo(w) and not any(c.isVisible() for c in w.theory.curves)
    assert len(w.theory.axes_item.getData()[0]) == 0
    w.document.forget_changes()


def test_lr_map_lines(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.maps.job import JobRequest
    from gui.theory_overlay import lr_map_lines

    w = _window(qtbot, tmp_path, monkeypatch, load_scenario(RAVINE))
    race = w.race
    lines = lr_map_lines(race, 0, ("lr",))
    assert [v for _, v in lines] == pytest.approx([1.0 / 51.0, 0.02], rel=1e-12)
    assert lines[0][0].startswith("η* = 2/(λmin + λmax) = 0.01961")
    assert lr_map_lines(race, 5, ("lr",)) == []  # heavy ball: GD's lines do not hold
    assert lr_map_lines(race, 5, ("lr", "momentum"))[1][0] == "2/λmax = 0.02 (GD, ρ = 0)"
    assert lr_map_lines(race, 0, ("momentum",)) == []
    # on the Maps panel's lr map (log axis): the lines at log10 of the values
    panel = w.maps
    with qtbot.waitSignal(panel.mapShown, timeout=60_000):
        assert panel.start_map(JobRequest(0, "lr", res=(24,), steps=200))
    xs = sorted(it.value() for it in panel.plot._lines)
    assert xs == pytest.approx([math.log10(1.0 / 51.0), math.log10(0.02)], rel=1e-12)
    # main.py map's picture: the same lines through map_marks
    from gui.map_picture import map_marks

    assert panel.shown is not None
    marks = map_marks(w.scenario, panel.shown[0])
    assert [v for _, v in marks.lines] == pytest.approx([1.0 / 51.0, 0.02], rel=1e-12)
    # another landscape clears the map and its lines; the overlay off: no lines
    panel.plot.clear_map()
    assert panel.plot._lines == []
    panel.redraw()
    assert len(panel.plot._lines) == 2
    w.theory.action.trigger()
    assert panel.plot._lines == []
    w.document.forget_changes()
