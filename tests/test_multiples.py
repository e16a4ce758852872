"""View > Small multiples: one small landscape per enabled racer (gui/multiples.py), and
``main.py render --grid``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]
RAVINE = ROOT / "scenarios" / "lecture_gd_ravine.toml"


def _titles(w) -> list[str]:
    return [c.plot.titleLabel.text for c in w.multiples.cells]


def _on(window, qtbot) -> None:
    window.multiples_action.trigger()
    assert window.central.currentWidget() is window.multiples
    qtbot.waitUntil(lambda: len(window.multiples.cells) == sum(window.race.active), timeout=3000)


def _run(window, qtbot, steps: int) -> None:
    race = window.race
    on = race.active > 0
    target = race.count[on] + steps
    window.runner.step(steps)
    qtbot.waitUntil(lambda: bool((race.count[on] >= target).all()), timeout=10000)
    assert window.runner.wait_idle()


def _assert_trail_is_racers_path(window, qtbot, i: int) -> None:
    """Panel ``i`` holds racer ``i``'s path: its kept points are rows of race.xs[i] in
    order, from the start, and its head is the racer's last row."""
    race, m = window.race, window.multiples
    n = int(race.count[i])
    cell = m.cell_of[i]
    qtbot.waitUntil(lambda: cell.trail.upto == n, timeout=3000)
    pts = m.trail_points(i)
    path = race.xs[i, :n, :2]
    assert pts.shape[0] >= 2
    assert np.array_equal(pts[0], path[0])
    rows = [int(np.flatnonzero((path == p).all(axis=1))[0]) for p in pts]  # IndexError: not on it
    assert rows == sorted(rows)
    assert np.array_equal(cell.heads.points(), path[n - 1 : n])


def test_grid_shape() -> None:
    from gui.multiples import grid_shape

    assert grid_shape(0, 800, 600, None) == (0, 0)
    assert grid_shape(1, 800, 600, 1.0) == (1, 1)
    for n in range(1, 65):
        for size, aspect in (((1200, 800), None), ((1200, 800), 4.3), ((600, 1000), 1.0)):
            cols, rows = grid_shape(n, *size, aspect)
            assert cols * rows >= n > (cols - 1) * rows and n > cols * (rows - 1)
    assert grid_shape(64, 1600, 1600, 1.0) == (8, 8)
    assert grid_shape(4, 1600, 800, 1.0) == (4, 1)  # a wide window: one row of squares
    assert grid_shape(4, 800, 2400, 1.0) == (1, 4)
    assert grid_shape(7, 1194, 800, 4.33) == (2, 4)  # the ravine: wide, flat panels
    assert grid_shape(7, 1194, 800, 0.25)[0] >= 4  # tall panels side by side


def test_toggle_shows_one_panel_per_racer_with_its_own_trail(window, qtbot) -> None:
    race = window.race
    _on(window, qtbot)
    m = window.multiples
    assert len(m.cells) == 5
    for i, label in enumerate(["Adam", "RMSProp", "NAG", "Momentum", "SGD"]):
        assert label in m.panel(i).titleLabel.text
        assert race.racers[i].color.lower() in m.panel(i).titleLabel.text.lower()
    _run(window, qtbot, 300)
    for i in range(5):
        _assert_trail_is_racers_path(window, qtbot, i)
    assert not np.array_equal(m.trail_points(0)[-1], m.trail_points(4)[-1])
    # back to the single panel: it catches up with the rows drawn meanwhile
    window.multiples_action.trigger()
    assert window.central.currentWidget() is window.landscape
    n = int(race.count[0])
    qtbot.waitUntil(lambda: window.landscape.trail_state[0].upto == n, timeout=3000)
    assert window.current_scenario().view.small_multiples is False


