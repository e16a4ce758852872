"""Lévi N.13: f = sin²(3πx) + (x − 1)²·(1 + sin²(3πy)) + (y − 1)²·(1 + sin²(2πy)).
An egg-crate: only its global minimum is listed."""

from __future__ import annotations

import math

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed

_PI = math.pi


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    s1 = math.sin(3.0 * _PI * x)
    s2 = math.sin(3.0 * _PI * y)
    s3 = math.sin(2.0 * _PI * y)
    xm = x - 1.0
    ym = y - 1.0
    return s1 * s1 + xm * xm * (1.0 + s2 * s2) + ym * ym * (1.0 + s3 * s3)


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    s1 = math.sin(3.0 * _PI * x)
    s2 = math.sin(3.0 * _PI * y)
    s3 = math.sin(2.0 * _PI * y)
    xm = x - 1.0
    ym = y - 1.0
    f = s1 * s1 + xm * xm * (1.0 + s2 * s2) + ym * ym * (1.0 + s3 * s3)
    # d/dt sin²(k·t) = k·sin(2k·t)
    gx = 3.0 * _PI * math.sin(6.0 * _PI * x) + 2.0 * xm * (1.0 + s2 * s2)
    gy = (
        xm * xm * 3.0 * _PI * math.sin(6.0 * _PI * y)
        + 2.0 * ym * (1.0 + s3 * s3)
        + ym * ym * 2.0 * _PI * math.sin(4.0 * _PI * y)
    )
    return f, gx, gy


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    s2 = math.sin(3.0 * _PI * y)
    s3 = math.sin(2.0 * _PI * y)
    xm = x - 1.0
    ym = y - 1.0
    # d²/dt² sin²(k·t) = 2k²·cos(2k·t)
    hxx = 18.0 * _PI * _PI * math.cos(6.0 * _PI * x) + 2.0 * (1.0 + s2 * s2)
    hxy = 6.0 * _PI * xm * math.sin(6.0 * _PI * y)
    hyy = (
        18.0 * _PI * _PI * xm * xm * math.cos(6.0 * _PI * y)
        + 2.0 * (1.0 + s3 * s3)
        + 8.0 * _PI * ym * math.sin(4.0 * _PI * y)
        + 8.0 * _PI * _PI * ym * ym * math.cos(4.0 * _PI * y)
    )
    return hxx, hxy, hyy


LEVI13 = Landscape(
    name="levi13",
    title="Lévi N.13",
    formula="f(x, y) = sin²(3πx) + (x − 1)²·[1 + sin²(3πy)] + (y − 1)²·[1 + sin²(2πy)]",
    params=(),
    view=(-3.0, 5.0, -3.0, 5.0),
    start=(-2.0, 3.5),
    description="Ripples of different frequency in x and y on top of a bowl: many local "
    "minima, the global one at (1, 1).",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(1.0, 1.0)]),
    f_star_fn=const(0.0),
)

REGISTER = (LEVI13,)
