"""Parameter sweeps (engine/sweep.py) and the sweep in the window."""

from __future__ import annotations

import itertools
import os

import pytest

from engine.race import RacerConfig
from engine.sweep import SweepError, gradient_colors, parse_values, range_values, sweep_racers


def _lightness(hex_color: str) -> float:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_parse_values_of_the_notes():
    assert parse_values("0.001, 0.005, .01, 0.015; 2e-2") == [0.001, 0.005, 0.01, 0.015, 0.02]


@pytest.mark.parametrize("text", ["", "0.1, abc", "1, inf", "nan", ", ".join(["1"] * 33)])
def test_parse_values_refuses(text):
    with pytest.raises(SweepError):
        parse_values(text)


def test_ranges():
    assert range_values(1e-3, 1e-1, 3, log=True) == [0.001, 0.01, 0.1]
    assert range_values(0.0, 1.0, 5, log=False) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert range_values(2.0, 2.0, 1, log=False) == [2.0]
    v = range_values(1e-4, 1.0, 9, log=True)
    assert v[0] == 1e-4 and v[-1] == 1.0
    ratios = [b / a for a, b in itertools.pairwise(v)]
    assert max(ratios) / min(ratios) < 1.001
    with pytest.raises(SweepError, match="> 0"):
        range_values(0.0, 1.0, 3, log=True)
    with pytest.raises(SweepError):
        range_values(0.0, 1.0, 0, log=False)


def test_gradient_is_sequential():
    cols = gradient_colors(7)
    assert len(set(cols)) == 7
    light = [_lightness(c) for c in cols]
    assert all(a > b for a, b in itertools.pairwise(light))  # light -> dark
    assert gradient_colors(1) == [gradient_colors(2)[0]]
    assert gradient_colors(0) == []


def test_sweep_racers_copy_everything_but_the_value():
    cfg = RacerConfig("sgd", {"lr": 0.3, "momentum": 0.5}, "step", {"step_size": 7}, label="GD")
    made = sweep_racers(cfg, "lr", [0.001, 0.02])
    assert [r.params["lr"] for r in made] == [0.001, 0.02]
    assert all(r.params["momentum"] == 0.5 for r in made)
    assert all(r.schedule == "step" and r.schedule_params["step_size"] == 7 for r in made)
    assert made[0].label.startswith("GD ") and made[0].label.endswith("=0.001")
    assert made[1].label.endswith("=0.02")
    named = RacerConfig("sgd", {"lr": 0.019}, label="GD (η = 0.019)")
    assert sweep_racers(named, "lr", [0.5])[0].label == "GD η=0.5"
    assert made[0].color != made[1].color
    assert made[0].schedule_params is not cfg.schedule_params
    assert cfg.params["lr"] == 0.3  # the original is untouched


def test_sweep_racers_refuses_bad_values():
    cfg = RacerConfig("adam", {"lr": 0.01})
    with pytest.raises(SweepError, match="beta1 = 1"):
        sweep_racers(cfg, "beta1", [0.5, 1.0])
    with pytest.raises(SweepError, match="no parameter"):
        sweep_racers(cfg, "momentum", [0.5])
    with pytest.raises(SweepError, match="not a number"):
        sweep_racers(cfg, "amsgrad", [1.0])


# ---------------------------------------------------------------- in the window
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "settings.ini"))
    from engine.scenario import load_scenario
    from gui.window import MainWindow

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    w = MainWindow(load_scenario(root / "scenarios" / "lecture_gd_ravine.toml"))
    qtbot.addWidget(w, before_close_func=_forget)
    return w


def _forget(w) -> None:
    w.document.forget_changes()


@pytest.mark.gui
def test_dialog_previews_and_refuses(window):
    from PySide6.QtWidgets import QDialogButtonBox

    from gui.sweep import SweepDialog

    dlg = SweepDialog(list(window.race.racers), 0, window)
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dlg.param.currentText() == "lr"
    assert ok.isEnabled() and dlg.preview.text().count("■") == 5
    dlg.values.setText("0.1, -1")
    assert not ok.isEnabled() and "lr = -1" in dlg.preview.text()
    dlg.mode_log.click()
    dlg.lo.setText("1e-3")
    dlg.hi.setText("1e-1")
    dlg.count.setValue(3)
    assert ok.isEnabled()
    assert [r.params["lr"] for r in dlg.result_racers()] == [0.001, 0.01, 0.1]


@pytest.mark.gui
def test_window_sweep_is_one_undo_step(window):
    from engine.sweep import gradient_colors

    race = window.race
    n = len(race.racers)
    base = race.racers[0]
    made = sweep_racers(base, "lr", [0.001, 0.005, 0.01, 0.015, 0.02])
    assert window.intents.sweep(0, made, replace_racer=True)
    assert len(window.race.racers) == n - 1 + 5
    tail = window.race.racers[-5:]
    assert [r.params["lr"] for r in tail] == [0.001, 0.005, 0.01, 0.015, 0.02]
    assert [r.color for r in tail] == gradient_colors(5)
    assert len(window.editors) == n + 4
    window.undo_action.trigger()
    assert len(window.race.racers) == n and window.race.racers[0].label == base.label
    assert not window.isWindowModified()
    window.redo_action.trigger()
    assert len(window.race.racers) == n + 4
