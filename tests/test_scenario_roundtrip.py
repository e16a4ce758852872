"""Save then load gives the same scenario: random valid scenarios drawn from the registries."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
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
    loads_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_to_dict,
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


@pytest.mark.slow
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


# ---------------------------------------------------------------- a commented file
COMMENTED = """\
# Lecture 3, exercise 2: keep this header
schema = 1
name = "Rosenbrock race"  # shown in the title bar
description = "What to notice: ..."
steps = 200

# the banana valley
[objective]
name = "rosenbrock"
params = { a = 1.0, b = 100.0 }  # the classic constants
start = [-1.5, 2.0]

# Adam goes first
[[optimizers]]
name = "adam"
label = "Adam"
params = { lr = 0.01 }  # tuned by hand
schedule = { name = "cosine", T = 2000, warmup = 10 }

# plain gradient descent
[[optimizers]]
name = "sgd"
params = { lr = 0.001 }
"""
COMMENTS = [line.split("#", 1)[1] for line in COMMENTED.splitlines() if "#" in line]


def test_a_commented_file_keeps_its_comments_when_saved_after_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "race.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    s = load_scenario(path)
    save_scenario(s, path)
    assert path.read_text(encoding="utf-8") == COMMENTED, "saved unchanged: the same text"
    s.racers[0].params["lr"] = 0.02
    s.racers[1].label = "GD"
    s.name = "Rosenbrock, edited"
    s.steps = 300
    s.description = 'two lines,\nwith "quotes"'
    s.view.levels = 12
    save_scenario(s, path)
    text = path.read_text(encoding="utf-8")
    for c in COMMENTS:
        assert c in text, f"comment {c!r} lost:\n{text}"
    assert "params = { lr = 0.02 }  # tuned by hand" in text, "only the value changed"
    assert 'name = "Rosenbrock, edited"  # shown in the title bar' in text
    assert "steps = 300" in text and 'label = "GD"' in text and "levels = 12" in text
    back = load_scenario(path)
    assert back == s
    # removing a racer and adding one keep the comments of the tables that stay
    back.racers = [back.racers[0], replace(back.racers[0], label="Adam 2")]
    save_scenario(back, path)
    text = path.read_text(encoding="utf-8")
    assert "# Adam goes first" in text and "# the banana valley" in text
    assert load_scenario(path) == back


def test_an_edited_copy_is_written_into_the_text_it_came_from() -> None:
    """What the window does: an edit validated from a dict keeps the file's origin."""
    s = loads_scenario(COMMENTED, source="race.toml")
    d = scenario_to_dict(s)
    d["seed"] = 7
    d["objective"]["params"]["b"] = 50.0
    edited = scenario_from_dict(d, source="race.toml", origin=s.origin)
    text = dumps_scenario(edited)
    assert all(c in text for c in COMMENTS)
    assert "params = { a = 1.0, b = 50.0 }  # the classic constants" in text
    assert loads_scenario(text) == edited
    assert dumps_scenario(scenario_from_dict(d)).startswith("# Gradient Arena scenario.")


def test_a_layout_that_cannot_be_edited_in_place_is_written_afresh() -> None:
    """Dotted keys and tables out of order: whatever tomlkit makes of them, the text
    written reads back as the scenario (in place when it can, afresh otherwise)."""
    text = (
        'name = "x"\nobjective.name = "himmelblau"\n[[optimizers]]\nname = "sgd"\n'
        '[optimizers.params]\nlr = 0.01\n[[optimizers]]\nname = "adam"\n'
    )
    s = loads_scenario(text)
    assert dumps_scenario(s) == text
    s.racers[0].params["lr"] = 0.5
    s.racers.pop()
    s.objective.start = (1.0, 1.0)
    assert loads_scenario(dumps_scenario(s)) == s


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenarios(), scenarios())
def test_any_edit_of_a_commented_file_reads_back(first: dict, second: dict) -> None:
    """Scenario ``second`` written into the (commented) text of ``first``."""
    try:
        a = scenario_from_dict(first, source="a")
        b = scenario_from_dict(second, source="b")
    except ScenarioError:
        assume(False)
        return
    lines = dumps_scenario(a).splitlines()
    text = "\n".join(f"{line}  # note {i}" if " = " in line and '"""' not in line and
                     not line.startswith(("description", "[")) else line
                     for i, line in enumerate(lines)) + "\n"  # fmt: skip
    try:
        origin = loads_scenario(text, source="a").origin
    except ScenarioError:
        assume(False)  # a comment inside a multi-line description
        return
    edited = replace(b, origin=origin)
    assert loads_scenario(dumps_scenario(edited)) == b
