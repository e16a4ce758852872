"""A map's pixels computed on a Dask cluster (``main.py map --workers N`` or
``--scheduler ADDRESS``): the same :func:`engine.maps.compute.run_range` as a local
run, on tiles of pixels, gathered into the same :class:`MapResult`.

* Tiles: every pixel is independent of the others (a race of one configuration, bit for
  bit), so any split gives the same map. A first wave of one small tile per worker
  measures the cost of a pixel on the workers (:data:`PRIOR_STEP_SECONDS` sizes it);
  the rest of the map is then cut into about :data:`TILES_PER_WORKER` tiles per worker,
  each at least :data:`MIN_TILE_SECONDS` and at most :data:`MAX_TILE_SECONDS` long:
  tens of tasks, not thousands. A tile runs its pixels as run_range does, in blocks
  sized for its path: the batch kernel (engine.maps.fast, no recorded rows) in blocks of
  :data:`FAST_TILE_BLOCK`, races in blocks whose recorded rows fit in
  :data:`TILE_BLOCK_BYTES` (a worker's memory stays bounded).
* Workers: the scenario and the map's plan are sent once to every worker
  (``scatter(broadcast=True)``); a worker plugin loads the kernels from numba's disk
  cache (or compiles them, on a machine that has none) once per worker, also on a
  worker that joins later. A LocalCluster's processes get ``NUMBA_NUM_THREADS=1``:
  processes x threads never exceed the cores.
* A lost worker: the scheduler runs its tiles again elsewhere (tasks are not pure: a
  rerun is safe; ``retries`` covers a tile that raised); the map completes and
  ``MapResult.extra["cluster"]`` says how many workers were lost and tiles rerun, as
  the scheduler saw them.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

import distributed
import numpy as np
from distributed import WorkerPlugin, get_worker
from distributed.client import FutureCancelledError, FuturesCancelledError

from engine.maps.compute import METRICS, MapCancelled, MapResult, run_range
from engine.maps.grid import MapError, MapSpec
from engine.race import RacerConfig
from engine.scenario.model import Scenario

#: the first guess of a pixel's cost per update (seconds), sizing the first wave only
PRIOR_STEP_SECONDS = 1e-7
MIN_TILE_SECONDS = 0.1
PROBE_TILE_SECONDS = 0.2
MAX_TILE_SECONDS = 10.0
TILES_PER_WORKER = 6
#: at most this many bytes of recorded rows per block of a tile
TILE_BLOCK_BYTES = 32 * 2**20
#: pixels per call of the batch kernel (engine.maps.fast: no recorded rows)
FAST_TILE_BLOCK = 1 << 15
#: a tile that raised is run again this many times (a lost worker's tiles: as often as
#: the scheduler's allowed-failures lets it, 3 by default)
RETRIES = 2
CONNECT_TIMEOUT = 5.0
#: how often the client looks for finished tiles and for ``stop``
POLL_SECONDS = 0.01
#: a LocalCluster's scheduler: no dashboard, and its small HTTP server (health checks) on
#: a free port of this machine, not 8787 (which another cluster may hold)
LOCAL_SCHEDULER = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
#: the environment of a LocalCluster's worker processes
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

Tile = tuple[dict[str, np.ndarray], np.ndarray, int, float, str]
#: dask.distributed, whose client API has no annotations
dd: Any = distributed


class ClusterError(MapError):
    """The cluster could not be reached or used (one message for the user)."""


def tile_block(steps: int, dim: int) -> int:
    """Pixels per block of a tile: their recorded rows fit in :data:`TILE_BLOCK_BYTES`."""
    per_racer = (steps + 1) * (dim + 3) * 8
    return int(max(1, min(1024, TILE_BLOCK_BYTES // per_racer)))


def run_tile(
    scenario: Scenario, spec: MapSpec, racer: RacerConfig, lo: int, hi: int, steps: int
) -> Tile:
    """Pixels ``lo`` to ``hi`` (on a worker): their metrics, final points, the updates
    taken, the seconds the tile took and the worker's address."""
    from engine.maps.fast import fast_plan, run_fast

    t0 = time.perf_counter()
    dim = len(scenario.objective.start)
    bs = tile_block(steps, dim)
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, int]] = []
    # run_range's two paths, with blocks sized for each: the batch kernel records no
    # rows (large blocks); races record every row (blocks bounded by TILE_BLOCK_BYTES)
    plan = fast_plan(scenario, spec, racer, steps)
    step = FAST_TILE_BLOCK if plan is not None else bs
    for a in range(lo, hi, step):
        b = min(a + step, hi)
        out = run_fast(plan, a, b) if plan is not None else None
        if out is not None:
            parts.append(out)
        else:  # races, in small blocks (run_range picks the path again for each)
            parts += [run_range(scenario, spec, racer, c, min(c + bs, b), steps)
                      for c in range(a, b, bs)]  # fmt: skip
    metrics = {k: np.concatenate([p[0][k] for p in parts]) for k in METRICS}
    final = np.concatenate([p[1] for p in parts]).reshape(hi - lo, dim)
    updates = sum(p[2] for p in parts)
    try:
        where = str(get_worker().address)
    except ValueError:  # not on a worker (a direct call)
        where = ""
    return metrics, final, updates, time.perf_counter() - t0, where


