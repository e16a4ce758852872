"""Beale: f = Σ_k (c_k − x + x·y^k)², k = 1, 2, 3, c = (1.5, 2.25, 2.625)."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed, newton_points


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    return t1 * t1 + t2 * t2 + t3 * t3


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    f = t1 * t1 + t2 * t2 + t3 * t3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    return f, gx, gy


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    # t_x = y^k − 1, t_y = k·x·y^(k−1), t_xx = 0, t_xy = k·y^(k−1), t_yy = k(k−1)·x·y^(k−2)
    a1 = y - 1.0
    a2 = y2 - 1.0
    a3 = y3 - 1.0
    b1 = x
    b2 = 2.0 * x * y
    b3 = 3.0 * x * y2
    hxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
    hxy = 2.0 * (a1 * b1 + t1 + a2 * b2 + t2 * 2.0 * y + a3 * b3 + t3 * 3.0 * y2)
    hyy = 2.0 * (b1 * b1 + b2 * b2 + t2 * 2.0 * x + b3 * b3 + t3 * 6.0 * x * y)
    return hxx, hxy, hyy


BEALE = Landscape(
    name="beale",
    title="Beale",
    formula="f(x, y) = (1.5 − x + x·y)² + (2.25 − x + x·y²)² + (2.625 − x + x·y³)²",
    params=(),
    view=(-4.5, 4.5, -4.5, 4.5),
    start=(1.0, 1.5),
    description="Flat plateaus next to very steep ridges in the corners: the gradient "
    "scale varies by orders of magnitude, which favours adaptive step sizes.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(3.0, 0.5)]),
    saddles_fn=newton_points([(0.0, 1.0), (0.1005, -2.6445)], "saddle"),
    f_star_fn=const(0.0),
)

REGISTER = (BEALE,)
