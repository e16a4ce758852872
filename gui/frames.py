"""The window's frame loop: a 60 Hz timer pulls the rows the engine added and redraws.

Only the GUI thread runs it. Each frame compares the racers' row counts with the counts
last drawn and hands the panel shown only what changed; the slower views (perceptron
epoch curves and weight slice, leaderboard) refresh every few frames. Anything that
needs every trail drawn anew calls :meth:`FrameLoop.redraw_all`.

Replay: :meth:`FrameLoop.show_until` shows the race as it stood after step k from its
recorded rows (:class:`RaceAt`), without running or changing it: the timeline under the
map (``gui/timeline.py``) and the video export both use it. While it shows an earlier
step the leaderboard is computed on the GUI thread whenever the step changes (at most
every BOARD_SCRUB_EVERY frames), not in the worker: a worker's rows could be those of a
step shown a moment before.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer

from engine.kernel import DIVERGED, RUNNING
from engine.metrics import EpochCache, ScanCache
from engine.optimizers.spec import HP_MOMENTUM
from engine.race import Race
from gui.perceptron import EpochSampler, PerceptronPanel

if TYPE_CHECKING:
    from gui.landscape_panel import LandscapePanel
    from gui.multiples import SmallMultiples
    from gui.window import MainWindow

FRAME_MS = 16  # the timer's interval: ~60 frames/s
SLICE_EVERY = 10  # frames between the perceptron's epoch curves and weight slice
BOARD_EVERY = 15  # frames between leaderboard scans (4 Hz)
PLAY_EVERY = 8  # frames between checks of the play button against the runner
BOARD_SCRUB_EVERY = 4  # frames between leaderboards of a step shown that keeps changing


class FrameLoop:
    """The frame clock of one :class:`gui.window.MainWindow` and what each frame draws."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.frame_times: list[float] = []  # seconds per frame, the last 1000-2000 frames
        self.epochs = EpochSampler()  # per-epoch metrics within a time budget per frame
        self.count = 0  # frames so far
        self.shown: RaceAt | None = None  # the race at an earlier step (show_until)
        self.last_counts: list[int] = []  # the racers' row counts as drawn
        self.slow_due = False  # the perceptron's slow views at the next frame (timeline)
        self._board_key: tuple[object, ...] | None = None  # what the leaderboard shows
        self._board_frame = 0  # the frame it was computed at
        self.timer = QTimer(win)
        # precise: a coarse timer may fire up to 5 % late, which alone caps a 16 ms
        # frame clock below 60 frames/s
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.on_frame)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def show_until(self, step: int | None) -> None:
        """Draw the race as it stood after update ``step`` (its rows 0..step) from the
        rows recorded, None: as it is now. Nothing is run again; the runner must not
        advance the race meanwhile. Takes effect at the next frame (or draw_now), which
        draws only the racers whose row count it changed."""
        race = self.win.race
        if step is None or race is None:
            self.shown = None
        elif self.shown is None or self.shown.race is not race:
            self.shown = RaceAt(race, step)
        else:  # the same view: its metrics scan only the rows past the last step shown
            self.shown.set_step(step)

    def shown_race(self) -> Race:
        """The race the frames draw: the window's, or its earlier state (show_until)."""
        race = self.win.race
        assert race is not None
        if self.shown is not None and self.shown.race is race:
            return self.shown
        return race

    def redraw_all(self) -> None:
        """The next frame draws every racer's rows anew."""
        race = self.win.race
        if race is not None:
            self.last_counts = [-1] * len(race.racers)

    def draw_now(self) -> None:
        """Draw everything from the race's current rows at once, including what frames
        refresh only now and then (map grid, perceptron epoch curves, leaderboard): for a
        headless render or a check that does not wait for the timers."""
        win = self.win
        self.last_counts = []
        self.on_frame()
        if win.is_perceptron:
            self.perceptron_slow_updates()
            win.perceptron.refresh_grid()
        else:
            win.landscape.refresh_grid()
            win.multiples.refresh_grid()
        self.update_board()

    def on_frame(self) -> None:
        """Pull new rows from the engine and redraw (GUI thread, ~60 Hz)."""
        win = self.win
        race = self.shown_race()
        t0 = time.perf_counter()
        n = len(race.racers)
        counts = [int(c) for c in race.count[:n]]
        multiples = win.central.currentWidget() is win.multiples
        if multiples and win.multiples.set_enabled([c.enabled for c in race.racers]):
            self.last_counts = []  # panels rearranged: each pulls its racer's rows anew
        changed = counts != self.last_counts
        arrows = win.arrows_action.isChecked()
        if changed:
            self._draw_rows(counts)
            self.last_counts = counts
            win.step_label.setText(f"step {max(counts) - 1 if counts else 0:,} / {race.steps:,}")
            if arrows:
                win.landscape.show_step_arrows(race, counts)
        if not arrows:
            for i in range(n):
                win.landscape.set_arrows(i, None)
        win.surface3d.on_frame(race, counts)  # the 3-D view (gui/surface3d.py), if open
        self.count += 1
        slow = self.count % SLICE_EVERY == 0 or (changed and self.count < 3) or self.slow_due
        if win.is_perceptron and slow:
            self.slow_due = False
            self.perceptron_slow_updates()
        if race is not win.race:  # an earlier step: its leaderboard here, when it changed
            win.board.poll(race)  # drops a worker's rows of the live race
            due = self.count - self._board_frame >= BOARD_SCRUB_EVERY
            if due and (self._board_key != self.board_key(race) or self.count % BOARD_EVERY == 0):
                self.update_board()
        else:
            if self.count % BOARD_EVERY == 0:  # the metrics scan only the rows new since
                win.board.refresh_async(race)
            win.board.poll(race, self.board_epochs())
        if self.count % PLAY_EVERY == 0:
            win.sync_play()
        win.timeline.sync()
        self.frame_times.append(time.perf_counter() - t0)
        if len(self.frame_times) > 2000:
            del self.frame_times[:1000]

    def _draw_rows(self, counts: list[int]) -> None:
        """The racers whose counts changed, on the panel shown, and every loss curve."""
        win = self.win
        race = self.shown_race()
        n = len(counts)
        panel: PerceptronPanel | LandscapePanel | SmallMultiples
        panel = win.perceptron if win.is_perceptron else win.landscape
        if win.central.currentWidget() is win.multiples:
            panel = win.multiples  # the single panel catches up when shown again
        ends = [race.blowup(i) for i in range(n)]  # one scan per racer for both outcomes
        diverged = [k if kind == "diverged" else None for kind, k in ends]
        unbounded = [k if kind == "unbounded" else None for kind, k in ends]
        last, xs = self.last_counts, race.xs
        for i in range(n):
            if counts[i] == (last[i] if i < len(last) else -1):
                continue
            if isinstance(panel, PerceptronPanel):
                panel.update_racer(i, xs[i], counts[i], race.racers[i].enabled)
            else:  # a blown-up run's trail ends at the view
                escaped = ends[i][1] is not None
                panel.update_racer(i, xs[i], counts[i], race.racers[i].enabled, escaped=escaped)
        win.loss.update_curves(
            [race.loss[i] for i in range(n)],
            counts,
            [c.enabled for c in race.racers],
            diverged,
            race.steps,
            unbounded,
        )

    def perceptron_slow_updates(self) -> None:
        """Epoch curves and the weight-space slice (a few times per second)."""
        win = self.win
        race = self.shown_race()
        n = len(race.racers)
        if n == 0:
            return
        i = min(win.selected, n - 1)
        c = int(race.count[i])
        if c > 0:
            win.perceptron.set_slice(float(race.xs[i, c - 1, 2]), race.racers[i].label)
        playing = win.runner is not None and win.runner.playing
        self.epochs.update(race, 0.004 if playing else 0.05)
        curves = []
        for k in range(n):
            m = self.epochs.metrics(k)
            curves.append((m["step"], m["val_loss"]))
        win.loss.set_epoch_curves(curves)

    def update_board(self) -> None:
        """The leaderboard from the race's metrics now (on the GUI thread)."""
        race = self.shown_race()
        self.win.board.show_rows(race, race.leaderboard(), self.board_epochs())
        self._board_key = self.board_key(race)
        self._board_frame = self.count

    @staticmethod
    def board_key(race: Race) -> tuple[object, ...]:
        """What a leaderboard of ``race`` depends on besides its rows' values."""
        n = len(race.racers)
        return (id(race), getattr(race, "step", None), race.count[:n].tobytes(),
                race.status[:n].tobytes())  # fmt: skip

    def board_epochs(self) -> EpochSampler | None:
        return self.epochs if self.win.is_perceptron else None


