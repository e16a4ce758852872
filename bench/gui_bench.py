"""``python -m bench gui``: the race window under load (offscreen Qt).

A MainWindow races eight optimizers on Rosenbrock at the maximum speed, as long a race as
the GUI allows. The engine finishes such a race in seconds, so the window runs it in laps:
reset, pre-fill ≥ 100,000 rows per racer (untimed), play until done. During the laps the
real Qt event loop runs (the window's own 16 ms QTimer drives ``win.frames.on_frame``,
gui/frames.py) while this module records, in the GUI thread:

* every ``on_frame`` call (wrapped: the timer is reconnected to a timing wrapper),
* every paint of a pyqtgraph view (``pg.GraphicsView.paintEvent`` wrapped, class-wide),
* the engine's progress (sum of the racers' step counters) at each frame.

A frame's time is its ``on_frame`` plus the paints that follow it before the next
``on_frame``. The engine's throughput while drawing is compared with the same race
advanced headless (``Race.advance`` in a loop with the runner's chunk size), measured in
the same run. A cProfile of the GUI thread (a separate, shorter window, since profiling
slows the GUI thread) shows what dominates a frame. Launch-to-interactive is a fresh
child process doing what ``gui.app.run_gui`` does, until the window is exposed and the
landscape has painted.

Perceptron mode (issue #4, always run after the landscape figures): the same window and
instruments on a perceptron race — eight optimizers training live on 100,000 training
rows (mini-batches of 128), speed slider at max — reporting the frames delivered per
second (target >= 30) and the frame times. The race is as long as the GUI allows; laps
are pre-filled with PERCEPTRON_PREFILL rows per racer.
"""

from __future__ import annotations

import cProfile
import math
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    ChildRun,
    child_env,
    emit,
    engine_source_hash,
    fmt,
    fmt_ratio,
    median,
    note,
    percentile,
    ratio,
    run_child,
    table,
    temp_dir,
    verdict,
)

TARGET_FPS = 60.0
TARGET_P95_MS = 20.0
TARGET_THROUGHPUT_RATIO = 0.5
TARGET_LAUNCH_S = 2.0
TARGET_PERCEPTRON_FPS = 30.0
PREFILL = 100_000  # rows per racer before measuring
PERCEPTRON_ROWS = 100_000  # training rows (the data set holds 25 % more for validation)
PERCEPTRON_BATCH = 128
PERCEPTRON_PREFILL = 10_000
MIN_STEPS = 200_000
ROW_BYTES = 40  # per racer-step: x (2 floats), loss, grad norm, lr
MEMORY_BUDGET = 1.5e9  # bytes of race buffers at most

# Eight racers that all survive millions of steps on Rosenbrock from (-1.5, 2).
RACERS: list[tuple[str, str, dict[str, float]]] = [
    ("adam", "Adam", {"lr": 0.01}),
    ("rmsprop", "RMSProp", {"lr": 0.001}),
    ("nag", "NAG", {"lr": 0.0005, "momentum": 0.9}),
    ("momentum", "Momentum", {"lr": 0.002, "momentum": 0.9}),
    ("sgd", "SGD", {"lr": 0.001}),
    ("adagrad", "AdaGrad", {"lr": 0.05}),
    ("adamw", "AdamW", {"lr": 0.01}),
    ("rprop", "Rprop", {"lr": 0.001}),
]


@dataclass(frozen=True)
class Sizes:
    warmup_s: float  # playing before the measured window
    measure_s: float
    profile_s: float
    headless_rounds: int
    headless_s: float  # per round
    child_repeats: int
    max_steps: int  # race length cap (the GUI's own cap applies too)
    perceptron_s: float  # playing measured in perceptron mode


FULL = Sizes(1.0, 8.0, 3.0, 6, 0.5, 3, 10_000_000, 6.0)
QUICK = Sizes(0.3, 1.5, 0.0, 2, 0.2, 1, 500_000, 1.0)


