"""Scenario files: one race (objective, optimizers, view) as a small TOML document.

Everything a user can get wrong in a scenario is checked here, in one place, and
reported as a :class:`ScenarioError` listing every :class:`Problem` found, each naming
the file, the dotted key path (``optimizers[1].params.lr``) and what was expected::

    rosen.toml: optimizers[0].params.beta1: expected a finite number in [0, 1), got 1.0 (line 14)

The structure (which keys exist, their types) is a set of pydantic models; the values
of hyperparameters are checked against the registries' ``ParamSpec``s, the same specs
the engine, the GUI editors and ``main.py list`` use. Nothing but ``ScenarioError``
ever leaves :func:`load_scenario`, :func:`loads_scenario` or :func:`scenario_from_dict`.

Writing goes through a tiny TOML emitter (:func:`dumps_scenario`); the standard library
can only read TOML. ``loads_scenario(dumps_scenario(s)) == s`` for every valid ``s``.

Two kinds of objective. ``kind = "landscape"`` (the default) takes ``name``, ``params``,
``start = [x, y]`` and ``grad_noise``. ``kind = "perceptron"`` (a single sigmoid neuron
trained by mini-batches) takes::

    [objective]
    kind = "perceptron"
    data = { kind = "blobs", n = 1152, separation = 4.0, spread = 1.0, balance = 0.5,
             noise = 0.0, seed = 0 }     # or data = { csv = "points.csv" }
    batch_size = 128                     # an integer >= 1, or "full" (batch gradient descent)
    epochs = 20
    standardize = false                  # scale x1, x2 by the TRAINING mean / std
    validation_fraction = 0.2            # in [0, 0.9]
    start = [0.0, 0.0, 0.0]              # [w1, w2, b]

``data`` defaults to blobs; its ``seed`` defaults to the scenario's. A CSV path is
relative to the scenario file and the file is read (and checked) when the scenario is
loaded. ``data = { rows = [[x1, x2, y], ...] }`` gives the rows in the file itself (1 to
MAX_INLINE_ROWS rows of three finite numbers, y in [0, 1]: a class or a soft label).
The length of a perceptron race is ``epochs``: ``steps`` is derived (epochs ×
ceil(training rows / batch size)) and giving ``steps`` as well is an error.
A racer of an optimizer with a velocity (sgd, momentum, nag) may start moving:
``v0 = [...]`` (its velocity, in the optimizer's units: ``Optimizer.velocity``) or
``x_prev = [...]`` (the point before the start: the previous update led from there).
A racer's schedule may count epochs instead of steps: ``schedule = { name = "exponential",
gamma = 0.9, unit = "epoch" }`` (``unit`` is "step" by default; "epoch" needs a
perceptron objective).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import difflib
import json
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.data import (
    DEFAULT_VALIDATION_FRACTION,
    GENERATORS,
    MAX_ROWS,
    DataError,
    describe_params,
    generate,
    load_csv,
    split_sizes,
)
from engine.landscapes import LANDSCAPES
from engine.optimizers import OPTIMIZERS
from engine.params import ParamError, ParamSpec
from engine.race import Race, RacerConfig, Tolerance
from engine.schedules import SCHEDULES

SCHEMA_VERSION = 1
MAX_FILE_BYTES = 1 << 20  # 1 MiB
MAX_STEPS = 10_000_000
MAX_RACERS = 64
MAX_SEED = 2**63 - 1
MAX_DEPTH = 32  # nesting of tables/arrays a scenario can need is 4
MAX_INT_BITS = 64  # integers beyond this are refused before any float conversion
MAX_INLINE_ROWS = 10_000  # data = { rows = [...] }: larger data sets belong in a CSV file

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_STEPS",
    "SCHEMA_VERSION",
    "ObjectiveSpec",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ViewSpec",
    "build_race",
    "dumps_scenario",
    "load_scenario",
    "loads_scenario",
    "save_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
]


# ---------------------------------------------------------------------------- errors
@dataclass
class Problem:
    """One thing wrong with a scenario: where (file, key path, line) and what."""

    file: str
    key: str  # dotted path such as "optimizers[1].params.lr"; "" for the whole file
    message: str  # what was expected and what was found
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}: " if self.key else f"{self.file}: "
        text = where + self.message
        if self.line is not None and f"line {self.line}" not in self.message:
            text += f" (line {self.line})"
        return text


class ScenarioError(Exception):
    """A scenario could not be read, validated or written; ``problems`` lists why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


# ---------------------------------------------------------------------------- data
@dataclass
class ObjectiveSpec:
    """What the race runs on: a 2-D landscape or the perceptron (``kind``).

    For the perceptron ``name`` is "perceptron", ``params`` is empty, ``start`` is
    (w1, w2, b), and the perceptron fields below are set (None for a landscape).
    """

    kind: str
    name: str
    params: dict[str, Any]  # resolved: every parameter of the landscape
    start: tuple[float, ...]
    grad_noise: float = 0.0
    # {"kind": <generator>, <every param>}, {"csv": path} or {"rows": [[x1, x2, y], ...]}
    data: dict[str, Any] | None = None
    batch_size: int | str | None = None  # an integer >= 1 or "full"
    epochs: int | None = None
    standardize: bool | None = None
    validation_fraction: float | None = None
    rows: np.ndarray | None = field(default=None, compare=False, repr=False)  # CSV/inline rows
    csv_path: Path | None = field(default=None, compare=False, repr=False)  # resolved path


@dataclass
class ViewSpec:
    """Optional hints for the plot; None means "let the GUI decide"."""

    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    levels: int | None = None
    log_color: bool | None = None
    # what the window shows (None: the user's last choice)
    gradient_field: bool | None = None  # the quiver of −∇f
    step_arrows: bool | None = None  # gradient / update / momentum arrows at each head
    equations: bool | None = None  # the update-equations panel
    log_y: bool | None = None  # loss panel on a log scale
    loss_gap: bool | None = None  # loss panel plots |f − f*| (where f* is known)
    equal_aspect: bool | None = None  # 1:1 data units on the maps (None: on)
    small_multiples: bool | None = None  # one small landscape per racer instead of one map


