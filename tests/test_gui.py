"""The race window, driven through pytest-qt on the offscreen platform."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def _wait_until(qtbot, cond, timeout=5000):
    qtbot.waitUntil(cond, timeout=timeout)


def test_opens_on_default_scenario(window):
    race = window.race
    assert race is not None
    assert race.objective.name == "rosenbrock"
    assert [c.label for c in race.racers] == ["Adam", "RMSProp", "NAG", "Momentum", "SGD"]
    assert "Rosenbrock" in window.windowTitle()
    assert window.runner is not None and window.runner.alive
    assert not window.runner.playing
    # every racer has its row 0 recorded at the start, nothing more
    assert list(race.count) == [1] * 5
    assert np.allclose(race.xs[:, 0], [-1.5, 2.0])


def test_play_advances_all_and_pause_stops(window, qtbot):
    race = window.race
    window.steps_box.setValue(200_000)
    window.speed.setValue(window.speed.maximum() - 12)  # ~10^4 steps/s: 20 s for the race
    window.play_action.trigger()
    assert window.runner.playing
    _wait_until(qtbot, lambda: min(race.count) > 100)
    window.play_action.trigger()
    assert not window.runner.playing
    assert window.runner.wait_idle()
    before = race.count.copy()
    qtbot.wait(200)
    assert np.array_equal(race.count, before)
    assert (before > 100).all()


def test_step_advances_exactly_one(window, qtbot):
    race = window.race
    before = race.t.copy()
    window.step_action.trigger()
    _wait_until(qtbot, lambda: (race.t == before + 1).all())
    assert window.runner.wait_idle()
    qtbot.wait(100)
    assert np.array_equal(race.t, before + 1)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    _wait_until(qtbot, lambda: (race.t == before + 2).all())


def test_click_sets_start(window, qtbot):
    panel = window.landscape
    target = QPointF(0.5, -0.25)
    scene_pt = panel.plotItem.vb.mapViewToScene(target)
    widget_pt = panel.mapFromScene(scene_pt)
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=widget_pt)
    race = window.race
    _wait_until(qtbot, lambda: abs(race.objective.start[0] - 0.5) < 0.02)
    assert abs(race.objective.start[1] + 0.25) < 0.02
    assert np.allclose(race.xs[:, 0], race.objective.start)
    assert list(race.count) == [1] * 5


def test_changed_lr_reaches_engine(window, qtbot):
    ed = window.editors[4]  # SGD
    lr_editor = ed.params.editors["lr"]
    lr_editor.text.setText("0.0003")
    lr_editor.text.editingFinished.emit()
    assert window.race.hps[4, 0] == pytest.approx(0.0003)
    assert window.race.racers[4].params["lr"] == pytest.approx(0.0003)
    # an invalid value is refused and changes nothing
    lr_editor.text.setText("-1")
    lr_editor.text.editingFinished.emit()
    assert window.race.hps[4, 0] == pytest.approx(0.0003)


def test_diverging_racer_is_marked_and_others_go_on(window, qtbot):
    race = window.race
    ed = window.editors[4]
    ed.params.editors["lr"].text.setText("0.1")
    ed.params.editors["lr"].text.editingFinished.emit()
    window.steps_box.setValue(200_000)
    window.speed.setValue(window.speed.maximum())
    window.play_action.trigger()
    _wait_until(qtbot, lambda: race.diverged_step(4) is not None)
    _wait_until(qtbot, lambda: min(race.count[:4]) > race.count[4] + 100)
    window.play_action.trigger()
    window.frames.update_board()
    from gui.leaderboard import BOARD_COLUMNS

    col = BOARD_COLUMNS.index("status")
    statuses = [window.board.item(r, col).text() for r in range(window.board.rowCount())]
    assert any(s.startswith("diverged @ ") for s in statuses)
    assert window.board.horizontalHeaderItem(col).text() == "status"
    m = race.run_metrics(4)
    assert m.diverged_step == race.diverged_step(4)
    assert np.isfinite(race.trajectory(4).x).all()


def test_board_shows_settled_first_crossing_and_blow_ups(qtbot, tmp_path, monkeypatch):
    """Heavy ball first within 1e-6 at step 95, settled at 158; GD η = 0.021 diverged at
    77 (before any overflow); on the saddle, momentum is unbounded below, not diverged."""
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from engine.scenario import loads_scenario
    from gui.leaderboard import BOARD_COLUMNS
    from gui.window import MainWindow

    def board(text: str) -> dict[str, dict[str, str]]:
        w = MainWindow(loads_scenario(text), start_runner=False)
        qtbot.addWidget(w, before_close_func=forget_edits)
        w.race.run()
        w.frames.update_board()
        rows = {}
        for r in range(w.board.rowCount()):
            cells = [w.board.item(r, c).text() for c in range(len(BOARD_COLUMNS))]
            rows[cells[1]] = dict(zip(BOARD_COLUMNS, cells, strict=True))
        w.close()
        return rows

    racers = (
        '[[optimizers]]\nname = "sgd"\nlabel = "heavy ball"\n'
        "params = { lr = 0.005, momentum = 0.9 }\n"
        '[[optimizers]]\nname = "sgd"\nlabel = "GD"\nparams = { lr = 0.021 }\n'
    )
    ravine = (
        'schema = 1\nname = "r"\nsteps = 300\n[objective]\nname = "quadratic"\n'
        "start = [4.0, 0.5]\n" + racers
    )
    rows = board(ravine)
    assert (rows["heavy ball"]["steps to tol"], rows["heavy ball"]["first in tol"]) == (
        "158",
        "95",
    )
    assert rows["heavy ball"]["#"] == "1" and rows["heavy ball"]["status"] == "done"
    assert rows["GD"]["status"] == "diverged @ 77" and rows["GD"]["steps to tol"] == "—"
    saddle = ravine.replace('"quadratic"', '"saddle"').replace("[4.0, 0.5]", "[2.5, 0.001]")
    rows = board(saddle.replace("lr = 0.005,", "lr = 0.05,"))
    assert rows["heavy ball"]["status"] == "unbounded below @ 56"


def test_board_refresh_rewrites_its_items_in_place(window):
    """A refresh keeps the table's items and rewrites their texts and colours: a new
    ranking, a racer fewer, a blown-up run."""
    from gui.leaderboard import BLOWN_COLOR, BOARD_COLUMNS

    board, race = window.board, window.race
    race.run()
    rows = race.leaderboard()
    board.show_rows(race, rows)
    n = board.rowCount()
    assert n == len(race.racers) == 5
    tag = Qt.ItemDataRole.UserRole
    for r in range(n):
        for c in range(len(BOARD_COLUMNS)):
            board.item(r, c).setData(tag, (r, c))

    def texts() -> list[list[str]]:
        return [[board.item(r, c).text() for c in range(len(BOARD_COLUMNS))] for r in range(n)]

    first = texts()
    assert [row[1] for row in first] == [m.label for _, m in rows]
    board.show_rows(race, rows[::-1])
    assert [row[1] for row in texts()] == [m.label for _, m in rows[::-1]]
    assert [row[0] for row in texts()] == [str(k) for k in range(1, n + 1)]
    label_col = BOARD_COLUMNS.index("racer")
    for r, (i, _) in enumerate(rows[::-1]):
        color = board.item(r, label_col).foreground().color().name().lower()
        assert color == race.racers[i].color.lower()
    assert all(board.item(r, c).data(tag) == (r, c) for r in range(n) for c in range(7))
    board.show_rows(race, rows)
    assert texts() == first

    from dataclasses import replace

    blown = (rows[0][0], replace(rows[0][1], diverged_step=12))
    board.show_rows(race, [blown, *rows[1:4]])
    assert board.rowCount() == 4
    status = board.item(0, BOARD_COLUMNS.index("status"))
    assert status.text() == "diverged @ 12"
    assert status.foreground().color().name().lower() == BLOWN_COLOR.lower()
    assert all(board.item(r, c).data(tag) == (r, c) for r in range(4) for c in range(7))
    board.show_rows(race, rows)
    assert texts() == first
    assert board.item(0, BOARD_COLUMNS.index("status")).foreground().style() == (
        Qt.BrushStyle.NoBrush
    )


def test_speed_one_step_per_second(window, qtbot):
    race = window.race
    window.speed.setValue(0)
    window.play_action.trigger()
    qtbot.wait(1500)
    window.play_action.trigger()
    steps = int(race.t.max())
    assert 1 <= steps <= 3


def test_close_stops_every_thread(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from gui.window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w, before_close_func=forget_edits)
    w.show()
    w.steps_box.setValue(1_000_000)
    w.speed.setValue(w.speed.maximum())
    w.play_action.trigger()
    qtbot.wait(300)
    runner = w.runner
    forget_edits(w)  # the steps edit would ask "save?" (tests/test_editor.py covers that)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 1.0
    assert not runner.alive
    assert not [t for t in threading.enumerate() if t.name == "race-runner"]


def test_landscape_change_restarts(window, qtbot):
    i = window.landscape_box.findData("himmelblau")
    window.landscape_box.setCurrentIndex(i)
    race = window.race
    assert race.objective.name == "himmelblau"
    assert list(race.count) == [1] * len(race.racers)


def test_export_from_window(window, qtbot, tmp_path):
    window.step_action.trigger()
    assert window.runner.wait_idle()
    files = window.files.export_to(tmp_path / "out")
    names = sorted(p.name for p in files)
    assert names == ["summary.json", "trajectories.csv", "trajectories.npz"]
    header = (tmp_path / "out" / "trajectories.csv").read_text().splitlines()[0]
    assert header == "run,optimizer,step,x,y,loss,grad_norm,lr"


def test_grid_and_contours_are_fast_enough_to_follow_zoom(window):
    # not a timing assertion (machines are noisy): the grid is recomputed for the view
    window.landscape.plotItem.vb.setRange(xRange=(0.5, 1.5), yRange=(0.5, 1.5), padding=0)
    window.landscape.refresh_grid()
    rect = window.landscape.image.mapRectToView(window.landscape.image.boundingRect())
    x0, x1, y0, y1 = window.landscape.view_box()  # (equal aspect widens one side)
    assert x0 <= 0.5 and x1 >= 1.5 and x1 - x0 < 3
    assert (rect.left(), rect.right()) == pytest.approx((x0, x1), abs=1e-6)
    assert (rect.top(), rect.bottom()) == pytest.approx((y0, y1), abs=1e-6)


def test_pyside_property_reads_do_not_abort():
    """Regression for PySide6 6.12.0 on Python 3.11 (Fatal Python error: none_dealloc)."""
    code = (
        "from PySide6.QtCore import QObject\n"
        "o = QObject()\n"
        "[o.property('x') for _ in range(300000)]\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def _cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.mark.slow
def test_render_writes_png(tmp_path):
    out = tmp_path / "race.png"
    r = _cli("render", "scenarios/ravine_gd_momentum_adam.toml", "--out", str(out), "--steps", "50")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert img.width() > 1000 and img.height() > 500
    whole = tmp_path / "window.png"
    r = _cli("render", "scenarios/ravine_gd_momentum_adam.toml", "--out", str(whole), "--window")
    assert r.returncode == 0, r.stderr
    assert (QImage(str(whole)).width(), QImage(str(whole)).height()) == (1600, 1000)


def test_description_reflows_to_the_panel():
    from gui.docks import reflow

    assert reflow("a b\nc  d\n\n\nnext\npara\n") == "a b c d\n\nnext para"
    assert reflow(None) == ""


@pytest.mark.slow
def test_render_and_gui_bad_input_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = 1\nsteps = 0\n")
    for args in (
        ("render", str(bad), "--out", str(tmp_path / "x.png")),
        ("render", "scenarios/ravine_gd_momentum_adam.toml", "--out", str(tmp_path / "x.txt")),
        ("render", "scenarios/ravine_gd_momentum_adam.toml", "--out", "/nonexistent/dir/x.png"),
        ("gui", str(bad)),
    ):
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert r.stderr.strip()
    assert not list(tmp_path.glob("*.png"))


def test_perceptron_window_shows_and_updates(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from engine.scenario import load_scenario
    from gui.window import MainWindow

    w = MainWindow(load_scenario(ROOT / "scenarios" / "perceptron_minibatch.toml"))
    qtbot.addWidget(w, before_close_func=forget_edits)
    w.show()
    assert w.is_perceptron
    assert w.central.currentWidget() is w.perceptron
    # the loss axis names the loss in both y modes; a title says how to read the curves
    axis = w.loss.plotItem.getAxis("left")
    assert axis.labelText == "log₁₀ loss"
    assert "dashed: validation" in w.loss.plotItem.titleLabel.text
    w.log_y.setChecked(not w.log_y.isChecked())
    assert axis.labelText == ("log₁₀ loss" if w.log_y.isChecked() else "loss")
    w.log_y.setChecked(not w.log_y.isChecked())
    race = w.race
    assert race.objective.dim == 3
    line0 = w.perceptron.lines[0].getData()[1]
    w.speed.setValue(w.speed.maximum())
    w.play_action.trigger()
    qtbot.waitUntil(lambda: race.done, timeout=20000)
    qtbot.wait(100)
    w.frames.on_frame()
    w.frames.perceptron_slow_updates()
    w.frames.update_board()
    # decision lines moved, the weight-space slice is drawn, accuracy is in the board
    x, y = w.perceptron.lines[0].getData()
    assert x is not None and len(x) == 2
    assert line0 is None or len(line0) != 2 or not np.allclose(line0, y)
    assert w.perceptron.slice_b is not None
    accs = [w.board.item(r, 3).text() for r in range(w.board.rowCount())]
    assert all(a.endswith("%") for a in accs)
    assert all(float(a.rstrip(" %")) >= 95.0 for a in accs)
    # a click in weight space restarts from (w1, w2) with the start's b
    w.intents.on_weights_chosen(1.0, -2.0)
    assert np.allclose(race.xs[:, 0], [1.0, -2.0, race.objective.start[2]])
    w.undo_action.trigger()  # the click is one undo step
    assert np.allclose(
        w.race.objective.start,
        load_scenario(ROOT / "scenarios" / "perceptron_minibatch.toml").objective.start,
    )
    assert not w.isWindowModified()
    w.close()


def test_scenario_view_settings_reach_the_panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from engine.scenario import loads_scenario
    from gui.window import MainWindow

    text = (
        'schema = 1\nname = "v"\nsteps = 10\n[objective]\nkind = "landscape"\n'
        'name = "rosenbrock"\nstart = [-1.5, 2.0]\n'
        "[view]\nx_range = [-3.0, 3.0]\nlevels = 7\nlog_color = false\n"
        '[[optimizers]]\nname = "sgd"\n'
    )
    w = MainWindow(loads_scenario(text), start_runner=False)
    qtbot.addWidget(w, before_close_func=forget_edits)
    w.show()
    assert w.landscape.levels == 7
    assert w.landscape.log_color is False
    # the landscape's own y range; equal aspect widens one side of the box
    assert w.landscape.home == pytest.approx((-3.0, 3.0, -1.0, 3.0))
    x0, x1, y0, y1 = w.landscape.view_box()
    assert x0 <= -3.0 + 1e-9 and x1 >= 3.0 - 1e-9 and y0 <= -1.0 + 1e-9 and y1 >= 3.0 - 1e-9
    w.aspect_action.trigger()
    assert w.landscape.view_box() == pytest.approx((-3.0, 3.0, -1.0, 3.0))
    forget_edits(w)
    w.close()


def forget_edits(w) -> None:
    """Mark the window's scenario saved, so closing it at teardown does not ask."""
    w.document.forget_changes()


