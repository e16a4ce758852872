"""Styblinski–Tang: f = ½·Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ); four minima of different depth."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, newton_points


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    x2 = x * x
    y2 = y * y
    return 0.5 * ((x2 * x2 - 16.0 * x2 + 5.0 * x) + (y2 * y2 - 16.0 * y2 + 5.0 * y))


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    x2 = x * x
    y2 = y * y
    f = 0.5 * ((x2 * x2 - 16.0 * x2 + 5.0 * x) + (y2 * y2 - 16.0 * y2 + 5.0 * y))
    return f, x * (2.0 * x2 - 16.0) + 2.5, y * (2.0 * y2 - 16.0) + 2.5


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return 6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0


# the 1-D function's minima at _LO, _HI and maximum at _MID
_LO = -2.903534
_HI = 2.746803
_MID = 0.156731

STYBLINSKI_TANG = Landscape(
    name="styblinski_tang",
    title="Styblinski–Tang",
    formula="f(x, y) = ½·[(x⁴ − 16x² + 5x) + (y⁴ − 16y² + 5y)]",
    params=(),
    view=(-5.0, 5.0, -5.0, 5.0),
    start=(4.0, 3.5),
    description="Four minima of different depth in the four quadrants: starting at the "
    "upper right, GD settles in the shallowest one.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=newton_points([(_LO, _LO), (_LO, _HI), (_HI, _LO), (_HI, _HI)], "min"),
    saddles_fn=newton_points([(_LO, _MID), (_MID, _LO), (_HI, _MID), (_MID, _HI)], "saddle"),
)

REGISTER = (STYBLINSKI_TANG,)
