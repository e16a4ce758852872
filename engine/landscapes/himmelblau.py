"""Himmelblau: f = (x² + y − 11)² + (x + y² − 7)²; four minima, four saddles (and a
local maximum at (−0.270845, −0.923039))."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, newton_points


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return a * a + b * b


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return a * a + b * b, 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return 4.0 * a + 8.0 * x * x + 2.0, 4.0 * (x + y), 4.0 * b + 8.0 * y * y + 2.0


HIMMELBLAU = Landscape(
    name="himmelblau",
    title="Himmelblau",
    formula="f(x, y) = (x² + y − 11)² + (x + y² − 7)²",
    params=(),
    view=(-5.0, 5.0, -5.0, 5.0),
    start=(0.0, 0.0),
    description="Four equally deep minima: which one an optimizer reaches depends on "
    "the start point and its dynamics, not on the depth.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=newton_points(
        [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
        "min",
    ),
    saddles_fn=newton_points(
        [
            (3.385154, 0.073852),
            (-0.127961, -1.953715),
            (-3.073026, -0.081353),
            (0.086678, 2.884255),
        ],
        "saddle",
    ),
    f_star_fn=const(0.0),
)

REGISTER = (HIMMELBLAU,)