@dataclass
class Scenario:
    """A validated scenario. ``source`` (the file it came from) is not compared."""

    schema: int
    name: str
    description: str
    steps: int
    seed: int
    tolerance: Tolerance
    objective: ObjectiveSpec
    view: ViewSpec
    racers: list[RacerConfig]
    source: Path | None = field(default=None, compare=False)


#: the true/false keys of [view] (None when the file does not say)
VIEW_FLAGS = (
    "log_color", "gradient_field", "step_arrows", "equations", "log_y", "loss_gap",
    "equal_aspect", "small_multiples",
)  # fmt: skip

# ---------------------------------------------------------------------------- models
_Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Tolerance(_Model):
    loss: float = Field(1e-6, ge=0.0)
    grad: float = Field(1e-6, ge=0.0)
    divergence: float = Field(1e6, gt=1.0)


class _Objective(_Model):
    kind: str = "landscape"  # checked by hand (did you mean, keys that fit the kind)
    name: str | None = None  # required for a landscape (checked by hand)
    params: dict[str, Any] = Field(default_factory=dict)
    start: list[float] | None = None  # length checked by hand: 2 or 3 by kind
    grad_noise: float = Field(0.0, ge=0.0, le=1e6)
    # perceptron
    data: Any = None  # checked by hand
    batch_size: Any = None  # checked by hand: int >= 1 or "full"
    epochs: int | None = Field(None, ge=1, le=MAX_STEPS)
    standardize: bool | None = None
    validation_fraction: float | None = Field(None, ge=0.0, le=0.9)


class _View(_Model):
    x_range: _Point | None = None
    y_range: _Point | None = None
    levels: int | None = Field(None, ge=1, le=200)
    log_color: bool | None = None
    gradient_field: bool | None = None
    step_arrows: bool | None = None
    equations: bool | None = None
    log_y: bool | None = None
    loss_gap: bool | None = None
    equal_aspect: bool | None = None
    small_multiples: bool | None = None


class _Racer(_Model):
    name: str
    label: str | None = Field(None, max_length=200)
    color: str | None = None
    enabled: bool = True
    start: list[float] | None = None  # length checked by hand: 2 or 3 by kind
    params: dict[str, Any] = Field(default_factory=dict)
    schedule: Any = None  # a table {name = ..., <params>} or a bare name; checked by hand
    v0: list[float] | None = None  # length and optimizer checked by hand
    x_prev: list[float] | None = None


class _Scenario(_Model):
    schema_: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    steps: int = Field(1000, ge=1, le=MAX_STEPS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    tolerance: _Tolerance | None = None
    objective: _Objective
    view: _View | None = None
    optimizers: list[_Racer] = Field(min_length=1, max_length=MAX_RACERS)


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


# allowed keys per section (list indices dropped from the path)
_SECTION_KEYS: dict[str, list[str]] = {
    "": _keys_of(_Scenario),
    "tolerance": _keys_of(_Tolerance),
    "objective": _keys_of(_Objective),
    "view": _keys_of(_View),
    "optimizers": _keys_of(_Racer),
}

# what each key expects, for the messages (list indices written as [])
_EXPECT: dict[str, str] = {
    "schema": f"{SCHEMA_VERSION} (the scenario format version)",
    "name": "a non-empty string of at most 200 characters",
    "description": "a string",
    "steps": f"an integer in [1, {MAX_STEPS}]",
    "seed": "an integer in [0, 2^63)",
    "tolerance": "a table { loss = <number >= 0>, grad = <number >= 0>, "
    "divergence = <number > 1> }",
    "tolerance.loss": "a finite number >= 0",
    "tolerance.grad": "a finite number >= 0",
    "tolerance.divergence": "a finite number > 1 (the factor of the divergence rule)",
    "objective": "a table [objective] with a landscape name, or kind = 'perceptron'",
    "objective.kind": "'landscape' or 'perceptron'",
    "objective.name": "a landscape name (see `main.py list`)",
    "objective.params": "a table of landscape parameters",
    "objective.start": "[x, y] (landscape) or [w1, w2, b] (perceptron): finite numbers",
    "objective.grad_noise": "a finite number in [0, 1e6] (std. dev. of the gradient noise)",
    "objective.epochs": f"an integer in [1, {MAX_STEPS}] (passes over the training rows)",
    "objective.standardize": "true or false",
    "objective.validation_fraction": "a finite number in [0, 0.9]",
    "view": "a table [view]",
    "view.x_range": "[min, max]: two finite numbers",
    "view.y_range": "[min, max]: two finite numbers",
    "view.levels": "an integer in [1, 200]",
    "view.log_color": "true or false",
    "view.gradient_field": "true or false",
    "view.step_arrows": "true or false",
    "view.equations": "true or false",
    "view.log_y": "true or false",
    "view.loss_gap": "true or false",
    "view.equal_aspect": "true or false",
    "view.small_multiples": "true or false",
    "optimizers": f"an array of 1 to {MAX_RACERS} tables [[optimizers]]",
    "optimizers[]": "a table [[optimizers]]",
    "optimizers[].name": "an optimizer name (see `main.py list`)",
    "optimizers[].label": "a string of at most 200 characters",
    "optimizers[].color": "a colour '#rrggbb'",
    "optimizers[].enabled": "true or false",
    "optimizers[].start": "[x, y] (landscape) or [w1, w2, b] (perceptron): finite numbers",
    "optimizers[].params": "a table of hyperparameters",
    "optimizers[].v0": "the initial velocity: one finite number per parameter",
    "optimizers[].x_prev": "the point before the start: one finite number per parameter",
}

_BARE_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")


# ---------------------------------------------------------------------------- helpers
def _show(v: Any, limit: int = 60) -> str:
    """A short TOML-flavoured rendering of a found value, for messages."""
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if v.bit_length() > 96:
            return f"an integer of about {int(v.bit_length() * 0.30103) + 1} digits"
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= limit else s[: limit - 4] + '..."'
    if isinstance(v, list | tuple):
        try:
            s = "[" + ", ".join(_show(u, 20) for u in list(v)[:6])
        except RecursionError:  # pragma: no cover - depth is checked before
            s = "[..."
        s += ", ...]" if len(v) > 6 else "]"
        return s if len(s) <= limit else s[: limit - 4] + "...]"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, _dt.datetime | _dt.date | _dt.time):
        return f"a date/time {v.isoformat()}"
    return f"a {type(v).__name__}"


