"""What an edit of a scenario does to the race running it: the same race, the race
changed in place, or a new race (:func:`classify_change`), and the change applied in
place (:func:`apply_in_place`); independent copies of scenarios and racer configs
(:func:`snapshot`, :func:`copy_racer`). The rules are :mod:`engine.session`'s.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from engine.race import Race, RacerConfig
from engine.scenario import Scenario, dumps_scenario

SAME = "same"  # the race sees no difference (name, description, shown [view] flags)
IN_PLACE = "in place"  # the running race takes the change
RESTART = "restart"  # a new race is built

#: [view] keys that frame the map (a change restarts; the others are only shown)
FRAMING_KEYS = ("x_range", "y_range", "levels", "log_color")


# ---------------------------------------------------------------------------- snapshots
def snapshot(s: Scenario) -> Scenario:
    """An independent copy of ``s``. Loaded CSV rows are shared: they are never modified."""
    obj = replace(
        s.objective,
        params=copy.deepcopy(s.objective.params),
        data=copy.deepcopy(s.objective.data),
        start=tuple(s.objective.start),
    )
    racers = [copy_racer(r) for r in s.racers]
    return replace(s, objective=obj, racers=racers, view=replace(s.view))


def copy_racer(r: RacerConfig, **changes: Any) -> RacerConfig:
    """A copy of ``r`` sharing no dict with it (``changes`` as in dataclasses.replace)."""
    changes.setdefault("params", copy.deepcopy(r.params))
    changes.setdefault("schedule_params", copy.deepcopy(r.schedule_params))
    return replace(r, **changes)


def same_scenario(a: Scenario, b: Scenario) -> bool:
    """Equal and written alike (1 and 1.0 compare equal but are different text)."""
    return a == b and dumps_scenario(a) == dumps_scenario(b)


# ---------------------------------------------------------------------------- the diff
@dataclass(frozen=True)
class Change:
    """How the race takes the step from one scenario to another (:func:`classify_change`).

    ``racers``: indices (in the new list) whose config changed in place; ``removed``:
    the racer removed (old index); ``added``: racers appended; ``objective``: start,
    noise, steps or tolerance changed in place; ``reason``: why a restart is needed.
    """

    kind: str
    racers: tuple[int, ...] = ()
    removed: int | None = None
    added: int = 0
    objective: bool = False
    reason: str = ""

    @property
    def resized(self) -> bool:
        return self.removed is not None or self.added > 0


def _racer_plan(old: list[RacerConfig], new: list[RacerConfig]) -> tuple[int | None, int] | None:
    """(old index removed or None, count appended) turning ``old`` into ``new`` with
    the racers kept compared pairwise; None when it takes more than that."""
    if len(new) == len(old):
        return None, 0
    if len(new) > len(old) and new[: len(old)] == old:
        return None, len(new) - len(old)
    for j in range(len(old)):
        kept = old[:j] + old[j + 1 :]
        if len(new) >= len(kept) and new[: len(kept)] == kept:
            return j, len(new) - len(kept)
    return None


def _racer_restarts(a: RacerConfig, b: RacerConfig) -> bool:
    return (a.v0, a.x_prev) != (b.v0, b.x_prev)


def classify_change(old: Scenario, new: Scenario) -> Change:
    """Whether the race of ``old`` takes ``new`` in place (see the module's rules)."""
    oo, no = old.objective, new.objective
    if replace(oo, grad_noise=0.0, start=()) != replace(no, grad_noise=0.0, start=()):
        return Change(RESTART, reason="objective")
    if old.seed != new.seed:
        return Change(RESTART, reason="seed")
    if any(getattr(old.view, k) != getattr(new.view, k) for k in FRAMING_KEYS):
        return Change(RESTART, reason="view")
    plan = _racer_plan(old.racers, new.racers)
    if plan is None:
        return Change(RESTART, reason="racers")
    removed, added = plan
    kept = [r for j, r in enumerate(old.racers) if j != removed]
    changed = tuple(
        i for i, (a, b) in enumerate(zip(kept, new.racers[: len(kept)], strict=True)) if a != b
    )
    if any(_racer_restarts(kept[i], new.racers[i]) for i in changed):
        return Change(RESTART, reason="racer velocity")
    objective = (
        tuple(oo.start) != tuple(no.start)
        or oo.grad_noise != no.grad_noise
        or old.steps != new.steps
        or old.tolerance != new.tolerance
    )
    if not (changed or removed is not None or added or objective):
        return Change(SAME)
    return Change(IN_PLACE, changed, removed, added, objective)


def _apply_racer(race: Race, i: int, cur: RacerConfig, new: RacerConfig, restart: bool) -> None:
    """Racer ``i`` of ``race`` from ``cur`` to ``new`` (the race's lock is held)."""
    if (cur.schedule, cur.schedule_params, cur.schedule_unit) != (
        new.schedule,
        new.schedule_params,
        new.schedule_unit,
    ):
        race.racers[i].schedule_unit = new.schedule_unit
        race.set_schedule(i, new.schedule, dict(new.schedule_params), restart=restart)
    if new.optimizer != cur.optimizer:
        race.set_optimizer(i, new.optimizer, dict(new.params))  # restarts the racer
    elif new.params != cur.params:
        race.set_params(i, dict(new.params), restart=restart)
    if new.enabled != cur.enabled:
        race.set_enabled(i, new.enabled)
    if new.start != cur.start:
        race.set_start(new.start if new.start is not None else race.objective.start, racer=i)
        race.racers[i].start = new.start
    race.racers[i].label = new.label
    race.racers[i].color = new.color


def apply_in_place(race: Race, old: Scenario, new: Scenario, change: Change, restart: bool) -> None:
    """Make ``race`` (built from ``old``) run ``new``; ``restart``: a racer whose
    hyperparameters or schedule change starts over."""
    with race.lock:
        if change.removed is not None:
            race.remove_racer(change.removed)
        kept = [r for j, r in enumerate(old.racers) if j != change.removed]
        no = new.objective
        if tuple(old.objective.start) != tuple(no.start):
            race.set_start(tuple(no.start))  # every racer restarts from it
            kept = [copy_racer(r, start=None) for r in kept]
        for i in change.racers:
            _apply_racer(race, i, kept[i], new.racers[i], restart)
        for i, r in enumerate(new.racers[: len(kept)]):
            if r.start is not None and race.racers[i].start != r.start:
                race.set_start(r.start, racer=i)  # an own start the new start cleared
        for r in new.racers[len(kept) :]:
            race.add_racer(copy_racer(r))
        if no.grad_noise != old.objective.grad_noise:
            race.set_noise(no.grad_noise)
        if new.steps != race.steps:
            race.extend(new.steps)
        race.tolerance = new.tolerance
