"""Start the Qt application (``python main.py`` / ``python main.py gui SCENARIO``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def run_gui(scenario_path: str | None = None) -> int:
    """Open the race window on ``scenario_path`` (or the last session's scenario, or the
    embedded default); Qt's exit code (2 for a bad file)."""
    from PySide6.QtWidgets import QApplication

    from engine.scenario import ScenarioError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Gradient Arena")
    try:
        win = make_window(scenario_path)
    except ScenarioError as e:
        print(str(e), file=sys.stderr)
        return 2
    win.show()
    return int(app.exec())


def make_window(scenario_path: str | None = None) -> Any:
    """The main window on ``scenario_path``; without one, on the scenario open when the
    last session ended if it still loads (else the default, saying why in the status bar).

    Raises ScenarioError for a bad ``scenario_path``.
    """
    from engine.scenario import ScenarioError, load_scenario
    from gui.window import MainWindow, app_settings

    scenario = None
    note = ""
    if scenario_path is not None:
        scenario = load_scenario(scenario_path)
    else:
        last = app_settings().value("last_scenario")
        if isinstance(last, str) and last and Path(last).is_file():
            try:
                scenario = load_scenario(last)
                scenario_path = last
            except ScenarioError as e:
                note = f"could not reopen the last scenario: {e.problems[0]}"
    win = MainWindow(scenario)
    if scenario_path is not None:
        win._remember(str(Path(scenario_path).resolve()))
    if note:
        win.statusBar().showMessage(note, 15000)
    return win


def render_png(
    scenario_path: str,
    out: str,
    steps: int | None = None,
    size: tuple[int, int] = (2000, 800),
    whole_window: bool = False,
) -> Path:
    """Run a scenario headless and save the landscape + loss panels as a PNG
    (``whole_window``: the window as a user sees it, 1600 x 1000)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("GRADIENT_ARENA_SETTINGS", os.devnull)
    from PySide6.QtWidgets import QApplication

    from engine.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    if steps is not None:
        from dataclasses import replace

        scenario = replace(scenario, steps=int(steps))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gui.window import MainWindow

    win = MainWindow(scenario, start_runner=False)
    if whole_window:
        win.resize(1600, 1000)
    else:
        win.slide_layout(*size)
    win.show()
    app.processEvents()
    assert win.race is not None
    win.race.run()
    win._last_counts = []
    win.on_frame()
    if win.is_perceptron:
        win._perceptron_slow_updates()
        win.perceptron.refresh_grid()
    else:
        win.landscape.refresh_grid()
    win._update_board()
    app.processEvents()
    img = win.grab().toImage() if whole_window else win.compose_image()
    out_path = Path(out)
    tmp = out_path.with_name(out_path.name + ".tmp.png")
    if not img.save(str(tmp), "PNG"):
        raise OSError(f"cannot write {out_path}")
    os.replace(tmp, out_path)
    win.document.forget_changes()  # never a "save?" prompt in a headless render
    win.close()
    return out_path