def test_panels_share_one_view_at_equal_scale(window, qtbot) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    _on(window, qtbot)
    m = window.multiples
    vbs = [c.plot.vb for c in m.cells]
    qtbot.waitUntil(lambda: all(vb.viewRange() == vbs[0].viewRange() for vb in vbs), timeout=3000)
    before = vbs[0].viewRange()
    # a wheel zoom over the last panel zooms them all
    pos = m.mapFromScene(vbs[-1].sceneBoundingRect().center())
    ev = QWheelEvent(
        QPointF(pos), QPointF(m.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(m.viewport(), ev)
    after = vbs[-1].viewRange()
    assert after[0][1] - after[0][0] < 0.9 * (before[0][1] - before[0][0])
    for vb in vbs:
        assert np.ravel(vb.viewRange()) == pytest.approx(np.ravel(after))
        (x0, x1), (y0, y1) = vb.viewRange()
        w, h = vb.width(), vb.height()
        assert (x1 - x0) / w == pytest.approx((y1 - y0) / h, rel=0.02)  # equal scale

    # the map is sampled again for the view the panels show
    def sampled() -> bool:
        rect = m.cells[-1].image.mapRectToParent(m.cells[-1].image.boundingRect())
        (x0, x1), (y0, y1) = vbs[-1].viewRange()
        shown = [rect.left(), rect.right(), rect.top(), rect.bottom()]
        return np.allclose(shown, [x0, x1, y0, y1]) and x1 - x0 < before[0][1] - before[0][0]

    qtbot.waitUntil(sampled, timeout=3000)
    # View > Equal aspect off frees every panel, on locks them again
    window.aspect_action.trigger()
    assert not any(c.plot.vb.state["aspectLocked"] for c in m.cells)
    window.aspect_action.trigger()
    assert all(c.plot.vb.state["aspectLocked"] == 1.0 for c in m.cells)


def test_racers_added_removed_disabled_relabelled_while_on(window, qtbot) -> None:
    _on(window, qtbot)
    m = window.multiples
    window.intents.add_racer()
    qtbot.waitUntil(lambda: len(m.cells) == 6, timeout=3000)
    assert "adam 6" in _titles(window)[-1]
    window.intents.remove(window.editors[0])  # Adam
    qtbot.waitUntil(lambda: len(m.cells) == 5, timeout=3000)
    assert "RMSProp" in _titles(window)[0]
    _run(window, qtbot, 30)
    window.editors[1].enable.setChecked(False)  # NAG off: no panel
    qtbot.waitUntil(lambda: len(m.cells) == 4, timeout=3000)
    assert not any("NAG" in t for t in _titles(window))
    assert 1 not in m.cell_of
    _run(window, qtbot, 30)
    window.editors[1].enable.setChecked(True)
    qtbot.waitUntil(lambda: len(m.cells) == 5, timeout=3000)
    _assert_trail_is_racers_path(window, qtbot, 1)  # at once, paused: its rows so far
    ed = window.editors[0]
    ed.cfg.label = "RMSProp ρ = 0.9"
    ed.cfg.color = "#123456"
    window.intents.racer_style(ed)
    assert "RMSProp ρ = 0.9" in _titles(window)[0] and "#123456" in _titles(window)[0]
    _run(window, qtbot, 50)
    for i in range(5):
        _assert_trail_is_racers_path(window, qtbot, i)
    # a new start restarts every panel's trail
    window.intents.on_start_chosen(0.5, 0.5)
    assert all((c.start.pos().x(), c.start.pos().y()) == (0.5, 0.5) for c in m.cells)
    _run(window, qtbot, 20)
    for i in range(5):
        _assert_trail_is_racers_path(window, qtbot, i)
    # the toggle is a [view] edit: one undo step
    window.multiples_action.trigger()
    assert window.central.currentWidget() is window.landscape
    window.undo_action.trigger()
    assert window.central.currentWidget() is window.multiples
    assert window.multiples_action.isChecked()
    window.redo_action.trigger()
    assert window.central.currentWidget() is window.landscape


def test_scenario_view_key_and_perceptron(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from engine.scenario import dumps_scenario, load_scenario, loads_scenario
    from gui.window import MainWindow

    text = RAVINE.read_text(encoding="utf-8").replace(
        "log_color = true", "log_color = true\nsmall_multiples = true"
    )
    scn = loads_scenario(text, source="ravine")
    assert scn.view.small_multiples is True
    assert "small_multiples = true" in dumps_scenario(scn)
    w = MainWindow(scn)
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: len(w.multiples.cells) == 7, timeout=3000)
    assert w.central.currentWidget() is w.multiples and w.multiples_action.isChecked()
    assert "diverges" in _titles(w)[-1]
    # a perceptron race has no small multiples: the action is off, its panels show
    w.load(load_scenario(ROOT / "scenarios" / "perceptron_minibatch.toml"))
    assert not w.multiples_action.isEnabled() and w.multiples_action.toolTip()
    assert w.central.currentWidget() is w.perceptron
    w.load(scn)
    assert w.central.currentWidget() is w.multiples


def test_frame_cost_does_not_grow_with_the_run(window, qtbot) -> None:
    """A frame pulls only the new rows: after a long run, drawing a few more steps into
    the small multiples costs what it cost early on (no full redraw of any trail)."""
    _on(window, qtbot)
    m = window.multiples
    window.steps_box.setValue(100_000)
    _run(window, qtbot, 40_000)
    qtbot.waitUntil(lambda: m.cells[0].trail.upto == int(window.race.count[0]), timeout=3000)
    qtbot.wait(100)
    redraws = [c.layer.full_redraws for c in m.cells]
    window.frames.frame_times.clear()
    for _ in range(3):
        _run(window, qtbot, 5)
        qtbot.wait(50)
    assert [c.layer.full_redraws for c in m.cells] == redraws
    assert all(c.trail.n < 4000 for c in m.cells)
    assert max(window.frames.frame_times) < 0.25


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GRADIENT_ARENA_SETTINGS": os.devnull}
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _panel_rows(img, x_frac: float) -> int:
    """Heat-map bands down a column near the left edge of the grid (one per grid row;
    gaps under 20 px, a contour line, do not split a band)."""
    x = int(img.width() * x_frac)
    bands, last = 0, -100
    for y in range(img.height()):
        c = img.pixelColor(x, y)
        if max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) > 60:
            if y - last > 20:
                bands += 1
            last = y
    return bands


@pytest.mark.slow
def test_render_grid_writes_the_small_multiples(tmp_path) -> None:
    from PySide6.QtGui import QImage

    out = tmp_path / "grid.png"
    r = _cli("render", str(RAVINE), "--grid", "--out", str(out), "--steps", "100")
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1990, 800) or img.width() > 1900
    assert _panel_rows(img, 0.1) == 4  # 7 racers, wide flat panels: 2 columns x 4 rows
    single = tmp_path / "single.png"
    assert _cli("render", str(RAVINE), "--out", str(single), "--steps", "100").returncode == 0
    assert _panel_rows(QImage(str(single)), 0.3) == 1
    whole = tmp_path / "window.png"
    r = _cli("render", str(RAVINE), "--grid", "--window", "--out", str(whole), "--steps", "10")
    assert r.returncode == 0, r.stderr
    assert (QImage(str(whole)).width(), QImage(str(whole)).height()) == (1600, 1000)


