"""The camel functions: ``six_hump_camel`` f = 4x² − 2.1x⁴ + x⁶/3 + xy − 4y² + 4y⁴ and
``three_hump_camel`` f = 2x² − 1.05x⁴ + x⁶/6 + xy + y²."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, newton_points


@jit_inline
def _six_f(p: Packed, x: float, y: float) -> float:
    x2 = x * x
    y2 = y * y
    return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2


@jit_inline
def _six_fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    x2 = x * x
    y2 = y * y
    f = (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2
    gx = x * (8.0 - 8.4 * x2 + 2.0 * x2 * x2) + y
    gy = x + y * (-8.0 + 16.0 * y2)
    return f, gx, gy


@jit_inline
def _six_h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    x2 = x * x
    return 8.0 - 25.2 * x2 + 10.0 * x2 * x2, 1.0, -8.0 + 48.0 * y * y


@jit_inline
def _three_f(p: Packed, x: float, y: float) -> float:
    x2 = x * x
    return x2 * (2.0 - 1.05 * x2 + x2 * x2 / 6.0) + x * y + y * y


@jit_inline
def _three_fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    x2 = x * x
    f = x2 * (2.0 - 1.05 * x2 + x2 * x2 / 6.0) + x * y + y * y
    return f, x * (4.0 - 4.2 * x2 + x2 * x2) + y, x + 2.0 * y


@jit_inline
def _three_h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    x2 = x * x
    return 4.0 - 12.6 * x2 + 5.0 * x2 * x2, 1.0, 2.0


# 2 global + 4 local minima, 7 saddles (and two local maxima)
_SIX_MIN = [(0.0898, -0.7126), (-0.0898, 0.7126), (-1.7036, 0.7961), (1.7036, -0.7961),
            (1.6071, 0.5687), (-1.6071, -0.5687)]  # fmt: skip
_SIX_SADDLE = [(0.0, 0.0), (-1.1092, 0.7683), (1.1092, -0.7683), (-1.6381, -0.2287),
               (1.6381, 0.2287), (1.2961, 0.6051), (-1.2961, -0.6051)]  # fmt: skip

SIX_HUMP_CAMEL = Landscape(
    name="six_hump_camel",
    title="Six-hump camel",
    formula="f(x, y) = (4 − 2.1x² + x⁴/3)·x² + x·y + (4y² − 4)·y²",
    params=(),
    view=(-2.2, 2.2, -1.2, 1.2),
    start=(-1.5, -1.0),
    description="Two symmetric global minima plus four local ones: the basin an optimizer "
    "falls into is decided early.",
    kernels=Kernels(_six_f, _six_fg, _six_h),
    minima_fn=newton_points(_SIX_MIN, "min"),
    saddles_fn=newton_points(_SIX_SADDLE, "saddle"),
)

THREE_HUMP_CAMEL = Landscape(
    name="three_hump_camel",
    title="Three-hump camel",
    formula="f(x, y) = 2x² − 1.05x⁴ + x⁶/6 + x·y + y²",
    params=(),
    view=(-2.5, 2.5, -2.5, 2.5),
    start=(2.0, -2.0),
    description="A global minimum at the origin flanked by two shallow local minima that "
    "catch optimizers starting on the sides.",
    kernels=Kernels(_three_f, _three_fg, _three_h),
    minima_fn=newton_points([(0.0, 0.0), (-1.7476, 0.8738), (1.7476, -0.8738)], "min"),
    saddles_fn=newton_points([(-1.0705, 0.5353), (1.0705, -0.5353)], "saddle"),
    f_star_fn=const(0.0),
)

REGISTER = (SIX_HUMP_CAMEL, THREE_HUMP_CAMEL)
