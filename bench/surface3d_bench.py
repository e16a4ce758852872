"""``python -m bench gui --3d``: the race window with its 3-D view open, under Xvfb.

The same window and instruments as ``python -m bench gui`` (eight racers on Rosenbrock at
full speed, laps pre-filled to PREFILL rows, the window's own 16 ms frame timer), but on
a real X server: an Xvfb of its own with Mesa's software OpenGL (llvmpipe), the xcb
platform. In interleaved rounds of the same window it measures the frames with the
"3-D view" dock closed (the baseline: the window as it is without it) and open, so the
3-D view's cost is a difference measured in one run. Also timed: every paint of the GL
view (``GLViewMixin.paintGL``), counted as the 3-D frames drawn per second.

Needs ``Xvfb`` on the PATH and PyOpenGL; says why and exits 1 otherwise.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.common import emit, fmt, note, percentile, table, temp_dir, verdict
from bench.gui_bench import (
    PREFILL,
    RACERS,
    TARGET_FPS,
    TARGET_P95_MS,
    FrameLog,
    FrameStats,
    Laps,
    Recorder,
    frame_stats,
    instrument_frames,
    instrument_paints,
    open_window,
    run_loop,
    scenario_toml,
)

STEPS = 2_000_000  # per racer: laps of a few seconds at full speed


@dataclass(frozen=True)
class Sizes3D:
    warmup_s: float
    round_s: float  # one measured round
    rounds: int  # per state (closed, open), interleaved


FULL_3D = Sizes3D(1.0, 2.5, 4)
QUICK_3D = Sizes3D(0.3, 0.75, 2)


@contextmanager
def xvfb() -> Iterator[str]:
    """An Xvfb server on a free display number (its DISPLAY value)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    try:
        if not number.isdigit():
            raise RuntimeError(f"Xvfb did not start (exit code {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def instrument_gl(
    rec: Recorder, log_of: dict[int, list[tuple[float, float]]]
) -> Callable[[], None]:
    """Time every paint of a pyqtgraph GL view into ``log_of[id(rec.current)]``; returns
    an undo function. Must run before the view is built (as instrument_paints)."""
    from pyqtgraph.opengl.GLViewWidget import GLViewMixin

    orig = GLViewMixin.paintGL

    def paint(view: Any) -> Any:
        log = rec.current
        t0 = time.perf_counter()
        try:
            return orig(view)
        finally:
            if log is not None:
                log_of.setdefault(id(log), []).append((t0, time.perf_counter()))

    GLViewMixin.paintGL = paint

    def undo() -> None:
        GLViewMixin.paintGL = orig

    return undo


def bench_gui_3d(quick: bool = False) -> int:
    """Run the 3-D benchmark under an Xvfb of its own; returns a process exit code."""
    sizes = QUICK_3D if quick else FULL_3D
    try:
        import OpenGL  # noqa: F401
    except ImportError:
        emit("bench gui --3d: PyOpenGL is not installed (pip install -e .)")
        return 1
    try:
        with temp_dir("bench-gui3d-") as tmp, xvfb() as display:
            os.environ["DISPLAY"] = display
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            os.environ["GRADIENT_ARENA_SETTINGS"] = str(tmp / "settings.ini")
            note(f"Xvfb on {display}, Qt platform xcb")
            return _bench(sizes)
    except RuntimeError as e:
        emit(f"bench gui --3d: {e}")
        return 1