# ---------------------------------------------------------------------------- honest pictures
def _scenario_window(qtbot, tmp_path, monkeypatch, scenario, steps=None, run=True):
    """A window on ``scenario`` (a file under scenarios/, or a Scenario) without a runner,
    its race run to the end and drawn."""
    from dataclasses import replace

    from engine.scenario import load_scenario
    from gui.window import MainWindow

    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    scn = load_scenario(ROOT / "scenarios" / scenario) if isinstance(scenario, str) else scenario
    if steps is not None:
        scn = replace(scn, steps=steps)
    w = MainWindow(scn, start_runner=False)
    qtbot.addWidget(w, before_close_func=forget_edits)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    if run:
        w.race.run()
        w.frames.draw_now()
    return w


def _close(w) -> None:
    forget_edits(w)
    w.close()


def test_maps_keep_equal_aspect_by_default_toggle_and_save(qtbot, tmp_path, monkeypatch):
    from engine.scenario import dumps_scenario, loads_scenario

    w = _scenario_window(qtbot, tmp_path, monkeypatch, "lecture_gd_round_bowl.toml", run=False)
    vb = w.landscape.plotItem.vb
    assert w.aspect_action.isChecked() and vb.state["aspectLocked"] == 1.0
    sx, sy = vb.viewPixelSize()
    assert sx == pytest.approx(sy, rel=1e-3)  # a circle is drawn round
    x0, x1, y0, y1 = w.landscape.view_box()  # the scenario's box fits inside
    assert x0 <= -1.0 + 1e-9 and x1 >= 4.5 - 1e-9 and y0 <= -1.0 + 1e-9 and y1 >= 1.0 - 1e-9
    w.aspect_action.trigger()  # View -> Equal aspect off: an undoable scenario edit
    assert not vb.state["aspectLocked"]
    assert w.landscape.view_box() == pytest.approx((-1.0, 4.5, -1.0, 1.0))
    assert w.isWindowModified()
    text = dumps_scenario(w.current_scenario())
    assert "equal_aspect = false" in text
    assert loads_scenario(text).view.equal_aspect is False
    w.undo_action.trigger()
    assert w.aspect_action.isChecked() and vb.state["aspectLocked"] == 1.0
    # a file that says false opens unlocked; the perceptron's plots follow the toggle
    w.load(loads_scenario(text))
    assert not w.aspect_action.isChecked() and not vb.state["aspectLocked"]
    p = _scenario_window(qtbot, tmp_path, monkeypatch, "perceptron_minibatch128.toml", run=False)
    for plot in (p.perceptron.data_plot, p.perceptron.weights):
        assert plot.plotItem.vb.state["aspectLocked"] == 1.0
    p.aspect_action.trigger()
    for plot in (p.perceptron.data_plot, p.perceptron.weights):
        assert not plot.plotItem.vb.state["aspectLocked"]
    _close(w)
    _close(p)