class RaceAt(Race):
    """A race as it stood after update ``step``: its recorded rows 0..step, read-only.

    Every reader of a race (trails, loss curves, metrics, leaderboard, epochs) works on it
    unchanged: ``count``, ``t`` and ``status`` are those of that step (a run the kernel
    stopped later is still running), the rest is the race's own (rows, racers, objective).
    It has its own metric caches, so stepping forward scans only the rows added.

    The optimizer state ``st`` is a racer's own where its run had ended by that step;
    where the step is earlier only the momentum row is known (from ``vel``, which the
    window's races record at every step; the step arrows draw it), the rest is NaN.
    """

    def __init__(self, race: Race, step: int) -> None:  # no Race.__init__: nothing is built
        self.race = race
        self._scans = ScanCache()
        self._epochs = EpochCache()
        self.set_step(step)

    def set_step(self, step: int) -> None:
        race = self.race
        self.step = max(int(step), 0)
        self.count = np.minimum(race.count, self.step + 1)
        self.t = np.minimum(race.t, self.step)
        # an overflow at update t (row t unrecorded) shows once step t is reached
        seen = (race.status == DIVERGED) & (race.t <= self.step)
        self.status = np.where(
            seen, DIVERGED, np.where(race.status == DIVERGED, RUNNING, race.status)
        )
        # the state at that step: unknown (NaN) but for the momentum row, which a race
        # that records it (the window's) has at every row
        later = np.flatnonzero(self.count < race.count)
        st = race.st.copy()
        st[later] = np.nan
        if race.vel.shape[1] > 0 and later.size:
            slot = race.hps[later, HP_MOMENTUM].astype(np.int64) - 1
            has = slot >= 0
            rows, slots = later[has], slot[has]
            st[rows, slots] = race.vel[rows, self.count[rows] - 1]
        self.st = st

    def __getattr__(self, name: str) -> Any:  # what the view does not change
        return getattr(self.race, name)

    def advance(self, n: int) -> int:
        raise TypeError("a race replayed at an earlier step cannot advance")
