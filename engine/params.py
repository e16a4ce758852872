"""Parameter specifications shared by optimizers, schedules and landscapes.

One ``ParamSpec`` drives the engine packing (name -> slot of a float64 array), the
scenario validation, ``main.py list``, the GUI editors and the README tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["float", "int", "bool", "list", "wells"]


class ParamError(ValueError):
    """A hyperparameter value is outside its documented range or of the wrong type."""


@dataclass(frozen=True)
class ParamSpec:
    """One named parameter: its default, its valid range and its one-line meaning."""

    name: str
    default: Any
    doc: str
    kind: Kind = "float"
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False  # True: value must be > lo (otherwise >= lo)
    hi_open: bool = False  # True: value must be < hi (otherwise <= hi)
    log: bool = False  # editor hint: log-scale slider
    symbol: str = ""  # symbol used in the equations, e.g. "β₁"
    max_len: int = 0  # for list kinds
    choices: tuple[Any, ...] = field(default_factory=tuple)

    def range_text(self) -> str:
        """Human-readable valid range, e.g. ``0 <= x < 1``."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "list":
            return f"list of up to {self.max_len} numbers in {self._interval()}"
        if self.kind == "wells":
            return f"list of up to {self.max_len} [x, y, depth, width] quadruples"
        return self._interval()

    def _interval(self) -> str:
        lo = "-inf" if self.lo == -math.inf else _fmt(self.lo)
        hi = "inf" if self.hi == math.inf else _fmt(self.hi)
        left = "(" if self.lo_open or self.lo == -math.inf else "["
        right = ")" if self.hi_open or self.hi == math.inf else "]"
        kind = "an integer" if self.kind == "int" else "a finite number"
        return f"{kind} in {left}{lo}, {hi}{right}"

    def check_number(self, value: float) -> str | None:
        """Return None if ``value`` is in range, else what was expected."""
        if not math.isfinite(value):
            return self._interval()
        if value < self.lo or (self.lo_open and value == self.lo):
            return self._interval()
        if value > self.hi or (self.hi_open and value == self.hi):
            return self._interval()
        return None

    def validate(self, value: Any) -> Any:
        """Return ``value`` normalised to this spec's kind, or raise ParamError."""
        try:
            return self._validate(value)
        except OverflowError:
            raise ParamError(f"expected {self.range_text()}, got a number too large") from None

    def _validate(self, value: Any) -> Any:
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"expected true or false, got {value!r}")
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"expected an integer, got {value!r}")
            if isinstance(value, float) and not value.is_integer():
                raise ParamError(f"expected an integer, got {value!r}")
            err = self.check_number(float(value))
            if err:
                raise ParamError(f"expected {err}, got {value!r}")
            return int(value)
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"expected a number, got {value!r}")
            err = self.check_number(float(value))
            if err:
                raise ParamError(f"expected {err}, got {value!r}")
            return float(value)
        if self.kind == "list":
            if not isinstance(value, list | tuple) or not value:
                raise ParamError(f"expected a non-empty list of numbers, got {value!r}")
            if len(value) > self.max_len:
                raise ParamError(f"expected at most {self.max_len} numbers, got {len(value)}")
            out = []
            for v in value:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ParamError(f"expected numbers, got {v!r}")
                err = self.check_number(float(v))
                if err:
                    raise ParamError(f"expected each entry to be {err}, got {v!r}")
                out.append(float(v))
            return out
        if self.kind == "wells":
            if not isinstance(value, list | tuple) or not value:
                raise ParamError("expected a non-empty list of [x, y, depth, width]")
            if len(value) > self.max_len:
                raise ParamError(f"expected at most {self.max_len} wells, got {len(value)}")
            wells = []
            for w in value:
                if not isinstance(w, list | tuple) or len(w) != 4:
                    raise ParamError(f"expected [x, y, depth, width], got {w!r}")
                nums = []
                for v in w:
                    if isinstance(v, bool) or not isinstance(v, int | float):
                        raise ParamError(f"expected numbers in {w!r}")
                    if not math.isfinite(float(v)):
                        raise ParamError(f"expected finite numbers in {w!r}")
                    nums.append(float(v))
                if nums[3] <= 0:
                    raise ParamError(f"expected width > 0 in {w!r}")
                wells.append(nums)
            return wells
        raise ParamError(f"unknown parameter kind {self.kind}")  # pragma: no cover


def _fmt(v: float) -> str:
    return f"{v:g}"


def updated(
    by_name: Mapping[str, ParamSpec], valid: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """:func:`resolve` of ``valid`` (a resolve result of the specs ``by_name``) updated by
    ``changes``: only the changed values are validated again (ParamError as resolve
    raises it)."""
    out = dict(valid)
    for name, value in changes.items():
        spec = by_name.get(name)
        if spec is None:
            raise ParamError(f"{name}: unknown parameter; expected one of {', '.join(by_name)}")
        try:
            out[name] = spec.validate(value)
        except ParamError as e:
            raise ParamError(f"{name}: {e}") from None
    return out


def resolve(specs: tuple[ParamSpec, ...], given: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``given`` over the defaults; unknown names and bad values raise ParamError.

    The error message starts with the parameter name so callers can build a key path.
    """
    given = dict(given or {})
    by_name = {s.name: s for s in specs}
    out: dict[str, Any] = {}
    for name in given:
        if name not in by_name:
            raise ParamError(f"{name}: unknown parameter; expected one of {', '.join(by_name)}")
    for s in specs:
        if s.name in given:
            try:
                out[s.name] = s.validate(given[s.name])
            except ParamError as e:
                raise ParamError(f"{s.name}: {e}") from None
        else:
            out[s.name] = s.default
    return out
