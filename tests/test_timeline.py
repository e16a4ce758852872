"""The timeline (gui/timeline.py): scrubbing a race shows it as it stood at step k from
the recorded rows (trails, heads, step arrows, the loss cursor, the leaderboard, the
perceptron's panels) and never calls the engine; ← / → step one update, → at the live
end steps the engine, Home / End jump; Play and edits return to live."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from engine.metrics import board_rows
from engine.optimizers import get_optimizer
from engine.scenario import build_race, load_scenario
from gui.frames import BOARD_SCRUB_EVERY
from gui.leaderboard import BOARD_COLUMNS
from gui.perceptron import decision_line
from gui.timeline import TimelineState

ROOT = Path(__file__).resolve().parents[1]
MOMENTUM = ROOT / "scenarios" / "lecture_momentum_ravine_rho09.toml"
PERCEPTRON = ROOT / "scenarios" / "perceptron_minibatch.toml"
N = 120  # steps run before scrubbing


def _wait_until(qtbot: Any, cond: Any, timeout: float = 10.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise AssertionError("condition not met in time")
        qtbot.wait(10)


def run_steps(window: Any, path: Path, n: int, steps: int = 1000) -> Any:
    """``path`` loaded in ``window`` and run ``n`` steps by the engine's runner."""
    window.load(replace(load_scenario(path), steps=steps))
    window.session.step(n)
    assert window.runner.wait_idle()
    window.frames.draw_now()
    race = window.race
    assert race.count.tolist() == [n + 1] * len(race.racers)
    return race


def assert_thinned(kept: np.ndarray, rows: np.ndarray, eps: float) -> None:
    """``kept`` is ``rows`` thinned: row 0, then every row farther than ``eps`` from the
    last row kept, in order, and nothing else."""
    want = [rows[0]]
    for r in rows[1:]:
        if math.hypot(*(r - want[-1])) > eps:
            want.append(r)
    assert np.array_equal(kept, np.array(want))
    assert len(want) > len(rows) // 2  # most rows are drawn: the check has teeth


