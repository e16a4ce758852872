"""Typed formula landscapes race like the built-in ones (engine.landscapes.typed)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine.formula import FormulaError
from engine.landscapes import FORMULA_LID, get_landscape
from engine.landscapes.typed import formula_landscape, typed_formula
from engine.objective import LandscapeObjective
from engine.race import Race, RacerConfig

TYPED = {
    "rosenbrock": ("(a - x)**2 + b*(y - x**2)**2", {"a": 1.0, "b": 100.0}, (-1.5, 2.0)),
    "beale": ("(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2", {}, (1.0, 1.5)),
    "himmelblau": ("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", {}, (0.0, -3.0)),
}
RACERS = [
    RacerConfig("adam", {"lr": 0.01}),
    RacerConfig("sgd", {"lr": 0.001, "momentum": 0.9}),
    RacerConfig("nag", {"lr": 0.0005, "momentum": 0.9}),
    RacerConfig("newton", {}),
]


def run(ls, start, steps: int = 1000) -> Race:  # type: ignore[no-untyped-def]
    race = Race(LandscapeObjective(ls, {}, start), [copy.copy(r) for r in RACERS],
                steps=steps)  # fmt: skip
    race.run()
    return race


@pytest.mark.parametrize("name", sorted(TYPED))
def test_typed_builtins_race_like_the_builtins(name: str) -> None:
    text, params, start = TYPED[name]
    typed = formula_landscape(text, params)
    assert typed.lid == FORMULA_LID
    a, b = run(typed, start), run(get_landscape(name), start)
    for i, r in enumerate(RACERS):
        ta, tb = a.trajectory(i), b.trajectory(i)
        assert ta.x.shape == tb.x.shape, r.optimizer
        assert np.allclose(ta.x, tb.x, rtol=0, atol=1e-10), r.optimizer
        assert np.allclose(ta.loss, tb.loss, rtol=1e-10, atol=1e-12), r.optimizer
    ma, mb = a.run_metrics(0), b.run_metrics(0)
    assert ma.steps_to_tol == mb.steps_to_tol
    # the same minimum (a scan lists equal minima in its own order)
    pa = a.objective.minima()[ma.nearest_minimum]  # type: ignore[index]
    pb = b.objective.minima()[mb.nearest_minimum]  # type: ignore[index]
    assert np.hypot(pa[0] - pb[0], pa[1] - pb[1]) < 1e-9


def test_minima_given_or_scanned() -> None:
    scanned = formula_landscape("(x^2 + y - 11)^2 + (x + y^2 - 7)^2")
    assert "scan" in scanned.description
    mins = scanned.minima()
    assert len(mins) == 4
    for m in get_landscape("himmelblau").minima():
        assert min(np.hypot(m[0] - p[0], m[1] - p[1]) for p in mins) < 1e-9
    assert scanned.f_star() == pytest.approx(0.0, abs=1e-20)
    assert len(scanned.saddles()) >= 4
    given = formula_landscape("3*x^2 + 2*y^2 + 6", minima=[[0.0, 0.0]])
    assert given.minima() == [(0.0, 0.0)] and given.f_star() == 6.0
    assert "lists them" in given.description
    assert formula_landscape("x + y").minima() == []  # unbounded below: no f*
    assert formula_landscape("x + y").f_star() is None


def test_params_are_slots_of_the_program() -> None:
    ls = formula_landscape("a*x^2 + y^2", {"a": 1.0})
    assert [p.name for p in ls.params] == ["a"]
    assert ls.value_at({"a": 3.0}, 1.0, 2.0) == 7.0
    assert ls.value_at(None, 1.0, 2.0) == 5.0
    f = typed_formula(ls)
    assert f is not None and f.gradient_text() == ("2*(a*x)", "2*y")
    assert typed_formula(get_landscape("rosenbrock")) is None


def test_undefined_points_are_a_diverged_run() -> None:
    ls = formula_landscape("log(x) + y^2")
    race = Race(LandscapeObjective(ls, {}, (0.5, 1.0)), [RacerConfig("sgd", {"lr": 1.0})],
                steps=50)  # fmt: skip
    race.run()
    assert race.run_metrics(0).diverged_step is not None  # x goes negative: log is NaN
    with pytest.raises(FormulaError, match="column"):
        formula_landscape("sinn(x)")
