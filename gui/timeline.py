"""The timeline under the map: a slider over the race's recorded steps, to scrub it.

Rules (what the user sees):

- **Live** (the default): the slider sits at the live end, the last step recorded
  (the largest row count of any racer, minus one), and its range grows as the race runs.
  The label reads "step k / n": the step shown and the live end.
- **Replay**: dragging the slider, clicking its groove, ← (Left), Home, or → while not at
  the live end show an earlier step k. Everything drawn is the race as it stood after
  update k, read from the recorded rows (:meth:`gui.frames.FrameLoop.show_until`,
  the same mechanism as the video export): trails and heads, step arrows, the loss
  curves up to k with a vertical cursor at k, the leaderboard at k, and the perceptron's
  decision lines, weight-space slice and epoch curves. Nothing is computed again and
  the engine is never called: going into replay pauses the race first.
- Keys (window-wide; a focused text field keeps its own arrows, Home and End): ←
  one update back, → one forward (at the live end: the engine takes one step, as the
  Step button does), Home step 0, End the live end. The Step button is →.
- Back to live: End, dragging to the end, Play (the race then resumes from the live
  end: it never runs from an earlier step), or any edit of the race (a restart, reset,
  changed racers or steps), which acts on the live race.
- The step arrows' momentum arrow is the optimizer's state, which is recorded only as it
  is now: in replay it is drawn for a racer whose run had already ended at k, and left
  out otherwise (the update and −η·∇f arrows are exact from the recorded rows).

:class:`TimelineState` holds these rules without Qt; :class:`Timeline` is the widget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from engine.race import Race
    from gui.window import MainWindow


@dataclass
class TimelineState:
    """The step shown: ``step`` None is live (the live end ``end``, following the race),
    else an earlier recorded step, ``0 <= step < end``."""

    end: int = 0
    step: int | None = None

    @property
    def live(self) -> bool:
        return self.step is None

    @property
    def shown(self) -> int:
        """The step shown (the live end when live)."""
        return self.end if self.step is None else min(self.step, self.end)

    def set_end(self, end: int) -> None:
        """The live end moved (the race ran, or was reset: a step beyond it is live)."""
        self.end = max(int(end), 0)
        if self.step is not None and self.step >= self.end:
            self.step = None

    def seek(self, k: int) -> None:
        """Show step ``k``, clamped to 0 .. end; the end itself is live."""
        k = min(max(int(k), 0), self.end)
        self.step = None if k >= self.end else k

    def back(self) -> None:
        """One update back (none before step 0)."""
        self.seek(self.shown - 1)

    def forward(self) -> bool:
        """One update forward; False at the live end: there the engine must step."""
        if self.step is None:
            return False
        self.seek(self.step + 1)
        return True

    def home(self) -> None:
        self.seek(0)

    def go_live(self) -> None:
        self.step = None


def live_end(race: Race) -> int:
    """The last step recorded by any racer (0 for a race without racers)."""
    n = len(race.racers)
    return max(int(race.count[:n].max()) - 1, 0) if n else 0


class Timeline(QWidget):
    """The slider and its "step k / n" label, and the ←, Home and End shortcuts (the
    window routes its Step action, →, to :meth:`forward`). See the module docstring."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__()
        self.win = win
        self.state = TimelineState()
        self._syncing = False  # the slider is being set to what is drawn: not a seek
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 4)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.slider.setToolTip(
            "The race's recorded steps: drag to replay (the race pauses). ← / → one "
            "update (→ at the end steps the race), Home: step 0, End or Play: live"
        )
        self.label = QLabel()
        self.label.setMinimumWidth(230)
        self.label.setStyleSheet("font-weight: bold")
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.slider.valueChanged.connect(self._on_value)
        self.slider.sliderPressed.connect(self._on_press)
        self.back_action = self._action("Step back", Qt.Key.Key_Left, self.back)
        self.home_action = self._action("Replay from step 0", Qt.Key.Key_Home, self.home)
        self.end_action = self._action("Back to the live end", Qt.Key.Key_End, self.go_live)
        b = win.bridge  # any edit acts on the live race: show it
        b.reloaded.connect(self._on_edit)
        b.raceChanged.connect(self._on_edit)
        b.racersChanged.connect(self._on_edit)
        self._show(0, 0)

    def _action(self, text: str, key: Qt.Key, slot: object) -> QAction:
        a = QAction(text, self.win)
        a.setShortcut(QKeySequence(key))
        # as the transport's: also from a floating dock; a focused text field still gets
        # its own arrows, Home and End first (it claims them as a shortcut override)
        a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        a.triggered.connect(slot)
        self.win.addAction(a)
        return a

    def wrap(self, central: QWidget) -> QWidget:
        """``central`` (the panels' stack) with this timeline under it."""
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(central, 1)
        col.addWidget(self)
        return box

    # ------------------------------------------------------------ user
    def seek(self, k: int) -> None:
        """Show step ``k`` (the live end or beyond: live)."""
        self._catch_up()
        self.state.seek(k)
        self._apply()

    def back(self) -> None:
        self._catch_up()
        self.state.back()
        self._apply()

    def forward(self) -> None:
        """One update forward: the next recorded step, or at the live end one engine step."""
        if self.state.forward():
            self._apply()
        else:
            self.win.step_once()

    def home(self) -> None:
        self.seek(0)

    def go_live(self) -> None:
        self.state.go_live()
        self._apply()

    def _catch_up(self) -> None:
        """Before leaving the live end: pause the race and take the end it reached."""
        if self.state.live:
            self.win.pause()
            self.state.set_end(live_end(self.win.race))

    def _on_press(self) -> None:
        self._catch_up()

    def _on_value(self, v: int) -> None:
        if not self._syncing:
            self.seek(v)

    def _on_edit(self, *_args: object) -> None:
        if not self.state.live:
            self.go_live()

    def _apply(self) -> None:
        """Draw the state's step at the next frame: pause in replay, the loss cursor."""
        win, st = self.win, self.state
        if not st.live:
            win.pause()
        win.frames.show_until(st.step)
        win.frames.slow_due = True  # the perceptron's slice and epochs at the new step
        win.loss.set_cursor(st.step)
        self._show(st.shown, st.end)

    # ------------------------------------------------------------ each frame
    def sync(self) -> None:
        """What the frame drew (GUI thread, every frame): the live end, the step shown.
        Play, a new race or a caller's return to live (``show_until(None)``) end replay."""
        win, st = self.win, self.state
        race = win.race
        st.set_end(live_end(race))
        playing = win.runner is not None and win.runner.playing
        shown = win.frames.shown
        if not st.live and (playing or shown is None or shown.race is not race):
            st.go_live()
            win.frames.show_until(None)
        if st.live:
            win.loss.set_cursor(None)
        # live, the frames may still show an earlier step (the video export)
        k = st.shown if shown is None or shown.race is not race else min(shown.step, st.end)
        self._show(k, st.end)

    def _show(self, k: int, end: int) -> None:
        s = self.slider
        self._syncing = True
        try:
            if s.maximum() != end:
                s.setMaximum(end)
                s.setPageStep(max(end // 20, 1))  # a click on the groove: 5 % of the run
            if s.value() != k and not s.isSliderDown():
                s.setValue(k)
        finally:
            self._syncing = False
        text = f"step {k:,} / {end:,}"
        if not self.state.live:
            text += "  · replay"
        if self.label.text() != text:
            self.label.setText(text)
