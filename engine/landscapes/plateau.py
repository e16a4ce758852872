"""Plateau: f = h·tanh(s), s = (x² + y²)/w², p = [h, w]. The kernels use
sech²(s) = 4e/(1 + e)², e = exp(−2s), accurate where 1 − tanh² would cancel."""

from __future__ import annotations

import math

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed, spec


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    iw2 = 1.0 / (p[1] * p[1])
    return p[0] * math.tanh((x * x + y * y) * iw2)


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    h = p[0]
    iw2 = 1.0 / (p[1] * p[1])
    s = (x * x + y * y) * iw2
    e = math.exp(-2.0 * s)
    sech2 = 4.0 * e / ((1.0 + e) * (1.0 + e))
    k = 2.0 * h * iw2 * sech2
    return h * math.tanh(s), k * x, k * y


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    h = p[0]
    iw2 = 1.0 / (p[1] * p[1])
    s = (x * x + y * y) * iw2
    e = math.exp(-2.0 * s)
    sech2 = 4.0 * e / ((1.0 + e) * (1.0 + e))
    t = math.tanh(s)
    # H = h·sech²(s)·[2/w²·I − 8·tanh(s)/w⁴·(x, y)(x, y)ᵀ]
    k = 2.0 * h * iw2 * sech2
    m = 8.0 * h * iw2 * iw2 * sech2 * t
    return k - m * x * x, -m * x * y, k - m * y * y


PLATEAU = Landscape(
    name="plateau",
    title="Plateau (saturating tanh)",
    formula="f(x, y) = h·tanh((x² + y²)/w²)",
    params=(
        spec("h", 1.0, "height of the plateau", lo=0.0, hi=1e6, lo_open=True),
        spec("w", 1.0, "width of the central well", lo=0.0, hi=1e3, lo_open=True),
    ),
    view=(-3.0, 3.0, -2.5, 2.5),
    start=(2.0, 1.5),
    description="Vanishing gradients: tanh saturates (d/ds tanh s = 1 − tanh² s, 0.0013 "
    "at s = 4), so far from the well the loss is a flat plateau at h where GD stalls.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(0.0, 0.0)]),
    f_star_fn=const(0.0),
)

REGISTER = (PLATEAU,)
