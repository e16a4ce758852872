"""What the window remembers between sessions: its layout, the recent files and the
scenario open at the end.

Three modes:

- the user's settings (Qt's per-user store), the default;
- a settings file, ``GRADIENT_ARENA_SETTINGS=path.ini`` (tests, benchmarks);
- remember nothing, ``Settings(remember=False)``: values live in this object only and
  nothing is read or written anywhere. Headless renders use it; so does
  ``GRADIENT_ARENA_SETTINGS=/dev/null`` (an alias, for child processes of tests).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

ENV = "GRADIENT_ARENA_SETTINGS"
RECENT_MAX = 10


class Settings:
    """The app's settings; ``remember=False`` keeps them in this object only.

    ``path``: an ini file instead of the user's store. Otherwise the environment may
    redirect them (``GRADIENT_ARENA_SETTINGS``, see the module docstring).
    """

    def __init__(self, remember: bool = True, path: str | os.PathLike[str] | None = None) -> None:
        if remember and path is None:
            env = os.environ.get(ENV)
            if env == os.devnull:
                remember = False
            elif env:
                path = env
        self.remember = remember
        self._memory: dict[str, Any] = {}
        self._store: QSettings | None = None
        if remember:
            self._store = (
                QSettings(str(path), QSettings.Format.IniFormat)
                if path is not None
                else QSettings("GradientArena", "Gradient Arena")
            )

    def value(self, key: str, default: Any = None) -> Any:
        if self._store is None:
            return self._memory.get(key, default)
        return self._store.value(key, default)

    def setValue(self, key: str, value: Any) -> None:
        if self._store is None:
            self._memory[key] = value
        else:
            self._store.setValue(key, value)

    def sync(self) -> None:
        if self._store is not None:
            self._store.sync()

    # ---------------------------------------------------------------- what is kept
    def recent(self) -> list[str]:
        """The scenario files opened or saved last, newest first."""
        v = self.value("recent", [])
        if isinstance(v, str):  # an ini file's list of one
            return [v]
        return [str(p) for p in (v or [])]

    def add_recent(self, path: str | Path) -> None:
        """``path`` opened or saved: first in the recent files and the last scenario."""
        p = str(path)
        recent = [r for r in self.recent() if r != p]
        recent.insert(0, p)
        self.setValue("recent", recent[:RECENT_MAX])
        self.setValue("last_scenario", p)

    def last_scenario(self) -> str | None:
        """The scenario file open when the last session ended, if it still exists."""
        last = self.value("last_scenario")
        if isinstance(last, str) and last and Path(last).is_file():
            return last
        return None

    def restore_window(self, win: QMainWindow) -> None:
        """The main window's geometry and dock layout as the last session left them."""
        geo = self.value("geometry")
        state = self.value("state")
        if isinstance(geo, QByteArray):
            win.restoreGeometry(geo)
        if isinstance(state, QByteArray):
            win.restoreState(state)

    def save_window(self, win: QMainWindow) -> None:
        self.setValue("geometry", win.saveGeometry())
        self.setValue("state", win.saveState())
