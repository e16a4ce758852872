"""``python -m bench maps-cluster``: a map computed locally (compute_map: threads of this
process) against the same map on a Dask LocalCluster of 2 worker processes (one thread
each: engine.maps.cluster), medians of interleaved repeats; the arrays are checked equal.

Reported: the cluster's start-up and warm-up (once per session, not per map), the map's
wall time both ways and their ratio (the cluster's overhead: the issue asks for <= 1.3x
on 2 workers), the tiles and their median time measured on the workers, and the
expected time on N machines like this one: the work is split in tiles that need no
communication, so on W = N x cores workers T ~ work / W + half a tile (the last tiles
finish unevenly) + the overhead (scheduling, the scenario sent once, the results
gathered) measured here beyond that model. The machine is shared: absolute times are
noisy, the ratio less so.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import Any

import numpy as np

from bench import ROOT
from bench.common import median, ratio


def _same(a: object, b: object) -> bool:
    from engine.maps import MapResult

    assert isinstance(a, MapResult) and isinstance(b, MapResult)
    return all(
        np.array_equal(a.metrics[k], b.metrics[k], equal_nan=True) for k in a.metrics
    ) and np.array_equal(a.final_point.view(np.int64), b.final_point.view(np.int64))


def _cases(quick: bool) -> list[tuple[str, Any, Any, Any, int]]:
    """(what, scenario, racer, spec, steps): a map run as races (gradient noise) and one
    the batch kernel runs (engine.maps.fast), each a few seconds locally."""
    from engine.maps import plan
    from engine.maps.command import view_of
    from engine.scenario import load_scenario

    him = load_scenario(ROOT / "scenarios" / "himmelblau_four_minima.toml")
    noisy = replace(him, objective=replace(him.objective, grad_noise=0.2))
    r = him.racers[0]
    races = plan("start", r, view_of(him), res=(64,) if quick else (160,))
    fast = plan("start", r, view_of(him), res=(256,) if quick else (FAST_RES,))
    steps = 1500 if quick else 3000
    return [("races (gradient noise)", noisy, r, races, steps),
            ("batch kernel", him, r, fast, steps)]  # fmt: skip


#: the batch kernel's map: pixels per axis (a few seconds on 2 cores)
FAST_RES = 1024


def bench_maps_cluster(quick: bool = False) -> int:
    import distributed

    from engine.maps import cluster as cm
    from engine.maps import compute_map
    from engine.warmup import compile_engine

    compile_engine()
    repeats = 1 if quick else 3
    cores = os.cpu_count() or 1
    print(f"MAPS ON A DASK CLUSTER: local (compute_map: {min(cores, 8)} threads) against a "
          f"LocalCluster of 2 processes; {cores} cores; medians of {repeats}")  # fmt: skip
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        scheduler_kwargs=dict(cm.LOCAL_SCHEDULER), silence_logs=logging.ERROR,
        env=dict(cm.WORKER_ENV),
    )  # fmt: skip
    started = time.perf_counter() - t0
    code = 0
    try:
        with cm.connect(None, cluster.scheduler_address) as session:
            print(f"  LocalCluster(2 processes) start {started:.2f} s, kernels warmed on each "
                  f"worker in {session.warm_seconds:.2f} s (once per session)")  # fmt: skip
            for what, s, racer, spec, steps in _cases(quick):
                code |= _one(cm, compute_map, session, what, s, racer, spec, steps, repeats)
    finally:
        cluster.close()
    return code


def _one(
    cm: Any, compute_map: Any, session: Any, what: str, s: Any, racer: Any, spec: Any,
    steps: int, repeats: int,
) -> int:  # fmt: skip
    cores = os.cpu_count() or 1
    shape = "x".join(map(str, spec.shape))
    print(f"  {what}: {s.name}, {racer.label}, start map {shape} ({spec.size} pixels) x "
          f"{steps} steps")  # fmt: skip
    # one untimed run each way: the workers load the map's kernels, pages fault in
    compute_map(spec, s, racer, steps)
    cm.compute_map_cluster(session, spec, s, racer, steps)
    local_t: list[float] = []
    dask_t: list[float] = []
    infos = []
    code = 0
    for _ in range(repeats):  # interleaved: the same load on both
        a = compute_map(spec, s, racer, steps)
        local_t.append(a.wall)
        b = cm.compute_map_cluster(session, spec, s, racer, steps)
        dask_t.append(b.wall)
        infos.append(b.extra["cluster"])
        if not _same(a, b):
            print("    MISMATCH: the cluster's map differs from the local one")
            code = 1
    tl, td = median(local_t), median(dask_t)
    tile = median([i["tile_seconds_median"] for i in infos])
    tiles = infos[-1]["tiles"]
    r = ratio(td, tl)
    print(f"    local {tl:7.3f} s   LocalCluster(2) {td:7.3f} s   ratio {r:.2f}x "
          f"({'within' if r <= 1.3 else 'ABOVE'} 1.3x)")  # fmt: skip
    print(f"    tiles {tiles}, median tile {tile:.3f} s on a worker; arrays identical: "
          f"{'yes' if code == 0 else 'NO'}")  # fmt: skip
    # a model of N machines like this one (W = N x cores workers): the tiles' work split
    # evenly, half a tile of imbalance at the end, and the overhead measured here
    work = median([i["tile_seconds_sum"] for i in infos])

    def model(w: int) -> float:
        tile_w = max(cm.MIN_TILE_SECONDS, work / (w * cm.TILES_PER_WORKER))
        return work / w + tile_w / 2

    overhead = max(td - model(2), 0.0)
    print(f"    work {work:.2f} worker-seconds; overhead beyond the model {overhead:.2f} s")
    for n in (1, 2, 4, 8, 16):
        w = n * cores
        print(f"    expected on {n:2d} machine(s) of {cores} cores: ~{model(w) + overhead:6.2f} s "
              f"(speed-up {ratio(tl, model(w) + overhead):.1f}x)")  # fmt: skip
    return code
