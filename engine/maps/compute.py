"""The pixels of a map run in blocks, each block reduced to the race's metrics.

A block is a :class:`engine.race.Race` of B racers (B pixels: the map's racer with
each pixel's start point or hyperparameters), run to the end by the race kernel
itself, then reduced by :func:`reduce_race`: so every pixel is, bit for bit, what a
race of that one configuration gives (the gradient noise streams depend on the seed
only, not on a racer's position). Memory: a block's rows (B x steps, bounded by
``BLOCK_BYTES``) plus a few numbers per pixel; the trajectories are dropped after each
block. Blocks run on a few threads (the kernel releases the GIL); the run can be
cancelled between blocks and reports its progress after each.

The reduction follows engine.metrics (:class:`engine.metrics.Scan`,
:func:`engine.metrics.classify`, :func:`engine.metrics.run_metrics`) on whole arrays:
the settled ``steps_to_tol``, ``first_within_tol``, ``best_loss``, ``final_loss``,
the divergence rule (``diverged_step``, ``unbounded_step``) and the known minimum the
run ends nearest to. Integer figures are int32 with -1 where there is none.

The fast path (:func:`fast_plan`): for the optimizers and objectives the batch kernel
covers (engine.maps.kernel: sgd, momentum, nag, adam, adamw, rmsprop, adagrad on a
registered landscape without gradient noise, any schedule, velocities), the pixels run
in that kernel instead, in chunks of about CHUNK_SECONDS on a few threads: the same
figures, bit for bit, without recording rows (tests/test_maps_kernel.py), and ~15-90x
faster (GD ~35-90x, Adam ~15-30x: ``python -m bench maps``). Everything else (newton,
random_search, nadam, radam, adamax, rprop, lion, adadelta, gradient noise, a typed
formula, the perceptron, a disabled racer) runs as races, chosen automatically.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.kernel import DIVERGED
from engine.maps.fast import MAP_BLOCK, FastPlan, fast_plan, run_fast
from engine.maps.grid import MapSpec
from engine.race import Race, RacerConfig
from engine.scenario.model import Scenario

#: the figures of a pixel, as map.npz names them
METRICS = (
    "steps_to_tol",
    "first_within_tol",
    "final_loss",
    "best_loss",
    "diverged_step",
    "unbounded_step",
    "minimum",
)
#: at most this many bytes of recorded rows per block (per worker thread)
BLOCK_BYTES = 32 * 2**20
MAX_BLOCK = 1024
#: bytes per pixel of a map's results (the metrics and the final point)
PIXEL_BYTES = 2 * 8 + 5 * 4 + 2 * 8


class MapCancelled(Exception):
    """The map was stopped (``stop`` set) before all its blocks ran."""


@dataclass
class MapResult:
    """A map's figures: each array has the map's shape (``spec.shape``)."""

    spec: MapSpec
    racer: str
    metrics: dict[str, np.ndarray]
    final_point: np.ndarray  # shape + (dim,)
    wall: float = 0.0  # seconds
    steps_done: int = 0  # updates taken by all pixels together
    extra: dict[str, Any] = field(default_factory=dict)


def block_size(steps: int, dim: int) -> int:
    """Pixels per block: their recorded rows fit in :data:`BLOCK_BYTES`."""
    per_racer = (steps + 1) * (dim + 3) * 8
    return int(max(1, min(MAX_BLOCK, BLOCK_BYTES // per_racer)))


def reduce_race(race: Race) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The metrics of every racer of a finished ``race`` (engine.metrics' definitions,
    on whole arrays) and their final points.

    Same figures as :func:`engine.metrics.run_metrics` (tests/test_maps.py): the
    first minimum of the rows, the first row within tolerance, the last row outside
    it, the first row meeting the divergence rule else the kernel's overflow step.
    """
    n_r = len(race.racers)
    count = race.count[:n_r].astype(np.int64)
    cap = race.loss.shape[1]
    loss = race.loss[:n_r]
    gnorm = race.gnorm[:n_r]
    rows = np.arange(cap)[None, :]
    valid = rows < count[:, None]
    has = count > 0
    idx = np.arange(n_r)
    last = np.maximum(count - 1, 0)
    final_loss = np.where(has, loss[idx, last], np.nan)
    final_point = race.xs[idx, last].copy()
    starts = np.array([race._start_of(i) for i in range(n_r)]).reshape(n_r, -1)
    final_point[~has] = starts[~has]
    kbest = np.argmin(np.where(valid, loss, np.inf), axis=1)
    best_loss = np.where(has, loss[idx, kbest], np.nan)

    fstar = race.objective.f_star()
    tol = race.tolerance
    factor = tol.divergence
    f0 = loss[:, 0]
    with np.errstate(invalid="ignore", over="ignore"):
        if fstar is not None:
            within = np.abs(loss - fstar) <= tol.loss
            limit = factor * np.maximum(np.maximum(np.abs(f0 - fstar), tol.loss), 1e-12)
            base = np.full(n_r, fstar)
        else:
            within = gnorm <= tol.grad
            limit = factor * np.maximum(np.abs(f0), 1.0)
            base = f0
        within &= valid
        outside = valid & ~within
        rise = valid & (loss - base[:, None] > limit[:, None])
        fall = (
            valid & (f0[:, None] - loss > limit[:, None]) if fstar is None else np.zeros_like(valid)
        )
    first = np.where(within.any(axis=1), np.argmax(within, axis=1), -1)
    last_out = np.where(outside.any(axis=1), cap - 1 - np.argmax(outside[:, ::-1], axis=1), -1)
    steps_to_tol = np.where(has & (last_out + 1 < count), last_out + 1, -1)
    r_at = np.where(rise.any(axis=1), np.argmax(rise, axis=1), cap)
    f_at = np.where(fall.any(axis=1), np.argmax(fall, axis=1), cap)
    blown = np.minimum(r_at, f_at)
    diverged = np.full(n_r, -1, dtype=np.int64)
    unbounded = np.full(n_r, -1, dtype=np.int64)
    rule = blown < cap
    diverged[rule & (r_at < f_at)] = blown[rule & (r_at < f_at)]
    unbounded[rule & (f_at < r_at)] = blown[rule & (f_at < r_at)]
    # not by the rule: the kernel's overflow step (Race.overflow_step), classified as
    # engine.metrics.classify does
    stopped = ~rule & (race.status[:n_r] == DIVERGED)
    stop_t = race.t[:n_r]
    below = has & (final_loss < f0) if fstar is None else np.zeros(n_r, dtype=bool)
    diverged[stopped & ~below] = stop_t[stopped & ~below]
    unbounded[stopped & below] = stop_t[stopped & below]

    minima = race.objective.minima()
    minimum = np.full(n_r, -1, dtype=np.int64)
    if minima:
        ms = [np.asarray(m, dtype=np.float64) for m in minima]
        for i in np.flatnonzero(has).tolist():
            p = final_point[i]
            # math.hypot as run_metrics: the same distances, the same ties
            ds = [math.hypot(*(float(v) for v in p - m)) for m in ms]
            minimum[i] = int(np.argmin(ds))
    i32 = np.int32
    out: dict[str, np.ndarray] = {
        "steps_to_tol": steps_to_tol.astype(i32),
        "first_within_tol": first.astype(i32),
        "final_loss": final_loss.astype(np.float64),
        "best_loss": best_loss.astype(np.float64),
        "diverged_step": diverged.astype(i32),
        "unbounded_step": unbounded.astype(i32),
        "minimum": minimum.astype(i32),
    }
    return out, final_point


