"""Typed formula landscapes in scenario files: read, raced, written back, refused."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.formula_bench import ATTACKS as BENCH_ATTACKS
from engine.maps.command import view_of
from engine.maps.compute import compute_map
from engine.maps.grid import plan
from engine.scenario import ScenarioError, build_race, dumps_scenario, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
BASE = """schema = 1
name = "typed"
steps = 200
[objective]
{objective}
[[optimizers]]
name = "adam"
params = {{ lr = 0.05 }}
"""
ROSEN = (
    'formula = "(a - x)**2 + b*(y - x**2)**2"\nparams = { a = 1.0, b = 100.0 }\nstart = [-1.5, 2.0]'
)


def typed(objective: str, source: str = "t.toml"):  # type: ignore[no-untyped-def]
    return loads_scenario(BASE.format(objective=objective), source=source)


def metrics(name: str) -> dict[str, object]:
    s = load_scenario(ROOT / "scenarios" / f"lecture_formula_{name}.toml")
    race = build_race(s)
    race.run()
    return {r.label: race.run_metrics(i) for i, r in enumerate(s.racers)}


def test_a_typed_scenario_races_and_round_trips() -> None:
    s = typed(ROSEN)
    o = s.objective
    assert (o.name, o.formula, o.params, o.minima) == (
        "formula",
        "(a - x)**2 + b*(y - x**2)**2",
        {"a": 1.0, "b": 100.0},
        None,
    )
    race = build_race(s)
    race.run()
    assert race.objective.minima() == [(1.0, 1.0)]  # found by the scan
    assert race.run_metrics(0).nearest_minimum == 0
    for t in (dumps_scenario(s), dumps_scenario(dataclasses.replace(s, origin=None))):
        assert loads_scenario(t) == s
        assert 'formula = "(a - x)**2 + b*(y - x**2)**2"' in t
    given = typed(ROSEN + "\nminima = [[1.0, 1.0]]")
    assert given.objective.minima == ((1.0, 1.0),)
    assert "minima = [[1.0, 1.0]]" in dumps_scenario(dataclasses.replace(given, origin=None))
    edited = dataclasses.replace(s, objective=dataclasses.replace(o, params={"a": 2.0, "b": 100.0}))
    assert "a = 2.0" in dumps_scenario(edited)  # a constant changed in the commented text


@pytest.mark.parametrize(
    ("objective", "key", "words"),
    [
        (
            'formula = "sinn(x) + y"',
            "objective.formula",
            "unknown function 'sinn' at column 1; did you mean sin?",
        ),
        ('formula = "x + "', "objective.formula", "ends too early at column 5"),
        ('formula = "x**y**z"', "objective.formula", "powers nest too deep"),
        ('formula = "a*x + y"', "objective.formula", "'a'"),
        ('name = "rosenbrock"\nformula = "x"', "objective.formula", "not both"),
        ('name = "rosenbrock"\nminima = [[1.0, 1.0]]', "objective.minima", "for a formula"),
        ('formula = "a*x"\nparams = { a = "one" }', "objective.params.a", "expected a number"),
        ('formula = "x"\nminima = [[1.0]]', "objective.minima[0]", ""),
        ("formula = 3", "objective.formula", ""),
        ('formula = "x"\ndata = { kind = "blobs" }', "objective.kind", "perceptron"),
    ],
)
def test_bad_typed_objectives_name_the_key(objective: str, key: str, words: str) -> None:
    with pytest.raises(ScenarioError) as e:
        typed(objective)
    msgs = [f"{p.key}: {p.message}" for p in e.value.problems]
    assert any(m.startswith(key + ":") and words in m for m in msgs), msgs
    assert all(p.file == "t.toml" and p.line is not None for p in e.value.problems), msgs


# the formulas `python -m bench formula` times the refusal of: code, attribute access,
# comprehensions, huge powers, deep nesting, a million operands
ATTACKS = [*BENCH_ATTACKS, "x + " * 250_000 + "x"]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a[:24])
def test_attacks_in_a_file_are_refused_and_run_nothing(tmp_path: Path, attack: str) -> None:
    f = tmp_path / "attack.toml"
    f.write_text(BASE.format(objective=f"formula = {json.dumps(attack)}"), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "validate", str(f)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "attack.toml" in out.stdout + out.stderr
    assert sorted(os.listdir(tmp_path)) == ["attack.toml"]  # nothing made, nothing run


def test_exp_of_exp_is_a_diverged_run_not_a_crash() -> None:
    s = typed('formula = "exp(exp(exp(exp(x)))) + y^2"\nstart = [1.0, 1.0]')
    race = build_race(s)
    race.run()
    assert race.run_metrics(0).diverged_step == 0


def test_lecture_exam_formula() -> None:
    m = metrics("exam")
    assert m["η* = 2/(λmin + λmax) = 0.2"].steps_to_tol == 6  # type: ignore[attr-defined]
    assert m["η = 1/6 (the notes' rule)"].steps_to_tol == 8  # type: ignore[attr-defined]
    osc = m["η = 1/3 = 2/λmax"]
    assert osc.steps_to_tol is None and osc.final_loss == pytest.approx(9.0)  # type: ignore[attr-defined]
    assert m["η = 0.4 (diverges)"].diverged_step == 23  # type: ignore[attr-defined]
    from engine.formula import parse_formula

    f = parse_formula("3*x^2 + 2*y^2 + 6")
    assert f.gradient_text() == ("6*x", "4*y") and f.hessian_text() == ("6", "0", "4")


def test_lecture_kink_formula() -> None:
    m = metrics("kink")
    gd = m["GD η = 0.1"]
    assert gd.steps_to_tol is None and round(gd.final_loss, 12) == 0.03  # type: ignore[attr-defined]
    assert m["GD η = 0.1, exponential decay"].steps_to_tol == 459  # type: ignore[attr-defined]
    assert round(m["Adam η = 0.1"].final_loss, 3) == 0.013  # type: ignore[attr-defined]
    assert round(m["heavy ball ρ = 0.9, η = 0.01"].final_loss, 3) == 0.014  # type: ignore[attr-defined]


def test_a_start_map_of_a_typed_landscape() -> None:
    s = typed('formula = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"\nstart = [0.0, 0.0]')
    s = dataclasses.replace(s, racers=[dataclasses.replace(s.racers[0], params={"lr": 0.1})])
    assert view_of(s) == (-5.0, 5.0, -5.0, 5.0)
    r = s.racers[0]
    res = compute_map(plan("start", r, view_of(s), (16,)), s, r, 200)
    assert sorted(set(res.metrics["minimum"].ravel().tolist())) == [0, 1, 2, 3]
