"""Booth: f = (x + 2y − 7)² + (2x + y − 5)², a well-conditioned tilted bowl."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    return a * a + b * b


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    return a * a + b * b, 2.0 * a + 4.0 * b, 4.0 * a + 2.0 * b


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return 10.0, 8.0, 10.0


BOOTH = Landscape(
    name="booth",
    title="Booth",
    formula="f(x, y) = (x + 2y − 7)² + (2x + y − 5)²",
    params=(),
    view=(-5.0, 7.0, -3.0, 9.0),
    start=(-4.0, -2.0),
    description="A well-conditioned tilted quadratic bowl (Hessian eigenvalues 2 and 18): "
    "every reasonable optimizer converges straight to (1, 3).",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(1.0, 3.0)]),
    f_star_fn=const(0.0),
)

REGISTER = (BOOTH,)
