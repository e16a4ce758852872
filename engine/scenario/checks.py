"""Checks against the registries: names ("did you mean"), parameters against their
``ParamSpec``s (the specs the engine, the GUI editors and ``main.py list`` use) and
racers' schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.params import ParamError, ParamSpec
from engine.scenario.problems import Collector, did_you_mean, join, show
from engine.scenario.schema import choices_text
from engine.schedules import SCHEDULES

UNITS = ("step", "epoch")  # what a schedule's t counts


def check_params(
    specs: tuple[ParamSpec, ...],
    given: Any,
    key: str,
    col: Collector,
    resolver: Callable[[dict[str, Any]], dict[str, Any]],
    what: str,
) -> dict[str, Any] | None:
    """Validate every given parameter against its spec; the resolved dict if all fine."""
    if not isinstance(given, dict):
        return None
    by_name = {s.name: s for s in specs}
    ok = True
    for k, v in given.items():
        path = join(key, k)
        if k not in by_name:
            names = ", ".join(by_name) if by_name else f"nothing ({what} has no parameters)"
            col.add(path, f"unknown parameter; {did_you_mean(k, by_name)}expected one of: {names}")
            ok = False
            continue
        ok = _check_value(by_name[k], v, path, col) and ok
    if not ok:
        return None
    try:
        return resolver(given)
    except ParamError as e:
        msg = str(e)
        name, sep, rest = msg.partition(": ")
        if sep and name in by_name:
            col.add(f"{key}.{name}", rest)
        else:
            col.add(key, msg)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as e:
        col.add(key, f"invalid parameters: {e}")
    return None


def _check_value(spec: ParamSpec, v: Any, path: str, col: Collector) -> bool:
    if spec.kind in ("float", "int", "bool") and not isinstance(v, int | float):
        col.add(path, f"expected {spec.range_text()}, got {show(v)}")
        return False
    try:
        spec.validate(v)
    except ParamError as e:
        msg = str(e).replace("a integer", "an integer")
        if len(msg) > 160:
            msg = f"expected {spec.range_text()}, got {show(v)}"
        col.add(path, msg)
        return False
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        col.add(path, f"expected {spec.range_text()}, got {show(v)}")
        return False
    return True


def check_name(value: Any, registry: dict[str, Any], key: str, what: str, col: Collector) -> Any:
    """The registry entry named ``value``; None (reported unless not a string) if none."""
    if not isinstance(value, str):
        return None  # pydantic reported the type
    if value in registry:
        return registry[value]
    col.add(
        key,
        f"unknown {what} {show(value)}; {did_you_mean(value, registry)}"
        f"expected one of: {', '.join(registry)}",
    )
    return None


def check_schedule(
    raw: Any, key: str, col: Collector, kind: str | None = "landscape"
) -> tuple[str, dict[str, Any], str] | None:
    """(name, resolved params, unit) of a racer's schedule; ``kind`` is the objective's."""
    if raw is None:
        return "constant", SCHEDULES["constant"].resolve({}), "step"
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        col.add(key, f"expected a table {{ name = <schedule>, <parameters> }}, got {show(raw)}")
        return None
    given = dict(raw)
    unit = _check_unit(given.pop("unit", "step"), f"{key}.unit", col, kind)
    if "name" not in given:
        col.add(f"{key}.name", f"missing; expected a schedule name, one of: {', '.join(SCHEDULES)}")
        return None
    name = given.pop("name")
    if not isinstance(name, str):
        col.add(f"{key}.name", f"expected a schedule name (a string), got {show(name)}")
        return None
    sch = check_name(name, SCHEDULES, f"{key}.name", "schedule", col)
    if sch is None:
        return None
    params = check_params(sch.all_params, given, key, col, sch.resolve, f"schedule {name}")
    return None if params is None or unit is None else (name, params, unit)


def _check_unit(unit: Any, key: str, col: Collector, kind: str | None) -> str | None:
    """A schedule's unit: "step" (t counts updates) or "epoch" (perceptron only)."""
    if not isinstance(unit, str) or unit not in UNITS:
        hint = did_you_mean(unit, UNITS)
        col.add(key, f"expected {choices_text(UNITS)} (what the schedule's t counts), got "
                     f"{show(unit)}" + (f"; {hint.strip()}" if hint else ""))  # fmt: skip
        return None
    if unit == "epoch" and kind == "landscape":
        col.add(key, "expected 'step': a landscape race has no epochs ('epoch' needs "
                     "objective.kind = 'perceptron'), got \"epoch\"")  # fmt: skip
        return None
    return unit
