"""Checks of a perceptron objective: its data, batch size and the length it implies."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from engine.data import (
    DEFAULT_VALIDATION_FRACTION,
    GENERATORS,
    MAX_ROWS,
    DataError,
    load_csv,
    split_sizes,
)
from engine.scenario.checks import check_name, check_params
from engine.scenario.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    MAX_INLINE_ROWS,
    MAX_SEED,
    MAX_STEPS,
)
from engine.scenario.problems import Collector, did_you_mean, join, show

_KEY = "objective.data"


def check_batch_size(v: Any, col: Collector) -> int | str | None:
    """An integer in [1, MAX_ROWS] or "full"; None (reported) otherwise."""
    if v is None:
        return DEFAULT_BATCH_SIZE
    if v == "full" and isinstance(v, str):
        return "full"
    if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_ROWS:
        return v
    hint = did_you_mean(v, ["full"]) if isinstance(v, str) else ""
    col.add(
        "objective.batch_size",
        f"expected an integer in [1, {MAX_ROWS}] (rows per update; 1 = stochastic), or "
        f"'full' (the whole training set: batch gradient descent), got {show(v)}"
        + (f"; {hint.strip()}" if hint else ""),
    )
    return None


def check_data(
    v: Any, col: Collector, seed: int, base_dir: Path | None
) -> tuple[dict[str, Any], np.ndarray | None, int, Path | None] | None:
    """(resolved data table, CSV rows or None, number of rows, resolved CSV path)."""
    gens = ", ".join(GENERATORS)
    if v is None:
        v = {"kind": "blobs"}
    if not isinstance(v, dict):
        col.add(_KEY, f"expected a table {{ kind = <{' | '.join(GENERATORS)}>, n = ..., ... }} "
                      f"or {{ csv = \"file.csv\" }}, got {show(v)}")  # fmt: skip
        return None
    if "rows" in v:
        return _check_rows(v, col)
    if "csv" in v:
        return _check_csv(v, col, base_dir)
    given = dict(v)
    if "kind" not in given:
        col.add(f"{_KEY}.kind", f"missing; expected a data set, one of: {gens} "
                                "(or csv = \"file.csv\" for your own data)")  # fmt: skip
        return None
    name = given.pop("kind")
    if not isinstance(name, str):
        col.add(f"{_KEY}.kind", f"expected a data set name, one of: {gens}; got {show(name)}")
        return None
    gen = check_name(name, GENERATORS, f"{_KEY}.kind", "data set", col)
    if gen is None:
        return None
    given.setdefault("seed", seed)
    params = check_params(gen.all_params, given, _KEY, col, gen.resolve, f"data set {name}")
    if params is None:
        return None
    return {"kind": name, **params}, None, int(params["n"]), None


def _check_csv(
    v: dict[str, Any], col: Collector, base_dir: Path | None
) -> tuple[dict[str, Any], np.ndarray, int, Path] | None:
    """``data = { csv = "file.csv" }``: the file (relative to ``base_dir``) read now."""
    stray = [k for k in v if k != "csv"]
    if stray:
        col.add(join(_KEY, stray[0]), "unknown key next to csv; a CSV data table takes only "
                "csv = \"file.csv\" (its header names the columns x1, x2, y)")  # fmt: skip
        return None
    path = v["csv"]
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        col.add(f"{_KEY}.csv", f"expected a CSV file name, got {show(path)}")
        return None
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    try:
        rows = load_csv(p)
    except DataError as e:
        col.add(f"{_KEY}.csv", f"cannot use the data: {e}")
        return None
    return {"csv": path}, rows, int(rows.shape[0]), p


def _check_rows(
    v: dict[str, Any], col: Collector
) -> tuple[dict[str, Any], np.ndarray, int, None] | None:
    """``data = { rows = [[x1, x2, y], ...] }``: the rows given in the file itself."""
    stray = [k for k in v if k != "rows"]
    if stray:
        col.add(join(_KEY, stray[0]), "unknown key next to rows; an inline data table takes "
                "only rows = [[x1, x2, y], ...]")  # fmt: skip
        return None
    rows = v["rows"]
    rkey = f"{_KEY}.rows"
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_INLINE_ROWS:
        got = f"{len(rows)} rows" if isinstance(rows, list) else show(rows)
        col.add(rkey, f"expected an array of 1 to {MAX_INLINE_ROWS} rows [x1, x2, y] (more "
                f"belong in a CSV file: data = {{ csv = \"file.csv\" }}), got {got}")  # fmt: skip
        return None
    out = []
    for i, r in enumerate(rows):
        where = f"{rkey}[{i}]"
        if (
            not isinstance(r, list)
            or len(r) != 3
            or not all(isinstance(u, int | float) and not isinstance(u, bool) for u in r)
            or not all(math.isfinite(float(u)) for u in r)
        ):
            col.add(where, f"expected a row [x1, x2, y] of three finite numbers, got {show(r)}")
            return None
        if not 0.0 <= float(r[2]) <= 1.0:
            col.add(where, f"expected a label y in [0, 1] (a class 0 or 1, or a soft label) "
                    f"as the row's third number, got {show(r[2])}")  # fmt: skip
            return None
        out.append([float(u) for u in r])
    return {"rows": out}, np.array(out, dtype=np.float64), len(out), None


def check_perceptron(
    obj: dict[str, Any], raw: dict[str, Any], col: Collector, base_dir: Path | None
) -> dict[str, Any] | None:
    """Checks of a perceptron objective; the resolved parts and the derived steps."""
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        seed = 0  # reported by pydantic
    bs = check_batch_size(obj.get("batch_size"), col)
    data = check_data(obj.get("data"), col, seed, base_dir)
    if "steps" in raw:
        col.add("steps", "expected no steps in a perceptron scenario: its length is "
                "objective.epochs (steps = epochs × updates per epoch); remove steps")  # fmt: skip
    epochs = obj.get("epochs", DEFAULT_EPOCHS)
    vf = obj.get("validation_fraction", DEFAULT_VALIDATION_FRACTION)
    if bs is None or data is None:
        return None
    if not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1):
        return None  # reported by pydantic
    if isinstance(vf, bool) or not isinstance(vf, int | float) or not 0.0 <= vf <= 0.9:
        return None  # reported by pydantic
    table, rows, n_rows, path = data
    n_train, _ = split_sizes(n_rows, float(vf))
    b = n_train if bs == "full" else min(int(bs), n_train)
    spe = -(-n_train // b)
    steps = epochs * spe
    if steps > MAX_STEPS:
        col.add("objective.epochs", f"expected epochs × updates per epoch <= {MAX_STEPS}, got "
                f"{epochs} × {spe} = {steps}; use fewer epochs or a larger batch_size")  # fmt: skip
        return None
    return {"data": table, "rows": rows, "csv_path": path, "batch_size": bs, "steps": steps}
