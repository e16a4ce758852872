"""From parsed data to a :class:`Scenario`: every check, every problem reported at once.

Three passes over the parsed document: a pre-pass (plain copies, key types, nesting,
huge integers), the pydantic models (keys, types, bounds) and the semantic checks
(names, parameters, lengths that depend on the objective's kind, perceptron data).
Nothing but :class:`ScenarioError` leaves :func:`scenario_from_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from engine.data import DEFAULT_VALIDATION_FRACTION
from engine.landscapes import LANDSCAPES
from engine.metrics import Tolerance
from engine.optimizers import OPTIMIZERS
from engine.race import RacerConfig
from engine.scenario.checks import check_name, check_params, check_schedule
from engine.scenario.model import (
    DEFAULT_EPOCHS,
    MAX_DEPTH,
    MAX_INT_BITS,
    VIEW_FLAGS,
    MapSettings,
    ObjectiveSpec,
    Origin,
    Problem,
    Scenario,
    ScenarioError,
    ViewSpec,
)
from engine.scenario.perceptron import check_perceptron
from engine.scenario.problems import (
    Collector,
    did_you_mean,
    entries,
    join,
    pydantic_problems,
    show,
)
from engine.scenario.schema import (
    OBJECTIVE_KINDS,
    MapSchema,
    ObjectiveSchema,
    ScenarioSchema,
    TolSchema,
    ViewSchema,
    choices_text,
    expect,
)

_KEYS_OF_KIND = {
    "landscape": ("kind", "name", "formula", "params", "minima", "start", "grad_noise"),
    "perceptron": (
        "kind", "data", "batch_size", "epochs", "standardize", "validation_fraction",
        "start", "grad_noise",
    ),
}  # fmt: skip
_DIM = {"landscape": 2, "perceptron": 3}
_START = {"landscape": "[x, y]", "perceptron": "[w1, w2, b]"}
_V0 = {"landscape": "[v1, v2]", "perceptron": "[v_w1, v_w2, v_b]"}
_VELOCITY_OPTIMIZERS = ", ".join(n for n, o in OPTIMIZERS.items() if o.velocity)
_DROP = object()
_NUMBERS = {2: "two", 3: "three"}


# ---------------------------------------------------------------------------- pre-pass
def _prepass(d: Any, col: Collector) -> Any:
    """A plain copy of ``d``: tuples become lists, numpy scalars Python numbers.

    Reports non-string keys, nesting deeper than MAX_DEPTH and integers too large to be
    numbers (they would overflow float conversion); those entries are dropped so later
    checks see only sane values.
    """

    def walk(v: Any, path: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            col.add(path, f"expected at most {MAX_DEPTH} levels of nesting, got more")
            return _DROP
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, dict):
            out = {}
            for k, u in v.items():
                if not isinstance(k, str):
                    col.add(path, f"expected string keys, got the key {show(k)}")
                    continue
                w = walk(u, join(path, k), depth + 1)
                if w is not _DROP:
                    out[k] = w
            return out
        if isinstance(v, list | tuple):
            out_l = []
            for i, u in enumerate(v):
                w = walk(u, f"{path}[{i}]", depth + 1)
                if w is _DROP:
                    return _DROP
                out_l.append(w)
            return out_l
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > MAX_INT_BITS:
            col.add(path, f"expected a number of reasonable size, got {show(v)}")
            return _DROP
        return v

    return walk(d, "", 0)


# ---------------------------------------------------------------------------- semantics
def _objective_kind(obj: dict[str, Any], col: Collector) -> str | None:
    """The objective's kind, or None (reported) if unknown or at odds with its keys."""
    kind = obj.get("kind", "landscape")
    if not isinstance(kind, str):
        return None  # pydantic reported the type
    if kind not in OBJECTIVE_KINDS:
        col.add(
            "objective.kind",
            f"unknown objective kind {show(kind)}; {did_you_mean(kind, OBJECTIVE_KINDS)}"
            f"expected {choices_text(OBJECTIVE_KINDS)}",
        )
        return None
    other = "landscape" if kind == "perceptron" else "perceptron"
    stray = [k for k in obj if k not in _KEYS_OF_KIND[kind] and k in _KEYS_OF_KIND[other]]
    if stray:
        got = f"got {show(kind)}" if "kind" in obj else "missing (so 'landscape')"
        words = stray[0] if len(stray) == 1 else ", ".join(stray[:-1]) + " and " + stray[-1]
        col.add(
            "objective.kind",
            f"expected '{other}' for an objective with {words} ({other} keys), {got}; "
            f"a {kind} objective takes: {', '.join(_KEYS_OF_KIND[kind])}",
        )
        return None
    return kind


