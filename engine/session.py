"""The open scenario and its race: one owner, intent methods, events, undo/redo.

A :class:`Session` holds the :class:`~engine.scenario.Scenario` (the single source of
truth), the :class:`~engine.race.Race` built from it and the
:class:`~engine.runner.RaceRunner` thread stepping that race. Every edit is an intent
method (``set_racer_params``, ``set_landscape``, ``set_start``...) that makes the new
scenario and hands it to one path: :func:`classify_change` decides whether the running
race takes the change in place or a new race is built, the change is applied, the
history records the scenario before and after, and the events fire once each.

Rules:

- Nothing outside the session mutates the scenario or the race's racer configs; readers
  get the scenario and copy what they keep (:func:`snapshot`).
- In place (the race object and the other racers' progress are kept): hyperparameters,
  schedules, labels, colours, enabled flags, a racer's own start, the start, gradient
  noise, steps, tolerance, racers appended or one removed. Everything else the race is
  built from (landscape, its parameters, data, seed, a racer's v0 / x_prev, the set of
  racers otherwise) restarts: a new race, playing if the old one was.
- The map's framing keys of [view] (ranges, levels, colour scale) also restart: the map
  is framed when the race is shown; the other [view] keys are shown as they are.
- Undo and redo apply a snapshot through the same path, so they restore what differs.
- Events run synchronously on the caller's thread (the GUI thread, which alone calls
  the intent methods); nothing here touches Qt.
"""

from __future__ import annotations

import itertools
import keyword
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.changes import (
    IN_PLACE,
    RESTART,
    Change,
    apply_in_place,
    classify_change,
    copy_racer,
    same_scenario,
    snapshot,
)
from engine.formula import MAX_LENGTH, Formula, parse_formula
from engine.formula.parser import RESERVED, tokenize
from engine.history import Edit, Event, History
from engine.landscapes import get_landscape
from engine.landscapes.typed import DEFAULT_START
from engine.landscapes.typed import NAME as FORMULA
from engine.optimizers import OPTIMIZERS, get_optimizer
from engine.race import Race, RacerConfig, RaceTooLarge
from engine.runner import RaceRunner
from engine.scenario import (
    MAX_RACERS,
    WINDOW_RACERS,
    Problem,
    Scenario,
    ScenarioError,
    build_race,
)
from engine.scenario.build import landscape_of

MAX_RACE_STEPS = 2_000_000  # 8 racers x 2M steps keep ~0.77 GB of rows (48 bytes per step)

#: the value of a typed formula's constant that nothing gave a value
DEFAULT_CONSTANT = 1.0


# ---------------------------------------------------------------------------- formulas
def formula_constants(text: str) -> list[str]:
    """The constants formula ``text`` names, in order of first use: every name that is
    not x, y (x1, x2), pi, e, a function or a keyword, and is not called (followed by
    "("). The parser refuses the others where they stand; text longer than the parser
    takes has none (the parser refuses it)."""
    if len(text) > MAX_LENGTH:
        return []
    tokens = tokenize(text)
    out: list[str] = []
    for t, nxt in itertools.pairwise(tokens):
        name = t.text
        if (
            t.kind != "name"
            or name in RESERVED
            or keyword.iskeyword(name)
            or keyword.issoftkeyword(name)
            or (nxt.kind == "op" and nxt.text == "(")
            or name in out
        ):
            continue
        out.append(name)
    return out


def typed_formula(
    text: str, params: dict[str, Any] | None = None, current: dict[str, Any] | None = None
) -> Formula:
    """Formula ``text`` with its constants (:func:`formula_constants`) declared: each
    valued from ``params``, else ``current``, else DEFAULT_CONSTANT. FormulaError (a
    ValueError with ``.message`` and ``.column``) for text that is not a formula;
    SessionError for a value of ``params`` that names no constant of the text."""
    names = formula_constants(text)
    given = dict(params or {})
    unknown = [k for k in given if k not in names]
    if unknown:
        raise SessionError(
            f"formula: {', '.join(unknown)} is not a constant of {text.strip()!r} "
            f"(its constants: {', '.join(names) or 'none'})"
        )
    old = current or {}
    values = {n: given.get(n, old.get(n, DEFAULT_CONSTANT)) for n in names}
    return parse_formula(text, values)