def _did_you_mean(word: Any, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    m = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not m:
        m = [c for c in choices if c.lower() == word.lower()]
    return f"did you mean '{m[0]}'? " if m else ""


def _key_text(k: Any) -> str:
    """A key as written in a path: bare if possible, else quoted as in TOML."""
    k = str(k)
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _join(path: str, key: Any) -> str:
    return f"{path}.{_key_text(key)}" if path else _key_text(key)


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out


def _pattern(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


class _Collector:
    """Problems of one document, deduplicated per key, with line numbers if known."""

    def __init__(self, source: str, lines: dict[str, int] | None) -> None:
        self.source = source
        self.lines = lines or {}
        self.problems: list[Problem] = []
        self._keys: set[str] = set()

    def add(self, key: str, message: str) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        self.problems.append(Problem(self.source, key, message, self._line(key)))

    def has_under(self, key: str) -> bool:
        return any(k == key or k.startswith((key + ".", key + "[")) for k in self._keys)

    def _line(self, key: str) -> int | None:
        k = key
        while k:
            if k in self.lines:
                return self.lines[k]
            cut = max(k.rfind("."), k.rfind("["))
            if cut <= 0:
                break
            k = k[:cut]
        return self.lines.get(k) if k else None

    def error(self) -> ScenarioError:
        order = {id(p): i for i, p in enumerate(self.problems)}
        probs = sorted(
            self.problems,
            key=lambda p: (p.line if p.line is not None else 1 << 30, order[id(p)]),
        )
        return ScenarioError(probs)


# ---------------------------------------------------------------------------- line map
_HEADER_RE = re.compile(r"^\[\[\s*(?P<aot>[^\[\]]+?)\s*\]\]|^\[\s*(?P<tab>[^\[\]]+?)\s*\]")
_KEY_RE = re.compile(
    r"""^(?P<key>(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*')"""
    r"""(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*'))*)\s*="""
)
_INLINE_KEY_RE = re.compile(r"[{,]\s*([A-Za-z0-9_\-]+)\s*=")


def _norm_key(k: str) -> str:
    parts = [p.strip().strip("\"'") for p in k.split(".")]
    return ".".join(parts)


def _line_map(text: str) -> dict[str, int]:
    """Best-effort map from key paths to the line that defines them (never raises)."""
    out: dict[str, int] = {}
    try:
        table = ""
        counts: dict[str, int] = {}
        in_ml: str | None = None
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if in_ml is not None:
                if line.count(in_ml) % 2 == 1:
                    in_ml = None
                continue
            if not line or line.startswith("#"):
                continue
            m = _HEADER_RE.match(line)
            if m:
                if m.group("aot"):
                    name = _norm_key(m.group("aot"))
                    counts[name] = counts.get(name, -1) + 1
                    table = f"{name}[{counts[name]}]"
                else:
                    table = _norm_key(m.group("tab"))
                out.setdefault(table, n)
                continue
            m = _KEY_RE.match(line)
            if not m:
                continue
            key = _norm_key(m.group("key"))
            path = f"{table}.{key}" if table else key
            out.setdefault(path, n)
            rest = line[m.end() :]
            if rest.lstrip().startswith("{"):
                for sub in _INLINE_KEY_RE.findall(rest):
                    out.setdefault(f"{path}.{sub}", n)
            for delim in ('"""', "'''"):
                if rest.count(delim) % 2 == 1:
                    in_ml = delim
                    break
    except Exception:  # a line map is a nicety, never a failure
        return out
    return out


# ---------------------------------------------------------------------------- pre-pass
def _prepass(d: Any, col: _Collector) -> Any:
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
                    col.add(path, f"expected string keys, got the key {_show(k)}")
                    continue
                w = walk(u, _join(path, k), depth + 1)
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
            col.add(path, f"expected a number of reasonable size, got {_show(v)}")
            return _DROP
        return v

    return walk(d, "", 0)


_DROP = object()


# ---------------------------------------------------------------------------- pydantic
def _pydantic_problems(err: ValidationError, col: _Collector) -> None:
    for e in err.errors(include_url=False):
        loc = tuple(e.get("loc", ()))
        typ = e.get("type", "")
        found = e.get("input")
        ctx = e.get("ctx") or {}
        if typ == "extra_forbidden":
            section = _pattern(_path(loc[:-1])).replace("[]", "")
            allowed = _SECTION_KEYS.get(section, [])
            key = loc[-1]
            col.add(
                _path(loc),
                f"unknown key; {_did_you_mean(key, allowed)}expected one of: {', '.join(allowed)}",
            )
            continue
        path = _path(loc)
        expect = _EXPECT.get(_pattern(path))
        if typ == "missing":
            col.add(path, f"missing; expected {expect or 'a value'}")
            continue
        if expect is None:
            expect = _generic_expect(typ, ctx)
        if typ in ("too_short", "too_long") and isinstance(found, list | dict):
            n = len(found)
            col.add(path, f"expected {expect}, got {n} entr{'y' if n == 1 else 'ies'}")
            continue
        col.add(path, f"expected {expect}, got {_show(found)}")


def _generic_expect(typ: str, ctx: dict[str, Any]) -> str:
    return {
        "float_type": "a finite number",
        "finite_number": "a finite number",
        "int_type": "an integer",
        "string_type": "a string",
        "bool_type": "true or false",
        "list_type": "an array",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
        "literal_error": str(ctx.get("expected", "one of the listed values")),
        "greater_than_equal": f"a value >= {ctx.get('ge')}",
        "greater_than": f"a value > {ctx.get('gt')}",
        "less_than_equal": f"a value <= {ctx.get('le')}",
        "less_than": f"a value < {ctx.get('lt')}",
        "string_too_short": "a non-empty string",
        "string_too_long": f"a string of at most {ctx.get('max_length')} characters",
    }.get(typ, typ.replace("_", " "))


# ---------------------------------------------------------------------------- semantics
def _check_params(
    specs: tuple[ParamSpec, ...],
    given: Any,
    key: str,
    col: _Collector,
    resolver: Callable[[dict[str, Any]], dict[str, Any]],
    what: str,
) -> dict[str, Any] | None:
    """Validate every given parameter against its spec; the resolved dict if all fine."""
    if not isinstance(given, dict):
        return None
    by_name = {s.name: s for s in specs}
    ok = True
    for k, v in given.items():
        path = _join(key, k)
        if k not in by_name:
            names = ", ".join(by_name) if by_name else f"nothing ({what} has no parameters)"
            col.add(path, f"unknown parameter; {_did_you_mean(k, by_name)}expected one of: {names}")
            ok = False
            continue
        spec = by_name[k]
        if spec.kind in ("float", "int", "bool") and not isinstance(v, int | float):
            col.add(path, f"expected {_spec_expect(spec)}, got {_show(v)}")
            ok = False
            continue
        try:
            spec.validate(v)
        except ParamError as e:
            msg = str(e).replace("a integer", "an integer")
            if len(msg) > 160:
                msg = f"expected {_spec_expect(spec)}, got {_show(v)}"
            col.add(path, msg)
            ok = False
        except (ArithmeticError, ValueError, TypeError, RecursionError):
            col.add(path, f"expected {spec.range_text()}, got {_show(v)}")
            ok = False
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


def _spec_expect(spec: ParamSpec) -> str:
    return spec.range_text()


def _check_name(value: Any, registry: dict[str, Any], key: str, what: str, col: _Collector) -> Any:
    if not isinstance(value, str):
        return None  # pydantic reported the type
    if value in registry:
        return registry[value]
    col.add(
        key,
        f"unknown {what} {_show(value)}; {_did_you_mean(value, registry)}"
        f"expected one of: {', '.join(registry)}",
    )
    return None


def _check_schedule(
    raw: Any, key: str, col: _Collector, kind: str | None = "landscape"
) -> tuple[str, dict[str, Any], str] | None:
    """(name, resolved params, unit) of a racer's schedule; ``kind`` is the objective's."""
    if raw is None:
        return "constant", SCHEDULES["constant"].resolve({}), "step"
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        col.add(key, f"expected a table {{ name = <schedule>, <parameters> }}, got {_show(raw)}")
        return None
    given = dict(raw)
    unit = _check_unit(given.pop("unit", "step"), f"{key}.unit", col, kind)
    if "name" not in given:
        col.add(f"{key}.name", f"missing; expected a schedule name, one of: {', '.join(SCHEDULES)}")
        return None
    name = given.pop("name")
    if not isinstance(name, str):
        col.add(f"{key}.name", f"expected a schedule name (a string), got {_show(name)}")
        return None
    sch = _check_name(name, SCHEDULES, f"{key}.name", "schedule", col)
    if sch is None:
        return None
    params = _check_params(sch.all_params, given, key, col, sch.resolve, f"schedule {name}")
    return None if params is None or unit is None else (name, params, unit)


_UNITS = ("step", "epoch")


def _check_unit(unit: Any, key: str, col: _Collector, kind: str | None) -> str | None:
    """A schedule's unit: "step" (t counts updates) or "epoch" (perceptron only)."""
    if not isinstance(unit, str) or unit not in _UNITS:
        hint = _did_you_mean(unit, _UNITS)
        col.add(key, f"expected 'step' or 'epoch' (what the schedule's t counts), got "
                     f"{_show(unit)}" + (f"; {hint.strip()}" if hint else ""))  # fmt: skip
        return None
    if unit == "epoch" and kind == "landscape":
        col.add(key, "expected 'step': a landscape race has no epochs ('epoch' needs "
                     "objective.kind = 'perceptron'), got \"epoch\"")  # fmt: skip
        return None
    return unit


def _check_range(v: Any, key: str, col: _Collector) -> None:
    if isinstance(v, list) and len(v) == 2 and all(isinstance(u, int | float) for u in v):
        try:
            if not float(v[0]) < float(v[1]):
                col.add(key, f"expected [min, max] with min < max, got {_show(v)}")
        except (ArithmeticError, ValueError):
            pass  # reported by pydantic


_OBJECTIVE_KINDS = ("landscape", "perceptron")
_LANDSCAPE_ONLY = ("name", "params")
_PERCEPTRON_ONLY = ("data", "batch_size", "epochs", "standardize", "validation_fraction")
_KEYS_OF_KIND = {
    "landscape": ("kind", "name", "params", "start", "grad_noise"),
    "perceptron": ("kind", *_PERCEPTRON_ONLY, "start", "grad_noise"),
}
_DIM = {"landscape": 2, "perceptron": 3}
_START_EXPECT = {
    "landscape": "[x, y]: two finite numbers",
    "perceptron": "[w1, w2, b]: three finite numbers",
}
DEFAULT_BATCH_SIZE = 128
DEFAULT_EPOCHS = 20


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _objective_kind(obj: dict[str, Any], col: _Collector) -> str | None:
    """The objective's kind, or None (reported) if unknown or at odds with its keys."""
    kind = obj.get("kind", "landscape")
    if not isinstance(kind, str):
        return None  # pydantic reported the type
    if kind not in _OBJECTIVE_KINDS:
        col.add(
            "objective.kind",
            f"unknown objective kind {_show(kind)}; {_did_you_mean(kind, _OBJECTIVE_KINDS)}"
            "expected 'landscape' or 'perceptron'",
        )
        return None
    other = "landscape" if kind == "perceptron" else "perceptron"
    stray = [k for k in (_LANDSCAPE_ONLY if kind == "perceptron" else _PERCEPTRON_ONLY)
             if k in obj]  # fmt: skip
    if stray:
        got = f"got {_show(kind)}" if "kind" in obj else "missing (so 'landscape')"
        col.add(
            "objective.kind",
            f"expected '{other}' for an objective with {_and(stray)} ({other} keys), {got}; "
            f"a {kind} objective takes: {', '.join(_KEYS_OF_KIND[kind])}",
        )
        return None
    return kind


def _check_start(v: Any, key: str, kind: str | None, col: _Collector) -> None:
    if kind is None or not isinstance(v, list) or len(v) == _DIM[kind]:
        return
    n = len(v)
    col.add(key, f"expected {_START_EXPECT[kind]}, got {n} entr{'y' if n == 1 else 'ies'}")


def _check_batch_size(v: Any, col: _Collector) -> int | str | None:
    key = "objective.batch_size"
    if v is None:
        return DEFAULT_BATCH_SIZE
    if v == "full" and isinstance(v, str):
        return "full"
    if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_ROWS:
        return v
    hint = _did_you_mean(v, ["full"]) if isinstance(v, str) else ""
    col.add(
        key,
        f"expected an integer in [1, {MAX_ROWS}] (rows per update; 1 = stochastic), or "
        f"'full' (the whole training set: batch gradient descent), got {_show(v)}"
        + (f"; {hint.strip()}" if hint else ""),
    )
    return None


def _check_data(
    v: Any, col: _Collector, seed: int, base_dir: Path | None
) -> tuple[dict[str, Any], np.ndarray | None, int, Path | None] | None:
    """(resolved data table, CSV rows or None, number of rows, resolved CSV path)."""
    key = "objective.data"
    gens = ", ".join(GENERATORS)
    if v is None:
        v = {"kind": "blobs"}
    if not isinstance(v, dict):
        col.add(key, f"expected a table {{ kind = <{' | '.join(GENERATORS)}>, n = ..., ... }} "
                     f"or {{ csv = \"file.csv\" }}, got {_show(v)}")  # fmt: skip
        return None
    if "rows" in v:
        return _check_rows(v, key, col)
    if "csv" in v:
        stray = [k for k in v if k != "csv"]
        if stray:
            col.add(_join(key, stray[0]), "unknown key next to csv; a CSV data table takes only "
                    "csv = \"file.csv\" (its header names the columns x1, x2, y)")  # fmt: skip
            return None
        path = v["csv"]
        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            col.add(f"{key}.csv", f"expected a CSV file name, got {_show(path)}")
            return None
        p = Path(path)
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        try:
            rows = load_csv(p)
        except DataError as e:
            col.add(f"{key}.csv", f"cannot use the data: {e}")
            return None
        return {"csv": path}, rows, int(rows.shape[0]), p
    given = dict(v)
    if "kind" not in given:
        col.add(f"{key}.kind", f"missing; expected a data set, one of: {gens} "
                               "(or csv = \"file.csv\" for your own data)")  # fmt: skip
        return None
    name = given.pop("kind")
    if not isinstance(name, str):
        col.add(f"{key}.kind", f"expected a data set name, one of: {gens}; got {_show(name)}")
        return None
    gen = _check_name(name, GENERATORS, f"{key}.kind", "data set", col)
    if gen is None:
        return None
    given.setdefault("seed", seed)
    params = _check_params(gen.all_params, given, key, col, gen.resolve, f"data set {name}")
    if params is None:
        return None
    return {"kind": name, **params}, None, int(params["n"]), None


def _check_rows(
    v: dict[str, Any], key: str, col: _Collector
) -> tuple[dict[str, Any], np.ndarray, int, None] | None:
    """``data = { rows = [[x1, x2, y], ...] }``: the rows given in the file itself."""
    stray = [k for k in v if k != "rows"]
    if stray:
        col.add(_join(key, stray[0]), "unknown key next to rows; an inline data table takes "
                "only rows = [[x1, x2, y], ...]")  # fmt: skip
        return None
    rows = v["rows"]
    rkey = f"{key}.rows"
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_INLINE_ROWS:
        got = f"{len(rows)} rows" if isinstance(rows, list) else _show(rows)
        col.add(rkey, f"expected an array of 1 to {MAX_INLINE_ROWS} rows [x1, x2, y] (more "
                f"belong in a CSV file: data = {{ csv = \"file.csv\" }}), got {got}")  # fmt: skip
        return None
    out = []
    for i, r in enumerate(rows):
        where = f"{rkey}[{i}]"
        if (
            not isinstance(r, list)
            or len(r) != 3
            or not all(isinstance(u, int | float) and not isinstance(u, bool) for u in r)
            or not all(math.isfinite(float(u)) for u in r)
        ):
            col.add(where, f"expected a row [x1, x2, y] of three finite numbers, got {_show(r)}")
            return None
        if not 0.0 <= float(r[2]) <= 1.0:
            col.add(where, f"expected a label y in [0, 1] (a class 0 or 1, or a soft label) "
                    f"as the row's third number, got {_show(r[2])}")  # fmt: skip
            return None
        out.append([float(u) for u in r])
    return {"rows": out}, np.array(out, dtype=np.float64), len(out), None


def _perceptron_semantic(
    obj: dict[str, Any], raw: dict[str, Any], col: _Collector, base_dir: Path | None
) -> dict[str, Any] | None:
    """Checks of a perceptron objective; the resolved parts and the derived steps."""
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        seed = 0  # reported by pydantic
    bs = _check_batch_size(obj.get("batch_size"), col)
    data = _check_data(obj.get("data"), col, seed, base_dir)
    if "steps" in raw:
        col.add("steps", "expected no steps in a perceptron scenario: its length is "
                "objective.epochs (steps = epochs × updates per epoch); remove steps")  # fmt: skip
    epochs = obj.get("epochs", DEFAULT_EPOCHS)
    vf = obj.get("validation_fraction", DEFAULT_VALIDATION_FRACTION)
    if bs is None or data is None:
        return None
    if not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1):
        return None  # reported by pydantic
    if isinstance(vf, bool) or not isinstance(vf, int | float) or not 0.0 <= vf <= 0.9:
        return None  # reported by pydantic
    table, rows, n_rows, path = data
    n_train, _ = split_sizes(n_rows, float(vf))
    b = n_train if bs == "full" else min(int(bs), n_train)
    spe = -(-n_train // b)
    steps = epochs * spe
    if steps > MAX_STEPS:
        col.add("objective.epochs", f"expected epochs × updates per epoch <= {MAX_STEPS}, got "
                f"{epochs} × {spe} = {steps}; use fewer epochs or a larger batch_size")  # fmt: skip
        return None
    return {"data": table, "rows": rows, "csv_path": path, "batch_size": bs, "steps": steps}


_VELOCITY_OPTIMIZERS = ", ".join(n for n, o in OPTIMIZERS.items() if o.velocity)


def _check_velocity(
    r: dict[str, Any], key: str, opt: Any, kind: str | None, col: _Collector
) -> None:
    """A racer's ``v0`` or ``x_prev``: one of them, for an optimizer with a velocity, of the
    parameter dimension (types are pydantic's)."""
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
    v = r[name]
    if kind is not None and isinstance(v, list) and len(v) != _DIM[kind]:
        n = len(v)
        what = "[v1, v2]" if name == "v0" else "[x, y]"
        if kind == "perceptron":
            what = "[v_w1, v_w2, v_b]" if name == "v0" else "[w1, w2, b]"
        col.add(f"{key}.{name}", f"expected {what}: {_DIM[kind]} finite numbers (one per "
                f"parameter), got {n} entr{'y' if n == 1 else 'ies'}")  # fmt: skip


def _semantic(raw: dict[str, Any], col: _Collector, base_dir: Path | None = None) -> dict[str, Any]:
    """Name and parameter checks on the raw data (types guarded); returns resolved parts."""
    out: dict[str, Any] = {"racers": {}, "kind": None}
    obj = raw.get("objective")
    kind = None
    if isinstance(obj, dict):
        kind = _objective_kind(obj, col)
        out["kind"] = kind
        if kind == "landscape":
            if "name" not in obj:
                col.add("objective.name", f"missing; expected {_EXPECT['objective.name']}")
            ls = _check_name(obj.get("name"), LANDSCAPES, "objective.name", "landscape", col)
            if ls is not None:
                prm = _check_params(
                    ls.params, obj.get("params", {}), "objective.params", col, ls.resolve,
                    f"landscape {ls.name}",
                )  # fmt: skip
                out["landscape"] = (ls, prm)
        elif kind == "perceptron":
            out["perceptron"] = _perceptron_semantic(obj, raw, col, base_dir)
        _check_start(obj.get("start"), "objective.start", kind, col)
    view = raw.get("view")
    if isinstance(view, dict):
        for k in ("x_range", "y_range"):
            _check_range(view.get(k), f"view.{k}", col)
    racers = raw.get("optimizers")
    if isinstance(racers, list):
        for i, r in enumerate(racers):
            if not isinstance(r, dict):
                continue
            key = f"optimizers[{i}]"
            opt = _check_name(r.get("name"), OPTIMIZERS, f"{key}.name", "optimizer", col)
            params = None
            if opt is not None:
                params = _check_params(
                    opt.params, r.get("params", {}), f"{key}.params", col, opt.resolve,
                    f"optimizer {opt.name}",
                )  # fmt: skip
            sched = _check_schedule(r.get("schedule"), f"{key}.schedule", col, kind)
            _check_start(r.get("start"), f"{key}.start", kind, col)
            color = r.get("color")
            if isinstance(color, str) and not _COLOR_RE.match(color):
                col.add(f"{key}.color", f"expected a colour '#rrggbb', got {_show(color)}")
            _check_velocity(r, key, opt, kind, col)
            out["racers"][i] = (params, sched)
    return out


# ---------------------------------------------------------------------------- building
def _from_dict(
    d: Any, source: str, lines: dict[str, int] | None, base_dir: Path | None = None
) -> Scenario:
    col = _Collector(source, lines)
    if not isinstance(d, dict):
        col.add("", f"expected a table of scenario keys, got {_show(d)}")
        raise col.error()
    raw = _prepass(d, col)
    if raw is _DROP or not isinstance(raw, dict):
        raise col.error()
    model: _Scenario | None = None
    try:
        model = _Scenario.model_validate(raw)
    except ValidationError as e:
        _pydantic_problems(e, col)
    sem = _semantic(raw, col, base_dir)
    if col.problems or model is None:
        if not col.problems:  # pragma: no cover - defensive
            col.add("", "invalid scenario")
        raise col.error()

    o = model.objective
    steps = model.steps
    if sem["kind"] == "perceptron":
        pc = sem["perceptron"]
        start = tuple(o.start) if o.start is not None else (0.0, 0.0, 0.0)
        objective = ObjectiveSpec(
            "perceptron", "perceptron", {}, start, float(o.grad_noise),
            data=pc["data"], batch_size=pc["batch_size"],
            epochs=o.epochs if o.epochs is not None else DEFAULT_EPOCHS,
            standardize=bool(o.standardize),
            validation_fraction=float(o.validation_fraction if o.validation_fraction is not None
                                      else DEFAULT_VALIDATION_FRACTION),
            rows=pc["rows"], csv_path=pc["csv_path"],
        )  # fmt: skip
        steps = pc["steps"]
    else:
        ls, lparams = sem["landscape"]
        start = tuple(o.start) if o.start is not None else tuple(float(v) for v in ls.start)
        objective = ObjectiveSpec(o.kind, ls.name, lparams, start, float(o.grad_noise))
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
    tol = model.tolerance or _Tolerance()
    v = model.view or _View()
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
    )


def _guard(fn: Callable[[], Scenario], source: str) -> Scenario:
    """Run ``fn``; anything but ScenarioError becomes one (nothing else escapes)."""
    try:
        return fn()
    except ScenarioError:
        raise
    except RecursionError:
        raise ScenarioError(
            [
                Problem(
                    source,
                    "",
                    "expected a reasonably nested document; got nesting too deep to read",
                )
            ]
        ) from None
    except Exception as e:  # the promise: only ScenarioError escapes
        raise ScenarioError(
            [Problem(source, "", f"could not read the scenario ({type(e).__name__}: {e})")]
        ) from None


def scenario_from_dict(
    d: dict[str, Any], source: str = "<dict>", base_dir: str | Path | None = None
) -> Scenario:
    """Validate a parsed scenario (as tomllib returns it); raises ScenarioError.

    ``base_dir``: where relative CSV paths start (default: the current folder).
    """
    bd = Path(base_dir) if base_dir is not None else None
    return _guard(lambda: _from_dict(d, source, None, bd), source)


_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)")


