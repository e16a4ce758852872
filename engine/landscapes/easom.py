"""Easom: f = −cos x·cos y·exp(−[(x − π)² + (y − π)²]), one narrow well of depth −1 at
(π, π) in a plain where f ≈ 0 (ripples of height below e^(−π²) ≈ 5e−5). Only its
global minimum is listed (the plain's ripples hold a lattice of tiny ones)."""

from __future__ import annotations

import math

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed

_PI = math.pi


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    u = x - _PI
    v = y - _PI
    return -math.cos(x) * math.cos(y) * math.exp(-(u * u + v * v))


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    u = x - _PI
    v = y - _PI
    cx = math.cos(x)
    cy = math.cos(y)
    e = math.exp(-(u * u + v * v))
    f = -cx * cy * e
    return f, cy * e * (math.sin(x) + 2.0 * u * cx), cx * e * (math.sin(y) + 2.0 * v * cy)


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    u = x - _PI
    v = y - _PI
    cx = math.cos(x)
    cy = math.cos(y)
    sx = math.sin(x)
    sy = math.sin(y)
    e = math.exp(-(u * u + v * v))
    hxx = cy * e * (cx * (3.0 - 4.0 * u * u) - 4.0 * u * sx)
    hxy = -e * (sx + 2.0 * u * cx) * (sy + 2.0 * v * cy)
    hyy = cx * e * (cy * (3.0 - 4.0 * v * v) - 4.0 * v * sy)
    return hxx, hxy, hyy


EASOM = Landscape(
    name="easom",
    title="Easom (needle in a haystack)",
    formula="f(x, y) = −cos(x)·cos(y)·exp(−[(x − π)² + (y − π)²])",
    params=(),
    view=(-0.5, 6.5, -0.5, 6.5),
    start=(1.7, 1.9),
    description="One narrow well of depth −1 at (π, π) in a flat plain: from anywhere in "
    "the square (π/2, 3π/2)² around it the gradient leads in, slowly at first (|∇f| = 0.013 "
    "at the start); just outside the square, GD stalls in the plain's tiny dimples.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(math.pi, math.pi)]),
    f_star_fn=const(-1.0),
)

REGISTER = (EASOM,)
