"""A landscape typed as a formula (``[objective] formula = "..."``): a :class:`Landscape`
like the registered ones, whose packed parameters are the formula's program.

The formula is parsed, differentiated and compiled by :mod:`engine.formula` (never
evaluated as code); the race kernel runs it through the dispatchers' ``FORMULA_LID``
branch, one numba interpreter compiled once. Its named constants are the landscape's
parameters (any finite number; the window gives them sliders). Its minima are the ones
the file lists (``minima``), else those a scan of the view box finds (Newton on the exact
gradient and Hessian, as :func:`engine.landscapes.critical.scan`), and the description
says which.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine import landscapes as api
from engine.formula import Formula, parse_formula
from engine.landscapes import critical
from engine.landscapes.base import Kernels, Landscape, Params, Point, spec

#: the view box and start of a formula whose scenario gives none
DEFAULT_VIEW = (-5.0, 5.0, -5.0, 5.0)
DEFAULT_START = (-4.0, 4.0)
#: a formula landscape's name (its title and formula text say which formula)
NAME = "formula"


def _unused(*args: Any) -> Any:  # pragma: no cover - the dispatchers branch on the lid
    raise RuntimeError("a formula landscape runs through FORMULA_LID, not its own kernels")


def _param_specs(formula: Formula) -> tuple[Any, ...]:
    return tuple(
        spec(name, value, f"the constant {name} of the formula", lo=-math.inf, hi=math.inf)
        for name, value in formula.params.items()
    )


@functools.lru_cache(maxsize=64)
def _scan(
    text: str, params: tuple[tuple[str, float], ...], box: tuple[float, float, float, float]
) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """The minima (lowest first) and saddles a scan of ``box`` finds."""
    prog = parse_formula(text, dict(params)).program()
    with np.errstate(all="ignore"):  # a formula may overflow or be undefined in places
        mins, saddles = critical.scan(api.FORMULA_LID, prog, box)
    finite = [m for m in mins if math.isfinite(api.landscape_f(api.FORMULA_LID, prog, *m))]
    mins = finite
    return tuple(mins), tuple(saddles)


def formula_landscape(
    text: str,
    params: Mapping[str, float] | None = None,
    minima: Sequence[Sequence[float]] | None = None,
    view: tuple[float, float, float, float] | None = None,
    start: tuple[float, float] | None = None,
) -> Landscape:
    """The landscape of formula ``text`` with named constants ``params`` (their default
    values), known ``minima`` (None: scan ``view`` for them), view box and start.

    Raises :class:`engine.formula.FormulaError` for text that is not a formula.
    """
    formula = parse_formula(text, dict(params or {}))
    x0, x1, y0, y1 = (float(v) for v in (view if view is not None else DEFAULT_VIEW))
    box = (x0, x1, y0, y1)
    known = None if minima is None else [(float(m[0]), float(m[1])) for m in minima]

    def pack(prm: Params) -> np.ndarray:
        return formula.program({k: float(v) for k, v in prm.items()})

    def found(prm: Params) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
        key = tuple((k, float(v)) for k, v in prm.items())
        return _scan(text, key, box)

    def minima_fn(ls: Landscape, prm: Params) -> list[Point]:
        return list(known) if known is not None else list(found(prm)[0])

    def saddles_fn(ls: Landscape, prm: Params) -> list[Point]:
        return list(found(prm)[1])

    how = "as the scenario lists them" if known is not None else "found by a scan of the view"
    ls = Landscape(
        name=NAME,
        title="Typed formula",
        formula=f"f(x, y) = {formula.text.strip()}",
        params=_param_specs(formula),
        view=box,
        start=start if start is not None else DEFAULT_START,
        description=f"A typed formula, differentiated exactly; minima {how}.",
        kernels=Kernels(_unused, _unused, _unused),
        pack_fn=pack,
        minima_fn=minima_fn,
        saddles_fn=saddles_fn,
        typed=formula,
    )
    object.__setattr__(ls, "lid", api.FORMULA_LID)
    return ls


def typed_formula(ls: Landscape) -> Formula | None:
    """The parsed formula of a typed landscape (its gradient and Hessian as text), else
    None."""
    return ls.typed if isinstance(ls.typed, Formula) else None