def _bench(sizes: Sizes3D) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench"])
    if app.platformName() != "xcb":
        emit(f"bench gui --3d: Qt already runs on {app.platformName()!r}; run it alone")
        return 1
    from engine.scenario import loads_scenario
    from gui.surface3d_gl import gl_unavailable

    reason = gl_unavailable()
    if reason is not None:
        emit(f"bench gui --3d: no usable OpenGL under Xvfb: {reason}")
        return 1
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    ctx = QOpenGLContext()
    ctx.create()
    surf = QOffscreenSurface()
    surf.create()
    ctx.makeCurrent(surf)
    from OpenGL import GL

    renderer = GL.glGetString(GL.GL_RENDERER).decode()
    version = GL.glGetString(GL.GL_VERSION).decode()
    ctx.doneCurrent()

    rec = Recorder()
    gl_paints: dict[int, list[tuple[float, float]]] = {}
    undo_paints = instrument_paints(rec)
    undo_gl = instrument_gl(rec, gl_paints)
    note(f"window: {len(RACERS)} racers x {STEPS:,} steps; laps pre-filled to {PREFILL:,} rows")
    win = open_window(app, loads_scenario(scenario_toml(STEPS), source="<bench>"))
    race = win.race
    undo_frames = instrument_frames(win, rec)
    dock = win.surface3d.dock
    hook_s = {False: 0.0, True: 0.0}  # seconds in Surface3D.on_frame, per state
    state = {"open": False}
    orig_hook = win.surface3d.on_frame

    def hook(*a: Any) -> None:
        t0 = time.perf_counter()
        orig_hook(*a)
        if rec.current is not None:
            hook_s[state["open"]] += time.perf_counter() - t0

    win.surface3d.on_frame = hook  # the frame loop looks it up on the instance
    laps = Laps(app, win, rec)
    laps.start()
    run_loop(app, sizes.warmup_s, lambda: race.done)
    logs: dict[bool, list[FrameLog]] = {False: [], True: []}
    size = None  # the 3-D view's, while open
    for k in range(sizes.rounds):
        for opened in (False, True) if k % 2 == 0 else (True, False):
            if dock.isVisible() != opened:
                dock.toggleViewAction().trigger()
                run_loop(app, 0.5, lambda: False)  # the view built and the trails caught up
            state["open"] = opened
            note(f"round {k + 1}/{sizes.rounds}: 3-D view {'open' if opened else 'closed'}")
            logs[opened] += laps.measure(sizes.round_s)
            if opened:
                size = win.surface3d.view.size()
    win.pause()
    win.runner.wait_idle()
    undo_frames()
    win.document.forget_changes()
    win.close()
    app.processEvents()
    undo_gl()
    undo_paints()

    stats = {o: frame_stats(logs[o]) for o in (False, True)}
    gl_ms = {o: _gl_ms(logs[o], gl_paints) for o in (False, True)}
    fs_c, fs_o = stats[False], stats[True]
    p = percentile

    def frame_ms_with_gl(o: bool) -> list[float]:
        return _frames_with_gl(logs[o], gl_paints)

    ft_c, ft_o = frame_ms_with_gl(False), frame_ms_with_gl(True)
    gl_fps = len(gl_ms[True]) / fs_o.window_s if fs_o.window_s > 0 else math.nan
    rows = [
        ["frames delivered (on_frame calls)/s", fmt(fs_c.fps, ".1f"), fmt(fs_o.fps, ".1f"),
         f"≥ {TARGET_FPS:g}", verdict(fs_o.fps >= TARGET_FPS)],
        ["  open ÷ closed", "", fmt(fs_o.fps / fs_c.fps if fs_c.fps > 0 else math.nan, ".3f"),
         "≥ 0.95", verdict(fs_c.fps > 0 and fs_o.fps / fs_c.fps >= 0.95)],
        ["frames painted/s (2-D views)", fmt(fs_c.painted_fps, ".1f"),
         fmt(fs_o.painted_fps, ".1f"), "", ""],
        ["3-D view paints/s", "—", fmt(gl_fps, ".1f"), "", ""],
        ["frame time p50 (on_frame + 2-D + 3-D paints)", fmt(p(ft_c, 50), ".2f", " ms"),
         fmt(p(ft_o, 50), ".2f", " ms"), "", ""],
        ["frame time p95", fmt(p(ft_c, 95), ".2f", " ms"), fmt(p(ft_o, 95), ".2f", " ms"),
         f"< {TARGET_P95_MS:g} ms", verdict(p(ft_o, 95) < TARGET_P95_MS)],
        ["  on_frame p50 / p95 (incl. the 3-D hook)",
         f"{fmt(p(fs_c.on_frame_ms, 50), '.2f')} / {fmt(p(fs_c.on_frame_ms, 95), '.2f')} ms",
         f"{fmt(p(fs_o.on_frame_ms, 50), '.2f')} / {fmt(p(fs_o.on_frame_ms, 95), '.2f')} ms",
         "", ""],
        ["  in the 3-D hook (Surface3D.on_frame), mean per frame",
         fmt(1e3 * hook_s[False] / max(fs_c.frames, 1), ".3f", " ms"),
         fmt(1e3 * hook_s[True] / max(fs_o.frames, 1), ".2f", " ms"), "", ""],
        ["  one 3-D paint p50 / p95", "—",
         f"{fmt(p(gl_ms[True], 50), '.2f')} / {fmt(p(gl_ms[True], 95), '.2f')} ms", "", ""],
        ["frame interval p50 / p95 (timer 16 ms)",
         f"{fmt(p(fs_c.interval_ms, 50), '.1f')} / {fmt(p(fs_c.interval_ms, 95), '.1f')} ms",
         f"{fmt(p(fs_o.interval_ms, 50), '.1f')} / {fmt(p(fs_o.interval_ms, 95), '.1f')} ms",
         "", ""],
        ["engine while drawing (Σ race.t / s)", fmt(fs_c.racer_steps_per_s / 1e6, ".2f", " M"),
         fmt(fs_o.racer_steps_per_s / 1e6, ".2f", " M"), "", ""],
    ]  # fmt: skip
    notes = [
        f"{len(RACERS)} racers on rosenbrock, {STEPS:,} steps, speed slider at max; laps "
        f"pre-filled to {PREFILL:,} rows per racer (up to {laps.max_rows:,}).",
        f"Xvfb + {renderer} (OpenGL {version}); window 1500x950"
        + (f", 3-D view {size.width()}x{size.height()} px" if size is not None else "")
        + ".",
        f"{sizes.rounds} interleaved rounds of {sizes.round_s:g} s per state: "
        f"{fs_c.window_s:.1f} s closed ({fs_c.frames} frames), {fs_o.window_s:.1f} s open "
        f"({fs_o.frames} frames).",
        "A frame's time: its on_frame plus the 2-D views' and the 3-D view's paints before "
        "the next on_frame (Qt's compositing of the window is not in it).",
    ]
    emit(table("GUI 3-D  frames with the 3-D view closed and open (Xvfb, software GL)",
               ["what", "closed", "open", "target", "verdict"], rows, notes=notes))  # fmt: skip
    return 0


def _gl_ms(logs: list[FrameLog], gl_paints: dict[int, list[tuple[float, float]]]) -> list[float]:
    return [(b - a) * 1e3 for lg in logs for a, b in gl_paints.get(id(lg), [])]


def _frames_with_gl(
    logs: list[FrameLog], gl_paints: dict[int, list[tuple[float, float]]]
) -> list[float]:
    """Each frame's on_frame plus the 2-D and 3-D paints before the next frame."""
    out: list[float] = []
    for lg in logs:
        merged = FrameLog(frames=lg.frames, paints=sorted(lg.paints + gl_paints.get(id(lg), [])))
        merged.seconds = lg.seconds
        fs: FrameStats = frame_stats([merged])
        out += fs.frame_ms
    return out
