"""Rastrigin: f = 2A + Σ (xᵢ² − A·cos 2πxᵢ), p = [A]. An egg-crate: only its global
minimum is listed."""

from __future__ import annotations

import math

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed, spec

_TWO_PI = 2.0 * math.pi


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    a = p[0]
    return 2.0 * a + x * x - a * math.cos(_TWO_PI * x) + y * y - a * math.cos(_TWO_PI * y)


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = p[0]
    cx = math.cos(_TWO_PI * x)
    cy = math.cos(_TWO_PI * y)
    f = 2.0 * a + x * x - a * cx + y * y - a * cy
    k = _TWO_PI * a
    return f, 2.0 * x + k * math.sin(_TWO_PI * x), 2.0 * y + k * math.sin(_TWO_PI * y)


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    k = _TWO_PI * _TWO_PI * p[0]
    return 2.0 + k * math.cos(_TWO_PI * x), 0.0, 2.0 + k * math.cos(_TWO_PI * y)


RASTRIGIN = Landscape(
    name="rastrigin",
    title="Rastrigin",
    formula="f(x, y) = 2A + [x² − A·cos(2πx)] + [y² − A·cos(2πy)]",
    params=(spec("A", 10.0, "amplitude of the cosine ripples", lo=0.0, hi=1e3),),
    view=(-5.12, 5.12, -5.12, 5.12),
    start=(3.2, 2.4),
    description="A parabola covered in a regular egg-crate of local minima: plain GD "
    "stops in the nearest dimple; only large or noisy steps hop between them.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(0.0, 0.0)]),
    f_star_fn=const(0.0),
)

REGISTER = (RASTRIGIN,)