class Counting:
    """``race.advance`` wrapped: how often the engine was asked to step."""

    def __init__(self, race: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = race.advance

        def advance(n: int) -> int:
            self.calls += 1
            return int(real(n))

        monkeypatch.setattr(race, "advance", advance)


def board_texts(window: Any) -> list[tuple[str, ...]]:
    b = window.board
    return [
        tuple(b.item(r, c).text() for c in range(len(BOARD_COLUMNS))) for r in range(b.rowCount())
    ]


def expected_board(scenario_path: Path, k: int, epochs: bool = False) -> list[tuple[str, ...]]:
    """The leaderboard of the same scenario run only k steps, in a race of its own (a
    perceptron's ``epochs``: at its latest epoch)."""
    short = build_race(replace(load_scenario(scenario_path), steps=1000))
    short.advance(k)
    best = short.objective.board_best
    return [
        (r.rank, r.label, r.final_loss, getattr(r, best), r.steps_to_tol, r.first_within_tol,
         r.status)
        for r in board_rows(short, short.epoch_metrics if epochs else None)
    ]  # fmt: skip


# ---------------------------------------------------------------------------- the model
def test_state_seeks_within_the_recorded_steps_and_the_end_is_live() -> None:
    st = TimelineState()
    st.set_end(10)
    assert st.live and st.shown == 10
    assert not st.forward()  # at the live end: the engine steps
    st.back()
    assert (st.step, st.shown, st.live) == (9, 9, False)
    st.seek(-5)
    assert st.shown == 0
    st.back()
    assert st.shown == 0  # nothing before step 0
    assert st.forward() and st.shown == 1
    st.seek(99)
    assert st.live and st.shown == 10
    st.seek(4)
    st.set_end(3)  # a reset: the step shown is gone, the view is live
    assert st.live and st.shown == 3
    st.home()
    assert st.shown == 0 and not st.live
    st.go_live()
    assert st.live and st.shown == 3


# ---------------------------------------------------------------------------- landscape
def test_scrubbing_shows_step_k_from_the_recorded_rows_without_the_engine(
    window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    race = run_steps(window, MOMENTUM, N)
    window.arrows_action.setChecked(True)
    engine = Counting(race, monkeypatch)
    before = race.count.copy(), race.xs.copy()
    references: dict[int, Any] = {}  # the race run only k steps, for its state at k
    for k in (37, 90, 5, 37):  # back and forth: trails are rebuilt going back
        window.timeline.slider.setValue(k)  # as a drag does
        window.frames.draw_now()
        assert window.timeline.label.text().startswith(f"step {k} / {N}")
        assert window.step_label.text().startswith(f"step {k} /")
        for i in range(len(race.racers)):
            trail = window.landscape.trail_state[i]
            assert trail.upto == k + 1
            assert_thinned(trail.buf[: trail.n], race.xs[i, : k + 1, :2], trail.eps)
            px, py = trail.points(window.landscape.heads.xy[i])  # what the layer strokes
            assert (px[-1], py[-1]) == tuple(race.xs[i, k, :2])
            assert np.array_equal(window.landscape.heads.xy[i], race.xs[i, k, :2])
            # arrows from the head at k: −η·∇f, the update and, where the optimizer has
            # one, its momentum as it stood at step k (recorded per step)
            ax, ay = window.landscape.arrows[i].getData()
            opt = get_optimizer(race.racers[i].optimizer)
            assert len(ax) == (3 if opt.momentum_slot >= 0 else 2) * 6
            assert (ax[0], ay[0]) == tuple(race.xs[i, k, :2]) == (ax[6], ay[6])
            if opt.momentum_slot >= 0:
                ref = references.setdefault(k, build_race(window.scenario, steps=1000))
                if ref.count[0] == 1:
                    ref.advance(k)
                want = opt.arrow(ref.st[i], float(race.lrs[i, k]))
                update = race.xs[i, k, :2] - race.xs[i, k - 1, :2]
                drawn_m = np.array([ax[13] - ax[12], ay[13] - ay[12]])
                drawn_u = np.array([ax[7] - ax[6], ay[7] - ay[6]])
                assert (ax[12], ay[12]) == tuple(race.xs[i, k, :2])
                # same direction and the same length relative to the update arrow
                assert abs(want[0] * drawn_m[1] - want[1] * drawn_m[0]) <= 1e-5 * (
                    np.hypot(*want) * np.hypot(*drawn_m)
                )
                assert float(np.dot(want, drawn_m)) > 0
                ratio = np.hypot(*drawn_m) / np.hypot(*drawn_u)
                assert ratio == pytest.approx(np.hypot(*want) / np.hypot(*update), rel=1e-5)
            assert window.loss.sources[i].env.done == k + 1
        assert window.loss.cursor.isVisible() and window.loss.cursor.value() == k
        assert board_texts(window) == expected_board(MOMENTUM, k)
    assert engine.calls == 0
    assert np.array_equal(race.count, before[0]) and np.array_equal(race.xs, before[1])
    # live again: the whole race, no cursor, the momentum arrow back
    window.timeline.go_live()
    window.frames.draw_now()
    assert window.timeline.label.text() == f"step {N} / {N}"
    assert not window.loss.cursor.isVisible()
    assert np.array_equal(window.landscape.heads.xy[0], race.xs[0, N, :2])
    assert len(window.landscape.arrows[0].getData()[0]) == 3 * 6
    assert board_texts(window) == expected_board(MOMENTUM, N)
    assert engine.calls == 0


def test_keys_step_one_update_and_right_at_the_end_steps_the_engine(
    window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    race = run_steps(window, MOMENTUM, N)
    tl = window.timeline
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert (tl.state.shown, tl.state.live) == (N - 1, False)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert tl.state.shown == N - 2
    for _ in range(BOARD_SCRUB_EVERY):  # the frames alone, as the timer draws them
        window.frames.on_frame()
    assert np.array_equal(window.landscape.heads.xy[0], race.xs[0, N - 2, :2])
    assert board_texts(window) == expected_board(MOMENTUM, N - 2) != expected_board(MOMENTUM, N)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert tl.state.shown == 0
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert tl.state.shown == 1
    # a text field keeps its own arrows, Home and End
    field = window.editors[0].params.editors["lr"].text
    assert isinstance(field, QLineEdit)
    field.setFocus()
    for key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_End, Qt.Key.Key_Home):
        qtbot.keyClick(field, key)
    assert tl.state.shown == 1
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert tl.state.live and tl.state.shown == N
    window.frames.draw_now()
    assert window.frames.shown is None
    engine = Counting(race, monkeypatch)
    t0 = race.t.copy()
    qtbot.keyClick(window, Qt.Key.Key_Right)  # at the live end: one engine step
    _wait_until(qtbot, lambda: (race.t == t0 + 1).all())
    assert window.runner.wait_idle()
    assert engine.calls == 1 and (race.t == t0 + 1).all()
    window.frames.on_frame()
    assert tl.state.live and tl.label.text() == f"step {N + 1} / {N + 1}"


def test_play_resumes_from_the_live_end_and_a_drag_pauses(window: Any, qtbot: Any) -> None:
    race = run_steps(window, MOMENTUM, N, steps=200_000)
    window.speed.setValue(window.speed.maximum() - 20)  # ~2,000 steps/s
    window.play_action.trigger()
    _wait_until(qtbot, lambda: int(race.count[0]) > N + 10)
    tl = window.timeline
    tl.slider.sliderPressed.emit()  # grabbing the handle pauses the race
    assert not window.runner.playing
    assert window.runner.wait_idle()
    tl.slider.setValue(30)
    window.frames.on_frame()
    assert not tl.state.live and window.frames.shown is not None
    end = int(race.count[0])
    qtbot.wait(100)
    assert int(race.count[0]) == end  # stays paused while replaying
    window.play_action.trigger()  # Play: live again, from the live end
    window.frames.on_frame()
    assert tl.state.live and window.frames.shown is None
    _wait_until(qtbot, lambda: int(race.count[0]) > end + 10)
    window.play_action.trigger()


def test_an_edit_of_the_race_returns_to_live(window: Any) -> None:
    run_steps(window, MOMENTUM, N)
    window.timeline.seek(10)
    assert not window.timeline.state.live
    window.reset_race()
    window.frames.on_frame()
    assert window.timeline.state.live and window.frames.shown is None
    assert window.timeline.label.text() == "step 0 / 0"
    assert not window.loss.cursor.isVisible()


# ---------------------------------------------------------------------------- perceptron
def test_the_perceptron_scrubs_its_lines_slice_epochs_and_board(
    window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 60
    race = run_steps(window, PERCEPTRON, n)
    spe = race.steps_per_epoch
    assert spe == 8
    engine = Counting(race, monkeypatch)
    panel = window.perceptron
    for k in (27, 50, 3):
        window.timeline.seek(k)
        window.frames.draw_now()
        (x0, x1), (y0, y1) = panel.data_plot.plotItem.vb.viewRange()
        for i in range(len(race.racers)):
            w = race.xs[i, k]
            assert np.array_equal(panel.heads.xy[i], w[:2])
            ex, ey = decision_line(float(w[0]), float(w[1]), float(w[2]), x0, x1, y0, y1)
            lx, ly = panel.lines[i].getData()
            assert np.allclose(lx, ex) and np.allclose(ly, ey)
            steps = window.loss.epoch_curves[i].getData()[0]
            assert steps is not None and steps.max() <= k  # no epoch after step k
            assert steps.max() == (k // spe) * spe
        sel = race.xs[min(window.selected, len(race.racers) - 1), k, 2]
        assert panel.slice_b == sel
        assert f"b = {sel:.3g}" in panel.weights.plotItem.titleLabel.text
        want = expected_board(PERCEPTRON, k, epochs=True)
        assert board_texts(window) == want
        assert all(row[-1] == f"epoch {k // spe}" for row in want)
    assert engine.calls == 0
    assert race.count.tolist() == [n + 1] * len(race.racers)
    assert not math.isnan(panel.slice_b or math.nan)


# ---------------------------------------------------------------------------- blow-ups
def test_a_diverging_run_replays_before_and_after_it_left_the_view(window: Any) -> None:
    """GD with η = 0.021 on the ravine left the view at step 5 and diverged at step 77:
    replayed at step 50 it is still an ordinary (running) trail; at 100 it has diverged,
    its trail ends at the edge where it left and the note says when. The small multiples
    follow too."""
    path = ROOT / "scenarios" / "lecture_gd_ravine.toml"
    race = run_steps(window, path, 120)
    i = len(race.racers) - 1
    arrow, note = window.landscape.exits[i]
    cases = ((3, False, "running"), (50, False, "running"), (100, True, "diverged @ 77"))
    for multiples in (False, True):
        window.multiples_action.setChecked(multiples)
        for k, left, status in cases:
            window.timeline.seek(k)
            window.frames.draw_now()
            if multiples:
                assert window.multiples.cell_of[i].note.isVisible() == left
                trail = window.multiples.cell_of[i].trail
            else:
                assert arrow.isVisible() == left
                trail = window.landscape.trail_state[i]
            if left and not multiples:
                assert note.toPlainText() == "left the view at step 5"
            # up to the step shown, or to the last row inside the view once it left
            rows = race.xs[i, : (5 if left else k + 1), :2]
            assert_thinned(trail.buf[: trail.n], rows, trail.eps)
            rows_shown = {r[1]: r[-1] for r in board_texts(window)}
            assert rows_shown["η = 0.021 (diverges)"] == status
            assert board_texts(window) == expected_board(path, k)
