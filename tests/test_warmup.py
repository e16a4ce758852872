"""The first start on a machine: the kernel warm-up, its progress window and the CLI note.

numba compiles the kernels once per machine (15-30 s); the window shows a progress
window while ``main.py warmup`` compiles in another process, the CLI prints a line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

#: opens the window as a user would (default race, a perceptron race, a noisy one), runs
#: and draws a few frames; prints the qualified names of the kernels numba compiled
AFTER_WARMUP = """
import json, os, sys
from numba.core import event as ev
compiled = []
class Count(ev.Listener):
    def on_start(self, e):
        compiled.append(e.data["dispatcher"].py_func.__qualname__)
    def on_end(self, e):
        pass
ev.register("numba:compile", Count())
from PySide6.QtWidgets import QApplication
app = QApplication([])
from engine.scenario import load_scenario
from gui.window import MainWindow
for path in [None] + sys.argv[1:]:
    win = MainWindow(load_scenario(path) if path else None, start_runner=False)
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    for _ in range(5):
        win.race.advance(200)
        win.frames.on_frame()
        app.processEvents()
    win.frames.draw_now()
    app.processEvents()
    win.document.forget_changes()
    win.close()
print(json.dumps(compiled))
"""


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NUMBA_CACHE_DIR=str(cache),
        QT_QPA_PLATFORM="offscreen",
        GRADIENT_ARENA_SETTINGS=os.devnull,
        QT_LOGGING_RULES="qt.qpa.*=false",
    )
    return env


def _run(args: list[str], cache: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=_env(cache), capture_output=True, text=True, timeout=timeout
    )


def _run_on_terminal(args: list[str], cache: Path) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (as in a shell); the exit code and stderr."""
    import pty

    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(
            args, cwd=ROOT, env=_env(cache), stdout=subprocess.DEVNULL, stderr=slave
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        code = p.wait(timeout=600)
    finally:
        os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_kernels_cached_looks_without_compiling(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    code = "from engine.warmup import kernels_cached; print(kernels_cached())"
    r = _run([sys.executable, "-c", code], cache, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    assert not [p for p in cache.rglob("*") if p.is_file()]  # nothing compiled or written
    # in this process the race kernel has been compiled or loaded by now
    from engine.objective import LandscapeObjective
    from engine.race import Race, RacerConfig
    from engine.warmup import kernels_cached

    Race(LandscapeObjective.create("booth"), [RacerConfig("sgd")], steps=3).advance(3)
    assert kernels_cached()


@pytest.mark.slow
def test_first_run_notes_then_warmup_leaves_nothing_for_the_window(tmp_path: Path) -> None:
    """Cold cache: `run` says it compiles; `warmup` compiles the rest; then opening the
    window on three kinds of race compiles no kernel at all (the whole point of the
    warm-up: no wait once the window is up)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    scen = str(ROOT / "scenarios" / "rosenbrock_race.toml")
    run = [sys.executable, "main.py", "run", scen, "--steps", "10"]
    code, err = _run_on_terminal(run, cache)
    assert code == 0, err
    assert "first run on this machine" in err
    code, err = _run_on_terminal(run, cache)
    assert code == 0 and "first run" not in err, err

    r = _run([sys.executable, "main.py", "warmup"], cache)
    assert r.returncode == 0, r.stderr
    assert "kernel cache: found" in r.stdout  # the race kernel came from the first run
    assert "kernels ready" in r.stdout
    assert "Traceback" not in r.stderr

    others = [
        str(ROOT / "scenarios" / "perceptron_minibatch128.toml"),
        str(ROOT / "scenarios" / "noisy_sgd.toml"),
    ]
    r = _run([sys.executable, "-c", AFTER_WARMUP, *others], cache)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_first_run_note_only_on_a_terminal_and_a_cold_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import engine.warmup
    import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    warmed: list[bool] = []
    monkeypatch.setattr(engine.warmup, "warm_up", lambda drawing=True: warmed.append(drawing))
    cases = ((True, False, True), (False, False, False), (True, True, False))
    for tty, cached, expect in cases:
        err = Terminal() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        monkeypatch.setattr(engine.warmup, "kernels_cached", lambda c=cached: c)
        main._first_run_warm_up()
        assert ("first run on this machine" in err.getvalue()) is expect, (tty, cached)
    assert warmed == [False, False]  # the two cold cases warm up (engine only for `run`)
    monkeypatch.setattr(engine.warmup, "kernels_cached", lambda: False)
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    main._first_run_warm_up(note=False, drawing=True)  # cold, --quiet: no note, warmed
    assert warmed == [False, False, True] and err.getvalue() == ""


#: compiles the child's share of the warm-up, then the race kernel, in ONE process, and
#: prints every kernel numba compiled for the second part
PARTS_THEN_RACE = """
import json
from numba.core import event as ev
from engine import warmup
warmup.compile_parts(drawing=False)
later = []
class Count(ev.Listener):
    def on_start(self, e):
        later.append(e.data["dispatcher"].py_func.__qualname__)
    def on_end(self, e):
        pass
ev.register("numba:compile", Count())
warmup.compile_engine()
print(json.dumps([d.py_func.__qualname__ for d, _ in warmup.part_signatures()]))
print(json.dumps(later))
"""


@pytest.mark.slow
def test_the_parts_have_the_types_the_race_kernel_asks_for(tmp_path: Path) -> None:
    """The second warm-up process only helps if it compiles exactly the specialisations
    race_chunk asks for (a near miss, e.g. a bool typed as int64, is compiled again)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    r = _run([sys.executable, "-c", PARTS_THEN_RACE], cache)
    assert r.returncode == 0, r.stderr
    parts, later = (json.loads(line) for line in r.stdout.strip().splitlines()[-2:])
    assert set(parts) == {
        "opt_update", "special_step", "schedule_lr", "shuffle_epoch", "landscape_fgh",
        "formula_sgd_loop", "perceptron_fg",
    }  # fmt: skip
    assert "race_chunk" in later  # the listener saw the compiling that did happen
    assert not set(parts) & set(later), later


def test_warm_up_does_the_childs_share_itself_when_the_child_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine import warmup

    done: list[str] = []

    class FailedChild:
        returncode = 1

        def __init__(self, cmd: list[str], **_kw: Any) -> None:
            done.append(" ".join(cmd[-2:]))

        def communicate(self) -> tuple[str, str]:
            return "", "Traceback ...\nMemoryError\n"

    monkeypatch.setattr(warmup.subprocess, "Popen", FailedChild)
    monkeypatch.setattr(warmup, "compile_engine", lambda report=None: done.append("engine"))
    monkeypatch.setattr(warmup, "compile_drawing", lambda report=None, reverse=False: None)
    monkeypatch.setattr(
        warmup,
        "compile_parts",
        lambda report=None, drawing=True, maps=True: done.append(f"parts {drawing}"),
    )
    said: list[str] = []
    warmup.warm_up(said.append, drawing=False)
    assert done == ["parts --no-drawing", "engine", "parts False"]
    assert any("MemoryError" in m for m in said)
    done.clear()
    warmup.warm_up(said.append, drawing=True, parallel=False)
    assert done == ["engine", "parts True"]


@pytest.mark.slow
def test_warmup_cli_on_a_warm_cache() -> None:
    r = subprocess.run(
        [sys.executable, "main.py", "warmup", "--engine-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] in ("kernel cache: found", "kernel cache: empty (first run on this machine)")
    assert "the race kernel" in r.stdout and lines[-1].startswith("kernels ready in ")


# ---------------------------------------------------------------------------- progress window
def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _shown_warmup_windows(qapp: Any) -> list[Any]:
    """The progress windows shown now. Windows of earlier tests left to the garbage
    collector are collected first and the collector held off meanwhile: a collection
    during the loop would destroy such a window's child windows (menus, docks) under
    wrappers made for them by topLevelWidgets() (a crash once in the full suite)."""
    import gc

    from PySide6.QtWidgets import QWidget

    gc.collect()
    gc.disable()
    try:
        return [
            w
            for w in qapp.topLevelWidgets()
            if isinstance(w, QWidget) and w.objectName() == "warmup" and w.isVisible()
        ]
    finally:
        gc.enable()


def _splash_seen(qapp: Any, seen: list[str], then: Any = None, after_ms: int = 400) -> None:
    """Record the progress window's step line ``after_ms`` in; then call ``then``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QLabel

    def look() -> None:
        for w in _shown_warmup_windows(qapp):
            seen.append(w.findChild(QLabel, "warmup_step").text())
            if then is not None:
                then(w)

    QTimer.singleShot(after_ms, look)


@pytest.mark.slow
@pytest.mark.gui
def test_progress_window_shows_the_step_until_the_warmup_ends(qapp: Any) -> None:
    from gui.app import warm_up_with_splash

    seen: list[str] = []
    _splash_seen(qapp, seen)
    code = "import time; print('the race kernel', flush=True); time.sleep(1.0)"
    t0 = time.monotonic()
    go_on, note = warm_up_with_splash(qapp, _py(code))
    assert (go_on, note) == (True, "")
    assert time.monotonic() - t0 >= 0.9  # it waited for the process
    assert seen and seen[0].startswith("the race kernel")
    assert not _shown_warmup_windows(qapp)


@pytest.mark.slow
@pytest.mark.gui
def test_progress_window_reports_a_failed_warmup(qapp: Any) -> None:
    from gui.app import warm_up_with_splash

    code = "import sys; sys.stderr.write('numba: no space left on device\\n'); sys.exit(3)"
    go_on, note = warm_up_with_splash(qapp, _py(code))
    assert go_on
    assert "warm-up failed" in note and "no space left on device" in note
    go_on, note = warm_up_with_splash(qapp, [str(ROOT / "no-such-python")])
    assert go_on and note.startswith("could not start the kernel warm-up")


@pytest.mark.slow
@pytest.mark.gui
def test_quit_from_the_progress_window_stops_the_warmup(qapp: Any) -> None:
    from PySide6.QtWidgets import QPushButton

    from gui.app import warm_up_with_splash

    seen: list[str] = []
    _splash_seen(qapp, seen, then=lambda w: w.findChild(QPushButton).click())
    t0 = time.monotonic()
    go_on, note = warm_up_with_splash(qapp, _py("import time; time.sleep(60)"))
    assert (go_on, note) == (False, "")
    assert seen and time.monotonic() - t0 < 30


@pytest.mark.gui
def test_run_gui_warms_up_only_on_a_cold_cache(
    qapp: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import engine.warmup
    import gui.app

    calls: list[str] = []
    monkeypatch.setattr(engine.warmup, "kernels_cached", lambda: False)

    def fake_splash(app: Any, command: Any = None) -> tuple[bool, str]:
        calls.append("splash")
        return False, ""  # the user quit from it

    monkeypatch.setattr(gui.app, "warm_up_with_splash", fake_splash)
    assert gui.app.run_gui() == 0 and calls == ["splash"]  # no window after a quit

    bad = tmp_path / "bad.toml"
    bad.write_text("schema = 1\nsteps = -5\n")
    assert gui.app.run_gui(str(bad)) == 2  # a bad file fails before the long wait
    assert calls == ["splash"]