def loads_scenario(
    text: str, source: str = "<string>", base_dir: str | Path | None = None
) -> Scenario:
    """Parse and validate scenario TOML ``text``; raises ScenarioError.

    ``base_dir``: where relative CSV paths start (default: the current folder;
    :func:`load_scenario` passes the scenario file's folder).
    """
    bd = Path(base_dir) if base_dir is not None else None

    def go() -> Scenario:
        if not isinstance(text, str):
            raise ScenarioError([Problem(source, "", f"expected TOML text, got {_show(text)}")])
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError(
                [Problem(source, "", f"expected at most {MAX_FILE_BYTES} bytes (1 MiB) of "
                         f"TOML, got {len(text)} characters")]
            )  # fmt: skip
        body = text[1:] if text.startswith("\ufeff") else text
        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError as e:
            m = _TOML_POS_RE.search(str(e))
            line = int(m.group(1)) if m else None
            raise ScenarioError([Problem(source, "", f"invalid TOML: {e}", line)]) from None
        except RecursionError:
            raise ScenarioError(
                [Problem(source, "", "invalid TOML: arrays or tables nested too deeply")]
            ) from None
        except ValueError as e:  # e.g. an integer literal with more than 4300 digits
            raise ScenarioError([Problem(source, "", f"invalid TOML: {e}")]) from None
        return _from_dict(data, source, _line_map(body), bd)

    return _guard(go, source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file ``path``; raises ScenarioError."""
    name = str(path)

    def go() -> Scenario:
        p = Path(path)
        try:
            if not p.exists():
                raise ScenarioError([Problem(name, "", "file not found")])
            if p.is_dir():
                raise ScenarioError([Problem(name, "", "expected a scenario file, got a folder")])
            size = p.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ScenarioError([_too_big(name, size)])
            with p.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)  # special files may lie about their size
        except OSError as e:
            raise ScenarioError(
                [Problem(name, "", f"cannot read the file: {e.strerror or e}")]
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise ScenarioError([_too_big(name, None)])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise ScenarioError(
                [Problem(name, "", f"expected UTF-8 text, got the byte 0x{data[e.start]:02x} "
                         f"at offset {e.start}", line)]
            ) from None  # fmt: skip
        s = loads_scenario(text, source=name, base_dir=p.parent)
        s.source = p
        return s

    return _guard(go, name)


def _too_big(name: str, size: int | None) -> Problem:
    got = f"{size} bytes" if size is not None else "more"
    return Problem(
        name, "", f"expected a file of at most {MAX_FILE_BYTES} bytes (1 MiB), got {got}"
    )


# ---------------------------------------------------------------------------- writing
def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """Plain TOML-ready data; ``scenario_from_dict(scenario_to_dict(s)) == s``."""
    d: dict[str, Any] = {"schema": s.schema, "name": s.name}
    if s.description:
        d["description"] = s.description
    o = s.objective
    if o.kind != "perceptron":  # a perceptron's length is its epochs
        d["steps"] = s.steps
    d["seed"] = s.seed
    d["tolerance"] = {
        "loss": s.tolerance.loss,
        "grad": s.tolerance.grad,
        "divergence": s.tolerance.divergence,
    }
    if o.kind == "perceptron":
        d["objective"] = {
            "kind": o.kind,
            "data": copy.deepcopy(o.data),
            "batch_size": o.batch_size,
            "epochs": o.epochs,
            "standardize": bool(o.standardize),
            "validation_fraction": o.validation_fraction,
            "start": [float(v) for v in o.start],
            "grad_noise": o.grad_noise,
        }
    else:
        d["objective"] = {
            "kind": o.kind,
            "name": o.name,
            "params": copy.deepcopy(o.params),
            "start": [float(v) for v in o.start],
            "grad_noise": o.grad_noise,
        }
    view: dict[str, Any] = {}
    if s.view.x_range is not None:
        view["x_range"] = list(s.view.x_range)
    if s.view.y_range is not None:
        view["y_range"] = list(s.view.y_range)
    if s.view.levels is not None:
        view["levels"] = s.view.levels
    for k in VIEW_FLAGS:
        if getattr(s.view, k) is not None:
            view[k] = getattr(s.view, k)
    if view:
        d["view"] = view
    racers = []
    for r in s.racers:
        e: dict[str, Any] = {"name": r.optimizer}
        if r.label and r.label != r.optimizer:
            e["label"] = r.label
        if r.color is not None:
            e["color"] = r.color
        if not r.enabled:
            e["enabled"] = False
        if r.start is not None:
            e["start"] = [float(v) for v in r.start]
        if OPTIMIZERS[r.optimizer].velocity:  # others ignore them (and a file refuses them)
            if r.v0 is not None:
                e["v0"] = [float(v) for v in r.v0]
            if r.x_prev is not None:
                e["x_prev"] = [float(v) for v in r.x_prev]
        e["params"] = copy.deepcopy(r.params)
        defaults = {p.name: p.default for p in SCHEDULES[r.schedule].all_params}
        sp = {k: v for k, v in r.schedule_params.items() if defaults.get(k, _DROP) != v}
        if r.schedule != "constant" or sp or r.schedule_unit != "step":
            e["schedule"] = {"name": r.schedule, **copy.deepcopy(sp)}
            if r.schedule_unit != "step":
                e["schedule"]["unit"] = r.schedule_unit
        racers.append(e)
    d["optimizers"] = racers
    return d


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_str(k)


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif c < 0x20 or c == 0x7F:
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_ml_str(s: str) -> str:
    """A multi-line basic string (for descriptions containing newlines)."""
    body = _toml_str(s)[1:-1].replace("\\n", "\n")
    return '"""\n' + body + '"""'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(u) for u in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(u)}" for k, u in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _toml_table(d: dict[str, Any]) -> list[str]:
    lines = []
    for k, v in d.items():
        if k == "description" and isinstance(v, str) and "\n" in v:
            lines.append(f"{_toml_key(k)} = {_toml_ml_str(v)}")
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    return lines


def dumps_scenario(s: Scenario) -> str:
    """The scenario as readable TOML (``loads_scenario`` gives back an equal scenario)."""
    d = scenario_to_dict(s)
    top = {k: v for k, v in d.items() if k not in ("objective", "view", "optimizers")}
    lines = [
        "# Gradient Arena scenario. `python main.py validate FILE` checks it,",
        "# `python main.py run FILE` replays it, `python main.py gui FILE` opens it.",
        *_toml_table(top),
    ]
    o = s.objective
    if o.kind == "perceptron":
        what = "# perceptron a = σ(w1·x1 + w2·x2 + b), mean binary cross-entropy"
    else:
        what = f"# {LANDSCAPES[o.name].formula}" if o.name in LANDSCAPES else ""
    lines += ["", *([what] if what else []), "[objective]", *_toml_table(d["objective"])]
    if "view" in d:
        lines += ["", "[view]", *_toml_table(d["view"])]
    for r, cfg in zip(d["optimizers"], s.racers, strict=True):
        note = [f"# {OPTIMIZERS[cfg.optimizer].title}"] if cfg.optimizer in OPTIMIZERS else []
        if cfg.schedule != "constant" and cfg.schedule in SCHEDULES:
            note.append(f"# schedule: {SCHEDULES[cfg.schedule].formula}")
        lines += ["", *(n.replace("\n", " ") for n in note), "[[optimizers]]", *_toml_table(r)]
    return "\n".join(lines) + "\n"


def save_scenario(s: Scenario, path: str | Path) -> None:
    """Write ``s`` to ``path`` atomically (temp file, fsync, rename); ScenarioError on failure."""
    p = Path(path)
    name = str(path)
    tmp: str | None = None
    try:
        data = dumps_scenario(s).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        tmp = None
        _fsync_dir(p.parent)
    except OSError as e:
        raise ScenarioError(
            [Problem(name, "", f"cannot write the file: {e.strerror or e}")]
        ) from None
    except (UnicodeError, TypeError, ValueError) as e:
        raise ScenarioError([Problem(name, "", f"cannot write the scenario: {e}")]) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _fsync_dir(d: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- racing
def build_race(s: Scenario, steps: int | None = None) -> Race:
    """A fresh Race for ``s`` (``steps`` overrides the scenario's); ScenarioError if bad."""
    from engine.objective import LandscapeObjective

    source = str(s.source) if s.source is not None else "<scenario>"
    n = s.steps if steps is None else steps
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_STEPS:
        raise ScenarioError(
            [Problem(source, "steps", f"expected an integer in [1, {MAX_STEPS}], got {_show(n)}")]
        )
    o = s.objective
    objective: Any
    if o.kind == "perceptron":
        objective = _perceptron_objective(s, source)
    else:
        objective = LandscapeObjective.create(o.name, dict(o.params), tuple(o.start), o.grad_noise)
    racers = [
        replace(r, params=copy.deepcopy(r.params), schedule_params=copy.deepcopy(r.schedule_params))
        for r in s.racers
    ]
    return Race(objective, racers, steps=n, seed=s.seed, tolerance=s.tolerance)


def _perceptron_objective(s: Scenario, source: str) -> Any:
    """The PerceptronObjective of scenario ``s`` (data made or read, split, scaled)."""
    from engine.objective import PerceptronObjective

    o = s.objective
    data = o.data or {"kind": "blobs"}
    try:
        if "rows" in data:
            rows = np.array(data["rows"], dtype=np.float64).reshape(-1, 3)
            what = f"{rows.shape[0]} row{'s' if rows.shape[0] != 1 else ''} given in the file"
        elif "csv" in data:
            rows = o.rows
            if rows is None:  # a Scenario made in code: read the file now
                path = o.csv_path
                if path is None:
                    p = Path(data["csv"])
                    base = s.source.parent if s.source is not None else None
                    path = p if p.is_absolute() or base is None else base / p
                rows = load_csv(path)
            what = f"CSV {data['csv']}"
        else:
            params = {k: v for k, v in data.items() if k != "kind"}
            rows = generate(data["kind"], params)
            what = describe_params(data["kind"], params)
        return PerceptronObjective.from_rows(
            rows,
            batch_size=o.batch_size if o.batch_size is not None else DEFAULT_BATCH_SIZE,
            epochs=o.epochs if o.epochs is not None else DEFAULT_EPOCHS,
            start=tuple(o.start),
            validation_fraction=(
                o.validation_fraction
                if o.validation_fraction is not None
                else DEFAULT_VALIDATION_FRACTION
            ),
            standardize=bool(o.standardize),
            seed=s.seed,
            grad_noise=o.grad_noise,
            source=what,
        )
    except DataError as e:
        key = "objective.data.csv" if "csv" in data else "objective.data"
        raise ScenarioError([Problem(source, key, f"cannot use the data: {e}")]) from None
    except MemoryError:
        raise ScenarioError(
            [Problem(source, "objective.data", "not enough memory for this data set")]
        ) from None
