"""Save then load gives the same scenario: random valid scenarios drawn from the registries."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.landscapes import LANDSCAPES
from engine.optimizers import OPTIMIZERS
from engine.params import ParamError, ParamSpec
from engine.scenario import (
    VIEW_FLAGS,
    ScenarioError,
    dumps_scenario,
    load_scenario,
    save_scenario,
    scenario_from_dict,
)
from engine.schedules import SCHEDULES

BIG = 1e6


def _finite_floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    lo = max(lo, -BIG)
    hi = min(hi, BIG)
    return st.one_of(
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
        st.sampled_from([lo, hi, (lo + hi) / 2]),
    )


def value_for(spec: ParamSpec) -> st.SearchStrategy[Any]:
    """Values of ``spec`` (some invalid at open ends: filtered by validation later)."""
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        lo = int(max(spec.lo, -1000)) if math.isfinite(spec.lo) else -1000
        hi = int(min(spec.hi, 10_000)) if math.isfinite(spec.hi) else 10_000
        return st.integers(lo, max(lo, hi))
    if spec.kind == "float":
        return _finite_floats(spec.lo, spec.hi)
    if spec.kind == "list":
        return st.lists(_finite_floats(max(spec.lo, 0), min(spec.hi, 1e4)), max_size=spec.max_len)
    # wells: [x, y, depth, width]
    well = st.tuples(
        _finite_floats(-5, 5), _finite_floats(-5, 5), _finite_floats(0.1, 3), _finite_floats(0.1, 3)
    ).map(list)
    return st.lists(well, min_size=1, max_size=min(spec.max_len, 4))


@st.composite
def params_of(draw: st.DrawFn, specs: tuple[ParamSpec, ...]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(specs), unique_by=lambda p: p.name)) if specs else []
    out = {}
    for spec in chosen:
        v = draw(value_for(spec))
        try:
            out[spec.name] = spec.validate(v)
        except ParamError:
            continue
    return out


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda t: t.strip() != ""
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(LANDSCAPES)))
    ls = LANDSCAPES[name]
    d: dict[str, Any] = {
        "schema": 1,
        "name": draw(TEXT),
        "description": draw(st.text(max_size=80)),
        "steps": draw(st.integers(1, 10_000_000)),
        "seed": draw(st.integers(0, 2**63 - 1)),
        "tolerance": {
            "loss": draw(_finite_floats(0, 1)),
            "grad": draw(_finite_floats(0, 1)),
            "divergence": draw(_finite_floats(1, 1e300).filter(lambda v: v > 1.0)),
        },
        "objective": {
            "kind": "landscape",
            "name": name,
            "params": draw(params_of(ls.params)),
            "start": [draw(_finite_floats(-10, 10)), draw(_finite_floats(-10, 10))],
            "grad_noise": draw(_finite_floats(0, 10)),
        },
    }
    view: dict[str, Any] = {}
    if draw(st.booleans()):
        a, b = sorted([draw(_finite_floats(-100, 100)), draw(_finite_floats(-100, 100))])
        assume(a < b)
        view["x_range"] = [a, b]
    if draw(st.booleans()):
        view["levels"] = draw(st.integers(1, 200))
    for k in VIEW_FLAGS:
        if draw(st.booleans()):
            view[k] = draw(st.booleans())
    if view:
        d["view"] = view
    racers = []
    for _ in range(draw(st.integers(1, 4))):
        opt = draw(st.sampled_from(sorted(OPTIMIZERS)))
        r: dict[str, Any] = {"name": opt, "params": draw(params_of(OPTIMIZERS[opt].params))}
        if draw(st.booleans()):
            r["label"] = draw(TEXT)
        if draw(st.booleans()):
            r["color"] = "#" + draw(st.text("0123456789abcdefABCDEF", min_size=6, max_size=6))
        if draw(st.booleans()):
            r["enabled"] = False
        if draw(st.booleans()):
            r["start"] = [draw(_finite_floats(-10, 10)), draw(_finite_floats(-10, 10))]
        if draw(st.booleans()):
            sname = draw(st.sampled_from(sorted(SCHEDULES)))
            r["schedule"] = {"name": sname, **draw(params_of(SCHEDULES[sname].all_params))}
        racers.append(r)
    d["optimizers"] = racers
    return d


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenarios())
def test_save_then_load_gives_the_same_scenario(tmp_path_factory: Any, d: dict) -> None:
    try:
        s = scenario_from_dict(d, source="generated")
    except ScenarioError:
        assume(False)  # a combination the validator refuses (e.g. a schedule's own rule)
        return
    folder: Path = tmp_path_factory.mktemp("rt")
    path = folder / "s.toml"
    save_scenario(s, path)
    back = load_scenario(path)
    assert back == s
    assert dumps_scenario(back) == dumps_scenario(s)
    assert [p.name for p in folder.iterdir()] == ["s.toml"]