class WarmUp(WorkerPlugin):
    """Loads (or compiles) the engine's kernels once per worker, as it starts."""

    name = "gradient-arena-warm-up"

    def setup(self, worker: Any) -> None:
        from engine.warmup import compile_engine, compile_maps

        compile_engine()
        compile_maps()


def engine_fingerprint() -> str:
    """The hash of the engine's kernel sources (the key of engine.jit's numba cache
    folder): equal on two machines when they compute the same maps."""
    import engine.jit  # (not a from-import: engine.jit keys its cache on modules that do)

    return Path(engine.jit._default_cache_dir()).name


def _worker_fingerprint() -> str:
    """:func:`engine_fingerprint` on a worker (what ``client.run`` sends by name)."""
    return engine_fingerprint()


@dataclass
class Session:
    """A connected client and what it is connected to."""

    client: Any  # distributed.Client
    kind: str  # "local" (a LocalCluster started here) or "scheduler"
    address: str
    warm_seconds: float = 0.0
    seen: set[str] = field(default_factory=set)  # every worker address met


def _workers(client: Any) -> set[str]:
    return set(client.scheduler_info()["workers"])


def check_address(address: str) -> None:
    """ClusterError unless ``address`` reads as a scheduler's address (tcp://host:port)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        _, where = parse_address(address)
        parse_host_port(where)
    except ValueError as e:
        raise ClusterError(
            f"--scheduler {address}: expected an address such as tcp://host:8786 ({e})"
        ) from None


@contextmanager
def connect(
    workers: int | None, scheduler: str | None, timeout: float | None = None
) -> Iterator[Session]:
    """A client of a new LocalCluster of ``workers`` processes (one thread each), or of
    the scheduler at ``scheduler``; closed (and the LocalCluster stopped) on exit.
    ClusterError if the scheduler cannot be reached within ``timeout`` seconds or has no
    worker (``timeout`` None: :data:`CONNECT_TIMEOUT`)."""
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    cluster: Any = None  # distributed.LocalCluster
    client: Any = None
    try:
        if scheduler is not None:
            check_address(scheduler)
            try:
                client = dd.Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError, TypeError) as e:
                raise ClusterError(
                    f"--scheduler {scheduler}: cannot reach a Dask scheduler there within "
                    f"{timeout:g} s ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
                ) from None
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (TimeoutError, OSError):
                raise ClusterError(
                    f"--scheduler {scheduler}: the scheduler has no worker (start some with "
                    f"`dask worker {scheduler}`)"
                ) from None
            kind, address = "scheduler", scheduler
        else:
            assert workers is not None and workers >= 1
            cluster = dd.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                scheduler_kwargs=dict(LOCAL_SCHEDULER),
                silence_logs=logging.ERROR,
                env=dict(WORKER_ENV),
            )
            client = dd.Client(cluster, set_as_default=False)
            kind, address = "local", str(cluster.scheduler_address)
        t0 = time.perf_counter()
        try:
            client.register_plugin(WarmUp(), name=WarmUp.name)
        except Exception as e:  # raised on a worker: it cannot import or run the engine
            raise ClusterError(
                f"the Dask workers at {address} cannot run the engine ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); install the project on every "
                'worker machine (pip install -e ".[cluster]")'
            ) from None
        warm = time.perf_counter() - t0
        here = engine_fingerprint()
        other = sorted(w for w, fp in client.run(_worker_fingerprint).items() if fp != here)
        if other:
            raise ClusterError(
                f"the Dask workers {', '.join(other)} run another version of the engine's "
                "kernels than this machine: their maps would differ; install the same "
                "checkout everywhere"
            )
        session = Session(client, kind, address, warm)
        session.seen = _workers(client)
        yield session
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _scheduler_clock(client: Any) -> float:
    """The scheduler's time.time() (its events' clock), else this machine's."""
    try:
        return float(client.run_on_scheduler(time.time))
    except Exception:  # a scheduler that runs no code sent to it
        return time.time()


