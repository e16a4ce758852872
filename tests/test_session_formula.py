"""The session's typed formulas (issue #14): set_formula, its constants, undo, refusals,
and set_landscape on a formula (its constants' sliders), without Qt."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from engine.changes import snapshot
from engine.formula import FormulaError
from engine.landscapes.typed import DEFAULT_START
from engine.scenario import dumps_scenario, load_scenario, loads_scenario
from engine.session import DEFAULT_CONSTANT, Session, SessionError, formula_constants

BUILT_IN = """
schema = 1
name = "two racers"
steps = 60
seed = 1
[objective]
kind = "landscape"
name = "rosenbrock"
start = [-1.5, 2.0]
[[optimizers]]
name = "sgd"
label = "GD"
params = { lr = 0.01 }
[[optimizers]]
name = "adam"
label = "Adam"
params = { lr = 0.05 }
start = [1.0, -1.0]
"""

TYPED = """
schema = 1
name = "a typed bowl"
steps = 60
seed = 1
[objective]
kind = "landscape"
formula = "a*x^2 + b*y^2"
params = { a = 2.0, b = 3.0 }
minima = [[0.0, 0.0]]
start = [1.0, 1.5]
[view]
x_range = [-2.0, 2.0]
y_range = [-2.0, 2.0]
[[optimizers]]
name = "sgd"
label = "GD"
params = { lr = 0.05 }
"""

ROOT = Path(__file__).resolve().parents[1]
HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
EVENTS = ("reloaded", "racers_changed", "race_changed", "scenario_changed", "history_changed")


def make(text: str) -> Session:
    return Session(loads_scenario(text), start_runner=False)


def listen(s: Session) -> Counter:
    seen: Counter = Counter()
    for name in EVENTS:
        getattr(s.events, name).connect(lambda *_a, n=name: seen.update([n]))
    return seen


def raced_f(s: Session, x: float, y: float) -> float:
    """f at (x, y) as the session's race computes it (its objective's landscape)."""
    obj = s.race.objective
    return obj.landscape.value_at(obj.params, x, y)


def test_constants_are_the_names_besides_variables_functions_and_calls() -> None:
    assert formula_constants("a*x^2 + b*sin(y) + pi*e + a") == ["a", "b"]
    assert formula_constants("x1^2 + x2 + exp(k*y)") == ["k"]
    assert formula_constants("foo(x) + lambda") == []  # a call and a keyword: the parser's
    assert formula_constants("x +") == []
    assert formula_constants("c * x @") == ["c"]  # names before a bad character count


def test_a_built_in_landscape_becomes_a_typed_formula_and_undo_restores_it() -> None:
    s = make(BUILT_IN)
    before = snapshot(s.scenario)
    seen = listen(s)
    assert s.set_formula(HIMMELBLAU)
    o = s.scenario.objective
    assert (o.name, o.formula, o.params, o.minima) == ("formula", HIMMELBLAU, {}, None)
    # no view in the scenario: the formula's default start, every racer from it
    assert o.start == DEFAULT_START
    assert all(r.start is None for r in s.scenario.racers)
    assert seen["reloaded"] == 1 and seen["scenario_changed"] == 1
    assert raced_f(s, 3.0, 2.0) == 0.0  # Himmelblau's minimum at (3, 2)
    assert len(s.race.objective.minima()) == 4  # found by a scan of the default view
    s.race.run()
    assert np.isfinite(s.race.trajectory(0).x).all()
    assert s.history.can_undo()
    assert s.undo()
    assert s.scenario == before
    assert s.race.objective.name == "rosenbrock"
    assert s.redo()
    assert s.scenario.objective.formula == HIMMELBLAU


def test_a_view_that_holds_the_start_is_kept_when_switching_to_a_formula() -> None:
    text = BUILT_IN + "[view]\nx_range = [-2.0, 2.0]\ny_range = [-1.0, 3.0]\n"
    s = make(text)
    assert s.set_formula("x^2 + y^2")
    assert s.scenario.objective.start == (-1.5, 2.0)
    assert s.scenario.view.x_range == (-2.0, 2.0)
    assert s.scenario.racers[1].start == (1.0, -1.0)
    outside = text.replace("start = [-1.5, 2.0]", "start = [-1.5, 5.0]")
    s = make(outside)
    assert s.set_formula("x^2 + y^2")
    assert s.scenario.objective.start == DEFAULT_START
    assert s.scenario.view.x_range is None


def test_a_new_formula_is_one_undo_step_and_the_same_formula_is_no_change() -> None:
    s = make(TYPED)
    seen = listen(s)
    assert not s.set_formula("a*x^2 + b*y^2")
    assert not s.set_formula("  a*x^2 + b*y^2  ")  # the ends are not part of the formula
    assert not seen
    assert s.set_formula("a*x^2 + b*y^2 + c*x*y")
    assert s.set_formula("a*x^2 + b*y^2 + c*x*y + 1")
    o = s.scenario.objective
    # the constants still named keep their values; a new one starts at 1
    assert o.params == {"a": 2.0, "b": 3.0, "c": DEFAULT_CONSTANT}
    assert o.start == (1.0, 1.5) and s.scenario.view.x_range == (-2.0, 2.0)  # kept
    assert raced_f(s, 1.0, 1.0) == 2.0 + 3.0 + 1.0 + 1.0
    assert seen["reloaded"] == 2
    assert s.undo()
    assert s.scenario.objective.formula == "a*x^2 + b*y^2 + c*x*y"
    assert raced_f(s, 1.0, 1.0) == 6.0
    assert s.undo()
    assert s.scenario.objective.formula == "a*x^2 + b*y^2"
    assert s.scenario.objective.params == {"a": 2.0, "b": 3.0}
    assert s.scenario.objective.minima == ((0.0, 0.0),)
    assert not s.undo()


def test_dropping_a_constant_drops_its_value_and_given_values_win() -> None:
    s = make(TYPED)
    assert s.set_formula("b*y^2 + x^2")
    assert s.scenario.objective.params == {"b": 3.0}
    assert s.set_formula("b*y^2 + a*x^2", {"a": 0.5})
    assert s.scenario.objective.params == {"b": 3.0, "a": 0.5}
    assert raced_f(s, 2.0, 1.0) == 3.0 + 0.5 * 4.0


def test_the_listed_minima_go_when_the_function_changes() -> None:
    s = make(TYPED)
    assert s.set_formula("a*x^2 + b*y^2 + 0")  # the same function, written otherwise
    assert s.scenario.objective.minima == ((0.0, 0.0),)
    assert s.set_formula("a*(x - 1)^2 + b*y^2")
    assert s.scenario.objective.minima is None
    assert s.race.objective.minima() == [(1.0, 0.0)]  # found by a scan


@pytest.mark.parametrize(
    ("text", "column"),
    [("a*x^2 +", 8), ("x^2 + sinn(y)", 7), ("x.real", 2), ("(x + y", 1), ("__import__('os')", 1)],
)
def test_a_bad_formula_is_refused_with_its_column_and_changes_nothing(
    text: str, column: int
) -> None:
    s = make(TYPED)
    before = dumps_scenario(s.scenario)
    race = s.race
    seen = listen(s)
    with pytest.raises(FormulaError) as info:
        s.set_formula(text)
    assert isinstance(info.value, ValueError)  # the session's usual refusal of a value
    assert info.value.column == column
    assert dumps_scenario(s.scenario) == before and s.race is race
    assert not seen and not s.history.can_undo()


def test_other_refusals() -> None:
    s = make(TYPED)
    with pytest.raises(SessionError, match="q is not a constant"):
        s.set_formula("a*x^2", {"q": 1.0})
    with pytest.raises(FormulaError, match="not a finite number"):
        s.set_formula("a*x^2", {"a": float("nan")})
    with pytest.raises(SessionError, match="set_formula"):
        make(BUILT_IN).set_landscape("formula")
    perceptron = load_scenario(ROOT / "scenarios" / "perceptron_batch.toml")
    with pytest.raises(SessionError, match="perceptron"):
        Session(perceptron, start_runner=False).set_formula("x^2")
    assert not s.history.can_undo()


def test_a_constants_slider_goes_through_set_landscape() -> None:
    s = make(TYPED)
    g = object()
    assert s.set_landscape("formula", {"a": 4.0}, gesture=g)
    assert s.set_landscape("formula", {"a": 5.0}, gesture=g)  # one drag: one undo step
    o = s.scenario.objective
    assert (o.formula, o.params) == ("a*x^2 + b*y^2", {"a": 5.0, "b": 3.0})
    assert o.minima is None  # the file's minima were for its constants
    assert raced_f(s, 1.0, 0.0) == 5.0
    with pytest.raises(ValueError, match="a"):
        s.set_landscape("formula", {"a": float("inf")})
    with pytest.raises(ValueError, match="q"):
        s.set_landscape("formula", {"q": 1.0})
    assert s.undo()
    assert s.scenario.objective.params == {"a": 2.0, "b": 3.0}
    assert s.scenario.objective.minima == ((0.0, 0.0),)
    assert raced_f(s, 1.0, 0.0) == 2.0


def test_a_formula_back_to_a_built_in_landscape() -> None:
    s = make(TYPED)
    assert s.set_landscape("himmelblau")
    o = s.scenario.objective
    assert (o.name, o.formula, o.minima) == ("himmelblau", None, None)
    assert s.race.objective.name == "himmelblau"
    assert s.undo()
    assert s.scenario.objective.formula == "a*x^2 + b*y^2"


def test_a_typed_formula_is_saved_as_its_text() -> None:
    s = make(BUILT_IN)
    assert s.set_formula("k*abs(x) + y^2", {"k": 0.5})
    text = dumps_scenario(s.scenario)
    back = loads_scenario(text)
    assert back.objective.formula == "k*abs(x) + y^2"
    assert back.objective.params == {"k": 0.5}
    assert back.objective.name == "formula"
    again = Session(back, start_runner=False)
    assert raced_f(again, -2.0, 1.0) == 2.0