def _check_length(v: Any, key: str, kind: str | None, what: str, col: Collector) -> None:
    """An array of one number per parameter (2 on a landscape, 3 for the perceptron)."""
    if kind is None or not isinstance(v, list) or len(v) == _DIM[kind]:
        return
    n = _DIM[kind]
    count = _NUMBERS[n] if key.endswith(".start") else f"{n}"
    per = "" if key.endswith(".start") else " (one per parameter)"
    col.add(key, f"expected {what}: {count} finite numbers{per}, got {entries(len(v))}")


def _check_range(v: Any, key: str, col: Collector) -> None:
    if isinstance(v, list) and len(v) == 2 and all(isinstance(u, int | float) for u in v):
        try:
            if not float(v[0]) < float(v[1]):
                col.add(key, f"expected [min, max] with min < max, got {show(v)}")
        except (ArithmeticError, ValueError):
            pass  # reported by pydantic


def _check_velocity(
    r: dict[str, Any], key: str, opt: Any, kind: str | None, col: Collector
) -> None:
    """A racer's ``v0`` or ``x_prev``: one of them, for an optimizer with a velocity, of
    the parameter dimension (types are pydantic's)."""
    given = [k for k in ("v0", "x_prev") if r.get(k) is not None]
    if not given:
        return
    if len(given) == 2:
        col.add(f"{key}.x_prev", "expected either v0 (the velocity) or x_prev (the point "
                "before the start), not both")  # fmt: skip
        return
    name = given[0]
    if opt is not None and not opt.velocity:
        col.add(f"{key}.{name}", f"optimizer {opt.name} has no velocity; {name} applies to "
                f"{_VELOCITY_OPTIMIZERS}")  # fmt: skip
        return
    what = (_V0 if name == "v0" else _START).get(kind or "", "")
    _check_length(r[name], f"{key}.{name}", kind, what, col)