def _losses(client: Any, workers: set[str], since: float, keys: set[str]) -> tuple[int, int] | None:
    """(workers lost, tiles of ``keys`` rerun because of it) since the time ``since``, as
    the scheduler's "remove-worker" events of ``workers`` record them (a worker removed
    unexpectedly, with the tiles it was running or held); None where the events cannot
    be read."""
    lost = 0
    rerun: set[str] = set()
    for w in sorted(workers):
        try:
            events = client.get_events(w)
        except Exception:  # an older or locked-down scheduler: unknown, not zero
            return None
        for stamp, msg in events:
            if stamp < since or not isinstance(msg, dict):
                continue
            if msg.get("action") != "remove-worker" or msg.get("expected"):
                continue  # not removed, or retired / closed on purpose
            lost += 1
            for k in (*msg.get("processing-tasks", ()), *msg.get("lost-computed-tasks", ())):
                if str(k) in keys:
                    rerun.add(str(k))
    return lost, len(rerun)


def _tile_size(left: int, per_pixel: float, n_workers: int) -> int:
    """Pixels per tile for the ``left`` pixels still to submit, at ``per_pixel`` seconds
    each: ~TILES_PER_WORKER tiles per worker of MIN..MAX_TILE_SECONDS, as many for every
    worker (none idles a whole tile at the end) when there is work enough."""
    target = left * per_pixel / (TILES_PER_WORKER * n_workers)
    target = min(max(target, MIN_TILE_SECONDS), MAX_TILE_SECONDS)
    size = max(1, math.ceil(target / per_pixel))
    n_tiles = max(1, left // size)  # none below the target
    if left * per_pixel >= n_workers * MIN_TILE_SECONDS:
        n_tiles = math.ceil(n_tiles / n_workers) * n_workers
    return math.ceil(left / n_tiles)


def _cluster_info(
    session: Session,
    n_workers: int,
    now_workers: set[str],
    lost: int,
    losses: tuple[int, int] | None,
    tile_seconds: list[float],
    tile_pixels: list[int],
    computed_by: set[str],
) -> dict[str, Any]:
    """The map's ``extra["cluster"]`` block."""
    secs = np.array(tile_seconds) if tile_seconds else np.zeros(1)
    return {
        "cluster": session.kind,  # "local": a LocalCluster started for the map
        "scheduler": session.address,
        "workers": n_workers,
        "workers_at_end": len(now_workers),
        "workers_lost": lost,
        "tiles": len(tile_seconds),
        "tiles_rerun_after_a_lost_worker": losses[1] if losses is not None else None,
        "tile_seconds_median": float(np.median(secs)),
        "tile_seconds_sum": float(secs.sum()),
        "tile_seconds_min": float(secs.min()),
        "tile_seconds_max": float(secs.max()),
        "tile_pixels_max": max(tile_pixels, default=0),
        "workers_used": len(computed_by - {""}),
        "warm_up_seconds": session.warm_seconds,
    }


def compute_map_cluster(
    session: Session,
    spec: MapSpec,
    scenario: Scenario,
    racer: RacerConfig,
    steps: int,
    progress: Callable[[int, int], None] | None = None,
    stop: Event | None = None,
) -> MapResult:
    """:func:`engine.maps.compute.compute_map` on the session's cluster: the same
    figures, bit for bit. ``extra["cluster"]``: workers, tiles, the seconds per tile
    measured on the workers, the workers lost and the tiles rerun."""
    client = session.client
    t0 = time.perf_counter()
    since = _scheduler_clock(client)  # the scheduler's events are stamped with its clock
    total = spec.size
    dim = len(scenario.objective.start)
    metrics = {
        k: np.empty(total, dtype=np.float64 if k.endswith("loss") else np.int32) for k in METRICS
    }
    final = np.empty((total, dim))
    at_start = _workers(client)
    met = set(at_start)  # every worker met while the map runs
    n_workers = max(1, len(at_start))
    inputs = client.scatter([scenario, spec], broadcast=True, hash=False)
    token = uuid.uuid4().hex[:12]
    pending: dict[Any, tuple[int, int]] = {}  # distributed.Future -> its pixels
    keys: set[str] = set()
    dropped: dict[tuple[int, int], int] = {}  # tiles the cluster dropped: times

    def submit(lo: int, hi: int) -> None:
        key = f"map-tile-{token}-{lo}-{hi}-{dropped.get((lo, hi), 0)}"
        fut = client.submit(
            run_tile, *inputs, racer, lo, hi, steps, key=key, pure=False, retries=RETRIES
        )
        pending[fut] = (lo, hi)
        keys.add(key)

    # the first wave: one small tile per worker, sized by the prior, measures a pixel
    per_pixel_prior = max(steps, 1) * PRIOR_STEP_SECONDS
    probe = max(1, min(math.ceil(PROBE_TILE_SECONDS / per_pixel_prior), total // (2 * n_workers)))
    nxt = 0
    for _ in range(n_workers):
        if nxt >= total:
            break
        submit(nxt, min(nxt + probe, total))
        nxt = min(nxt + probe, total)
    done = updates = 0
    tile_seconds: list[float] = []
    tile_pixels: list[int] = []
    computed_by: set[str] = set()
    last_poll = time.perf_counter()
    try:
        while pending:
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(POLL_SECONDS)
            for fut in finished:
                lo, hi = pending.pop(fut)
                try:
                    m, f, u, sec, where = fut.result()
                except (FutureCancelledError, FuturesCancelledError):
                    # a lost worker can take a tile's inputs with it and the scheduler then
                    # forgets the tile: sent again (with its inputs), a few times at most
                    n = dropped[(lo, hi)] = dropped.get((lo, hi), 0) + 1
                    if stop is not None and stop.is_set():
                        continue  # stopped: not sent again (MapCancelled below)
                    if n > RETRIES:
                        raise ClusterError(
                            f"pixels {lo}-{hi}: the cluster dropped them {n} times; "
                            "the map was not finished"
                        ) from None
                    inputs = client.scatter([scenario, spec], broadcast=True, hash=False)
                    submit(lo, hi)
                    continue
                except Exception as e:
                    if type(e).__name__ == "KilledWorker":
                        raise ClusterError(
                            f"pixels {lo}-{hi}: every worker that ran them died; "
                            "the map was not finished"
                        ) from None
                    raise
                for k in METRICS:
                    metrics[k][lo:hi] = m[k]
                final[lo:hi] = f
                done += hi - lo
                updates += u
                tile_seconds.append(sec)
                tile_pixels.append(hi - lo)
                computed_by.add(where)
                if progress is not None:
                    progress(done, total)
                if nxt < total:  # the rest of the map, cut by the measured cost
                    per_pixel = max(sum(tile_seconds) / sum(tile_pixels), 1e-9)
                    size = _tile_size(total - nxt, per_pixel, n_workers)
                    while nxt < total:
                        submit(nxt, min(nxt + size, total))
                        nxt = min(nxt + size, total)
            if stop is not None and stop.is_set():
                client.cancel(list(pending))
                raise MapCancelled(f"stopped after {done} of {total} pixels")
            now = time.perf_counter()
            if now - last_poll > 0.5:  # workers that come and go while the map runs
                met |= _workers(client)
                last_poll = now
        now_workers = _workers(client)
        met |= now_workers
        session.seen |= met
        losses = _losses(client, met, since, keys)
    finally:
        client.cancel(list(pending))
        client.cancel(inputs)
    # the scheduler's count, else the workers met that are gone (a worker that died and
    # came back at the same address escapes this one)
    lost = losses[0] if losses is not None else len(met - now_workers)
    info = _cluster_info(session, n_workers, now_workers, lost, losses, tile_seconds,
                         tile_pixels, computed_by)  # fmt: skip
    return MapResult(
        spec=spec,
        racer=racer.label,
        metrics={k: v.reshape(spec.shape) for k, v in metrics.items()},
        final_point=final.reshape(*spec.shape, dim),
        wall=time.perf_counter() - t0,
        steps_done=updates,
        extra={"cluster": info},
    )