def scenario_toml(steps: int) -> str:
    """The benchmark's scenario: eight racers on Rosenbrock, ``steps`` updates."""
    lines = [
        "schema = 1",
        'name = "bench: eight racers on Rosenbrock"',
        f"steps = {steps}",
        "seed = 0",
        "[objective]",
        'kind = "landscape"',
        'name = "rosenbrock"',
        "params = { a = 1.0, b = 100.0 }",
        "start = [-1.5, 2.0]",
    ]
    for opt, label, params in RACERS:
        ps = ", ".join(f"{k} = {v!r}" for k, v in params.items())
        lines += ["[[optimizers]]", f'name = "{opt}"', f'label = "{label}"', f"params = {{ {ps} }}"]
    return "\n".join(lines) + "\n"


# Eight racers on the perceptron (any lr trains; these stay finite for millions of steps).
PERCEPTRON_RACERS: list[tuple[str, str, dict[str, float]]] = [
    ("sgd", "SGD", {"lr": 0.1}),
    ("momentum", "Momentum", {"lr": 0.05, "momentum": 0.9}),
    ("nag", "NAG", {"lr": 0.05, "momentum": 0.9}),
    ("adam", "Adam", {"lr": 0.05}),
    ("rmsprop", "RMSProp", {"lr": 0.01}),
    ("adagrad", "AdaGrad", {"lr": 0.1}),
    ("adamw", "AdamW", {"lr": 0.05}),
    ("rprop", "Rprop", {"lr": 0.01}),
]


