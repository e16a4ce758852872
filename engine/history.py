"""Undo/redo of snapshots, and a Qt-free event (what QUndoStack and Signal do, without Qt).

:class:`History` keeps edits as (before, after) pairs of whatever value the owner
snapshots (engine.session: the scenario); the owner applies them. Edits with the same
key made during one gesture (a slider drag) merge into one undo step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Event:
    """Callbacks called in order with the event's arguments (a Qt-free signal)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, cb: Callable[..., Any]) -> None:
        self._callbacks.append(cb)

    def disconnect(self, cb: Callable[..., Any]) -> None:
        self._callbacks.remove(cb)

    def emit(self, *args: Any) -> None:
        for cb in list(self._callbacks):
            cb(*args)


@dataclass
class Edit:
    """One undo step: the scenario before and after. Edits with the same ``key`` made
    during one ``gesture`` (a slider drag; None: not dragging) merge into one."""

    text: str
    before: Any
    after: Any
    key: str = ""
    gesture: object | None = None


class History:
    """Undo/redo of scenario snapshots (what QUndoStack does, without Qt)."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []
        self._index = 0
        self.changed = Event()

    def count(self) -> int:
        return len(self.edits)

    def index(self) -> int:
        return self._index

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self.edits)

    def undo_text(self) -> str:
        return self.edits[self._index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self.edits[self._index].text if self.can_redo() else ""

    def push(self, edit: Edit) -> None:
        del self.edits[self._index :]
        last = self.edits[-1] if self.edits else None
        if (
            last is not None
            and edit.gesture is not None
            and last.gesture is edit.gesture
            and last.key == edit.key
        ):
            last.after = edit.after
        else:
            self.edits.append(edit)
        self._index = len(self.edits)
        self.changed.emit()

    def back(self) -> Edit | None:
        """The edit to undo (the index moves before it), None at the start."""
        if not self.can_undo():
            return None
        self._index -= 1
        self.changed.emit()
        return self.edits[self._index]

    def forward(self) -> Edit | None:
        """The edit to redo (the index moves after it), None at the end."""
        if not self.can_redo():
            return None
        self._index += 1
        self.changed.emit()
        return self.edits[self._index - 1]

    def clear(self) -> None:
        self.edits.clear()
        self._index = 0
        self.changed.emit()