def test_no_axis_rescales_its_labels(qtbot, tmp_path, monkeypatch):
    """pyqtgraph's automatic SI prefix turned the ravine's ±0.6 into ticks ±600 labelled
    "x₂ (x0.001)": every axis of every plot (maps, colour bars, loss, perceptron) is off."""
    import re

    import pyqtgraph as pg

    def axes(w):
        found = []
        for view in w.findChildren(pg.GraphicsView):
            found += [it for it in view.scene().items() if isinstance(it, pg.AxisItem)]
        return found

    prefix = re.compile(r"\(\s*[x×]\s*[0-9.eE+-]+\s*\)|\([a-zA-Zµ]\)")
    w = _scenario_window(qtbot, tmp_path, monkeypatch, "lecture_gd_ravine.toml")
    w.aspect_action.trigger()  # unlocked, the ravine's y axis spans ±0.75
    w.frames.draw_now()
    p = _scenario_window(qtbot, tmp_path, monkeypatch, "perceptron_minibatch128.toml", steps=40)
    for win in (w, p):
        found = axes(win)
        assert len(found) >= 7  # map x, y, colour bar; loss x, y (+ the perceptron's)
        for ax in found:
            assert not ax.autoSIPrefix, ax.labelText
            assert not prefix.search(ax.labelString()), ax.labelString()
    ticks = w.landscape.plotItem.getAxis("left").tickStrings([-0.5, 0.5], 1.0, 0.5)
    assert ticks == ["-0.5", "0.5"]
    _close(w)
    _close(p)