def perceptron_toml(max_steps: int) -> str:
    """Eight racers training a perceptron on PERCEPTRON_ROWS rows, at most ``max_steps``."""
    spe = -(-PERCEPTRON_ROWS // PERCEPTRON_BATCH)
    epochs = max(1, max_steps // spe)
    n = PERCEPTRON_ROWS * 5 // 4  # 20 % held out for validation
    lines = [
        "schema = 1",
        f'name = "bench: eight racers on a perceptron, {PERCEPTRON_ROWS:,} rows"',
        "seed = 0",
        "[objective]",
        'kind = "perceptron"',
        f'data = {{ kind = "blobs", n = {n}, separation = 3.0, spread = 1.0, balance = 0.5, '
        "noise = 0.05, seed = 0 }",
        f"batch_size = {PERCEPTRON_BATCH}",
        f"epochs = {epochs}",
        "validation_fraction = 0.2",
        "start = [0.0, 0.0, 0.0]",
    ]
    for opt, label, params in PERCEPTRON_RACERS:
        ps = ", ".join(f"{k} = {v!r}" for k, v in params.items())
        lines += ["[[optimizers]]", f'name = "{opt}"', f'label = "{label}"', f"params = {{ {ps} }}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- headless


def headless_rate(rounds: int, seconds: float) -> list[float]:
    """Racer-steps per second of the same race advanced without a GUI, one per round.

    ``Race.advance`` in a loop with chunks sized the way :class:`engine.runner.RaceRunner`
    sizes them at full speed (about ``chunk_seconds`` each); a round lasts ``seconds`` of
    advancing (the race is reset, untimed, whenever it finishes).
    """
    from engine.objective import LandscapeObjective
    from engine.race import Race, RacerConfig
    from engine.runner import RaceRunner

    chunk_seconds = RaceRunner.__init__.__defaults__[1]  # type: ignore[index]
    obj = LandscapeObjective.create("rosenbrock", {"a": 1.0, "b": 100.0}, (-1.5, 2.0))
    cfgs = [RacerConfig(o, dict(p), label=lab) for o, lab, p in RACERS]
    race = Race(obj, cfgs, steps=4 * PREFILL)
    race.advance(PREFILL)  # warm-up
    samples: list[float] = []
    chunk = 256
    for _ in range(rounds):
        busy = 0.0
        done = 0
        while busy < seconds:
            if race.done:
                race.reset()
            c0 = time.perf_counter()
            before = int(race.t.sum())
            n = race.advance(chunk)
            dt = time.perf_counter() - c0
            busy += dt
            done += int(race.t.sum()) - before
            if n >= 16 and dt > 0:
                chunk = max(16, min(int(chunk_seconds / (dt / n)), 1 << 20))
        samples.append(done / busy)
    return samples


# ---------------------------------------------------------------------------- instrumented window


@dataclass
class FrameLog:
    """What the GUI thread did during one lap, as perf_counter times."""

    frames: list[tuple[float, float]] = field(default_factory=list)  # on_frame start, end
    paints: list[tuple[float, float]] = field(default_factory=list)  # view paint start, end
    progress: list[tuple[float, int]] = field(default_factory=list)  # (time, sum of race.t)
    seconds: float = 0.0  # how long the event loop ran for this log


@dataclass
class Recorder:
    """Where the wrappers write (nothing while ``current`` is None)."""

    current: FrameLog | None = None


def instrument_paints(rec: Recorder) -> Callable[[], None]:
    """Time every pyqtgraph view paint into ``rec.current``; returns an undo function.

    Must run before the window is built: PySide resolves a Python override of a virtual
    method when the wrapper object is created.
    """
    import pyqtgraph as pg

    orig_paint = pg.GraphicsView.paintEvent

    def paint(view: Any, ev: Any) -> Any:
        log = rec.current
        if log is None:
            return orig_paint(view, ev)
        t0 = time.perf_counter()
        try:
            return orig_paint(view, ev)
        finally:
            log.paints.append((t0, time.perf_counter()))

    pg.GraphicsView.paintEvent = paint

    def undo() -> None:
        pg.GraphicsView.paintEvent = orig_paint

    return undo


def instrument_frames(win: Any, rec: Recorder) -> Callable[[], None]:
    """Reconnect the window's frame timer to a timing wrapper; returns an undo function."""

    def frame() -> None:
        log = rec.current
        if log is None:
            win.frames.on_frame()
            return
        t0 = time.perf_counter()
        win.frames.on_frame()
        t1 = time.perf_counter()
        log.frames.append((t0, t1))
        race = win.race
        if race is not None:
            log.progress.append((t1, int(race.t.sum())))

    timer = win.frames.timer
    timer.timeout.disconnect()
    timer.timeout.connect(frame)

    def undo() -> None:
        timer.timeout.disconnect()
        timer.timeout.connect(win.frames.on_frame)

    return undo


def run_loop(app: Any, seconds: float, stop: Callable[[], bool]) -> float:
    """Run the Qt event loop for ``seconds`` or until ``stop()``; returns the time run."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    t0 = time.perf_counter()
    end = QTimer()
    end.setSingleShot(True)
    end.timeout.connect(loop.quit)
    end.start(max(int(seconds * 1000), 1))
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: loop.quit() if stop() else None)
    poll.start()
    loop.exec()
    poll.stop()
    end.stop()
    return time.perf_counter() - t0


class Laps:
    """Runs the window's race lap after lap: reset, pre-fill, play until done.

    The GUI caps a race's length (``gui.window.MAX_RACE_STEPS``), and at full speed the
    engine finishes it in seconds; each lap restarts the race with trails pre-filled to
    ``PREFILL`` rows, so every measured frame draws trails at least that long.
    """

    def __init__(self, app: Any, win: Any, rec: Recorder, prefill: int = PREFILL) -> None:
        self.app, self.win, self.rec = app, win, rec
        self.prefill = prefill
        self.count = 0
        self.max_rows = 0

    def start(self) -> None:
        win, race, runner = self.win, self.win.race, self.win.runner
        win.pause()
        runner.wait_idle()
        if self.count:
            self.max_rows = max(self.max_rows, int(race.count.max()))
            race.reset()
        with race.lock:
            race.advance(self.prefill)
        self.rec.current = None
        run_loop(self.app, 0.3, lambda: False)  # the frame taking in the pre-fill: not timed
        win.play()
        self.count += 1

    def measure(self, seconds: float, profiler: cProfile.Profile | None = None) -> list[FrameLog]:
        """Logs of ``seconds`` of playing (over as many laps as it takes)."""
        race = self.win.race
        logs: list[FrameLog] = []
        total = 0.0
        while total < seconds - 0.02:
            if race.done or not self.win.runner.playing:
                self.start()
            log = FrameLog()
            self.rec.current = log
            if profiler is not None:
                profiler.enable()
            log.seconds = run_loop(self.app, seconds - total, lambda: race.done)
            total += log.seconds
            self.app.processEvents()  # the paint that follows the lap's last frame
            if profiler is not None:
                profiler.disable()
            self.rec.current = None
            logs.append(log)
        self.max_rows = max(self.max_rows, int(race.count.max()))
        return logs


@dataclass
class FrameStats:
    window_s: float
    laps: int
    frames: int
    painted: int  # frames followed by at least one paint
    fps: float
    painted_fps: float
    frame_ms: list[float]  # on_frame + its paints
    on_frame_ms: list[float]
    paint_ms: list[float]
    interval_ms: list[float]  # on_frame start to the next one
    racer_steps_per_s: float


def frame_stats(logs: list[FrameLog]) -> FrameStats:
    """Per-frame figures over all laps (a frame's paints are those before the next frame)."""
    frame_ms: list[float] = []
    on_ms: list[float] = []
    paint_ms: list[float] = []
    interval: list[float] = []
    painted = 0
    span = sum(lg.seconds for lg in logs)
    steps = 0
    steps_dt = 0.0
    n_frames = 0
    for log in logs:
        frames = log.frames
        if not frames:
            continue
        starts = [f[0] for f in frames] + [math.inf]
        paint_of = [0.0] * len(frames)
        got = [False] * len(frames)
        k = 0
        for p0, p1 in sorted(log.paints):
            while k < len(frames) and starts[k + 1] <= p0:
                k += 1
            if k < len(frames) and p0 >= frames[k][1]:
                paint_of[k] += p1 - p0
                got[k] = True
        ons = [(b - a) * 1e3 for a, b in frames]
        on_ms += ons
        frame_ms += [o + q * 1e3 for o, q in zip(ons, paint_of, strict=True)]
        paint_ms += [(p1 - p0) * 1e3 for p0, p1 in log.paints]
        interval += [(starts[i + 1] - starts[i]) * 1e3 for i in range(len(frames) - 1)]
        painted += sum(got)
        n_frames += len(frames)
        prog = log.progress
        if len(prog) >= 2:  # up to the last sample before the race finished
            last = len(prog) - 1
            while last > 1 and prog[last][1] == prog[last - 1][1]:
                last -= 1
            steps += prog[last][1] - prog[0][1]
            steps_dt += prog[last][0] - prog[0][0]
    return FrameStats(
        window_s=span,
        laps=sum(1 for lg in logs if lg.frames),
        frames=n_frames,
        painted=painted,
        fps=n_frames / span if span > 0 else math.nan,
        painted_fps=painted / span if span > 0 else math.nan,
        frame_ms=frame_ms,
        on_frame_ms=on_ms,
        paint_ms=paint_ms,
        interval_ms=interval,
        racer_steps_per_s=steps / steps_dt if steps_dt > 0 else math.nan,
    )


# ---------------------------------------------------------------------------- profile


def profile_rows(prof: cProfile.Profile, frames: int, top: int = 18) -> list[list[str]]:
    """The functions with the most cumulative time in the GUI thread, ms per frame."""
    st = pstats.Stats(prof)
    entries = []
    skip = ("gui_bench.py", "instrument_", "{method 'exec' of", "builtins.exec}", "processEvents")
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        where = f"{file}:{line}({func})" if line else func
        if any(s in where for s in skip) or "QEventLoop" in where:
            continue
        entries.append((ct, tt, nc, where))
    entries.sort(reverse=True)
    root = str(ROOT_DIR) + os.sep
    rows = []
    for ct, tt, nc, where in entries[:top]:
        short = where.replace(root, "")
        if "site-packages" in short:
            short = "…/" + short.split("site-packages" + os.sep, 1)[1]
        if len(short) > 78:
            short = short[:36] + "…" + short[-41:]
        per = max(frames, 1)
        rows.append([short, fmt(nc / per, ".3g"), fmt(ct * 1e3 / per, ".2f"),
                     fmt(tt * 1e3 / per, ".2f")])  # fmt: skip
    return rows


# ---------------------------------------------------------------------------- launch child

LAUNCH_CODE = """
import json, sys, time
m = {"start": time.time()}
from PySide6.QtWidgets import QApplication
from engine.scenario import ScenarioError, load_scenario
app = QApplication.instance() or QApplication(sys.argv[:1])
app.setApplicationName("Gradient Arena")
from gui.window import MainWindow
from engine.warmup import kernels_cached
m["imported"] = time.time()
if not kernels_cached():  # as run_gui: the two-process warm-up behind a progress window
    from gui.app import warm_up_with_splash
    warm_up_with_splash(app)
import pyqtgraph as pg
painted = []
_orig = pg.GraphicsView.paintEvent
def _paint(view, ev):
    r = _orig(view, ev)
    painted.append(view)
    return r
pg.GraphicsView.paintEvent = _paint
win = MainWindow(None)
m["constructed"] = time.time()
win.show()
m["shown"] = time.time()
deadline = time.time() + 120
while time.time() < deadline:
    app.processEvents()
    h = win.windowHandle()
    if h is not None and h.isExposed() and "exposed" not in m:
        m["exposed"] = time.time()
    if "exposed" in m and any(v is win.landscape for v in painted):
        m["interactive"] = time.time()
        break
    time.sleep(0.001)
win.document.forget_changes()  # a "save?" prompt would wait forever offscreen
win.close()
print(json.dumps({"marks": m, "info": {"paints": len(painted)}}))
"""


def launch_rows(sizes: Sizes, settings: str, cold: bool) -> tuple[list[list[str]], float]:
    env = child_env(QT_QPA_PLATFORM="offscreen", GRADIENT_ARENA_SETTINGS=settings)
    n = sizes.child_repeats
    if cold:  # full run: warm the caches for the current sources (quick: this process did)
        run_child(LAUNCH_CODE, env)
    runs: list[ChildRun] = [run_child(LAUNCH_CODE, env) for _ in range(n)]

    def med(a: str, b: str | None = None) -> float:
        if b is None:
            return median([r.marks[a] for r in runs if a in r.marks])
        return median([r.marks[b] - r.marks[a] for r in runs if a in r.marks and b in r.marks])

    t = med("interactive")
    rows = [
        ["launch → interactive (exposed + landscape painted)", fmt(t, ".3f", " s"), str(n),
         f"< {TARGET_LAUNCH_S:g} s", verdict(t < TARGET_LAUNCH_S)],
        ["  spawn → interpreter ready", fmt(med("start"), ".3f", " s"), "", "", ""],
        ["  imports (PySide6, engine, gui.window)", fmt(med("start", "imported"), ".3f", " s"),
         "", "", ""],
        ["  MainWindow() (incl. loading cached kernels)", fmt(med("imported", "constructed"),
                                                              ".3f", " s"), "", "", ""],
        ["  show() → exposed", fmt(med("constructed", "exposed"), ".3f", " s"), "", "", ""],
        ["  exposed → first landscape paint", fmt(med("exposed", "interactive"), ".3f", " s"),
         "", "", ""],
    ]  # fmt: skip
    if cold:
        note("cold launch: a child with NUMBA_CACHE_DIR in a fresh temp folder (~10-60 s)")
        with temp_dir("bench-numba-cold-gui-") as d:
            env_c = dict(env, NUMBA_CACHE_DIR=str(d))
            c = run_child(LAUNCH_CODE, env_c, timeout=900)
        t_cold = c.marks.get("interactive", math.nan)
        rows.append(["launch → interactive, cold numba cache (first run; incl. the warm-up)",
                     fmt(t_cold, ".1f", " s"), "1", "", ""])  # fmt: skip
    return rows, t


# ---------------------------------------------------------------------------- windows


def open_window(app: Any, scenario: Any) -> Any:
    """A shown MainWindow on ``scenario`` with the speed slider at max."""
    import gui.window

    win = gui.window.MainWindow(scenario)
    win.resize(1500, 950)
    win.show()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 10:
        app.processEvents()
        h = win.windowHandle()
        if h is not None and h.isExposed():
            break
    assert win.race is not None and win.runner is not None
    win.speed.setValue(win.speed.maximum())
    assert math.isinf(win.runner.speed), win.runner.speed
    return win


def time_method(obj: Any, name: str, rec: Recorder, spent: dict[str, float]) -> None:
    """Wrap ``obj.name`` (an instance attribute shadows the method): add its time to
    ``spent[name]`` while ``rec.current`` is set."""
    orig = getattr(obj, name)
    spent[name] = 0.0

    def timed(*a: Any, **k: Any) -> Any:
        if rec.current is None:
            return orig(*a, **k)
        t0 = time.perf_counter()
        try:
            return orig(*a, **k)
        finally:
            spent[name] += time.perf_counter() - t0

    setattr(obj, name, timed)


def perceptron_frames(
    app: Any, sizes: Sizes, rec: Recorder, gui_cap: int
) -> tuple[FrameStats, int, Laps, dict[str, float]]:
    """Frame figures of the window while eight racers train a perceptron (issue #4), and
    the GUI-thread seconds spent in the window's slower periodic updates."""
    from engine.scenario import loads_scenario

    scn = loads_scenario(perceptron_toml(min(gui_cap, sizes.max_steps)), source="<bench>")
    note(f"perceptron window: {len(PERCEPTRON_RACERS)} racers, {PERCEPTRON_ROWS:,} rows")
    win = open_window(app, scn)
    race = win.race
    spent: dict[str, float] = {}
    for name in ("perceptron_slow_updates", "update_board"):  # the window's gui/frames.py
        time_method(win.frames, name, rec, spent)
    undo = instrument_frames(win, rec)
    laps = Laps(app, win, rec, prefill=PERCEPTRON_PREFILL)
    laps.start()
    run_loop(app, sizes.warmup_s, lambda: race.done)
    for k in spent:
        spent[k] = 0.0
    note(f"measuring {sizes.perceptron_s:g} s of perceptron frames")
    fs = frame_stats(laps.measure(sizes.perceptron_s))
    win.pause()
    win.runner.wait_idle()
    undo()
    win.document.forget_changes()  # a "save?" prompt would wait forever offscreen
    win.close()
    app.processEvents()
    return fs, int(race.steps), laps, spent


# ---------------------------------------------------------------------------- main


ROOT_DIR = __import__("bench").ROOT


def bench_gui(quick: bool = False, startup: bool = True) -> int:
    """Run the GUI benchmark and print its tables; returns a process exit code."""
    sizes = QUICK if quick else FULL
    src_hash = engine_source_hash()
    with temp_dir("bench-gui-") as tmp:
        settings = str(tmp / "settings.ini")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ["GRADIENT_ARENA_SETTINGS"] = settings
        code = _bench_gui(sizes, settings, quick, startup)
    if engine_source_hash() != src_hash:
        emit(
            "WARNING: engine sources changed while the benchmark ran (another edit); the "
            "figures may mix two versions and include recompilation."
        )
    return code


def _bench_gui(sizes: Sizes, settings: str, quick: bool, startup: bool) -> int:
    note("headless throughput of the benchmark race (compiles kernels if the cache is cold)")
    half = max(sizes.headless_rounds // 2, 1)
    head_samples = headless_rate(half, sizes.headless_s)
    note(f"headless: {median(head_samples) / 1e6:.2f} M racer-steps/s")

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench"])
    import gui.window
    from engine.scenario import loads_scenario

    # a race as long as the GUI allows (within the memory budget), and at least MIN_STEPS
    gui_cap = int(getattr(gui.window, "MAX_RACE_STEPS", 10_000_000))
    mem_cap = int(MEMORY_BUDGET / (ROW_BYTES * len(RACERS)))
    steps = max(MIN_STEPS, min(gui_cap, mem_cap, sizes.max_steps))

    note(f"window: {len(RACERS)} racers x {steps:,} steps; laps pre-filled to {PREFILL:,} rows")
    rec = Recorder()
    undo_paints = instrument_paints(rec)
    win = open_window(app, loads_scenario(scenario_toml(steps), source="<bench>"))
    race, runner = win.race, win.runner
    assert race is not None and runner is not None
    undo_frames = instrument_frames(win, rec)
    laps = Laps(app, win, rec)
    laps.start()
    run_loop(app, sizes.warmup_s, lambda: race.done)
    note(f"measuring {sizes.measure_s:g} s of frames")
    fs = frame_stats(laps.measure(sizes.measure_s))

    # cProfile of the GUI thread, separate window
    prof_rows: list[list[str]] = []
    prof_frames = 0
    if sizes.profile_s > 0:
        note(f"profiling the GUI thread for {sizes.profile_s:g} s")
        prof = cProfile.Profile()
        plogs = laps.measure(sizes.profile_s, profiler=prof)
        prof_frames = sum(len(lg.frames) for lg in plogs)
        prof_rows = profile_rows(prof, prof_frames)

    win.pause()
    runner.wait_idle()
    undo_frames()
    win.document.forget_changes()  # a "save?" prompt would wait forever offscreen
    win.close()
    app.processEvents()
    del win
    perc = perceptron_frames(app, sizes, rec, gui_cap)
    undo_paints()
    app.processEvents()
    # the other half of the headless rounds after the window: load drifts on shared hosts
    head_samples += headless_rate(max(sizes.headless_rounds - half, 1), sizes.headless_s)
    head_rate = median(head_samples)

    # ---- table: frames
    ratio_thr = ratio(fs.racer_steps_per_s, head_rate)
    p = percentile
    rows = [
        ["frames delivered (on_frame calls)/s", fmt(fs.fps, ".1f"), f"≥ {TARGET_FPS:g}",
         verdict(fs.fps >= TARGET_FPS)],
        ["frames painted/s", fmt(fs.painted_fps, ".1f"), "", ""],
        ["frame time p50 (on_frame + paints)", fmt(p(fs.frame_ms, 50), ".2f", " ms"), "", ""],
        ["frame time p95", fmt(p(fs.frame_ms, 95), ".2f", " ms"), f"< {TARGET_P95_MS:g} ms",
         verdict(p(fs.frame_ms, 95) < TARGET_P95_MS)],
        ["frame time p99", fmt(p(fs.frame_ms, 99), ".2f", " ms"), "", ""],
        ["frame time max", fmt(max(fs.frame_ms, default=math.nan), ".2f", " ms"), "", ""],
        ["  on_frame p50 / p95", f"{fmt(p(fs.on_frame_ms, 50), '.2f')} / "
         f"{fmt(p(fs.on_frame_ms, 95), '.2f')} ms", "", ""],
        ["  one view paint p50 / p95", f"{fmt(p(fs.paint_ms, 50), '.2f')} / "
         f"{fmt(p(fs.paint_ms, 95), '.2f')} ms", "", ""],
        ["  view paints per frame", fmt(len(fs.paint_ms) / max(fs.frames, 1), ".2f"), "", ""],
        ["frame interval p50 / p95 (timer 16 ms)", f"{fmt(p(fs.interval_ms, 50), '.1f')} / "
         f"{fmt(p(fs.interval_ms, 95), '.1f')} ms", "", ""],
        ["engine while drawing (Σ race.t / s)", fmt(fs.racer_steps_per_s / 1e6, ".2f",
                                                    " M racer-steps/s"), "", ""],
        ["engine headless, same race", fmt(head_rate / 1e6, ".2f", " M racer-steps/s"), "", ""],
        ["while drawing ÷ headless", fmt_ratio(ratio_thr), f"≥ {TARGET_THROUGHPUT_RATIO:g}x",
         verdict(ratio_thr >= TARGET_THROUGHPUT_RATIO)],
    ]  # fmt: skip
    notes = [
        f"{len(RACERS)} racers ({', '.join(r[1] for r in RACERS)}) on rosenbrock, "
        f"{steps:,} steps{' (the GUI cap)' if steps == gui_cap else ''}, speed slider at max.",
        f"{fs.window_s:.1f} s of playing over {fs.laps} lap(s): each lap resets the race and "
        f"pre-fills {PREFILL:,} rows per racer, so trails hold {PREFILL:,} to "
        f"{laps.max_rows:,} rows; real Qt event loop (offscreen), {fs.frames} frames.",
        f"headless: median of {len(head_samples)} rounds of {sizes.headless_s:g} s of "
        "Race.advance with the runner's chunk size, same racers, half before and half after "
        "the window.",
    ]
    if fs.frames < 30:
        notes.append(f"only {fs.frames} frames: too few for percentiles (a --quick run, or "
                     "very slow frames).")  # fmt: skip
    emit(table("GUI  frames and engine throughput while drawing", ["what", "value", "target",
               "verdict"], rows, notes=notes))  # fmt: skip

    if prof_rows:
        emit(
            table(
                f"GUI THREAD PROFILE  cProfile over {sizes.profile_s:g} s ({prof_frames} frames); "
                "top by cumulative time, per frame",
                ["function", "calls/frame", "cum ms/frame", "own ms/frame"],
                prof_rows,
                notes=["cProfile slows the GUI thread: read the shares, not the absolute times."],
            )
        )

    # ---- table: perceptron window (#4)
    pf, p_steps, p_laps, p_spent = perc
    rows = [
        ["frames delivered (on_frame calls)/s", fmt(pf.fps, ".1f"), f"≥ {TARGET_PERCEPTRON_FPS:g}",
         verdict(pf.fps >= TARGET_PERCEPTRON_FPS)],
        ["frames painted/s", fmt(pf.painted_fps, ".1f"), "", ""],
        ["frame time p50 / p95", f"{fmt(p(pf.frame_ms, 50), '.2f')} / "
         f"{fmt(p(pf.frame_ms, 95), '.2f')} ms", "", ""],
        ["frame time p99 / max", f"{fmt(p(pf.frame_ms, 99), '.2f')} / "
         f"{fmt(max(pf.frame_ms, default=math.nan), '.2f')} ms", "", ""],
        ["  on_frame p50 / p95", f"{fmt(p(pf.on_frame_ms, 50), '.2f')} / "
         f"{fmt(p(pf.on_frame_ms, 95), '.2f')} ms", "", ""],
        ["  one view paint p50 / p95", f"{fmt(p(pf.paint_ms, 50), '.2f')} / "
         f"{fmt(p(pf.paint_ms, 95), '.2f')} ms", "", ""],
        ["frame interval p50 / p95 (timer 16 ms)", f"{fmt(p(pf.interval_ms, 50), '.1f')} / "
         f"{fmt(p(pf.interval_ms, 95), '.1f')} ms", "", ""],
        ["engine while drawing (Σ race.t / s)", fmt(pf.racer_steps_per_s / 1e6, ".2f",
                                                    " M racer-steps/s"), "", ""],
    ]  # fmt: skip
    for name, what in (("perceptron_slow_updates", "epoch curves + weight slice"),
                       ("update_board", "leaderboard (epoch accuracy)")):  # fmt: skip
        if name in p_spent:
            share = p_spent[name] / pf.window_s if pf.window_s > 0 else math.nan
            rows.append([f"  GUI thread in {name} ({what})", fmt(1e3 * share, ".0f", " ms/s"),
                         "", ""])  # fmt: skip
    notes = [
        f"{len(PERCEPTRON_RACERS)} racers ({', '.join(r[1] for r in PERCEPTRON_RACERS)}) on a "
        f"perceptron: {PERCEPTRON_ROWS:,} training rows (+25 % validation), mini-batches of "
        f"{PERCEPTRON_BATCH}, {p_steps:,} steps, speed slider at max.",
        f"{pf.window_s:.1f} s of playing over {pf.laps} lap(s) pre-filled to "
        f"{PERCEPTRON_PREFILL:,} rows per racer (up to {p_laps.max_rows:,}); {pf.frames} "
        "frames; the window's epoch curves and weight-space slice update as in normal use.",
    ]
    emit(table("GUI PERCEPTRON  frames while 8 racers train live (#4)", ["what", "value",
               "target", "verdict"], rows, notes=notes))  # fmt: skip

    # ---- table: launch
    if not startup:
        return 0
    note("launch-to-interactive: fresh children (QT_QPA_PLATFORM=offscreen)")
    lrows, _ = launch_rows(sizes, settings, cold=not quick)
    emit(
        table(
            "GUI START-UP  a fresh child does what gui.app.run_gui does; warm numba cache; median",
            ["what", "median", "runs", "target", "verdict"],
            lrows,
            notes=["times are from just before the spawn (they include interpreter start-up)."],
        )
    )
    return 0
