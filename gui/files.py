"""The window's File menu: new, open (dialog, recent, drop), save (atomically), save
as, revert, and export of the trajectories and of a PNG.

:class:`ScenarioFiles` works on the window through a few names: ``document`` (the
undo stack and the file's path), ``scenario`` (the scenario loaded), ``load(scenario)``,
``current_scenario()`` (the scenario as shown), ``session.set_source(path)``, ``race``,
``settings``, ``compose_image()`` and ``statusBar()``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QObject, QUrl
from PySide6.QtGui import QAction, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from engine.scenario import Scenario, ScenarioError, load_scenario, loads_scenario, save_scenario

if TYPE_CHECKING:
    from gui.window import MainWindow

DEFAULT_SCENARIO = """
schema = 1
name = "Rosenbrock race"
description = "Five optimizers from (-1.5, 2) down the curved valley of Rosenbrock's function. \
Notice how plain SGD crawls along the valley floor while Adam and RMSProp adapt their step."
steps = 5000
seed = 0
[objective]
kind = "landscape"
name = "rosenbrock"
params = { a = 1.0, b = 100.0 }
start = [-1.5, 2.0]
grad_noise = 0.0
[[optimizers]]
name = "adam"
label = "Adam"
params = { lr = 0.05 }
[[optimizers]]
name = "rmsprop"
label = "RMSProp"
params = { lr = 0.005 }
[[optimizers]]
name = "nag"
label = "NAG"
params = { lr = 0.0005, momentum = 0.9 }
[[optimizers]]
name = "momentum"
label = "Momentum"
params = { lr = 0.002, momentum = 0.9 }
[[optimizers]]
name = "sgd"
label = "SGD"
params = { lr = 0.001 }
"""


def default_scenario(source: str = "<default scenario>") -> Scenario:
    """The race a window opens without a file."""
    return loads_scenario(DEFAULT_SCENARIO, source=source)


def is_user_file(path: Path) -> bool:
    """False for the "<default scenario>" style sources of scenarios without a file."""
    return not str(path).startswith("<")


def dropped_file(mime: QMimeData) -> Path | None:
    """The one local .toml file of a drag, else None."""
    if not mime.hasUrls():
        return None
    urls: list[QUrl] = mime.urls()
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    p = Path(urls[0].toLocalFile())
    return p if p.suffix.lower() == ".toml" else None


class ScenarioFiles(QObject):
    """The File menu's actions on ``window`` (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.win = window
        self.recent_menu: QMenu | None = None
        self.revert_action: QAction | None = None

    def build_menu(self, fm: QMenu) -> None:
        """The File menu's entries."""
        keys = QKeySequence.StandardKey

        def add(
            text: str, slot: Callable[[], object], key: QKeySequence.StandardKey | None = None
        ) -> QAction:
            action = fm.addAction(text)
            if key is not None:
                action.setShortcut(key)
            action.triggered.connect(lambda _=False: slot())
            return action

        add("&New scenario", self.new_scenario, keys.New)
        add("&Open scenario…", self.open_dialog, keys.Open)
        self.recent_menu = fm.addMenu("Open &recent")
        add("&Save", self.save, keys.Save)
        add("Save &as…", self.save_as_dialog, keys.SaveAs)
        self.revert_action = add("Re&vert to saved", self.revert)
        fm.addSeparator()
        add("Export &trajectories…", self.export_dialog)
        add("Export &PNG…", self.export_png_dialog)
        fm.addSeparator()
        add("&Quit", self.win.close, keys.Quit)
        self.fill_recent()

    # ---------------------------------------------------------------- open
    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Open a scenario file (asking to save unsaved changes first).

        A bad file shows every problem it has and changes nothing.
        """
        if ask and not self.maybe_save():
            return False
        win = self.win
        try:
            win.load(load_scenario(path))
        except ScenarioError as e:
            self._error("Cannot open scenario", e)
            return False
        resolved = Path(path).resolve()
        win.document.reset(win.current_scenario(), resolved)
        self.remember(resolved)
        win.statusBar().showMessage(f"opened {resolved}", 6000)
        return True

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self.win, "Open scenario", str(self._dialog_dir()), "Scenarios (*.toml)"
        )
        if path:
            self.open_path(path, ask=False)

    def new_scenario(self) -> None:
        """The default race, as an untitled document."""
        if not self.maybe_save():
            return
        scn = default_scenario("<new scenario>")
        scn.name = "Untitled race"
        self.win.load(scn)
        self.win.document.reset(self.win.current_scenario(), None)

    def drop(self, ev: QDropEvent) -> None:
        """A scenario file dropped on the window opens (anything else is refused)."""
        p = dropped_file(ev.mimeData())
        if p is None:
            ev.ignore()
            return
        ev.acceptProposedAction()
        self.open_path(p)

    # ---------------------------------------------------------------- save
    def save(self) -> bool:
        """Save to the document's file (Save As when it has none); True when saved."""
        path = self.win.document.path
        if path is None or not is_user_file(path):
            return self.save_as_dialog()
        return self.save_to(path)

    def save_as_dialog(self) -> bool:
        path = self.win.document.path
        start = self._dialog_dir() / (path.name if path else "scenario.toml")
        chosen, _ = QFileDialog.getSaveFileName(
            self.win, "Save scenario", str(start), "Scenarios (*.toml)"
        )
        if not chosen:
            return False
        if not chosen.endswith(".toml"):
            chosen += ".toml"
        return self.save_to(Path(chosen))

    def save_to(self, path: str | Path) -> bool:
        """Write the scenario as shown, atomically; on failure say why and keep the file."""
        win = self.win
        p = Path(path).resolve()
        scn = win.current_scenario()
        try:
            save_scenario(scn, p)
        except ScenarioError as e:
            self._error("Cannot save scenario", e)
            return False
        win.session.set_source(p)
        win.document.mark_saved(scn, p)
        self.remember(p)
        win.statusBar().showMessage(f"saved {p}", 6000)
        return True

    def revert(self) -> bool:
        """Reload the document's file, discarding unsaved changes (after asking)."""
        doc = self.win.document
        if doc.path is None:
            return False
        if doc.is_dirty():
            answer = QMessageBox.question(
                self.win,
                "Revert",
                f"Discard the changes made since {doc.path.name} was saved?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Discard:
                return False
        return self.open_path(doc.path, ask=False)

    def maybe_save(self) -> bool:
        """If there are unsaved changes ask Save / Discard / Cancel; False means stop."""
        if not self.win.document.is_dirty():
            return True
        answer = QMessageBox.question(
            self.win,
            "Unsaved changes",
            f"The scenario “{self.win.scenario.name}” has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def update_actions(self) -> None:
        """Revert is there when the document has a file."""
        if self.revert_action is not None:
            self.revert_action.setEnabled(self.win.document.path is not None)

    def _error(self, title: str, e: ScenarioError) -> None:
        QMessageBox.warning(self.win, title, str(e))

    def _dialog_dir(self) -> Path:
        path = self.win.document.path
        if path is not None and is_user_file(path):
            return path.parent
        return Path.cwd() / "scenarios"

    # ---------------------------------------------------------------- recent files
    def remember(self, path: str | Path) -> None:
        """``path`` first in Open recent, and the scenario the next session opens."""
        self.win.settings.add_recent(path)
        self.fill_recent()

    def recent(self) -> list[str]:
        return self.win.settings.recent()

    def fill_recent(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        for p in self.recent():
            a = menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        menu.setEnabled(bool(self.recent()))

    # ---------------------------------------------------------------- export
    def export_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self.win, "Export trajectories to folder")
        if d:
            self.export_to(Path(d))

    def export_to(self, out_dir: Path) -> list[Path]:
        """Write trajectories.csv / .npz / summary.json (same files as `main.py run --out`)."""
        from engine.export import write_results

        race = self.win.race
        assert race is not None
        with race.lock:
            files = write_results(race, self.win.current_scenario(), out_dir)
        self.win.statusBar().showMessage(f"exported {len(files)} files to {out_dir}", 6000)
        return files

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.win, "Export PNG", "race.png", "PNG (*.png)")
        if path:
            self.win.compose_image().save(path)