@pytest.mark.slow
def test_render_grid_bad_combinations_exit_2(tmp_path) -> None:
    out = tmp_path / "x.png"
    r = _cli("render", "scenarios/perceptron_batch.toml", "--grid", "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "--grid" in r.stderr and "perceptron" in r.stderr
    assert not out.exists()


def test_grid_render_in_process_layout(qtbot, tmp_path, monkeypatch) -> None:
    """The headless grid: every panel the same size and showing the same area."""
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from engine.scenario import load_scenario
    from gui.window import MainWindow

    w = MainWindow(load_scenario(RAVINE), start_runner=False)
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())
    w.multiples_action.setChecked(True)
    w.slide_layout(2000, 800)
    w.show()
    w.race.run()
    w.frames.draw_now()
    qtbot.wait(50)
    m = w.multiples
    assert m.shape == (2, 4)
    sizes = {(round(c.plot.vb.width()), round(c.plot.vb.height())) for c in m.cells}
    assert len(sizes) == 1
    (x0, x1), (y0, y1) = m.cells[0].plot.vb.viewRange()
    assert x0 <= -2.0 + 1e-9 and x1 >= 4.5 - 1e-9 and y0 <= -0.75 + 1e-9 and y1 >= 0.75 - 1e-9
    for c in m.cells:
        assert np.ravel(c.plot.vb.viewRange()) == pytest.approx([x0, x1, y0, y1])
    for i in range(6):
        assert m.cell_of[i].trail.upto == int(w.race.count[i])
        assert not m.cell_of[i].note.isVisible()
    # η = 0.021 blows up: its trail ends where it left the view, with a note of the step
    cell = m.cell_of[6]
    assert w.race.diverged_step(6) is not None
    assert cell.note.isVisible() and "left the view at step 5" in cell.note.toPlainText()
    assert cell.trail.upto == 5 and not cell.heads.points().size
    assert list(cell.outline.xData) == [-2.0, 4.5, 4.5, -2.0, -2.0]  # the box it left
    assert np.isfinite(m.trail_points(6)).all()
