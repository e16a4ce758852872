"""The ``map`` command's work, apart from its argument parsing and printing (main.py):
the racers chosen, each one's map computed (on this machine, or on a Dask cluster:
engine.maps.cluster), map.json's description, the files written.

Landscapes map over start points or hyperparameters; the perceptron over
hyperparameters only (its start is three weights, not a point of a plane).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.maps.compute import MapResult, best_index, compute_map
from engine.maps.grid import MapError, MapSpec, grid_at_budget, plan
from engine.maps.io import Painter, write_maps
from engine.objective import PerceptronObjective
from engine.race import RacerConfig
from engine.scenario.model import Scenario


@dataclass
class MapRequest:
    """What the user asked for (main.py's options); None: the scenario's ``[map]``
    table's (:func:`resolve`), else the defaults (``search``: "grid")."""

    over: str | None = None
    racer: str | None = None
    res: tuple[int, ...] | None = None
    ranges: list[float] | None = None
    box: tuple[float, float, float, float] | None = None
    steps: int | None = None
    search: str | None = None
    budget: int | None = None
    workers: int | None = None  # a LocalCluster of this many processes (Dask)
    scheduler: str | None = None  # the address of a running Dask scheduler
    log: tuple[str, ...] | None = None  # the swept hyperparameters on a log scale


def view_of(s: Scenario) -> tuple[float, float, float, float]:
    """The scenario's view box (x0, x1, y0, y1): its own, else its landscape's; for the
    perceptron (no landscape, no start map) its own, else (0, 1, 0, 1)."""
    from engine.scenario.build import landscape_of

    if s.objective.kind == "landscape":
        x0, x1, y0, y1 = landscape_of(s).view
    else:
        x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
    if s.view.x_range is not None:
        x0, x1 = s.view.x_range
    if s.view.y_range is not None:
        y0, y1 = s.view.y_range
    return float(x0), float(x1), float(y0), float(y1)


def chosen_racers(s: Scenario, label: str | None) -> list[RacerConfig]:
    """The racer labelled ``label``, else every enabled racer."""
    if label is None:
        racers = [r for r in s.racers if r.enabled]
        if not racers:
            raise MapError("the scenario has no enabled racer; choose one with --racer")
        return racers
    for r in s.racers:
        if r.label == label:
            return [r]
    raise MapError(
        f"--racer {label!r}: no such racer; the scenario's: "
        + ", ".join(repr(r.label) for r in s.racers)
    )


def resolve(s: Scenario, req: MapRequest) -> MapRequest:
    """``req`` with what it leaves unset taken from the scenario's ``[map]`` table: all of
    it when ``over`` is unset or the table's; only ``racer`` and ``steps`` when another
    ``over`` is asked for (the table's resolution, ranges, box and search belong to its
    own sweep). MapError when neither says what to sweep."""
    m = s.map
    if m is None:
        if req.over is None:
            raise MapError(
                "--over: expected start, a hyperparameter or two (PARAM1,PARAM2); "
                "the scenario has no [map] table to take it from"
            )
        return replace(req, search=req.search or "grid")
    same = req.over is None or req.over == m.over
    ranges = list(m.ranges) if m.ranges is not None else None

    def pick(mine: Any, theirs: Any, sweep: bool = True) -> Any:
        return mine if mine is not None or (sweep and not same) else theirs

    return replace(
        req,
        over=req.over or m.over,
        racer=pick(req.racer, m.racer, sweep=False),
        steps=pick(req.steps, m.steps, sweep=False),
        res=pick(req.res, m.res),
        ranges=pick(req.ranges, ranges),
        box=pick(req.box, m.box),
        search=pick(req.search, m.search) or "grid",
        budget=pick(req.budget, m.budget),
        log=pick(req.log, m.log),
    )


def plans(s: Scenario, req: MapRequest) -> list[tuple[RacerConfig, MapSpec]]:
    """Every map to make (MapError for bad input, before anything runs); ``req``'s unset
    fields from the scenario's ``[map]`` table (:func:`resolve`)."""
    req = resolve(s, req)
    assert req.over is not None and req.search is not None
    if req.workers is not None and req.scheduler is not None:
        raise MapError(
            "--workers and --scheduler: give one (a new local cluster, or a running one)"
        )
    if req.workers is not None and req.workers < 1:
        raise MapError(f"--workers: expected a number of worker processes >= 1, got {req.workers}")
    if req.scheduler is not None and not req.scheduler.strip():
        raise MapError("--scheduler: expected an address such as tcp://host:8786, got ''")
    if req.workers is not None or req.scheduler is not None:
        cluster = _cluster_module()
        if req.scheduler is not None:
            cluster.check_address(req.scheduler)
    if req.over == "start" and s.objective.kind != "landscape":
        raise MapError(
            "--over start: a start map needs a 2-D landscape; the perceptron starts from "
            "three weights (w1, w2, b), a 3-D point: map its hyperparameters instead "
            "(--over lr, or --over lr,weight_decay)"
        )
    view = view_of(s)
    return [
        (r, plan(req.over, r, view, req.res, req.ranges, req.box, req.search, req.budget,
                 s.seed, req.log))
        for r in chosen_racers(s, req.racer)
    ]  # fmt: skip


def _pixel(res: MapResult, p: int) -> dict[str, Any]:
    """The swept values and the figures of flat pixel ``p``."""
    out: dict[str, Any] = dict(zip(res.spec.names, res.spec.values(p), strict=True))
    for k, v in res.metrics.items():
        x = v.ravel()[p]
        out[k] = float(x) if k.endswith("loss") else int(x)
    return out


def perceptron_best(objective: PerceptronObjective, res: MapResult) -> dict[str, Any]:
    """The best pixel of a perceptron map, ranked as the leaderboard ranks perceptron
    runs (engine.metrics.rank_key): not diverged first, then the validation loss of the
    final weights (the training loss without validation rows), then the training loss;
    the first of equals. With its losses and accuracies."""
    pts = res.final_point.reshape(-1, res.final_point.shape[-1])
    ev = objective.evaluate(pts)  # train loss, val loss, val accuracy, train accuracy
    m = res.metrics
    div = ((m["diverged_step"] >= 0) | (m["unbounded_step"] >= 0)).ravel()
    tl = np.where(np.isfinite(ev[:, 0]), ev[:, 0], np.inf)
    vl = np.where(np.isfinite(ev[:, 1]), ev[:, 1], tl)
    p = int(np.lexsort((np.arange(div.size), tl, vl, div))[0])
    best = _pixel(res, p)
    best.update(train_loss=float(ev[p, 0]), val_loss=float(ev[p, 1]),
                val_accuracy=float(ev[p, 2]), train_accuracy=float(ev[p, 3]))  # fmt: skip
    return best


def describe(
    s: Scenario,
    req: MapRequest,
    res: MapResult,
    steps: int,
    grid: MapResult | None,
    computed_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """map.json of one map. ``computed_by``: this machine's threads or the cluster."""
    from engine.export import versions

    spec = res.spec
    info: dict[str, Any] = {
        "scenario": s.name,
        "source": str(s.source) if s.source is not None else None,
        "objective": s.objective.name,
        "objective_kind": s.objective.kind,
        "racer": res.racer,
        "over": list(spec.names),
        "kind": spec.kind,
        "search": spec.search,
        "shape": list(spec.shape),
        "ranges": {n: list(lim) for n, lim in zip(spec.names, spec.lims, strict=True)},
        "log": {n: lg for n, lg in zip(spec.names, spec.log, strict=True)},
        "steps": steps,
        "seed": s.seed,
        "tolerance": {"loss": s.tolerance.loss, "grad": s.tolerance.grad,
                      "divergence": s.tolerance.divergence},
        "pixels": spec.size,
        "wall_seconds": res.wall,
        "steps_per_second": res.steps_done / res.wall if res.wall > 0 else None,
        "versions": versions(),
        "best": _pixel(res, best_index(res.metrics)),
        "counts": {
            "settled": int((res.metrics["steps_to_tol"] >= 0).sum()),
            "diverged": int((res.metrics["diverged_step"] >= 0).sum()),
            "unbounded": int((res.metrics["unbounded_step"] >= 0).sum()),
        },
    }  # fmt: skip
    if spec.kind == "start":
        mins = res.metrics["minimum"]
        info["minimum_counts"] = {str(int(k)): int((mins == k).sum()) for k in np.unique(mins)}
    objective: PerceptronObjective | None = None
    if s.objective.kind == "perceptron":
        from engine.scenario import build_race

        built = build_race(s, steps=1).objective
        assert isinstance(built, PerceptronObjective)
        objective = built
        info["perceptron"] = {
            "mode": objective.mode, "batch_size": objective.batch_size,
            "steps_per_epoch": objective.steps_per_epoch,
            "epochs": steps / objective.steps_per_epoch,
            "settled_means": f"gradient norm <= {s.tolerance.grad:g} (f* is unknown)",
            "best_ranked_by": "validation loss of the final weights (the leaderboard's order)",
        }  # fmt: skip
        info["best"] = perceptron_best(objective, res)
    if grid is not None:
        info["grid_at_same_budget"] = {
            "shape": list(grid.spec.shape),
            "best": _pixel(grid, best_index(grid.metrics))
            if objective is None
            else perceptron_best(objective, grid),
        }
    if computed_by is not None:
        info["computed_by"] = computed_by
    if "cluster" in res.extra:
        info["cluster"] = res.extra["cluster"]
    return info


def _cluster_module() -> Any:
    """engine.maps.cluster; MapError if Dask is not installed."""
    import importlib

    try:
        cluster = importlib.import_module("engine.maps.cluster")
    except ImportError:
        raise MapError(
            '--workers/--scheduler need Dask: pip install -e ".[cluster]" (dask[distributed])'
        ) from None
    return cluster


#: computes one map: (spec, racer, steps, progress, stop) -> MapResult
Runner = Callable[
    [MapSpec, RacerConfig, int, Callable[[int, int], None] | None, threading.Event | None],
    MapResult,
]


@contextlib.contextmanager
def _runner(s: Scenario, req: MapRequest) -> Iterator[tuple[Runner, dict[str, Any]]]:
    """What computes the maps (this machine's threads, or the Dask cluster the request
    names: engine.maps.cluster, connected for the whole request) and its description
    for map.json. MapError if Dask is not installed or the cluster cannot be used."""
    if req.workers is None and req.scheduler is None:

        def local(spec: MapSpec, racer: RacerConfig, steps: int, progress: Any, stop: Any
                  ) -> MapResult:  # fmt: skip
            return compute_map(spec, s, racer, steps, progress=progress, stop=stop)

        yield local, {"kind": "local", "threads": default_workers()}
        return
    cluster = _cluster_module()
    compute_map_cluster = cluster.compute_map_cluster
    with cluster.connect(req.workers, req.scheduler) as session:

        def remote(spec: MapSpec, racer: RacerConfig, steps: int, progress: Any, stop: Any
                   ) -> MapResult:  # fmt: skip
            res: MapResult = compute_map_cluster(session, spec, s, racer, steps, progress, stop)
            return res

        yield remote, {"kind": "dask", "cluster": session.kind, "scheduler": session.address}


def make_maps(
    s: Scenario,
    req: MapRequest,
    out: Path,
    progress: Callable[[str, int, int], None] | None = None,
    stop: threading.Event | None = None,
    painter: Painter | None = None,
) -> tuple[list[tuple[MapResult, dict[str, Any]]], list[Path]]:
    """Compute and write every map asked for (``painter`` draws map.png; None: the plain
    picture of engine.maps.io). MapError for bad input (nothing run)."""
    todo = plans(s, req)
    req = resolve(s, req)
    steps = req.steps if req.steps is not None else s.steps
    done: list[tuple[MapResult, dict[str, Any]]] = []
    with _runner(s, req) as (run, by):
        for racer, spec in todo:

            def report(d: int, n: int, label: str = racer.label) -> None:
                if progress is not None:
                    progress(label, d, n)

            res = run(spec, racer, steps, report, stop)
            res.extra.setdefault("steps", steps)  # the picture's title says it
            grid = None
            if spec.search == "random":
                grid = run(grid_at_budget(spec), racer, steps, None, stop)
            done.append((res, describe(s, req, res, steps, grid, by)))
    index = {"scenario": s.name, "over": req.over, "steps": steps, "written": time.time()}
    return done, write_maps(done, out, index, painter)


def default_workers() -> int:
    """The threads a local map runs on (compute_map's default)."""
    import os

    return max(1, min(os.cpu_count() or 1, 8))