# ---------------------------------------------------------------------------- events
@dataclass
class SessionEvents:
    """What a view of the session listens to. Each fires at most once per change.

    ``reloaded(race)``: a new race was built (everything shown must follow);
    ``racers_changed(indices)``: racer configs changed in place (``None``: the list of
    racers itself changed); ``race_changed()``: start, noise, steps or tolerance changed
    in place; ``scenario_changed(scenario)``: after every change, last;
    ``history_changed()``: the undo history changed.
    """

    reloaded: Event = field(default_factory=Event)
    racers_changed: Event = field(default_factory=Event)
    race_changed: Event = field(default_factory=Event)
    scenario_changed: Event = field(default_factory=Event)
    history_changed: Event = field(default_factory=Event)


# ---------------------------------------------------------------------------- session
class SessionError(ValueError):
    """An edit the session refuses (the message says why); nothing changed."""


class Session:
    """The scenario, the race built from it and the runner thread (module docstring).

    ``color_for(i)`` gives racer ``i`` a colour when the scenario has none;
    ``start_runner=False`` keeps no thread (a caller steps ``race`` itself);
    ``restart_on_change``: a racer whose hyperparameters or schedule change starts over.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        color_for: Callable[[int], str] | None = None,
        start_runner: bool = True,
        steps_per_second: float = math.inf,
    ) -> None:
        self.events = SessionEvents()
        self.history = History()
        self.history.changed.connect(self.events.history_changed.emit)
        self.color_for = color_for
        self.start_runner = start_runner
        self.restart_on_change = False
        self._speed = float(steps_per_second)
        self.runner: RaceRunner | None = None
        self._scenario = self._colored(snapshot(scenario))
        self.race: Race = self._rebuild(self._scenario)

    # ------------------------------------------------------------ reading
    @property
    def scenario(self) -> Scenario:
        """The scenario shown and run. Treat it as read-only (copy with snapshot())."""
        return self._scenario

    @property
    def playing(self) -> bool:
        return self.runner is not None and self.runner.playing

    def racer(self, i: int) -> RacerConfig:
        return self._scenario.racers[i]

    # ------------------------------------------------------------ the one path
    def _colored(self, s: Scenario) -> Scenario:
        """``s`` (a private copy) with a colour for every racer."""
        if self.color_for is not None:
            for i, r in enumerate(s.racers):
                if not r.color:
                    r.color = self.color_for(i)
        return s

    def _rebuild(self, s: Scenario) -> Race:
        """A new race for ``s`` and a runner for it, playing if the old one was.
        Nothing changes when ``s`` cannot be built (ScenarioError / ValueError): more
        racers than the window draws, or a race larger than the memory, is a ScenarioError
        naming the file."""
        where = str(s.source or "<scenario>")
        if len(s.racers) > WINDOW_RACERS:
            raise ScenarioError([Problem(where, "optimizers", (
                f"expected at most {WINDOW_RACERS} racers in the window, got {len(s.racers)} "
                f"(`main.py run` races up to {MAX_RACERS:,} headless)"))])  # fmt: skip
        try:  # the window replays its races: their momentum rows are recorded
            race = build_race(s, record_momentum=True)
        except RaceTooLarge as e:
            raise ScenarioError([Problem(where, "", str(e))]) from None
        was_playing = self.playing
        self.stop_runner()
        self.race = race
        if self.start_runner:
            self.runner = RaceRunner(race, steps_per_second=self._speed)
            if was_playing:
                self.runner.play()
        return race

    def _apply(self, new: Scenario) -> Change:
        """Make ``new`` the scenario, in place or by a new race, and tell the listeners."""
        old = self._scenario
        change = classify_change(old, new)
        if change.kind == RESTART:
            self._rebuild(new)
        elif change.kind == IN_PLACE:
            apply_in_place(self.race, old, new, change, self.restart_on_change)
        self._scenario = new
        ev = self.events
        if change.kind == RESTART:
            ev.reloaded.emit(self.race)
        else:
            if change.racers or change.resized:
                ev.racers_changed.emit(None if change.resized else change.racers)
            if change.objective:
                ev.race_changed.emit()
        ev.scenario_changed.emit(new)
        return change

    def _commit(self, new: Scenario, text: str, key: str = "", gesture: object = None) -> bool:
        """Apply ``new`` (never mutated afterwards) as one undo step; False if the same."""
        old = self._scenario
        if same_scenario(old, new):
            return False
        self._apply(new)
        self.history.push(Edit(text, old, new, key, gesture))
        return True

    # ------------------------------------------------------------ whole scenarios
    def load(self, scenario: Scenario) -> Race:
        """Open ``scenario`` (a new race, no history); ScenarioError changes nothing."""
        new = self._colored(snapshot(scenario))
        self._rebuild(new)
        self._scenario = new
        self.events.reloaded.emit(self.race)
        self.events.scenario_changed.emit(new)
        self.history.clear()
        return self.race

    def apply_scenario(self, scenario: Scenario, text: str = "scenario", key: str = "") -> bool:
        """Show ``scenario`` (e.g. edited fields), applying only what differs: one undo step."""
        return self._commit(self._colored(snapshot(scenario)), text, key)

    def set_source(self, path: Any) -> None:
        """The file the scenario was saved to (not part of its value)."""
        self._scenario.source = path

    def undo(self) -> bool:
        edit = self.history.back()
        if edit is None:
            return False
        try:
            self._apply(edit.before)
        except BaseException:
            self.history.forward()  # not undone (e.g. its CSV file is gone)
            raise
        return True

    def redo(self) -> bool:
        edit = self.history.forward()
        if edit is None:
            return False
        try:
            self._apply(edit.after)
        except BaseException:
            self.history.back()
            raise
        return True

    # ------------------------------------------------------------ racers
    def _with_racers(self, racers: list[RacerConfig]) -> Scenario:
        if len(racers) > WINDOW_RACERS:
            raise SessionError(
                f"the window races at most {WINDOW_RACERS} racers; this would make {len(racers)}"
            )
        return replace(self._scenario, racers=racers)

    def _set_racer(self, i: int, text: str, key: str = "", gesture: object = None,
                   **changes: Any) -> bool:  # fmt: skip
        racers = list(self._scenario.racers)
        racers[i] = copy_racer(racers[i], **changes)  # validates (ParamError, ValueError)
        return self._commit(self._with_racers(racers), text, key, gesture)

    def set_racer_params(self, i: int, params: dict[str, Any], gesture: object = None) -> bool:
        """Merge ``params`` into racer ``i``'s hyperparameters (ParamError: refused)."""
        cur = self.racer(i)
        names = ", ".join(params)
        return self._set_racer(i, f"{cur.label}: {names}", f"racer{i}.{names}", gesture,
                               params={**cur.params, **params})  # fmt: skip

    def set_racer_schedule(
        self,
        i: int,
        name: str,
        params: dict[str, Any] | None = None,
        unit: str | None = None,
        gesture: object = None,
    ) -> bool:
        """Racer ``i``'s schedule, its parameters (defaults for the rest) and what t counts."""
        cur = self.racer(i)
        unit = unit if unit is not None else cur.schedule_unit
        return self._set_racer(i, f"{cur.label}: schedule", f"racer{i}.schedule", gesture,
                               schedule=name, schedule_params=dict(params or {}),
                               schedule_unit=unit)  # fmt: skip

    def set_racer_optimizer(self, i: int, name: str) -> bool:
        """Another optimizer with its default hyperparameters (a label that named the
        old optimizer names the new one); the racer restarts."""
        cur = self.racer(i)
        label = name if cur.label in OPTIMIZERS else cur.label
        params = get_optimizer(name).resolve({})
        return self._set_racer(i, f"{label}: optimizer {name}", optimizer=name, params=params,
                               label=label)  # fmt: skip

    def set_racer_enabled(self, i: int, enabled: bool) -> bool:
        cur = self.racer(i)
        text = f"{cur.label}: {'enable' if enabled else 'disable'}"
        return self._set_racer(i, text, enabled=bool(enabled))

    def set_racer_label(self, i: int, label: str) -> bool:
        return self.set_racer_style(i, label=label)

    def set_racer_color(self, i: int, color: str) -> bool:
        return self.set_racer_style(i, color=color)

    def set_racer_style(self, i: int, label: str | None = None, color: str | None = None) -> bool:
        """Label and/or colour of racer ``i`` (a blank label: the optimizer's name)."""
        cur = self.racer(i)
        label = (label.strip() or cur.optimizer) if label is not None else cur.label
        color = color if color is not None else cur.color
        return self._set_racer(i, f"{label}: label / colour", label=label, color=color)

    def set_racer_start(self, i: int, start: tuple[float, ...] | None) -> bool:
        """Racer ``i``'s own start (None: the scenario's); that racer restarts."""
        dim = len(self._scenario.objective.start)
        if start is not None:
            start = tuple(float(v) for v in start)
            if len(start) != dim or not all(math.isfinite(v) for v in start):
                raise SessionError(f"start: expected {dim} finite numbers, got {start}")
        return self._set_racer(i, f"{self.racer(i).label}: own start", start=start)

    def add_racer(self, cfg: RacerConfig | None = None) -> bool:
        """Append ``cfg`` (default: Adam with lr 0.01 and the next palette colour)."""
        n = len(self._scenario.racers)
        if cfg is None:
            color = self.color_for(n) if self.color_for is not None else None
            cfg = RacerConfig("adam", {"lr": 0.01}, label=f"adam {n + 1}", color=color)
        racers = [*self._scenario.racers, copy_racer(cfg)]
        return self._commit(self._colored(self._with_racers(racers)), "add racer")

    def duplicate_racer(self, i: int) -> bool:
        """Append a copy of racer ``i`` (its own colour from the palette)."""
        c = self.racer(i)
        n = len(self._scenario.racers)
        color = self.color_for(n) if self.color_for is not None else c.color
        racers = [*self._scenario.racers, copy_racer(c, label=f"{c.label} copy", color=color)]
        return self._commit(self._with_racers(racers), f"duplicate {c.label}")

    def remove_racer(self, i: int) -> bool:
        label = self.racer(i).label
        racers = [r for j, r in enumerate(self._scenario.racers) if j != i]
        return self._commit(self._with_racers(racers), f"remove {label}")

    def sweep(self, i: int, made: list[RacerConfig], replace_racer: bool = True) -> bool:
        """The sweep's racers in place of racer ``i`` (or after the others): one step."""
        racers = [r for j, r in enumerate(self._scenario.racers) if not (replace_racer and j == i)]
        racers += [copy_racer(r) for r in made]
        return self._commit(self._with_racers(racers), f"sweep {len(made)} racers")

    # ------------------------------------------------------------ objective
    def _set_objective(
        self,
        text: str,
        key: str = "",
        gesture: object = None,
        racers: list[RacerConfig] | None = None,
        **changes: Any,
    ) -> bool:
        s = self._scenario
        new = replace(s, objective=replace(s.objective, **changes))
        if racers is not None:
            new = replace(new, racers=racers)
        return self._commit(new, text, key, gesture)

    def set_landscape(
        self, name: str, params: dict[str, Any] | None = None, gesture: object = None
    ) -> bool:
        """Landscape ``name``: another one starts from its default start with its
        default parameters and view; the same one (a typed formula's is "formula")
        merges ``params`` into its own. ValueError (a bad parameter): nothing changes.
        Another formula is :meth:`set_formula`'s."""
        s = self._scenario
        if s.objective.kind != "landscape":
            raise SessionError("a perceptron scenario has no landscape")
        if name == s.objective.name:
            names = ", ".join(params or {})
            merged = landscape_of(s).resolve({**s.objective.params, **(params or {})})
            # minima a file lists hold for its constants; other constants: a scan finds them
            kept = s.objective.minima if merged == s.objective.params else None
            return self._set_objective(f"landscape {names}", f"landscape.{names}", gesture,
                                       params=merged, minima=kept)  # fmt: skip
        if name == FORMULA:
            raise SessionError("a typed formula is set with its text (set_formula)")
        ls = get_landscape(name)
        racers = [copy_racer(r, start=None) if r.start is not None else r for r in s.racers]
        new = replace(
            s,
            objective=replace(s.objective, name=name, params=ls.resolve(params or {}),
                              start=tuple(float(v) for v in ls.start), formula=None,
                              minima=None),
            racers=racers,
            view=type(s.view)(),  # the old framing was for another map
        )  # fmt: skip
        return self._commit(new, f"landscape {name}")

    def set_formula(
        self, text: str, params: dict[str, Any] | None = None, gesture: object = None
    ) -> bool:
        """Race the typed formula ``text`` (ends stripped). Its constants are the names
        it uses besides x, y, pi, e and the functions (:func:`formula_constants`), valued
        from ``params``, else as the current formula has them, else DEFAULT_CONSTANT.

        From another formula the start, view and racers' own starts are kept (minima
        the file lists only while the formula and constants are the same); from a
        registered landscape the scenario's view and start are kept when it gives both
        ranges and the start lies inside, else the formula's defaults. FormulaError (a
        ValueError: ``.message``, ``.column``) or SessionError: nothing changes. The same
        formula is no change (False); another is one undo step."""
        s = self._scenario
        o = s.objective
        if o.kind != "landscape":
            raise SessionError("a perceptron scenario has no landscape")
        if not isinstance(text, str):
            raise SessionError(f"formula: expected text, got {type(text).__name__}")
        text = text.strip()
        typed = o.formula is not None
        formula = typed_formula(text, params, o.params if typed else None)
        values: dict[str, Any] = dict(formula.params)
        if typed:
            same = o.formula is not None and values == o.params and (
                text == o.formula or formula.f_text() == parse_formula(o.formula, o.params).f_text()
            )  # fmt: skip
            obj = replace(o, formula=text, params=values, minima=o.minima if same else None)
            new = replace(s, objective=obj)
        else:
            v = s.view
            start = tuple(float(c) for c in o.start)
            fits = (
                v.x_range is not None
                and v.y_range is not None
                and v.x_range[0] <= start[0] <= v.x_range[1]
                and v.y_range[0] <= start[1] <= v.y_range[1]
            )
            if not fits:
                start = tuple(float(c) for c in DEFAULT_START)
            obj = replace(o, name=FORMULA, formula=text, params=values, minima=None, start=start)
            racers = s.racers if fits else [
                copy_racer(r, start=None) if r.start is not None else r for r in s.racers
            ]  # fmt: skip
            view = v if fits else replace(v, x_range=None, y_range=None, levels=None,
                                          log_color=None)  # fmt: skip
            new = replace(s, objective=obj, racers=racers, view=view)
        shown = text if len(text) <= 40 else text[:39] + "…"
        return self._commit(new, f"formula {shown}", "formula", gesture)

    def set_start(self, point: tuple[float, ...]) -> bool:
        """Every racer from ``point`` (own starts cleared); the race restarts in place."""
        dim = len(self._scenario.objective.start)
        pt = tuple(float(v) for v in point)
        if len(pt) != dim or not all(math.isfinite(v) for v in pt):
            raise SessionError(f"start: expected {dim} finite numbers, got {pt}")
        racers = [copy_racer(r, start=None) if r.start is not None else r
                  for r in self._scenario.racers]  # fmt: skip
        text = "start (" + ", ".join(f"{v:.3g}" for v in pt) + ")"
        return self._set_objective(text, racers=racers, start=pt)

    def set_noise(self, sigma: float, gesture: object = None) -> bool:
        sigma = float(sigma)
        if not (math.isfinite(sigma) and sigma >= 0):
            raise SessionError(f"gradient noise: expected a finite number >= 0, got {sigma}")
        return self._set_objective("gradient noise", "grad_noise", gesture, grad_noise=sigma)

    def set_steps(self, steps: int) -> bool:
        steps = int(steps)
        if not 1 <= steps <= MAX_RACE_STEPS:
            raise SessionError(f"steps: expected an integer in [1, {MAX_RACE_STEPS}]")
        return self._commit(replace(self._scenario, steps=steps), f"steps {steps:,}")

    def set_tolerance(self, tolerance: Any) -> bool:
        return self._commit(replace(self._scenario, tolerance=tolerance), "tolerance")

    def set_view(self, **flags: Any) -> bool:
        """[view] keys (e.g. ``small_multiples=True``)."""
        s = self._scenario
        text = "view " + ", ".join(f"{k} {'on' if v else 'off'}" if isinstance(v, bool)
                                   else k for k, v in flags.items())  # fmt: skip
        return self._commit(replace(s, view=replace(s.view, **flags)), text)

    # ------------------------------------------------------------ transport
    def set_speed(self, steps_per_second: float) -> None:
        self._speed = float(steps_per_second)
        if self.runner is not None:
            self.runner.set_speed(self._speed)

    def toggle_play(self) -> bool:
        """Play (a finished race first gets twice the steps: one undo step) or pause."""
        if self.runner is None:
            return False
        if not self.runner.playing and self.race.done:
            self.set_steps(min(self.race.steps * 2, MAX_RACE_STEPS))
        return self.runner.toggle()

    def pause(self) -> None:
        if self.runner is not None:
            self.runner.pause()

    def step(self, n: int = 1) -> None:
        """Pause and run exactly ``n`` more updates."""
        if self.runner is not None:
            self.runner.pause()
            self.runner.step(n)

    def reset(self) -> None:
        """Every racer back to its start (not an edit: the scenario is unchanged)."""
        self.race.reset()
        self.events.race_changed.emit()

    def stop_runner(self) -> None:
        if self.runner is not None:
            self.runner.stop(1.0)
            self.runner = None

    def close(self) -> None:
        """Stop the runner thread (the race stays readable)."""
        self.stop_runner()
