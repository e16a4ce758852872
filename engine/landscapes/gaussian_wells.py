"""Gaussian wells: f = bowl·(x² + y²) − Σₖ dₖ·exp(−rₖ²/(2wₖ²)), rₖ the distance to
(xₖ, yₖ); p = [bowl, n, x₁, y₁, d₁, w₁, x₂, ...]. Its minima and saddles depend on the
wells, so they are found by a grid scan and Newton refinement (cached per parameters)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from engine.jit import jit_inline
from engine.landscapes import critical
from engine.landscapes.base import Kernels, Landscape, Packed, Params, Point, spec

VIEW = (-4.5, 4.5, -4.5, 4.5)


# One well's term at p[o:o+4].
@jit_inline
def _well_f(p: Packed, o: int, x: float, y: float) -> float:
    dx = x - p[o]
    dy = y - p[o + 1]
    w = p[o + 3]
    iw2 = 1.0 / (w * w)
    return p[o + 2] * math.exp(-0.5 * (dx * dx + dy * dy) * iw2)


@jit_inline
def _well_fg(p: Packed, o: int, x: float, y: float) -> tuple[float, float, float]:
    # (dₖ·eₖ, gradient of −dₖ·eₖ): f −= the first, ∇f += the other two.
    dx = x - p[o]
    dy = y - p[o + 1]
    w = p[o + 3]
    iw2 = 1.0 / (w * w)
    de = p[o + 2] * math.exp(-0.5 * (dx * dx + dy * dy) * iw2)
    return de, de * iw2 * dx, de * iw2 * dy


@jit_inline
def _well_h(p: Packed, o: int, x: float, y: float) -> tuple[float, float, float]:
    dx = x - p[o]
    dy = y - p[o + 1]
    w = p[o + 3]
    iw2 = 1.0 / (w * w)
    dei = p[o + 2] * math.exp(-0.5 * (dx * dx + dy * dy) * iw2) * iw2
    return dei * (1.0 - dx * dx * iw2), -dei * dx * dy * iw2, dei * (1.0 - dy * dy * iw2)


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    f = p[0] * (x * x + y * y)
    for k in range(np.int64(p[1])):
        f -= _well_f(p, 2 + 4 * k, x, y)
    return f


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    bowl = p[0]
    f = bowl * (x * x + y * y)
    gx = 2.0 * bowl * x
    gy = 2.0 * bowl * y
    for k in range(np.int64(p[1])):
        de, dgx, dgy = _well_fg(p, 2 + 4 * k, x, y)
        f -= de
        gx += dgx
        gy += dgy
    return f, gx, gy


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    hxx = 2.0 * p[0]
    hxy = 0.0
    hyy = hxx
    for k in range(np.int64(p[1])):
        dxx, dxy, dyy = _well_h(p, 2 + 4 * k, x, y)
        hxx += dxx
        hxy += dxy
        hyy += dyy
    return hxx, hxy, hyy


def _pack(prm: Params) -> np.ndarray:
    wells = prm["wells"]
    out = [float(prm["bowl"]), float(len(wells))]
    for w in wells:
        out.extend(float(v) for v in w)
    return np.array(out, dtype=np.float64)


@lru_cache(maxsize=64)
def _critical(lid: int, key: tuple[float, ...]) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """(minima, saddles) for the packed parameters ``key``."""
    p = np.array(key, dtype=np.float64)
    n = int(p[1])
    cen = p[2:].reshape(n, 4) if n else np.zeros((0, 4))
    xmin, xmax, ymin, ymax = VIEW
    for xk, yk, _, wk in cen:
        xmin = min(xmin, xk - 4.0 * wk)
        xmax = max(xmax, xk + 4.0 * wk)
        ymin = min(ymin, yk - 4.0 * wk)
        ymax = max(ymax, yk + 4.0 * wk)
    # Resolve the narrowest well with >= 8 grid cells per width.
    span = max(xmax - xmin, ymax - ymin)
    wmin = float(np.min(cen[:, 3])) if n else 1.0
    npts = int(min(401, max(161, 8.0 * span / wmin)))
    minima, saddles = critical.scan(lid, p, (xmin, xmax, ymin, ymax), npts)
    seeded = [critical.descend(lid, p, float(xk), float(yk)) for xk, yk, _, _ in cen]
    extra = [q for q in seeded if q is not None and critical.classify(lid, p, q) == "min"]
    minima = critical.by_value(lid, p, critical.dedupe(minima + extra))
    return tuple(minima), tuple(saddles)


def _minima(ls: Landscape, prm: Params) -> list[Point]:
    return list(_critical(ls.lid, tuple(ls.pack(prm).tolist()))[0])


def _saddles(ls: Landscape, prm: Params) -> list[Point]:
    return list(_critical(ls.lid, tuple(ls.pack(prm).tolist()))[1])


def _f_star(ls: Landscape, prm: Params) -> float | None:
    mins = ls.minima(prm)
    best = ls.value_at(prm, *mins[0]) if mins else math.inf
    if float(prm["bowl"]) == 0.0:
        # Without the bowl f → 0 far away: the infimum is min(0, deepest minimum).
        return min(best, 0.0)
    return best if mins else None


GAUSSIAN_WELLS = Landscape(
    name="gaussian_wells",
    title="Gaussian wells",
    formula="f(x, y) = bowl·(x² + y²) − Σₖ dₖ·exp(−[(x − xₖ)² + (y − yₖ)²]/(2·wₖ²))",
    params=(
        spec("bowl", 0.05, "curvature of the background bowl", lo=0.0, hi=1e3),
        spec(
            "wells",
            [[-2.0, -1.0, 1.0, 0.8], [2.0, 1.5, 1.8, 0.7], [0.5, -2.5, 0.7, 0.5]],
            "wells as [xₖ, yₖ, depth dₖ, width wₖ]",
            kind="wells",
            max_len=8,
        ),
    ),
    view=VIEW,
    start=(-3.0, -2.5),
    description="Several local minima of different depth: GD from (−3, −2.5) settles in "
    "the nearest, shallower well; reaching the deepest one needs momentum or noise.",
    kernels=Kernels(_f, _fg, _h),
    pack_fn=_pack,
    minima_fn=_minima,
    saddles_fn=_saddles,
    f_star_fn=_f_star,
)

REGISTER = (GAUSSIAN_WELLS,)
