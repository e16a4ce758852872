"""The structure of a scenario file as pydantic models, and what each key expects.

The models say which keys exist, their types and their bounds (``Field(ge=..., le=...)``,
``Literal``, ``min_length``...). :func:`expect` turns those constraints into the
"expected ..." half of a message, so a bound is written once, in the model. A field's
``description`` adds what the value means, in parentheses; for a string it names what
the string is (an optimizer name, a colour) instead of "a string".

Keys typed ``Any`` are checked by hand in :mod:`engine.scenario.validate` (names with
"did you mean", values against the registries' ``ParamSpec``s).
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, Field

from engine.scenario.model import MAX_RACERS, MAX_SEED, MAX_STEPS, SCHEMA_VERSION

OBJECTIVE_KINDS = ("landscape", "perceptron")
_WORDS = {2: "two", 3: "three"}
_LIST = "see `main.py list`"
_START = "[x, y] for a landscape, [w1, w2, b] for a perceptron"
_RANGE = Annotated[list[float], Field(min_length=2, max_length=2)]


def _literal(v: Any) -> str:
    return f"'{v}'" if isinstance(v, str) else str(v).lower()


def choices_text(choices: typing.Iterable[Any]) -> str:
    """``'a' or 'b'`` / ``'a', 'b' or 'c'``: a closed set of values, as in messages."""
    words = [_literal(c) for c in choices]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class TolSchema(_Model):
    loss: float = Field(1e-6, ge=0.0)
    grad: float = Field(1e-6, ge=0.0)
    divergence: float = Field(1e6, gt=1.0, description="the factor of the divergence rule")


class ObjectiveSchema(_Model):
    # one of OBJECTIVE_KINDS, checked by hand (did you mean, keys that fit the kind)
    kind: str = Field("landscape", description=choices_text(OBJECTIVE_KINDS))
    name: str | None = Field(None, description=f"a landscape name ({_LIST})")
    formula: str | None = Field(
        None, description="a formula in x and y, such as '(1 - x)**2 + 100*(y - x**2)**2'"
    )
    minima: list[Annotated[list[float], Field(min_length=2, max_length=2)]] | None = Field(
        None, max_length=1000, description="the formula's known minima, [[x, y], ...]"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="landscape parameters")
    start: list[float] | None = Field(None, description=_START)  # length checked by kind
    grad_noise: float = Field(
        0.0, ge=0.0, le=1e6, description="the standard deviation of the gradient noise"
    )
    # perceptron
    data: Any = None
    batch_size: Any = None  # an integer or "full"
    epochs: int | None = Field(
        None, ge=1, le=MAX_STEPS, description="passes over the training rows"
    )
    standardize: bool | None = None
    validation_fraction: float | None = Field(None, ge=0.0, le=0.9)


class ViewSchema(_Model):
    x_range: _RANGE | None = Field(None, description="[min, max]")
    y_range: _RANGE | None = Field(None, description="[min, max]")
    levels: int | None = Field(None, ge=1, le=200)
    log_color: bool | None = None
    gradient_field: bool | None = None
    step_arrows: bool | None = None
    equations: bool | None = None
    log_y: bool | None = None
    loss_gap: bool | None = None
    equal_aspect: bool | None = None
    small_multiples: bool | None = None
    theory: bool | None = None
    legend_params: bool | None = None


class RacerSchema(_Model):
    name: str = Field(description=f"an optimizer name ({_LIST})")
    label: str | None = Field(None, max_length=200)
    color: str | None = Field(
        None, pattern=r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$", description="a colour '#rrggbb'"
    )
    enabled: bool = True
    start: list[float] | None = Field(None, description=_START)  # length checked by kind
    params: dict[str, Any] = Field(default_factory=dict, description="hyperparameters")
    schedule: Any = None  # a table {name = ..., <params>} or a bare name
    v0: list[float] | None = Field(
        None, description="the initial velocity: one finite number per parameter"
    )
    x_prev: list[float] | None = Field(
        None, description="the point before the start: one finite number per parameter"
    )


class MapSchema(_Model):
    over: str = Field(
        min_length=1, max_length=200,
        description="'start', a hyperparameter such as 'lr', or two: 'lr,momentum'",
    )  # fmt: skip
    racer: str | None = Field(None, min_length=1, description="a racer's label")
    res: (
        Annotated[list[Annotated[int, Field(ge=1, le=16384)]], Field(min_length=1, max_length=2)]
        | None
    ) = Field(None, description="pixels per axis: [N] or [NX, NY]")
    ranges: list[float] | None = Field(
        None, min_length=2, max_length=4, description="[LO, HI] or [LO, HI, LO2, HI2]"
    )
    box: Annotated[list[float], Field(min_length=4, max_length=4)] | None = Field(
        None, description="[x0, x1, y0, y1]"
    )
    steps: int | None = Field(None, ge=1, le=MAX_STEPS)
    search: Literal["grid", "random"] = "grid"
    budget: int | None = Field(None, ge=1, le=2**24)
    log: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=2)]
        | None
    ) = Field(None, description="the swept hyperparameters on a log scale, e.g. ['lr']")


class ScenarioSchema(_Model):
    schema_: Literal[1] = Field(
        SCHEMA_VERSION, alias="schema", description="the scenario format version"
    )
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    steps: int = Field(1000, ge=1, le=MAX_STEPS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    tolerance: TolSchema | None = None
    objective: ObjectiveSchema = Field(description="with a landscape name, or kind = 'perceptron'")
    view: ViewSchema | None = None
    map: MapSchema | None = None
    optimizers: list[RacerSchema] = Field(min_length=1, max_length=MAX_RACERS)


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a table of this model takes, in order."""
    return [f.alias or n for n, f in model.model_fields.items()]


