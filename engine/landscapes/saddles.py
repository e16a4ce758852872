"""Unbounded saddles: ``saddle`` f = a·x² − b·y² (p = [a, b]) and the degenerate
``monkey_saddle`` f = x³ − 3xy²."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed, spec


@jit_inline
def _saddle_f(p: Packed, x: float, y: float) -> float:
    return p[0] * x * x - p[1] * y * y


@jit_inline
def _saddle_fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = p[0]
    b = p[1]
    return a * x * x - b * y * y, 2.0 * a * x, -2.0 * b * y


@jit_inline
def _saddle_h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return 2.0 * p[0], 0.0, -2.0 * p[1]


@jit_inline
def _monkey_f(p: Packed, x: float, y: float) -> float:
    return x * (x * x - 3.0 * y * y)


@jit_inline
def _monkey_fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return x * (x * x - 3.0 * y * y), 3.0 * (x * x - y * y), -6.0 * x * y


@jit_inline
def _monkey_h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return 6.0 * x, -6.0 * y, -6.0 * x


SADDLE = Landscape(
    name="saddle",
    title="Saddle",
    formula="f(x, y) = a·x² − b·y²",
    params=(
        spec("a", 1.0, "upward curvature along x", lo=0.0, hi=1e6, lo_open=True),
        spec("b", 1.0, "downward curvature along y", lo=0.0, hi=1e6, lo_open=True),
    ),
    view=(-3.0, 3.0, -3.0, 3.0),
    start=(2.5, 0.05),
    description="Unbounded below with a saddle at the origin: near the x axis GD first "
    "slides towards the saddle and only slowly escapes along y.",
    kernels=Kernels(_saddle_f, _saddle_fg, _saddle_h),
    saddles_fn=fixed([(0.0, 0.0)]),
    f_star_fn=const(None),
)

MONKEY_SADDLE = Landscape(
    name="monkey_saddle",
    title="Monkey saddle",
    formula="f(x, y) = x³ − 3x·y²",
    params=(),
    view=(-2.0, 2.0, -2.0, 2.0),
    start=(1.5, 0.3),
    description="A degenerate saddle (zero Hessian) with three descending valleys: the "
    "gradient vanishes quadratically, so escaping the origin is very slow.",
    kernels=Kernels(_monkey_f, _monkey_fg, _monkey_h),
    saddles_fn=fixed([(0.0, 0.0)]),
    f_star_fn=const(None),
)

REGISTER = (SADDLE, MONKEY_SADDLE)
