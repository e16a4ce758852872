"""Rosenbrock's banana valley f = (a − x)² + b·(y − x²)², p = [a, b]."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, spec


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    u = p[0] - x
    v = y - x * x
    return u * u + p[1] * v * v


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = p[0]
    b = p[1]
    u = a - x
    v = y - x * x
    bv = b * v
    return u * u + bv * v, -2.0 * u - 4.0 * x * bv, 2.0 * bv


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    b = p[1]
    return 2.0 - 4.0 * b * (y - x * x) + 8.0 * b * x * x, -4.0 * b * x, 2.0 * b


ROSENBROCK = Landscape(
    name="rosenbrock",
    title="Rosenbrock banana valley",
    formula="f(x, y) = (a − x)² + b·(y − x²)²",
    params=(
        spec("a", 1.0, "minimum at (a, a²)", lo=-100.0, hi=100.0),
        spec("b", 100.0, "steepness of the valley walls", lo=0.0, hi=1e6, lo_open=True, log=True),
    ),
    view=(-2.0, 2.0, -1.0, 3.0),
    start=(-1.5, 2.0),
    description="A narrow curved valley: finding it is easy, following its nearly flat "
    "floor to the minimum at (a, a²) is slow for GD and rewards momentum.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=lambda ls, prm: [(float(prm["a"]), float(prm["a"]) ** 2)],
    f_star_fn=const(0.0),
)

REGISTER = (ROSENBROCK,)
