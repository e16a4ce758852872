"""The race window, driven through pytest-qt on the offscreen platform."""

from __future__ import annotations

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
    window._update_board()
    statuses = [window.board.item(r, 5).text() for r in range(window.board.rowCount())]
    assert any(s.startswith("diverged") for s in statuses)
    m = race.run_metrics(4)
    assert m.diverged_step == race.diverged_step(4)
    assert np.isfinite(race.trajectory(4).x).all()


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
    files = window.export_to(tmp_path / "out")
    names = sorted(p.name for p in files)
    assert names == ["summary.json", "trajectories.csv", "trajectories.npz"]
    header = (tmp_path / "out" / "trajectories.csv").read_text().splitlines()[0]
    assert header == "run,optimizer,step,x,y,loss,grad_norm,lr"


def test_grid_and_contours_are_fast_enough_to_follow_zoom(window):
    # not a timing assertion (machines are noisy): the grid is recomputed for the view
    window.landscape.plotItem.vb.setRange(xRange=(0.5, 1.5), yRange=(0.5, 1.5), padding=0)
    window.landscape.refresh_grid()
    rect = window.landscape.image.mapRectToView(window.landscape.image.boundingRect())
    assert rect.left() == pytest.approx(0.5, abs=1e-6)
    assert rect.right() == pytest.approx(1.5, abs=1e-6)


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
    from gui.window import reflow

    assert reflow("a b\nc  d\n\n\nnext\npara\n") == "a b c d\n\nnext para"
    assert reflow(None) == ""


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
    assert "validation loss per epoch (dashed)" in w.loss.plotItem.titleLabel.text
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
    w.on_frame()
    w._perceptron_slow_updates()
    w._update_board()
    # decision lines moved, the weight-space slice is drawn, accuracy is in the board
    x, y = w.perceptron.lines[0].getData()
    assert x is not None and len(x) == 2
    assert line0 is None or len(line0) != 2 or not np.allclose(line0, y)
    assert w.perceptron.slice_b is not None
    accs = [w.board.item(r, 3).text() for r in range(w.board.rowCount())]
    assert all(a.endswith("%") for a in accs)
    assert all(float(a.rstrip(" %")) >= 95.0 for a in accs)
    # a click in weight space restarts from (w1, w2) with the start's b
    w.on_weights_chosen(1.0, -2.0)
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
    x0, x1, y0, y1 = w.landscape.view_box()
    assert (x0, x1) == pytest.approx((-3.0, 3.0))
    assert (y0, y1) == pytest.approx((-1.0, 3.0))  # the landscape's own y range
    w.close()


def forget_edits(w) -> None:
    """Mark the window's scenario saved, so closing it at teardown does not ask."""
    w.document.forget_changes()
