"""Matyas: f = 0.26·(x² + y²) − 0.48·x·y, a diagonal ravine."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    return 0.26 * (x * x + y * y) - 0.48 * x * y


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return 0.26 * (x * x + y * y) - 0.48 * x * y, 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return 0.52, -0.48, 0.52


MATYAS = Landscape(
    name="matyas",
    title="Matyas",
    formula="f(x, y) = 0.26·(x² + y²) − 0.48·x·y",
    params=(),
    view=(-6.0, 6.0, -6.0, 6.0),
    start=(-4.5, 2.0),
    description="A diagonal ravine (Hessian eigenvalues 0.04 and 1): GD quickly reaches "
    "the diagonal, then crawls along it.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(0.0, 0.0)]),
    f_star_fn=const(0.0),
)

REGISTER = (MATYAS,)
