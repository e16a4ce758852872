"""The ``map`` command's work, apart from its argument parsing and printing (main.py):
the racers chosen, each one's map computed, map.json's description, the files written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.maps.compute import MapResult, best_index, compute_map
from engine.maps.grid import MapError, MapSpec, grid_at_budget, plan
from engine.maps.io import write_maps
from engine.race import RacerConfig
from engine.scenario.model import Scenario


@dataclass
class MapRequest:
    """What the user asked for (main.py's options)."""

    over: str
    racer: str | None = None
    res: tuple[int, ...] | None = None
    ranges: list[float] | None = None
    box: tuple[float, float, float, float] | None = None
    steps: int | None = None
    search: str = "grid"
    budget: int | None = None


def view_of(s: Scenario) -> tuple[float, float, float, float]:
    """The scenario's view box (x0, x1, y0, y1): its own, else its landscape's."""
    from engine.landscapes import get_landscape

    ls = get_landscape(s.objective.name)
    x0, x1, y0, y1 = ls.view
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


def plans(s: Scenario, req: MapRequest) -> list[tuple[RacerConfig, MapSpec]]:
    """Every map to make (MapError for bad input, before anything runs)."""
    if s.objective.kind != "landscape":
        raise MapError("maps of the perceptron are not built yet (landscapes only)")
    view = view_of(s)
    return [
        (r, plan(req.over, r, view, req.res, req.ranges, req.box, req.search, req.budget, s.seed))
        for r in chosen_racers(s, req.racer)
    ]


def _pixel(res: MapResult, p: int) -> dict[str, Any]:
    """The swept values and the figures of flat pixel ``p``."""
    out: dict[str, Any] = dict(zip(res.spec.names, res.spec.values(p), strict=True))
    for k, v in res.metrics.items():
        x = v.ravel()[p]
        out[k] = float(x) if k.endswith("loss") else int(x)
    return out


def describe(
    s: Scenario, req: MapRequest, res: MapResult, steps: int, grid: MapResult | None
) -> dict[str, Any]:
    """map.json of one map."""
    from engine.export import versions

    spec = res.spec
    info: dict[str, Any] = {
        "scenario": s.name,
        "source": str(s.source) if s.source is not None else None,
        "objective": s.objective.name,
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
    if grid is not None:
        info["grid_at_same_budget"] = {
            "shape": list(grid.spec.shape),
            "best": _pixel(grid, best_index(grid.metrics)),
        }
    return info


def make_maps(
    s: Scenario,
    req: MapRequest,
    out: Path,
    progress: Callable[[str, int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[list[tuple[MapResult, dict[str, Any]]], list[Path]]:
    """Compute and write every map asked for. MapError for bad input (nothing run)."""
    todo = plans(s, req)
    steps = req.steps if req.steps is not None else s.steps
    done: list[tuple[MapResult, dict[str, Any]]] = []
    for racer, spec in todo:

        def report(d: int, n: int, label: str = racer.label) -> None:
            if progress is not None:
                progress(label, d, n)

        res = compute_map(spec, s, racer, steps, progress=report, stop=stop)
        grid = None
        if spec.search == "random":
            grid = compute_map(grid_at_budget(spec), s, racer, steps, stop=stop)
        done.append((res, describe(s, req, res, steps, grid)))
    index = {"scenario": s.name, "over": req.over, "steps": steps, "written": time.time()}
    return done, write_maps(done, out, index)
