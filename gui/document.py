"""The open scenario as a document: its file, its saved text, and undo/redo of edits.

Every edit in the window (a racer's hyperparameter, its schedule, the landscape, a
scenario field, a sweep...) ends as one :class:`SnapshotCommand` holding the scenario
before and after. Undo and redo hand a snapshot back to the window, which applies
only what differs (a hyperparameter change keeps the race running; a new landscape
restarts it). Consecutive changes of one field made during one slider drag merge into
one command, so a drag is one undo step.

"Unsaved changes" means: the scenario now shown differs from the text last saved or
loaded (so undoing back to the saved state makes the document clean again).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.scenario import Scenario, dumps_scenario

_SNAPSHOT_ID = 4711


def snapshot(s: Scenario) -> Scenario:
    """An independent copy of ``s`` (racer configs are mutated in place by the editors).

    Loaded CSV rows are shared, not copied: they are never modified.
    """
    obj = replace(
        s.objective,
        params=copy.deepcopy(s.objective.params),
        data=copy.deepcopy(s.objective.data),
        start=tuple(s.objective.start),
    )
    racers = [
        replace(
            r,
            params=copy.deepcopy(r.params),
            schedule_params=copy.deepcopy(r.schedule_params),
        )
        for r in s.racers
    ]
    return replace(s, objective=obj, racers=racers, view=replace(s.view))


class SnapshotCommand(QUndoCommand):
    """One edit: the scenario before and after. ``apply`` shows a snapshot in the window.

    ``key`` names the field edited and ``gesture`` the slider drag it came from (None
    when not dragging); commands with the same key and gesture merge.
    """

    def __init__(
        self,
        text: str,
        before: Scenario,
        after: Scenario,
        apply: Callable[[Scenario], None],
        key: str = "",
        gesture: object | None = None,
    ) -> None:
        super().__init__(text)
        self.before = before
        self.after = after
        self.apply = apply
        self.key = key
        self.gesture = gesture
        self._done = True  # pushed after the edit was already applied

    def id(self) -> int:
        return _SNAPSHOT_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SnapshotCommand):
            return False
        if self.gesture is None or other.gesture is not self.gesture or other.key != self.key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.apply(snapshot(self.after))

    def undo(self) -> None:
        self.apply(snapshot(self.before))


class ScenarioDocument(QObject):
    """The file behind the window, its last saved text, and the undo stack."""

    changed = Signal()  # path or dirty state changed

    def __init__(self, current: Callable[[], Scenario], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self.stack = QUndoStack(self)
        self.path: Path | None = None
        self.saved_text = ""
        self.stack.indexChanged.connect(self._on_index)  # a bound slot dies with self

    def _on_index(self, _index: int) -> None:
        self.changed.emit()

    def reset(self, scenario: Scenario, path: Path | None) -> None:
        """A scenario was opened (or made new): clean, no history."""
        self.path = path
        self.saved_text = dumps_scenario(scenario)
        self.stack.clear()
        self.changed.emit()

    def mark_saved(self, scenario: Scenario, path: Path) -> None:
        self.path = path
        self.saved_text = dumps_scenario(scenario)
        self.stack.setClean()
        self.changed.emit()

    def forget_changes(self) -> None:
        """Treat what is shown as saved (headless rendering closes without asking)."""
        self.saved_text = dumps_scenario(self._current())
        self.changed.emit()

    def is_dirty(self) -> bool:
        return dumps_scenario(self._current()) != self.saved_text

    def display_name(self) -> str:
        return self.path.name if self.path is not None else "untitled"