def test_exact_zero_loss_drawn_on_a_visible_floor(qtbot, tmp_path, monkeypatch):
    """η = 0.5 on x₁² + x₂² lands on the minimum in one step: |f − f*| = 0 from step 1,
    drawn one decade below the smallest positive value, not at 1e-300."""
    w = _scenario_window(qtbot, tmp_path, monkeypatch, "lecture_gd_round_bowl.toml")
    race, loss = w.race, w.loss
    k = [c.label for c in race.racers].index("η = 0.5 (extra: one step)")
    gaps = [race.trajectory(i).loss - race.objective.f_star() for i in range(len(race.racers))]
    assert gaps[k][0] > 0 and (gaps[k][1:] == 0).all()
    smallest = min(float(g[g > 0].min()) for g in gaps)
    assert loss.floor == math.floor(math.log10(smallest)) - 1
    src = loss.sources[k]
    ys = src.buf[: src.n, 1]
    assert np.nanmin(ys) == loss.floor and (ys >= loss.floor).all()
    assert src.first_floor == 1
    assert loss.floor_texts[k].isVisible()
    assert loss.floor_texts[k].textItem.toPlainText() == "f = f* exactly at step 1"
    assert loss.floor_marks.data["x"].tolist() == [1.0]
    assert loss.floor_line.isVisible() and loss.floor_line.value() == loss.floor
    _, (y0, y1) = loss.plotItem.vb.viewRange()
    assert loss.floor - 5 < y0 <= loss.floor < math.log10(16.25) <= y1  # the whole story
    assert not any(t.isVisible() for i, t in enumerate(loss.floor_texts) if i != k)
    # the worked example's optimal η lands exactly too
    e = _scenario_window(qtbot, tmp_path, monkeypatch, "lecture_worked_example_E.toml")
    assert e.loss.floor is not None and e.loss.floor > -40
    assert e.loss.plotItem.vb.viewRange()[1][0] > -40
    _close(w)
    _close(e)


