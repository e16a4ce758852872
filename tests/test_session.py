"""The Qt-free session: intents keep the scenario and the race one, undo/redo, events."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from engine.changes import IN_PLACE, RESTART, SAME, classify_change, snapshot
from engine.params import ParamError
from engine.race import RacerConfig, Tolerance
from engine.scenario import build_race, loads_scenario
from engine.session import Session, SessionError

TEXT = """
schema = 1
name = "three racers"
steps = 200
seed = 3
[objective]
kind = "landscape"
name = "rosenbrock"
start = [-1.5, 2.0]
[[optimizers]]
name = "adam"
label = "Adam"
params = { lr = 0.05 }
[[optimizers]]
name = "momentum"
label = "Momentum"
params = { lr = 0.002, momentum = 0.9 }
[[optimizers]]
name = "sgd"
label = "SGD"
params = { lr = 0.001 }
"""

EVENTS = ("reloaded", "racers_changed", "race_changed", "scenario_changed", "history_changed")


def make(**kw) -> Session:
    return Session(loads_scenario(TEXT), start_runner=kw.pop("start_runner", False), **kw)


def listen(s: Session) -> Counter:
    seen: Counter = Counter()
    for name in EVENTS:
        getattr(s.events, name).connect(lambda *_a, n=name: seen.update([n]))
    return seen


def assert_consistent(s: Session, steps: int = 40) -> None:
    """The race runs what the scenario says: its racers and objective match, and from a
    reset it takes the very steps a race built afresh from the scenario takes."""
    race, scn = s.race, s.scenario
    assert race.racers == scn.racers
    assert tuple(race.objective.start) == tuple(scn.objective.start)
    assert race.objective.grad_noise == scn.objective.grad_noise
    assert race.steps == scn.steps and race.seed == scn.seed
    assert race.tolerance == scn.tolerance
    if scn.objective.kind == "landscape":
        assert race.objective.name == scn.objective.name
        assert race.objective.params == scn.objective.params
    fresh = build_race(scn)
    race.reset()
    race.advance(steps)
    fresh.advance(steps)
    for i in range(len(scn.racers)):
        np.testing.assert_array_equal(race.trajectory(i).x, fresh.trajectory(i).x)


# ------------------------------------------------------------------ the classification
EDITS = {
    "params": (lambda s: s.set_racer_params(0, {"lr": 0.01}), IN_PLACE),
    "schedule": (lambda s: s.set_racer_schedule(1, "exponential", {"gamma": 0.99}), IN_PLACE),
    "optimizer": (lambda s: s.set_racer_optimizer(2, "rmsprop"), IN_PLACE),
    "enabled": (lambda s: s.set_racer_enabled(1, False), IN_PLACE),
    "label": (lambda s: s.set_racer_label(0, "A"), IN_PLACE),
    "color": (lambda s: s.set_racer_color(0, "#123456"), IN_PLACE),
    "own start": (lambda s: s.set_racer_start(1, (0.5, 0.25)), IN_PLACE),
    "add": (lambda s: s.add_racer(), IN_PLACE),
    "duplicate": (lambda s: s.duplicate_racer(0), IN_PLACE),
    "remove": (lambda s: s.remove_racer(1), IN_PLACE),
    "sweep": (
        lambda s: s.sweep(1, [RacerConfig("sgd", {"lr": v}) for v in (1e-3, 2e-3)]),
        IN_PLACE,
    ),
    "start": (lambda s: s.set_start((0.5, -0.5)), IN_PLACE),
    "noise": (lambda s: s.set_noise(0.25), IN_PLACE),
    "steps": (lambda s: s.set_steps(500), IN_PLACE),
    "tolerance": (lambda s: s.set_tolerance(Tolerance(grad=1e-3)), IN_PLACE),
    "landscape": (lambda s: s.set_landscape("himmelblau"), RESTART),
    "landscape param": (lambda s: s.set_landscape("rosenbrock", {"b": 50.0}), RESTART),
    "view flag": (lambda s: s.set_view(small_multiples=True), SAME),
    "view range": (lambda s: s.set_view(x_range=(-1.0, 1.0)), RESTART),
    "seed": (lambda s: s.apply_scenario(replace(s.scenario, seed=9)), RESTART),
    "name": (lambda s: s.apply_scenario(replace(s.scenario, name="other")), SAME),
    "velocity": (
        lambda s: s.apply_scenario(
            replace(s.scenario, racers=[replace(s.racer(0), v0=(0.1, 0.0)), *s.scenario.racers[1:]])
        ),
        RESTART,
    ),
}


@pytest.fixture(scope="module")
def base() -> Session:
    return make()


@pytest.mark.parametrize("what", list(EDITS))
def test_every_edit_is_classified_applied_and_undone(what: str) -> None:
    s = make()
    edit, kind = EDITS[what]
    before, race = snapshot(s.scenario), s.race
    seen = listen(s)
    assert edit(s)
    assert classify_change(before, s.scenario).kind == kind
    assert (s.race is race) == (kind != RESTART)
    assert s.history.count() == 1
    # each event once at most; the scenario and the history always
    assert max(seen.values()) == 1
    assert seen["scenario_changed"] == 1 and seen["history_changed"] == 1
    assert seen["reloaded"] == (kind == RESTART)
    assert_consistent(s)
    after = snapshot(s.scenario)
    assert s.undo()
    assert s.scenario == before
    assert classify_change(after, s.scenario).kind == kind or what in ("sweep", "remove")
    assert_consistent(s)
    assert s.redo()
    assert s.scenario == after
    assert_consistent(s)


def test_classify_same_scenario_is_same(base: Session) -> None:
    assert classify_change(base.scenario, snapshot(base.scenario)).kind == SAME


def test_in_place_keeps_the_other_racers_progress() -> None:
    s = make()
    s.race.advance(30)
    t = s.race.trajectory(1).x.copy()
    s.set_racer_params(0, {"lr": 0.02})
    s.add_racer()
    np.testing.assert_array_equal(s.race.trajectory(1).x, t)  # racer 1 kept its 30 steps
    assert len(s.race.trajectory(3).x) == 1  # the new one starts at its start


def test_restart_on_change_restarts_the_edited_racer() -> None:
    s = make()
    s.race.advance(30)
    s.restart_on_change = True
    s.set_racer_params(0, {"lr": 0.02})
    assert len(s.race.trajectory(0).x) == 1 and len(s.race.trajectory(1).x) == 31


# ------------------------------------------------------------------ undo / redo
def test_undo_redo_round_trip_of_many_edits() -> None:
    s = make()
    states = [snapshot(s.scenario)]
    for edit, _kind in EDITS.values():
        edit(s)
        states.append(snapshot(s.scenario))
    n = s.history.count()
    assert n == len(EDITS) - 0
    for k in range(n, 0, -1):
        assert s.scenario == states[k]
        assert s.undo()
    assert s.scenario == states[0] and not s.undo()
    assert_consistent(s)
    for k in range(1, n + 1):
        assert s.redo()
        assert s.scenario == states[k]
    assert not s.redo()
    assert_consistent(s)


def test_a_gesture_is_one_undo_step_and_a_new_edit_drops_the_redo_tail() -> None:
    s = make()
    lr0 = s.racer(0).params["lr"]
    drag = object()
    for lr in (0.01, 0.02, 0.03):
        s.set_racer_params(0, {"lr": lr}, gesture=drag)
    s.set_racer_params(1, {"lr": 0.004}, gesture=drag)  # another field: another step
    assert s.history.count() == 2
    s.undo()
    s.undo()
    assert s.racer(0).params["lr"] == lr0 == s.race.racers[0].params["lr"]
    s.set_noise(0.1)
    assert s.history.count() == 1 and not s.history.can_redo()


def test_no_change_is_no_step_and_no_event() -> None:
    s = make()
    seen = listen(s)
    assert not s.set_racer_params(0, {"lr": s.racer(0).params["lr"]})
    assert not s.apply_scenario(snapshot(s.scenario))
    assert s.history.count() == 0 and not seen


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (lambda s: s.set_racer_params(2, {"nesterov": True}), ParamError),  # momentum 0
        (lambda s: s.set_racer_params(0, {"lr": -1.0}), ParamError),
        (lambda s: s.set_racer_schedule(0, "no such schedule"), KeyError),
        (lambda s: s.set_landscape("rosenbrock", {"b": float("nan")}), ValueError),
        (lambda s: s.set_start((1.0, 2.0, 3.0)), SessionError),
        (lambda s: s.set_racer_start(0, (float("inf"), 0.0)), SessionError),
        (lambda s: s.sweep(0, [RacerConfig("sgd")] * 64, replace_racer=False), SessionError),
        (lambda s: s.set_steps(0), SessionError),
    ],
)
def test_a_refused_edit_changes_nothing(edit, error) -> None:
    s = make()
    before, race = snapshot(s.scenario), s.race
    seen = listen(s)
    with pytest.raises(error):
        edit(s)
    assert s.scenario == before and s.race is race and s.history.count() == 0 and not seen
    assert_consistent(s)


def test_the_scenario_given_and_the_one_read_are_not_shared() -> None:
    scn = loads_scenario(TEXT)
    s = Session(scn, start_runner=False, color_for=lambda i: f"#00000{i}")
    assert scn.racers[0].color is None  # the caller's scenario is untouched
    assert [r.color for r in s.scenario.racers] == ["#000000", "#000001", "#000002"]
    assert s.race.racers[0] is not s.scenario.racers[0]
    s.set_racer_params(0, {"lr": 0.03})
    assert scn.racers[0].params["lr"] == 0.05


def test_load_clears_the_history_and_reloads() -> None:
    s = make()
    s.set_noise(0.2)
    seen = listen(s)
    race = s.race
    s.load(loads_scenario(TEXT))
    assert s.race is not race and s.history.count() == 0
    assert seen["reloaded"] == 1 and seen["scenario_changed"] == 1


# ------------------------------------------------------------------ the runner
def test_the_runner_follows_restarts_and_stops_on_close() -> None:
    s = make(start_runner=True, steps_per_second=10.0)  # still playing after the edits
    first = s.runner
    assert first is not None and first.alive
    s.runner.play()
    s.set_landscape("himmelblau")  # a new race: a new runner, still playing
    assert not first.alive and s.runner is not first and s.runner.race is s.race
    assert s.playing
    s.set_racer_params(0, {"lr": 0.01})  # in place: the same runner
    second = s.runner
    assert second.alive
    s.close()
    assert s.runner is None and not second.alive


def test_toggle_play_on_a_finished_race_doubles_its_steps() -> None:
    s = make(start_runner=True)
    try:
        s.race.run()
        assert s.race.done
        assert s.toggle_play()
        assert s.scenario.steps == 400 == s.race.steps and s.history.count() == 1
    finally:
        s.close()


def _many(n: int) -> str:
    head = TEXT.split("[[optimizers]]")[0]
    return head + "".join(
        f'[[optimizers]]\nname = "sgd"\nlabel = "r{k}"\nparams = {{ lr = 0.001 }}\n'
        for k in range(n)
    )


def test_the_window_races_at_most_its_racers_and_says_so() -> None:
    """A scenario file may hold more racers than the window draws (headless runs take
    them); the session refuses such a file clearly and keeps what it had."""
    from engine.scenario import MAX_RACERS, WINDOW_RACERS, ScenarioError

    assert MAX_RACERS > WINDOW_RACERS
    s = make()
    race, scn = s.race, s.scenario
    big = loads_scenario(_many(WINDOW_RACERS + 1), source="big.toml")
    assert len(big.racers) == WINDOW_RACERS + 1
    with pytest.raises(ScenarioError) as e:
        s.load(big)
    assert f"at most {WINDOW_RACERS} racers in the window" in str(e.value)
    assert "optimizers" in str(e.value) and "main.py run" in str(e.value)
    assert s.race is race and s.scenario is scn
    assert len(s.load(loads_scenario(_many(WINDOW_RACERS))).racers) == WINDOW_RACERS


def test_headless_races_take_more_racers_than_the_window() -> None:
    from engine.scenario import WINDOW_RACERS

    race = build_race(loads_scenario(_many(3 * WINDOW_RACERS)))
    race.run()
    assert len(race.racers) == 3 * WINDOW_RACERS
    assert np.all(race.count[: len(race.racers)] == 201)
