"""A map computed in the background, without Qt: what the window's Maps panel runs.

A :class:`MapJob` owns at most one worker thread, and :func:`compute_map` is called only
from it (never two maps at once, never from the caller's thread). :meth:`MapJob.start`
plans the map on the caller's thread (a bad request raises :class:`MapError` and
nothing starts), then hands it to the worker; a map started while another runs cancels
that one, and the worker goes on with the newest request. :meth:`MapJob.cancel` stops the
map between blocks; :meth:`MapJob.close` cancels and joins the thread.

A grid map runs in bands of rows (of its second axis; of its only axis for a 1-D map),
each twice the one before, one :func:`compute_map` call each, written into the result's
arrays as they finish: :meth:`MapJob.partial` gives the rows done so far, so a picture
can grow while the map runs. Every pixel is the same as in a single call (pixels are independent).

The callbacks ``on_progress(generation, done, total)`` (after each block) and
``on_done(outcome)`` run on the worker thread: a GUI hands them to its own thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from engine.maps.compute import METRICS, MapCancelled, MapResult, compute_map
from engine.maps.grid import MapError, MapSpec, plan
from engine.race import RacerConfig
from engine.scenario.model import Scenario

IDLE, RUNNING, DONE, CANCELLED, FAILED = "idle", "running", "done", "cancelled", "failed"
#: what a map can be coloured by (the Maps panel's choices)
COLOUR_BY = ("minimum", "steps", "final_loss", "diverged")
#: the first band holds at least this many pixels (a small map runs in one call)
BAND_PIXELS = 2048

Compute = Callable[..., MapResult]


@dataclass(frozen=True)
class JobRequest:
    """A map the user asked for: racer ``racer`` (index in the scenario) over ``over``
    ("start", "lr", "lr,momentum"), ``res`` pixels per axis (None: grid.plan's
    default), ``steps`` updates (None: the scenario's), coloured by ``colour_by``
    (:data:`COLOUR_BY`), over ``ranges`` (LO HI [LO2 HI2], hyperparameters) or ``box``
    (x0, x1, y0, y1, start maps); None: grid.plan's defaults."""

    racer: int
    over: str
    res: tuple[int, ...] | None = None
    steps: int | None = None
    colour_by: str = "steps"
    ranges: tuple[float, ...] | None = None
    box: tuple[float, float, float, float] | None = None


@dataclass
class Outcome:
    """How a map ended: ``state`` DONE (``result``), CANCELLED or FAILED (``message``)."""

    generation: int
    request: JobRequest
    state: str
    result: MapResult | None = None
    message: str = ""


@dataclass
class _Work:
    generation: int
    request: JobRequest
    spec: MapSpec
    scenario: Scenario
    racer: RacerConfig
    steps: int
    stop: threading.Event = field(default_factory=threading.Event)


def racer_of(scenario: Scenario, i: int) -> RacerConfig:
    """Racer ``i`` of ``scenario`` (MapError when there is none)."""
    if not 0 <= i < len(scenario.racers):
        raise MapError(f"racer: expected 0 to {len(scenario.racers) - 1}, got {i}")
    return scenario.racers[i]


def plan_request(scenario: Scenario, req: JobRequest) -> tuple[MapSpec, RacerConfig, int]:
    """The pixels, the racer and the steps of ``req`` on ``scenario`` (MapError: bad)."""
    from engine.maps.command import view_of

    if scenario.objective.kind != "landscape":
        raise MapError("maps of the perceptron are not built yet (landscapes only)")
    if req.colour_by not in COLOUR_BY:
        raise MapError(f"colour by: expected one of {', '.join(COLOUR_BY)}, got {req.colour_by!r}")
    steps = req.steps if req.steps is not None else scenario.steps
    if steps < 1:
        raise MapError(f"steps: expected at least 1, got {steps}")
    racer = racer_of(scenario, req.racer)
    ranges = list(req.ranges) if req.ranges is not None else None
    spec = plan(req.over, racer, view_of(scenario), req.res, ranges, req.box)
    return spec, racer, steps


def bands(spec: MapSpec) -> list[tuple[int, int]]:
    """Rows (lo, hi) of the first axis of ``spec.shape`` (the map's second axis; its only
    one for a 1-D map), in order: the first band of about :data:`BAND_PIXELS` pixels (the
    first rows show soon), each next one twice as many rows (few calls in all)."""
    rows = spec.shape[0]
    per_row = spec.size // rows
    step = max(1, math.ceil(BAND_PIXELS / per_row))
    out = []
    lo = 0
    while lo < rows:
        hi = min(rows, lo + step)
        out.append((lo, hi))
        lo, step = hi, 2 * step
    return out


def band_spec(spec: MapSpec, lo: int, hi: int) -> MapSpec:
    """The pixels of rows ``lo`` to ``hi`` of ``spec`` (see :func:`bands`)."""
    name = spec.names[-1]
    axes = dict(spec.axes)
    axes[name] = spec.axes[name][lo:hi]
    return replace(spec, axes=axes, shape=(hi - lo, *spec.shape[1:]))


class MapJob:
    """One map at a time, computed on one worker thread (module docstring)."""

    def __init__(
        self,
        on_progress: Callable[[int, int, int], None] | None = None,
        on_done: Callable[[Outcome], None] | None = None,
        compute: Compute = compute_map,
    ) -> None:
        self.on_progress = on_progress
        self.on_done = on_done
        self.compute = compute
        self.state = IDLE
        self.message = ""
        self.request: JobRequest | None = None  # the latest started
        self.spec: MapSpec | None = None
        self.result: MapResult | None = None  # the latest finished
        self.generation = 0
        self.done_pixels = 0
        self.total_pixels = 0
        self.first_seconds: float | None = None  # start() to the first rows done
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None  # None once its loop has ended
        self._worker: threading.Thread | None = None  # the last one started (to join)
        self._pending: _Work | None = None
        self._current: _Work | None = None
        self._partial: tuple[int, MapResult, int] | None = None  # generation, arrays, rows
        self._t0 = 0.0

    # ------------------------------------------------------------ caller's side
    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def start(self, scenario: Scenario, req: JobRequest) -> MapSpec:
        """Plan ``req`` on ``scenario`` and run it on the worker (MapError: nothing
        starts, a running map goes on). A map already running is cancelled."""
        spec, racer, steps = plan_request(scenario, req)
        with self._lock:
            self.generation += 1
            work = _Work(self.generation, req, spec, scenario, racer, steps)
            if self._current is not None:
                self._current.stop.set()
            self._pending = work
            self.state, self.message = RUNNING, ""
            self.request, self.spec = req, spec
            self.done_pixels, self.total_pixels = 0, spec.size
            self.first_seconds = None
            self._t0 = time.perf_counter()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="map", daemon=True)
                self._worker = self._thread
                self._thread.start()
        return spec

    def cancel(self) -> bool:
        """Stop the map running (after its blocks in flight); False if none runs. The
        state becomes CANCELLED when the worker has stopped (``on_done``)."""
        with self._lock:
            self._pending = None
            if self._current is None:
                return False
            self._current.stop.set()
            return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker thread to end; True if it has."""
        t = self._worker
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Cancel and join (no callbacks afterwards); True if the thread has ended."""
        self.on_progress = None
        self.on_done = None
        self.cancel()
        return self.join(timeout)

    @property
    def thread_alive(self) -> bool:
        t = self._worker
        return t is not None and t.is_alive()

    def partial(self) -> tuple[int, MapResult, int] | None:
        """(generation, the running map's arrays, rows done): rows ``[:rows]`` of every
        metric are final, the others not yet computed (-1 / NaN). None before any."""
        with self._lock:
            return self._partial

    # ------------------------------------------------------------ worker
    def _loop(self) -> None:
        while True:
            with self._lock:
                work = self._pending
                self._pending = None
                self._current = work
                if work is None:
                    self._thread = None
                    return
            outcome = self._run(work)
            with self._lock:
                self._current = None
                latest = work.generation == self.generation
                if latest:
                    self.state, self.message = outcome.state, outcome.message
                    if outcome.result is not None:
                        self.result = outcome.result
                done = self.on_done
            if done is not None:
                done(outcome)

    def _run(self, work: _Work) -> Outcome:
        spec = work.spec
        dim = len(work.scenario.objective.start)
        metrics = {
            k: (np.full(spec.shape, np.nan) if k.endswith("loss")
                else np.full(spec.shape, -1, dtype=np.int32))
            for k in METRICS
        }  # fmt: skip
        final = np.full((*spec.shape, dim), np.nan)
        res = MapResult(spec, work.racer.label, metrics, final, extra={"steps": work.steps})
        with self._lock:
            self._partial = (work.generation, res, 0)
        t0 = time.perf_counter()
        done = 0
        try:
            for lo, hi in bands(spec) if spec.search == "grid" else [(0, spec.shape[0])]:
                if work.stop.is_set():
                    raise MapCancelled(f"stopped after {done} of {spec.size} pixels")
                sub = band_spec(spec, lo, hi) if spec.search == "grid" else spec
                base = done

                def report(d: int, _n: int, base: int = base) -> None:
                    self._progress(work.generation, base + d, spec.size)

                part = self.compute(
                    sub, work.scenario, work.racer, work.steps, progress=report, stop=work.stop
                )
                for k in METRICS:
                    metrics[k][lo:hi] = part.metrics[k]
                final[lo:hi] = part.final_point
                res.steps_done += part.steps_done
                done += sub.size
                with self._lock:
                    self._partial = (work.generation, res, hi)
                    if self.first_seconds is None and work.generation == self.generation:
                        self.first_seconds = time.perf_counter() - self._t0
                self._progress(work.generation, done, spec.size)
            if work.stop.is_set():  # cancelled as the last block ended: still cancelled
                raise MapCancelled(f"stopped after {done} of {spec.size} pixels")
        except MapCancelled as e:
            return Outcome(work.generation, work.request, CANCELLED, message=str(e))
        except Exception as e:  # any failure is the map's: said to the user
            return Outcome(work.generation, work.request, FAILED, message=f"map failed: {e}")
        res.wall = time.perf_counter() - t0
        return Outcome(work.generation, work.request, DONE, result=res)

    def _progress(self, generation: int, done: int, total: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self.done_pixels = done
            cb = self.on_progress
        if cb is not None:
            cb(generation, done, total)