def test_noisy_losses_faint_with_moving_average_and_epoch_means(qtbot, tmp_path, monkeypatch):
    """Batch size 1: the per-step loss is faint, its moving average (weight 1/τ) and the
    epoch means are drawn over it, fed frame by frame, and they are the exact figures."""
    w = _scenario_window(
        qtbot, tmp_path, monkeypatch, "perceptron_stochastic.toml", steps=None, run=False
    )
    race, loss = w.race, w.loss
    spe = race.steps_per_epoch
    assert loss.spe == spe and loss.ema_steps == 100
    assert [t.kind for t in loss.tracks[0]] == ["step", "ema", "epoch"]
    title = loss.plotItem.titleLabel.text
    assert "faint: loss per step" in title and "EMA over ~100 steps" in title
    assert "bold: epoch mean" in title and "dashed: validation" in title
    step, ema, epoch = loss.tracks[0]
    assert step.style.opts["pen"].color().alpha() < 100 <= ema.style.opts["pen"].color().alpha()
    assert epoch.style.opts["pen"].widthF() > ema.style.opts["pen"].widthF()
    chunk = 3 * spe + 17
    while not race.done:  # frames along the race
        race.advance(chunk)
        w.frames.on_frame()
    w.frames.draw_now()
    for i in range(len(race.racers)):
        y = race.trajectory(i).loss
        ref = np.empty_like(y)
        acc = y[0]
        for t, v in enumerate(y):
            acc = acc + (v - acc) / 100.0 if t else v
            ref[t] = acc
        ema_i, epoch_i = loss.tracks[i][1], loss.tracks[i][2]
        assert np.allclose(ema_i.y[: y.size], ref, rtol=1e-12, atol=0)
        m = y.size // spe
        means = y[: m * spe].reshape(m, spe).mean(axis=1)
        assert epoch_i.done == m and np.allclose(epoch_i.y[:m], means, rtol=1e-12)
        xs = epoch_i.src.buf[: epoch_i.src.n, 0]
        assert xs.min() == pytest.approx((spe - 1) / 2)  # each mean at its epoch's middle
    # the y range fits the averages and the validation, not the single rows' 1e-8 dips
    _, (y0, _) = loss.plotItem.vb.viewRange()
    raw = np.log10(race.trajectory(0).loss)
    assert y0 > raw.min() + 3
    assert y0 <= math.log10(min(t.y[: t.done].min() for r in loss.tracks for t in r[1:]))
    _close(w)