def run_block(
    scenario: Scenario, racers: list[RacerConfig], steps: int
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """One block: a race of ``racers`` on the scenario's objective, run and reduced.
    Returns the metrics, the final points and the updates taken."""
    from dataclasses import replace

    from engine.scenario import build_race

    race = build_race(replace(scenario, racers=racers), steps=steps)
    race.run(chunk=max(steps, 1))
    metrics, final = reduce_race(race)
    return metrics, final, int(race.t[: len(racers)].sum())


def run_range(
    scenario: Scenario, spec: MapSpec, racer: RacerConfig, lo: int, hi: int, steps: int
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """Flat pixels ``lo`` to ``hi`` of ``spec`` for ``racer``: their metrics, final points
    and the updates taken (a tile of a distributed map, a block of a local one). The
    batch kernel where it applies (:func:`fast_plan`), else races."""
    plan = fast_plan(scenario, spec, racer, steps)
    out = run_fast(plan, lo, hi) if plan is not None else None
    if out is not None:
        return out
    return run_block(scenario, spec.racers(racer, lo, hi), steps)


def compute_map(
    spec: MapSpec,
    scenario: Scenario,
    racer: RacerConfig,
    steps: int,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    workers: int | None = None,
) -> MapResult:
    """Run every pixel of ``spec`` for ``racer`` on ``scenario``'s objective for ``steps``
    updates. ``progress(done, total)`` (pixels) after each block; ``stop`` set: raises
    :class:`MapCancelled` after the blocks running finish. ``workers``: threads (None:
    one per core)."""
    t0 = time.perf_counter()
    total = spec.size
    dim = len(scenario.objective.start)
    plan = fast_plan(scenario, spec, racer, steps)
    if plan is not None:
        fast = _compute_fast(plan, progress, stop, workers)
        if fast is not None:
            fast.wall = time.perf_counter() - t0
            return fast
    bs = block_size(steps, dim)
    blocks = [(lo, min(lo + bs, total)) for lo in range(0, total, bs)]
    metrics = {
        k: np.empty(total, dtype=np.float64 if k.endswith("loss") else np.int32) for k in METRICS
    }
    final = np.empty((total, dim))
    n_workers = workers or max(1, min(os.cpu_count() or 1, 8))
    done = 0
    updates = 0
    todo = iter(blocks)
    pending: dict[Future[tuple[dict[str, np.ndarray], np.ndarray, int]], tuple[int, int]] = {}

    def submit(pool: ThreadPoolExecutor) -> bool:
        nxt = next(todo, None)
        if nxt is None:
            return False
        lo, hi = nxt
        pending[pool.submit(run_range, scenario, spec, racer, lo, hi, steps)] = nxt
        return True

    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        for _ in range(n_workers):
            if not submit(pool):
                break
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                lo, hi = pending.pop(fut)
                m, f, u = fut.result()
                for k in METRICS:
                    metrics[k][lo:hi] = m[k]
                final[lo:hi] = f
                done += hi - lo
                updates += u
                if progress is not None:
                    progress(done, total)
            if stop is not None and stop.is_set():
                for fut in pending:
                    fut.cancel()
                wait(list(pending))
                raise MapCancelled(f"stopped after {done} of {total} pixels")
            while len(pending) < n_workers and submit(pool):
                pass
    shaped = {k: v.reshape(spec.shape) for k, v in metrics.items()}
    return MapResult(
        spec=spec,
        racer=racer.label,
        metrics=shaped,
        final_point=final.reshape(*spec.shape, dim),
        wall=time.perf_counter() - t0,
        steps_done=updates,
    )


#: the first chunk of a fast map (pixels per thread): its first pixels come quickly
FIRST_CHUNK = 2 * MAP_BLOCK
#: later chunks last about this long (seconds): cancellation and progress between them
CHUNK_SECONDS = 0.25
#: and hold at most this many pixels (a chunk's packed inputs and outputs: ~130 bytes a
#: pixel, ~34 MB; its bias tables at most engine.maps.fast.TABLE_BYTES more)
MAX_CHUNK = 1 << 18


def _compute_fast(
    plan: FastPlan,
    progress: Callable[[int, int], None] | None,
    stop: threading.Event | None,
    workers: int | None,
) -> MapResult | None:
    """compute_map on the fast path: chunks of pixels, each run in parts on ``workers``
    threads at once (the kernel releases the GIL), sized to last about CHUNK_SECONDS
    (smaller while their bias tables would be too big); None if even one block's would
    be (the caller runs the map as races)."""
    spec = plan.spec
    total = spec.size
    metrics = {
        k: np.empty(total, dtype=np.float64 if k.endswith("loss") else np.int32) for k in METRICS
    }
    final = np.empty((total, 2))
    threads = workers or max(1, min(os.cpu_count() or 1, 8))
    done = updates = 0
    limit = MAX_CHUNK
    size = FIRST_CHUNK * threads
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="map") as pool:
        while done < total:
            if stop is not None and stop.is_set():
                raise MapCancelled(f"stopped after {done} of {total} pixels")
            lo, hi = done, min(done + size, total)
            c0 = time.perf_counter()
            out = run_fast(plan, lo, hi, pool, threads)
            if out is None:  # too many distinct bias tables: fewer pixels at a time
                if hi - lo <= MAP_BLOCK:
                    return None
                size = limit = max(MAP_BLOCK, (hi - lo) // 2)
                continue
            m, f, u = out
            for k in METRICS:
                metrics[k][lo:hi] = m[k]
            final[lo:hi] = f
            done, updates = hi, updates + u
            if progress is not None:
                progress(done, total)
            rate = (hi - lo) / max(time.perf_counter() - c0, 1e-6)
            size = int(min(max(rate * CHUNK_SECONDS, MAP_BLOCK * threads), limit))
    return MapResult(
        spec=spec,
        racer=plan.racer.label,
        metrics={k: v.reshape(spec.shape) for k, v in metrics.items()},
        final_point=final.reshape(*spec.shape, 2),
        steps_done=updates,
    )


def best_index(metrics: dict[str, npt.NDArray[Any]]) -> int:
    """The flat index of the best pixel, ranked as the leaderboard ranks runs
    (engine.metrics.rank_key): not diverged first, then steps to tolerance, then final
    loss; the first of equals."""
    div = ((metrics["diverged_step"] >= 0) | (metrics["unbounded_step"] >= 0)).ravel()
    tol = metrics["steps_to_tol"].ravel().astype(np.float64)
    tol[tol < 0] = np.inf
    fl = metrics["final_loss"].ravel().copy()
    fl[~np.isfinite(fl)] = np.inf
    order = np.lexsort((np.arange(div.size), fl, tol, div))
    return int(order[0])