def _check_objective(
    obj: dict[str, Any], raw: dict[str, Any], col: Collector, base_dir: Path | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": _objective_kind(obj, col)}
    kind = out["kind"]
    if kind == "landscape" and "formula" in obj:
        typed = _check_formula(obj, raw, col)
        if typed is not None:
            out["landscape"] = typed
    elif kind == "landscape":
        if "name" not in obj:
            col.add(
                "objective.name",
                f'missing; expected {expect("objective.name")} (or a formula = "...")',
            )
        if "minima" in obj:
            col.add("objective.minima", "a named landscape knows its minima: minima is for "
                    "a formula")  # fmt: skip
        ls = check_name(obj.get("name"), LANDSCAPES, "objective.name", "landscape", col)
        if ls is not None:
            prm = check_params(
                ls.params, obj.get("params", {}), "objective.params", col, ls.resolve,
                f"landscape {ls.name}",
            )  # fmt: skip
            out["landscape"] = (ls, prm)
    elif kind == "perceptron":
        out["perceptron"] = check_perceptron(obj, raw, col, base_dir)
    _check_length(obj.get("start"), "objective.start", kind, _START.get(kind or "", ""), col)
    return out


def _check_formula(obj: dict[str, Any], raw: dict[str, Any], col: Collector) -> Any:
    """A typed landscape (``formula``): parsed (never evaluated as code) with its named
    constants; (its Landscape, its resolved params) or None (reported)."""
    from engine.formula import FormulaError
    from engine.landscapes.typed import formula_landscape

    text = obj.get("formula")
    if "name" in obj:
        col.add("objective.formula", "give a landscape name or a formula, not both")
        return None
    if not isinstance(text, str):
        return None  # pydantic reported the type
    params = obj.get("params", {})
    if not isinstance(params, dict):
        return None  # pydantic reported the type
    bad = [k for k, v in params.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    for k in bad:
        col.add(f"objective.params.{k}", f"expected a number (a constant of the formula), "
                f"got {show(params[k])}")  # fmt: skip
    minima = obj.get("minima")
    ok_minima = isinstance(minima, list) and all(
        isinstance(m, list) and len(m) == 2 and all(isinstance(v, int | float) for v in m)
        for m in minima
    )
    view = _view_box(raw.get("view"))
    try:
        ls = formula_landscape(text, params if not bad else {}, minima if ok_minima else None,
                               view)  # fmt: skip
    except FormulaError as e:
        col.add("objective.formula", str(e))
        return None
    if bad:
        return None
    return ls, ls.resolve(params)


def _view_box(view: Any) -> tuple[float, float, float, float] | None:
    """The [view] box of a typed landscape (both ranges given and ordered), else None."""
    if not isinstance(view, dict):
        return None
    xr, yr = view.get("x_range"), view.get("y_range")
    try:
        box = (float(xr[0]), float(xr[1]), float(yr[0]), float(yr[1]))  # type: ignore[index]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if not (box[0] < box[1] and box[2] < box[3]) or not all(map(math.isfinite, box)):
        return None
    return box


def _check_racer(r: dict[str, Any], key: str, kind: str | None, col: Collector) -> Any:
    opt = check_name(r.get("name"), OPTIMIZERS, f"{key}.name", "optimizer", col)
    params = None
    if opt is not None:
        params = check_params(
            opt.params, r.get("params", {}), f"{key}.params", col, opt.resolve,
            f"optimizer {opt.name}",
        )  # fmt: skip
    sched = check_schedule(r.get("schedule"), f"{key}.schedule", col, kind)
    _check_length(r.get("start"), f"{key}.start", kind, _START.get(kind or "", ""), col)
    _check_velocity(r, key, opt, kind, col)
    return params, sched


def _semantic(raw: dict[str, Any], col: Collector, base_dir: Path | None) -> dict[str, Any]:
    """Name and parameter checks on the raw data (types guarded); the resolved parts."""
    out: dict[str, Any] = {"racers": {}, "kind": None}
    obj = raw.get("objective")
    if isinstance(obj, dict):
        out.update(_check_objective(obj, raw, col, base_dir))
    view = raw.get("view")
    if isinstance(view, dict):
        for k in ("x_range", "y_range"):
            _check_range(view.get(k), f"view.{k}", col)
    racers = raw.get("optimizers")
    if isinstance(racers, list):
        for i, r in enumerate(racers):
            if isinstance(r, dict):
                out["racers"][i] = _check_racer(r, f"optimizers[{i}]", out["kind"], col)
    m = raw.get("map")
    if isinstance(m, dict) and isinstance(racers, list):
        _check_map(m, [r for r in racers if isinstance(r, dict)], out["kind"], col)
    return out


def _check_map(m: dict[str, Any], racers: list[dict[str, Any]], kind: Any, col: Collector) -> None:
    """``[map]``: its racer exists, what it sweeps fits that racer (every enabled racer
    when none is named) and the objective, and its ranges and box are ordered."""
    over = m.get("over")
    label = m.get("racer")
    if isinstance(label, str):
        labels = [r.get("label") or r.get("name") for r in racers]
        chosen = [r for r, lb in zip(racers, labels, strict=True) if lb == label]
        if not chosen:
            col.add("map.racer", f"no racer labelled {show(label)}; the scenario's: "
                    + ", ".join(show(lb) for lb in labels))  # fmt: skip
    else:
        chosen = [r for r in racers if r.get("enabled", True) is not False]
    if not isinstance(over, str):
        return
    names = [n.strip() for n in over.split(",")]
    if over == "start":
        if kind == "perceptron":
            col.add("map.over", "a start map needs a 2-D landscape; a perceptron's weights "
                    "are 3-D: sweep its hyperparameters instead (e.g. 'lr')")  # fmt: skip
        if m.get("ranges") is not None:
            col.add("map.ranges", "ranges are for hyperparameter maps; a start map takes box")
        if m.get("log") is not None:
            col.add("map.log", "log is for hyperparameter maps; a start map's axes are x and y")
    elif not 1 <= len(names) <= 2 or len(set(names)) != len(names) or "" in names:
        col.add("map.over", f"expected 'start', one hyperparameter or two distinct ones "
                f"separated by a comma, got {show(over)}")  # fmt: skip
        return
    else:
        if m.get("box") is not None:
            col.add("map.box", "box is for start maps; a hyperparameter map takes ranges")
        log = m.get("log")
        for n in log if isinstance(log, list) else []:
            if isinstance(n, str) and n not in names:
                col.add("map.log", f"{show(n)} is not swept; expected some of {', '.join(names)}")
        ranges = m.get("ranges")
        if isinstance(ranges, list) and len(ranges) != 2 * len(names):
            col.add("map.ranges", f"expected {2 * len(names)} numbers for {over}, got "
                    f"{len(ranges)}")  # fmt: skip
        for r in chosen:
            opt = OPTIMIZERS.get(r.get("name"))  # type: ignore[arg-type]
            if opt is None:
                continue  # reported with the racer
            numeric = [p.name for p in opt.params if p.kind in ("float", "int")]
            for n in names:
                if n not in numeric:
                    col.add("map.over", f"{opt.name} has no numeric parameter {show(n)}; its "
                            f"numeric parameters: {', '.join(numeric)}")  # fmt: skip
    box = m.get("box")
    if isinstance(box, list) and len(box) == 4:
        _check_range(box[:2], "map.box", col)
        _check_range(box[2:], "map.box", col)


# ---------------------------------------------------------------------------- building
def from_dict(
    d: Any, source: str, lines: dict[str, int] | None, base_dir: Path | None = None
) -> Scenario:
    """The scenario ``d`` describes; ScenarioError listing every problem otherwise."""
    col = Collector(source, lines)
    if not isinstance(d, dict):
        col.add("", f"expected a table of scenario keys, got {show(d)}")
        raise col.error()
    raw = _prepass(d, col)
    if raw is _DROP or not isinstance(raw, dict):
        raise col.error()
    model: ScenarioSchema | None = None
    try:
        model = ScenarioSchema.model_validate(raw)
    except ValidationError as e:
        pydantic_problems(e, col)
    sem = _semantic(raw, col, base_dir)
    if col.problems or model is None:
        if not col.problems:  # pragma: no cover - defensive
            col.add("", "invalid scenario")
        raise col.error()
    objective, steps = _objective(model.objective, sem, model.steps)
    racers = []
    for i, r in enumerate(model.optimizers):
        params, (sname, sparams, unit) = sem["racers"][i]
        racers.append(
            RacerConfig(
                optimizer=r.name,
                params=params,
                schedule=sname,
                schedule_params=sparams,
                label=r.label or r.name,
                color=r.color,
                enabled=r.enabled,
                start=tuple(r.start) if r.start is not None else None,
                schedule_unit=unit,
                v0=tuple(r.v0) if r.v0 is not None else None,
                x_prev=tuple(r.x_prev) if r.x_prev is not None else None,
            )
        )
    tol = model.tolerance or TolSchema()
    v = model.view or ViewSchema()
    view = ViewSpec(
        tuple(v.x_range) if v.x_range is not None else None,  # type: ignore[arg-type]
        tuple(v.y_range) if v.y_range is not None else None,  # type: ignore[arg-type]
        v.levels,
        **{k: getattr(v, k) for k in VIEW_FLAGS},
    )
    return Scenario(
        schema=model.schema_,
        name=model.name,
        description=model.description,
        steps=steps,
        seed=model.seed,
        tolerance=Tolerance(
            loss=float(tol.loss), grad=float(tol.grad), divergence=float(tol.divergence)
        ),
        objective=objective,
        view=view,
        racers=racers,
        map=_map_settings(model.map),
    )


def _map_settings(m: MapSchema | None) -> MapSettings | None:
    if m is None:
        return None
    return MapSettings(
        over=",".join(n.strip() for n in m.over.split(",")),
        racer=m.racer,
        res=tuple(m.res) if m.res is not None else None,
        ranges=tuple(float(v) for v in m.ranges) if m.ranges is not None else None,
        box=tuple(float(v) for v in m.box) if m.box is not None else None,  # type: ignore[arg-type]
        steps=m.steps,
        search=m.search,
        budget=m.budget,
        log=tuple(m.log) if m.log is not None else None,
    )


def _objective(o: ObjectiveSchema, sem: dict[str, Any], steps: int) -> tuple[ObjectiveSpec, int]:
    """The objective and the race's length (a perceptron's comes from its epochs)."""
    if sem["kind"] == "perceptron":
        pc = sem["perceptron"]
        vf = o.validation_fraction
        spec = ObjectiveSpec(
            "perceptron", "perceptron", {},
            tuple(o.start) if o.start is not None else (0.0, 0.0, 0.0), float(o.grad_noise),
            data=pc["data"], batch_size=pc["batch_size"],
            epochs=o.epochs if o.epochs is not None else DEFAULT_EPOCHS,
            standardize=bool(o.standardize),
            validation_fraction=float(vf if vf is not None else DEFAULT_VALIDATION_FRACTION),
            rows=pc["rows"], csv_path=pc["csv_path"],
        )  # fmt: skip
        return spec, pc["steps"]
    ls, lparams = sem["landscape"]
    start = tuple(o.start) if o.start is not None else tuple(float(v) for v in ls.start)
    minima = None if o.minima is None else tuple((float(a), float(b)) for a, b in o.minima)
    spec = ObjectiveSpec(o.kind, ls.name, lparams, start, float(o.grad_noise),
                         formula=o.formula, minima=minima)  # fmt: skip
    return spec, steps


def guard(fn: Callable[[], Scenario], source: str) -> Scenario:
    """Run ``fn``; anything but ScenarioError becomes one (nothing else escapes)."""
    try:
        return fn()
    except ScenarioError:
        raise
    except RecursionError:
        msg = "expected a reasonably nested document; got nesting too deep to read"
        raise ScenarioError([Problem(source, "", msg)]) from None
    except Exception as e:  # the promise: only ScenarioError escapes
        msg = f"could not read the scenario ({type(e).__name__}: {e})"
        raise ScenarioError([Problem(source, "", msg)]) from None


def scenario_from_dict(
    d: dict[str, Any],
    source: str = "<dict>",
    base_dir: str | Path | None = None,
    origin: Origin | None = None,
) -> Scenario:
    """Validate a parsed scenario (as tomllib returns it); raises ScenarioError.

    ``base_dir``: where relative CSV paths start (default: the current folder).
    ``origin``: the text to write the scenario into (an edited copy of a scenario read
    from a file passes the file's ``origin``, so saving keeps the file's comments).
    """
    bd = Path(base_dir) if base_dir is not None else None

    def go() -> Scenario:
        s = from_dict(d, source, None, bd)
        s.origin = origin
        return s

    return guard(go, source)
