"""``python -m bench maps``: the maps' batch kernel (engine.maps.kernel) against a bare loop.

Figures (ratios are measured in the same run, interleaved round by round; the machine
is shared, so absolute times are noisy, ratios less so):

* GD and Adam start maps on Rosenbrock (a = 1, b = 100), 65,536 starts (256 x 256 over
  the landscape's view) x 1,000 steps: :func:`engine.maps.fast.run_fast` (the whole
  map, one kernel call per part on as many threads as numba's, the metrics of every
  pixel included) against a bare numba ``prange`` loop of the same optimizer and
  landscape (structure of arrays, blocks of 256 pixels, the step loop outside, no
  fastmath, no metrics: just x ← update), and against the same loops on block-local
  copies of the points (a stricter baseline: LLVM vectorises that form better here);
* the old path (every block a Race, rows recorded, then reduced) on a slice of the
  same map, for the speed-up;
* heavy-ball momentum (sgd, momentum) on the ravine x₁² + 50·x₂² (the lecture
  scenario lecture_momentum_ravine_rho09): an (lr, momentum) plane of 512 x 512 x 1,000
  steps, extrapolated to 4096 x 4096 (64 times the pixels, the same work per pixel);
* the first pixels of ``compute_map`` (its first progress call) on a warm cache, in
  this process and in a new one (the kernel loaded from the disk cache);
* cold compile of the map kernel (a child with an empty numba cache folder: import,
  then a 2 x 2 map; the race kernel is not compiled by it), full mode only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numba
import numpy as np

from bench.common import (
    Case,
    Stopwatch,
    Timing,
    child_env,
    emit,
    fmt,
    fmt_pct,
    fmt_ratio,
    median,
    note,
    ratio,
    run_child,
    run_interleaved,
    spread,
    table,
    temp_dir,
    verdict,
)

ROOT = Path(__file__).resolve().parents[1]
BLOCK = 256
TARGET_RATIO_BARE = 1.5  # map kernel / bare loop
TARGET_PLANE_4096_S = 30.0
TARGET_FIRST_PIXELS_S = 1.0
BARE_GD_IDLE = 3.3e9  # bare prange GD steps/s on this host when idle (2 cores, znver5)

# ---------------------------------------------------------------------------- bare loops
# The baselines are written out as plain loops; their per-pixel arithmetic is these two
# helpers, inlined (numba IR level: the same code as written in place).


@numba.njit(inline="always")
def _rosenbrock_grad(x: float, y: float, a: float, b: float) -> tuple[float, float]:
    """∇f of (a − x)² + b·(y − x²)², as the built-in landscape computes it."""
    u = a - x
    bv = b * (y - x * x)
    return -2.0 * u - 4.0 * x * bv, 2.0 * bv


@numba.njit(inline="always")
def _adam_coord(
    x: float, g: float, m: float, q: float, beta1: float, beta2: float, ss: float,
    bc2s: float, eps: float,
) -> tuple[float, float, float]:  # fmt: skip
    """One coordinate of torch's Adam: the new x, first and second moments (``ss``:
    lr / (1 − β₁ᵗ), ``bc2s``: √(1 − β₂ᵗ))."""
    m = beta1 * m + (1.0 - beta1) * g
    q = beta2 * q + (1.0 - beta2) * g * g
    return x - ss * m / (math.sqrt(q) / bc2s + eps), m, q


@numba.njit(nogil=True, error_model="numpy", parallel=True)
def bare_gd_map(
    x0: np.ndarray, x1: np.ndarray, a: float, b: float, lr: float, steps: int, block: int
) -> None:
    """GD on Rosenbrock for every start (x0[i], x1[i]), in place: blocks in parallel,
    the step loop outside, the pixel loop inside (vectorised)."""
    n = x0.shape[0]
    for k in numba.prange((n + block - 1) // block):
        lo = k * block
        hi = min(lo + block, n)
        for _t in range(steps):
            for i in range(lo, hi):
                x = x0[i]
                y = x1[i]
                gx, gy = _rosenbrock_grad(x, y, a, b)
                x0[i] = x + (-lr) * gx
                x1[i] = y + (-lr) * gy


@numba.njit(nogil=True, error_model="numpy", parallel=True)
def bare_adam_map(
    x0: np.ndarray,
    x1: np.ndarray,
    a: float,
    b: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    steps: int,
    block: int,
) -> None:
    """Adam (bias-corrected, torch's form) on Rosenbrock for every start, in place: the
    moments of a block in arrays of its own, the corrections once per step."""
    n = x0.shape[0]
    for k in numba.prange((n + block - 1) // block):
        lo = k * block
        hi = min(lo + block, n)
        m0 = np.zeros(hi - lo)
        m1 = np.zeros(hi - lo)
        v0 = np.zeros(hi - lo)
        v1 = np.zeros(hi - lo)
        for t in range(steps):
            step = float(t + 1)
            bc1 = 1.0 - beta1**step
            bc2s = math.sqrt(1.0 - beta2**step)
            ss = lr / bc1
            for j in range(hi - lo):
                i = lo + j
                gx, gy = _rosenbrock_grad(x0[i], x1[i], a, b)
                x0[i], m0[j], v0[j] = _adam_coord(x0[i], gx, m0[j], v0[j], beta1, beta2, ss,
                                                  bc2s, eps)  # fmt: skip
                x1[i], m1[j], v1[j] = _adam_coord(x1[i], gy, m1[j], v1[j], beta1, beta2, ss,
                                                  bc2s, eps)  # fmt: skip


@numba.njit(nogil=True, error_model="numpy", parallel=True)
def local_gd_map(
    x0: np.ndarray, x1: np.ndarray, a: float, b: float, lr: float, steps: int, block: int
) -> None:
    """bare_gd_map with each block's points copied into arrays of its own for its steps
    (LLVM vectorises this form much better here: the fastest GD loop we have)."""
    n = x0.shape[0]
    for k in numba.prange((n + block - 1) // block):
        lo = k * block
        hi = min(lo + block, n)
        px = x0[lo:hi].copy()
        py = x1[lo:hi].copy()
        for _t in range(steps):
            for j in range(hi - lo):
                x = px[j]
                y = py[j]
                gx, gy = _rosenbrock_grad(x, y, a, b)
                px[j] = x + (-lr) * gx
                py[j] = y + (-lr) * gy
        x0[lo:hi] = px
        x1[lo:hi] = py


@numba.njit(nogil=True, error_model="numpy", parallel=True)
def local_adam_map(
    x0: np.ndarray,
    x1: np.ndarray,
    a: float,
    b: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    steps: int,
    block: int,
) -> None:
    """bare_adam_map with block-local points (see local_gd_map)."""
    n = x0.shape[0]
    for k in numba.prange((n + block - 1) // block):
        lo = k * block
        hi = min(lo + block, n)
        px = x0[lo:hi].copy()
        py = x1[lo:hi].copy()
        m0 = np.zeros(hi - lo)
        m1 = np.zeros(hi - lo)
        v0 = np.zeros(hi - lo)
        v1 = np.zeros(hi - lo)
        for t in range(steps):
            step = float(t + 1)
            bc1 = 1.0 - beta1**step
            bc2s = math.sqrt(1.0 - beta2**step)
            ss = lr / bc1
            for j in range(hi - lo):
                gx, gy = _rosenbrock_grad(px[j], py[j], a, b)
                px[j], m0[j], v0[j] = _adam_coord(px[j], gx, m0[j], v0[j], beta1, beta2, ss,
                                                  bc2s, eps)  # fmt: skip
                py[j], m1[j], v1[j] = _adam_coord(py[j], gy, m1[j], v1[j], beta1, beta2, ss,
                                                  bc2s, eps)  # fmt: skip
        x0[lo:hi] = px
        x1[lo:hi] = py


# ---------------------------------------------------------------------------- cases


def _rosenbrock_map(optimizer: str, lr: float, res: int, steps: int) -> tuple[Any, ...]:
    from engine.maps import plan
    from engine.maps.command import view_of
    from engine.maps.fast import fast_plan
    from engine.race import RacerConfig
    from engine.scenario import load_scenario

    s = load_scenario(ROOT / "scenarios" / "rosenbrock_race.toml")
    racer = RacerConfig(optimizer, {"lr": lr}, label=optimizer)
    spec = plan("start", racer, view_of(s), res=(res, res))
    fp = fast_plan(s, spec, racer, steps)
    assert fp is not None
    return s, racer, spec, fp


def kernel_case(fp: Any, threads: int) -> Callable[[], Timing]:
    """The whole map in one run_fast call on ``threads`` threads (units: pixel-steps)."""
    from engine.maps.fast import run_fast

    pool = ThreadPoolExecutor(max_workers=threads)

    def run() -> Timing:
        with Stopwatch() as sw:
            out = run_fast(fp, 0, fp.spec.size, pool, threads)
        assert out is not None
        return sw.wall, sw.cpu, float(fp.spec.size * fp.steps)

    return run


def bare_case(
    which: str, spec: Any, steps: int, lr: float, threads: int, local: bool = False
) -> Callable[[], Timing]:
    xs = np.repeat(spec.axes["x"][None, :], spec.shape[0], axis=0).ravel().copy()
    ys = np.repeat(spec.axes["y"][:, None], spec.shape[1], axis=1).ravel().copy()

    def run() -> Timing:
        numba.set_num_threads(threads)
        x0, x1 = xs.copy(), ys.copy()
        with Stopwatch() as sw:
            if which == "gd":
                (local_gd_map if local else bare_gd_map)(x0, x1, 1.0, 100.0, lr, steps, BLOCK)
            else:
                fn = local_adam_map if local else bare_adam_map
                fn(x0, x1, 1.0, 100.0, lr, 0.9, 0.999, 1e-8, steps, BLOCK)
        return sw.wall, sw.cpu, float(x0.size * steps)

    return run


def races_case(s: Any, spec: Any, racer: Any, steps: int, pixels: int) -> Callable[[], Timing]:
    """The old path on the first ``pixels`` pixels: blocks of races, reduced."""
    from engine.maps.compute import run_block

    def run() -> Timing:
        racers = spec.racers(racer, 0, pixels)
        with Stopwatch() as sw:
            run_block(s, racers, steps)
        return sw.wall, sw.cpu, float(pixels * steps)

    return run


def plane_case(res: int, steps: int, threads: int) -> tuple[Callable[[], Timing], Any]:
    """Heavy-ball momentum on the ravine: an (lr, momentum) plane of res x res."""
    from engine.maps import plan
    from engine.maps.command import view_of
    from engine.maps.fast import fast_plan
    from engine.scenario import load_scenario

    s = load_scenario(ROOT / "scenarios" / "lecture_momentum_ravine_rho09.toml")
    racer = s.racers[0]
    spec = plan("lr,momentum", racer, view_of(s), res=(res, res), ranges=[1e-4, 0.05, 0.0, 0.99])
    fp = fast_plan(s, spec, racer, steps)
    assert fp is not None
    return kernel_case(fp, threads), fp


def first_pixels(fp: Any) -> tuple[float, float]:
    """Seconds from compute_map's call to its first progress call, and to its end."""
    from engine.maps.compute import compute_map
    from engine.scenario import load_scenario

    s = load_scenario(ROOT / "scenarios" / "lecture_momentum_ravine_rho09.toml")
    first: list[float] = []
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if not first:
            first.append(time.perf_counter() - t0)

    compute_map(fp.spec, s, fp.racer, fp.steps, progress=progress)
    return first[0], time.perf_counter() - t0


COLD_CODE = """
import json, time
marks = {"start": time.time()}
from engine.maps import plan
from engine.maps.fast import fast_plan, run_fast
from engine.race import RacerConfig
from engine.scenario import load_scenario
marks["imported"] = time.time()
s = load_scenario("scenarios/rosenbrock_race.toml")
r = RacerConfig("adam", {"lr": 0.01})
spec = plan("start", r, (-2.0, 2.0, -1.0, 3.0), res=(2, 2))
run_fast(fast_plan(s, spec, r, 10), 0, 4)
marks["compiled"] = time.time()
print(json.dumps({"marks": marks}))
"""


WARM_CODE = """
import json, time
marks = {"start": time.time()}
from engine.maps import compute_map, plan
from engine.maps.command import view_of
from engine.scenario import load_scenario
s = load_scenario("scenarios/lecture_momentum_ravine_rho09.toml")
r = s.racers[0]
spec = plan("lr,momentum", r, view_of(s), res=(512, 512), ranges=[1e-4, 0.05, 0.0, 0.99])
marks["call"] = time.time()
def progress(done, total):
    marks.setdefault("first", time.time())
compute_map(spec, s, r, 1000, progress=progress)
print(json.dumps({"marks": marks}))
"""


def first_pixels_fresh(repeats: int) -> float:
    """Median seconds from compute_map's call to its first pixels in a new process (warm
    disk cache: the kernel is loaded from it, not compiled)."""
    out = []
    for _ in range(repeats):
        r = run_child(WARM_CODE, child_env(), timeout=300.0)
        out.append(r.marks["first"] - r.marks["call"])
    return median(out)


def cold_compile(repeats: int) -> float:
    """Median seconds of a child's import-to-first-map with an empty numba cache."""
    out = []
    for _ in range(repeats):
        with temp_dir("maps-cold-") as d:
            r = run_child(COLD_CODE, child_env(NUMBA_CACHE_DIR=str(d)), timeout=600.0)
        out.append(r.marks["compiled"] - r.marks["imported"])
    return median(out)


# ---------------------------------------------------------------------------- report


def _row(name: str, c: Case, base: Case | None, target: float | None) -> list[str]:
    per = c.per_unit
    r = ratio(per, base.per_unit) if base is not None else math.nan
    ok = None if target is None or not math.isfinite(r) else r <= target
    return [name, fmt(per * 1e9, ".3f"), fmt(1.0 / per / 1e9 if per > 0 else math.nan, ".3f"),
            fmt_pct(spread(c.samples)), fmt_ratio(r), verdict(ok)]  # fmt: skip


def bench_maps(quick: bool = False, startup: bool = True) -> int:
    """Run the maps benchmark and print its tables; returns a process exit code."""
    steps = 200 if quick else 1000
    res = 64 if quick else 256
    plane_res = 128 if quick else 512
    repeats = 3 if quick else 5
    threads = numba.config.NUMBA_NUM_THREADS
    note(f"maps: {res}x{res} starts x {steps} steps, {threads} threads (compiles if cold)")
    t0 = time.perf_counter()
    s, racer_gd, spec_gd, fp_gd = _rosenbrock_map("sgd", 1e-3, res, steps)
    _, racer_adam, spec_adam, fp_adam = _rosenbrock_map("adam", 0.02, res, steps)
    from engine.maps.fast import run_fast

    run_fast(fp_gd, 0, 8)  # loads (or compiles) the kernel outside every timing
    note(f"kernel ready in {time.perf_counter() - t0:.1f} s")
    gd = Case("map kernel GD", kernel_case(fp_gd, threads))
    gd_bare = Case("bare prange GD", bare_case("gd", spec_gd, steps, 1e-3, threads))
    adam = Case("map kernel Adam", kernel_case(fp_adam, threads))
    adam_bare = Case("bare prange Adam", bare_case("adam", spec_adam, steps, 0.02, threads))
    race_px = 512 if quick else 2048
    gd_local = Case("bare GD, block-local", bare_case("gd", spec_gd, steps, 1e-3, threads, True))
    adam_local = Case(
        "bare Adam, block-local", bare_case("adam", spec_adam, steps, 0.02, threads, True)
    )
    gd_races = Case("races (old path) GD", races_case(s, spec_gd, racer_gd, steps, race_px))
    adam_races = Case("races (old path) Adam", races_case(s, spec_adam, racer_adam, steps, race_px))
    plane_run, fp_plane = plane_case(plane_res, steps, threads)
    plane = Case("momentum plane", plane_run)
    cases = [gd, gd_bare, gd_local, adam, adam_bare, adam_local, gd_races, adam_races, plane]
    note(f"timing, {repeats} interleaved rounds")
    run_interleaved(cases, repeats)
    rows = [
        _row("map kernel GD", gd, gd_bare, TARGET_RATIO_BARE),
        _row("bare prange GD", gd_bare, None, None),
        _row("map kernel GD / block-local bare", gd, gd_local, None),
        _row("bare GD, block-local", gd_local, None, None),
        _row("races (old path) GD", gd_races, gd, None),
        _row("map kernel Adam", adam, adam_bare, TARGET_RATIO_BARE),
        _row("bare prange Adam", adam_bare, None, None),
        _row("map kernel Adam / block-local bare", adam, adam_local, None),
        _row("bare Adam, block-local", adam_local, None, None),
        _row("races (old path) Adam", adam_races, adam, None),
    ]
    notes = [
        f"Rosenbrock start maps, {res}x{res} = {res * res:,} starts x {steps:,} steps, "
        f"{threads} threads; ns per pixel-step (wall), G pixel-steps/s;",
        "ratio: map kernel / bare loop (target <= 1.5x); races: old path / map kernel "
        f"({race_px:,} pixels).",
        "The map kernel also computes every metric of every row; the bare loops only update x.",
        "block-local: the same loops on copies of each block's points (LLVM vectorises them",
        "better): a second, stricter baseline, reported without a target.",
    ]
    emit(table("MAP KERNEL vs BARE LOOP", ["case", "ns/step", "G steps/s", "noise", "ratio",
                                           "target"], rows, notes=notes))  # fmt: skip
    code = 0
    for r in rows:
        if r[-1] == "MISS":
            code = 1
    per_plane = plane.per_unit
    plane_s = per_plane * plane_res * plane_res * steps
    big = per_plane * 4096 * 4096 * 1000
    # the same at the bare GD loop's speed on an idle host (the brief's 3.3 G steps/s
    # here): the plane's cost per step relative to bare GD, measured in this run, holds
    # under load better than either alone
    rel = ratio(per_plane, gd_bare.per_unit)
    idle = rel * 4096 * 4096 * 1000 / BARE_GD_IDLE
    first, whole = first_pixels(fp_plane)
    prow = [
        [f"{plane_res}x{plane_res} x {steps:,}", fmt(plane_s, ".3f"), "—", "—"],
        ["4096x4096 x 1,000, as measured", fmt(big, ".1f"), fmt(TARGET_PLANE_4096_S, ".0f"),
         verdict(big <= TARGET_PLANE_4096_S)],
        [f"  at bare GD = {BARE_GD_IDLE / 1e9:.1f} G/s (plane = {rel:.2f}x bare GD per step)",
         fmt(idle, ".1f"), fmt(TARGET_PLANE_4096_S, ".0f"), verdict(idle <= TARGET_PLANE_4096_S)],
        ["compute_map: first pixels", fmt(first, ".3f"), fmt(TARGET_FIRST_PIXELS_S, ".0f"),
         verdict(first <= TARGET_FIRST_PIXELS_S)],
        ["compute_map: whole plane", fmt(whole, ".3f"), "—", "—"],
    ]  # fmt: skip
    if startup:
        fresh = first_pixels_fresh(1 if quick else 3)
        prow.append(
            [
                "  first pixels in a new process (warm cache)",
                fmt(fresh, ".3f"),
                fmt(TARGET_FIRST_PIXELS_S, ".0f"),
                verdict(fresh <= TARGET_FIRST_PIXELS_S),
            ]
        )
        first = max(first, fresh)
    if startup and not quick:
        note("cold compile of the map kernel (child, empty numba cache)")
        cold = cold_compile(1)
        prow.append(["cold compile (import to first map)", fmt(cold, ".1f"), "—", "—"])
    notes = [
        "sgd with momentum on x1² + 50·x2², lr 1e-4..0.05 (log), momentum 0..0.99;",
        "4096² extrapolated from the measured plane (the same work per pixel).",
    ]
    title = "HEAVY-BALL PLANE ON THE RAVINE, LATENCY, COMPILE"
    emit(table(title, ["what", "seconds", "target", ""], prow, notes=notes))
    if idle > TARGET_PLANE_4096_S or first > TARGET_FIRST_PIXELS_S:
        code = 1
    # --quick is a smoke run (the test suite's): its rounds are too short to judge targets
    return 0 if quick else code