def test_diverged_trail_stops_at_the_view_edge(qtbot, tmp_path, monkeypatch):
    """GD η = 0.021 on the ravine: its zig-zag leaves the view box at step 5 and grows
    without end; the trail ends at the box's edge with an arrow, and the loss panel's y
    range is that of the other racers (and the diverging one up to its divergence)."""
    w = _scenario_window(qtbot, tmp_path, monkeypatch, "lecture_gd_ravine.toml", steps=4000)
    race, panel = w.race, w.landscape
    k = [c.label for c in race.racers].index("η = 0.021 (diverges)")
    d = race.diverged_step(k)
    assert d is not None
    x0, x1, y0, y1 = panel.home
    assert (x0, x1, y0, y1) == (-2.0, 4.5, -0.75, 0.75)
    tr = panel.trail_state[k]
    pts = tr.buf[: tr.n]
    eps = 1e-9
    assert (pts[:, 1] >= y0 - eps).all() and (pts[:, 1] <= y1 + eps).all()
    edge = panel.trail_layer.heads[k]
    assert abs(abs(edge[1]) - 0.75) < 1e-9 and x0 < edge[0] < x1
    xs = race.trajectory(k).x
    assert (np.abs(xs[5:, 1]) > 0.75).all() and (np.abs(xs[:5, 1]) <= 0.75).all()
    arrow, text = panel.exits[k]
    assert arrow.isVisible() and text.isVisible()
    assert text.textItem.toPlainText() == "left the view at step 5"
    assert (arrow.pos().x(), arrow.pos().y()) == pytest.approx(tuple(edge))
    assert not panel.heads.shown[k]
    assert panel.home_outline.xData is not None and panel.home_outline.xData.size == 5
    others = [i for i in range(len(race.racers)) if i != k]
    assert all(panel.heads.shown[i] and not panel.exits[i][0].isVisible() for i in others)
    # the loss panel: fitted without the rows after the divergence
    _, (ly0, ly1) = w.loss.plotItem.vb.viewRange()
    gap = race.trajectory(k).loss - race.objective.f_star()
    top = max(src.hi for src in w.loss.sources)
    assert top == pytest.approx(math.log10(gap[d]))  # its loss where it diverged
    assert top < ly1 < top + 0.1 * (ly1 - ly0) < math.log10(gap[-1]) / 2
    assert ly0 < math.log10(gap[0])
    # a restart of that racer draws it whole again
    w.reset_race()
    assert not arrow.isVisible() and panel.home_outline.xData.size == 0
    _close(w)


