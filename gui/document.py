"""The open scenario as a document (its file, its saved text) and the session's Qt side.

The :class:`engine.session.Session` owns the scenario, the race and the undo history;
this module gives them to Qt: :class:`SessionBridge` re-emits the session's events as
signals (on the GUI thread, which alone calls the session), :class:`ScenarioDocument`
keeps the file and tells whether the scenario shown differs from the text last saved or
loaded (undoing back to the saved state makes the document clean again), and its Undo /
Redo actions call the session.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from engine.changes import snapshot
from engine.scenario import Scenario, dumps_scenario
from engine.session import Session

__all__ = ["ScenarioDocument", "SessionBridge", "snapshot"]


class SessionBridge(QObject):
    """The session's events as Qt signals (see engine.session.SessionEvents)."""

    reloaded = Signal(object)  # the new Race
    racersChanged = Signal(object)  # indices changed in place, None: the list changed
    raceChanged = Signal()  # start, noise, steps or tolerance changed in place
    scenarioChanged = Signal(object)  # after every change
    historyChanged = Signal()

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        ev = session.events
        ev.reloaded.connect(self.reloaded.emit)
        ev.racers_changed.connect(self.racersChanged.emit)
        ev.race_changed.connect(self.raceChanged.emit)
        ev.scenario_changed.connect(self.scenarioChanged.emit)
        ev.history_changed.connect(self.historyChanged.emit)


class ScenarioDocument(QObject):
    """The file behind the window, its last saved text, and Undo / Redo.

    ``stack`` is the session's :class:`engine.history.History` (``count()`` edits).
    """

    changed = Signal()  # path, dirty state or history changed

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.stack = session.history
        self.path: Path | None = None
        self.saved_text = ""
        session.events.history_changed.connect(self._on_history)

    def _on_history(self) -> None:
        self.changed.emit()

    def make_actions(self, parent: QObject) -> tuple[QAction, QAction]:
        """Undo and Redo actions, enabled and named after the step they would take."""
        undo = QAction("&Undo", parent)
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.triggered.connect(lambda: self.session.undo())
        redo = QAction("&Redo", parent)
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        redo.triggered.connect(lambda: self.session.redo())

        def sync() -> None:
            h = self.stack
            undo.setEnabled(h.can_undo())
            undo.setText(f"&Undo {h.undo_text()}".rstrip())
            redo.setEnabled(h.can_redo())
            redo.setText(f"&Redo {h.redo_text()}".rstrip())

        self.changed.connect(sync)
        sync()
        return undo, redo

    def current(self) -> Scenario:
        return self.session.scenario

    def reset(self, scenario: Scenario, path: Path | None) -> None:
        """A scenario was opened (or made new): clean, no history."""
        self.path = path
        self.saved_text = dumps_scenario(scenario)
        self.stack.clear()
        self.changed.emit()

    def mark_saved(self, scenario: Scenario, path: Path) -> None:
        self.path = path
        self.saved_text = dumps_scenario(scenario)
        self.changed.emit()

    def forget_changes(self) -> None:
        """Treat what is shown as saved (headless rendering closes without asking)."""
        self.saved_text = dumps_scenario(self.current())
        self.changed.emit()

    def is_dirty(self) -> bool:
        return dumps_scenario(self.current()) != self.saved_text

    def display_name(self) -> str:
        return self.path.name if self.path is not None else "untitled"