#: the keys each section takes (list indices dropped from the path)
SECTION_KEYS: dict[str, list[str]] = {
    "": keys_of(ScenarioSchema),
    "tolerance": keys_of(TolSchema),
    "objective": keys_of(ObjectiveSchema),
    "view": keys_of(ViewSchema),
    "map": keys_of(MapSchema),
    "optimizers": keys_of(RacerSchema),
}


# ---------------------------------------------------------------------------- expectations
def expect(pattern: str) -> str | None:
    """What the key at ``pattern`` (``optimizers[].params``, list indices as ``[]``)
    expects, from the models' constraints; None where the models do not say (Any)."""
    tp: Any = ScenarioSchema
    meta: list[Any] = []
    desc = None
    key = ""
    for part in _parts(pattern):
        tp = _strip_none(tp)
        if typing.get_origin(tp) is Annotated:
            tp, more, d = _annotated(tp)
            meta, desc = [*more, *meta], desc or d
        if part == "[]":
            if typing.get_origin(tp) is not list:
                return None
            tp, meta, desc = _annotated(typing.get_args(tp)[0])
            key = f"[{key}]" if key and not key.startswith("[") else key
            continue
        if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
            return None
        field = next((f for n, f in tp.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        tp, meta, desc, key = field.annotation, list(field.metadata), field.description, part
    return _phrase(tp, meta, desc, key)


def _parts(pattern: str) -> list[str]:
    out: list[str] = []
    for dotted in pattern.split("."):
        name, *rest = dotted.split("[")
        if name:
            out.append(name)
        out += ["[]"] * len(rest)
    return out


def _strip_none(tp: Any) -> Any:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _annotated(tp: Any) -> tuple[Any, list[Any], str | None]:
    """(type, constraints, description) of a possibly ``Annotated[...]`` type."""
    if typing.get_origin(tp) is Annotated:
        base, *extra = typing.get_args(tp)
        meta: list[Any] = []
        desc = None
        for e in extra:
            meta += list(getattr(e, "metadata", [e]))
            desc = getattr(e, "description", None) or desc
        return base, meta, desc
    return tp, [], None


def _phrase(tp: Any, meta: list[Any], desc: str | None, key: str) -> str | None:
    tp = _strip_none(tp)
    if typing.get_origin(tp) is Annotated:
        tp, more, d = _annotated(tp)
        meta, desc = [*more, *meta], desc or d
    text = _type_phrase(tp, meta, key, desc)
    if text is None:
        return None
    if desc and tp is not str:
        text += f" ({desc})"
    return text


def _type_phrase(tp: Any, meta: list[Any], key: str, desc: str | None) -> str | None:
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer" + _bounds(meta)
    if tp is float:
        return "a finite number" + _bounds(meta)
    if tp is str:
        return desc or _string(meta)
    if typing.get_origin(tp) is Literal:
        return choices_text(typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return _array(typing.get_args(tp)[0], meta, key)
    if typing.get_origin(tp) is dict:
        return "a table"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _table(tp, key)
    return None


def _num(v: Any) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def _bounds(meta: list[Any]) -> str:
    lo = next(((_num(m.ge), "[") for m in meta if isinstance(m, Ge)), None)
    lo = lo or next(((_num(m.gt), "(") for m in meta if isinstance(m, Gt)), None)
    hi = next(((_num(m.le), "]") for m in meta if isinstance(m, Le)), None)
    hi = hi or next(((_num(m.lt), ")") for m in meta if isinstance(m, Lt)), None)
    if lo and hi:
        return f" in {lo[1]}{lo[0]}, {hi[0]}{hi[1]}"
    if lo:
        return f" {'>=' if lo[1] == '[' else '>'} {lo[0]}"
    if hi:
        return f" {'<=' if hi[1] == ']' else '<'} {hi[0]}"
    return ""


def _length(meta: list[Any]) -> tuple[int | None, int | None]:
    lo = next((m.min_length for m in meta if isinstance(m, MinLen)), None)
    hi = next((m.max_length for m in meta if isinstance(m, MaxLen)), None)
    return lo, hi


def _string(meta: list[Any]) -> str:
    lo, hi = _length(meta)
    text = "a non-empty string" if lo else "a string"
    return text + (f" of at most {hi} characters" if hi is not None else "")


def _array(item: Any, meta: list[Any], key: str) -> str:
    item, _, _ = _annotated(item)
    if isinstance(item, type) and issubclass(item, BaseModel):
        what = f"tables [[{key}]]"
    else:
        what = {float: "finite numbers", int: "integers", bool: "true/false values"}.get(
            item, "values"
        )
    lo, hi = _length(meta)
    if lo is not None and lo == hi:
        return f"an array of {_WORDS.get(lo, lo)} {what}"
    if lo is not None and hi is not None:
        return f"an array of {lo} to {hi} {what}"
    return f"an array of {what}"


def _table(model: type[BaseModel], key: str) -> str:
    if key.startswith("["):  # an element of an array of tables
        return f"a table [{key}]"
    fields = model.model_fields
    if all(f.annotation in (int, float, bool, str) for f in fields.values()):
        inner = ", ".join(
            f"{f.alias or n} = <{_phrase(f.annotation, list(f.metadata), None, n)}>"
            for n, f in fields.items()
        )
        return f"a table {{ {inner} }}"
    return f"a table [{key}]"