def test_legend_keeps_off_the_start_and_transport_icons(window, qtbot):
    panel = window.landscape

    def covered() -> bool:
        start = panel.start.scenePos()
        return panel.legend.sceneBoundingRect().adjusted(-12, -12, 12, 12).contains(start)

    assert not covered()
    corner = panel.legend_corner
    window.intents.on_start_chosen(1.5, -0.5)  # to the opposite corner: the legend moves
    assert panel.legend_corner != corner and not covered()
    for action in (window.play_action, window.step_action, window.reset_action):
        assert not action.icon().isNull()
        assert action.text() in ("Play", "Step", "Reset") and action.toolTip()
    window.play_action.trigger()
    assert window.play_action.text() == "Pause" and not window.play_action.icon().isNull()
    window.play_action.trigger()
    assert window.play_action.text() == "Play"


def test_each_dock_tab_group_shows_one_tab_bar(qtbot):
    """Qt leaves a second tab bar of a tab group where the group was first laid out (it
    goes at some later relayout, but a picture grabbed at once shows it); the window
    hides it as soon as it is laid out."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QTabBar

    from gui.settings import Settings
    from gui.window import MainWindow

    w = MainWindow(start_runner=False, settings=Settings(remember=False))
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())

    def shown() -> list[tuple[str, ...]]:
        bars = w.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
        return [tuple(b.tabText(i) for i in range(b.count())) for b in bars if b.isVisible()]

    w.resize(1400, 900)
    w.show()
    QApplication.processEvents()  # one pass: laid out, nothing else yet
    assert sorted(shown()) == [("Leaderboard", "Update equations"), ("Race", "Scenario", "Maps",
                                                                       "Local model")]  # fmt: skip
    w.resize(1200, 800)  # a relayout shows no stray bar again
    QApplication.processEvents()
    assert len(shown()) == 2
