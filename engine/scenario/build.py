"""From a scenario to a race: the objective built (perceptron data made or read) and
fresh copies of the racers' settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.data import DEFAULT_VALIDATION_FRACTION, DataError, describe_params, generate, load_csv
from engine.landscapes import Landscape
from engine.race import Race
from engine.scenario.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    MAX_STEPS,
    Problem,
    Scenario,
    ScenarioError,
)
from engine.scenario.problems import show


def build_race(s: Scenario, steps: int | None = None, record_momentum: bool = False) -> Race:
    """A fresh Race for ``s`` (``steps`` overrides the scenario's; ``record_momentum``: see
    Race); ScenarioError if bad."""
    source = str(s.source) if s.source is not None else "<scenario>"
    n = s.steps if steps is None else steps
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_STEPS:
        raise ScenarioError(
            [Problem(source, "steps", f"expected an integer in [1, {MAX_STEPS}], got {show(n)}")]
        )
    objective = _OBJECTIVES[s.objective.kind](s, source)
    racers = [r.copy() for r in s.racers]  # the race changes its own, never the scenario's
    return Race(
        objective, racers, steps=n, seed=s.seed, tolerance=s.tolerance,
        record_momentum=record_momentum,
    )  # fmt: skip


def landscape_of(s: Scenario) -> Landscape:
    """The landscape of scenario ``s``: a registered one by name, or its typed formula
    (over the scenario's view box when it gives both ranges)."""
    from engine.landscapes import get_landscape
    from engine.landscapes.typed import formula_landscape

    o = s.objective
    if o.formula is None:
        return get_landscape(o.name)
    box = None
    if s.view.x_range is not None and s.view.y_range is not None:
        box = (*s.view.x_range, *s.view.y_range)
    start = (float(o.start[0]), float(o.start[1]))
    return formula_landscape(o.formula, o.params, o.minima, box, start)


def _landscape_objective(s: Scenario, source: str) -> Any:
    """The LandscapeObjective of scenario ``s``."""
    from engine.objective import LandscapeObjective

    o = s.objective
    start = (o.start[0], o.start[1])
    return LandscapeObjective(landscape_of(s), dict(o.params), start, float(o.grad_noise))


def _rows(s: Scenario) -> tuple[np.ndarray, str]:
    """The perceptron's data rows and how to name them."""
    o = s.objective
    data = o.data or {"kind": "blobs"}
    if "rows" in data:
        rows = np.array(data["rows"], dtype=np.float64).reshape(-1, 3)
        return rows, f"{rows.shape[0]} row{'s' if rows.shape[0] != 1 else ''} given in the file"
    if "csv" in data:
        if o.rows is not None:
            return o.rows, f"CSV {data['csv']}"
        path = o.csv_path  # None for a Scenario made in code: read the file now
        if path is None:
            p = Path(data["csv"])
            base = s.source.parent if s.source is not None else None
            path = p if p.is_absolute() or base is None else base / p
        return load_csv(path), f"CSV {data['csv']}"
    params = {k: v for k, v in data.items() if k != "kind"}
    return generate(data["kind"], params), describe_params(data["kind"], params)


def _perceptron_objective(s: Scenario, source: str) -> Any:
    """The PerceptronObjective of scenario ``s`` (data made or read, split, scaled)."""
    from engine.objective import PerceptronObjective

    o = s.objective
    data = o.data or {"kind": "blobs"}
    try:
        rows, what = _rows(s)
        vf = o.validation_fraction
        return PerceptronObjective.from_rows(
            rows,
            batch_size=o.batch_size if o.batch_size is not None else DEFAULT_BATCH_SIZE,
            epochs=o.epochs if o.epochs is not None else DEFAULT_EPOCHS,
            start=tuple(o.start),
            validation_fraction=vf if vf is not None else DEFAULT_VALIDATION_FRACTION,
            standardize=bool(o.standardize),
            seed=s.seed,
            grad_noise=o.grad_noise,
            source=what,
        )
    except DataError as e:
        key = "objective.data.csv" if "csv" in data else "objective.data"
        raise ScenarioError([Problem(source, key, f"cannot use the data: {e}")]) from None
    except MemoryError:
        raise ScenarioError(
            [Problem(source, "objective.data", "not enough memory for this data set")]
        ) from None


#: the objective of a scenario, by the file's ``objective.kind``
_OBJECTIVES: dict[str, Callable[[Scenario, str], Any]] = {
    "landscape": _landscape_objective,
    "perceptron": _perceptron_objective,
}
