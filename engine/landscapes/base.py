"""What a landscape module defines: a :class:`Landscape` with its numba :class:`Kernels`.

A landscape module builds one ``Landscape`` per landscape (its kernels, view box, start,
parameters, formula and critical points) and lists them in ``REGISTER``; the package
(``engine/landscapes/__init__.py``) gives each its id and generates the dispatchers.

The helpers below describe critical points: :func:`fixed` (exactly known),
:func:`newton_points` (known to a few digits, refined by Newton iterations for the given
parameters, so exact to machine precision), :func:`const` (a known f*).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from engine import landscapes as api  # the dispatchers, used at call time only
from engine.landscapes import critical
from engine.params import ParamSpec
from engine.params import resolve as resolve_params

Array = npt.NDArray[np.float64]
Point = tuple[float, float]
Params = dict[str, Any]
Points = Callable[["Landscape", Params], list[Point]]


class Packed(Protocol):
    """The packed parameters as a kernel reads them (a float64 array, by index)."""

    def __getitem__(self, i: int, /) -> float: ...


class Kernels(NamedTuple):
    """A landscape's numba functions, all ``@jit_inline`` and of ``(p, x, y)``, ``p`` the
    packed parameters: ``f`` returns the loss, ``fg`` ``(f, ∂f/∂x, ∂f/∂y)`` and ``h``
    ``(∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)``, tuples returned in registers (no allocation).

    ``f`` and ``fg`` compute f with the same expression (the same bits: the race
    evaluates random search's losses with the one, the references with the other).
    None of them allocates or raises: huge inputs overflow to inf/NaN, singular points
    get finite values. Each is inlined into the one dispatcher that calls it, so keep
    them small (a big one is split into helpers, as goldstein_price's Hessian).
    """

    f: Callable[..., float]
    fg: Callable[..., tuple[float, float, float]]
    h: Callable[..., tuple[float, float, float]]


def spec(name: str, default: Any, doc: str, symbol: str = "", **kw: Any) -> ParamSpec:
    """A landscape parameter (``symbol`` defaults to ``name``)."""
    return ParamSpec(name=name, default=default, doc=doc, symbol=symbol or name, **kw)


def _pack_in_order(specs: tuple[ParamSpec, ...]) -> Callable[[Params], np.ndarray]:
    names = [s.name for s in specs]
    return lambda prm: np.array([float(prm[k]) for k in names], dtype=np.float64)


def _none(ls: Landscape, prm: Params) -> list[Point]:
    return []


def f_at_global(ls: Landscape, prm: Params) -> float | None:
    """f at the first (global) minimum; None without minima."""
    mins = ls.minima(prm)
    if not mins:
        return None
    return ls.value_at(prm, *mins[0])


def fixed(points: list[Point]) -> Points:
    """Exactly known points."""
    return lambda ls, prm: list(points)


def newton_points(guesses: list[Point], kind: str) -> Points:
    """Points known to ~6 digits, Newton-refined for the landscape's parameters; the
    minima come out sorted by loss (global first)."""

    def points(ls: Landscape, prm: Params) -> list[Point]:
        p = ls.pack(prm)
        pts = critical.refine(ls.lid, p, guesses, kind)
        return critical.by_value(ls.lid, p, pts) if kind == "min" else pts

    return points


def const(value: float | None) -> Callable[[Landscape, Params], float | None]:
    """A known f* (None: unbounded below)."""
    return lambda ls, prm: value


@dataclass(frozen=True)
class Landscape:
    """One 2-D test function with its kernels, parameters, view box and critical points.

    ``lid`` is its position in the registry (engine.landscapes.MODULES), set when the
    package registers it. ``pack``/``minima``/``saddles``/``f_star`` resolve ``params``
    over the defaults first (so ``{}`` or ``None`` means the defaults) and raise
    ``ParamError`` for unknown names or out-of-range values. Minima are listed global
    first (ties in the listed order). A landscape with a local minimum near every point
    of a lattice (an egg-crate: rastrigin, ackley, levi13, easom's plain) lists only its
    global minimum.
    """

    name: str
    title: str
    formula: str
    params: tuple[ParamSpec, ...]
    view: tuple[float, float, float, float]
    start: tuple[float, float]
    description: str
    kernels: Kernels = field(repr=False, compare=False)
    pack_fn: Callable[[Params], np.ndarray] | None = field(default=None, repr=False, compare=False)
    minima_fn: Points = field(default=_none, repr=False, compare=False)
    saddles_fn: Points = field(default=_none, repr=False, compare=False)
    f_star_fn: Callable[[Landscape, Params], float | None] = field(
        default=f_at_global, repr=False, compare=False
    )
    #: a typed formula's parsed form (engine.formula.Formula); None for a registered one
    typed: Any = field(default=None, repr=False, compare=False)
    lid: int = field(init=False)

    def resolve(self, given: Params | None) -> Params:
        """``given`` merged over the defaults (ParamError on unknown names / bad values)."""
        return resolve_params(self.params, given)

    def pack(self, params: Params | None = None) -> np.ndarray:
        """The float64 parameter array the numba kernels take (may hold derived values)."""
        prm = self.resolve(params)
        fn = self.pack_fn if self.pack_fn is not None else _pack_in_order(self.params)
        return fn(prm)

    def minima(self, params: Params | None = None) -> list[Point]:
        """Known local minima, global first."""
        return [(float(a), float(b)) for a, b in self.minima_fn(self, self.resolve(params))]

    def saddles(self, params: Params | None = None) -> list[Point]:
        """Known saddle points (may be empty)."""
        return [(float(a), float(b)) for a, b in self.saddles_fn(self, self.resolve(params))]

    def f_star(self, params: Params | None = None) -> float | None:
        """Global minimum value (infimum), or None if ``f`` is unbounded below."""
        v = self.f_star_fn(self, self.resolve(params))
        return None if v is None else float(v)

    def value_at(self, params: Params | None, x: float, y: float) -> float:
        """Loss at ``(x, y)``."""
        return float(api.landscape_f(self.lid, self.pack(params), float(x), float(y)))
