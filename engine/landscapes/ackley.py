"""Ackley: f = a·(1 − exp(−b·q)) + (e − exp(½(cos cx + cos cy))), q = √(½(x² + y²)),
p = [a, b, c]. (The same as −a·exp(−b·q) − exp(…) + a + e, ordered to be exact at 0.)
Its cusp at the origin gets gradient 0 and the Hessian of the smooth cosine part. An
egg-crate: only its global minimum is listed."""

from __future__ import annotations

import math

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, fixed, spec

_E = math.e
_SQRT2 = math.sqrt(2.0)


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    a = p[0]
    b = p[1]
    c = p[2]
    q = math.hypot(x, y) / _SQRT2
    e2 = math.exp(0.5 * (math.cos(c * x) + math.cos(c * y)))
    return a * (1.0 - math.exp(-b * q)) + (_E - e2)


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = p[0]
    b = p[1]
    c = p[2]
    r = math.hypot(x, y)
    q = r / _SQRT2
    e1 = math.exp(-b * q)
    e2 = math.exp(0.5 * (math.cos(c * x) + math.cos(c * y)))
    f = a * (1.0 - e1) + (_E - e2)
    # ∇[−a·e1] = a·b·e1·∇q, ∇q = (x, y)/(2q) = (x, y)/(√2·r); 0 at the cusp r = 0.
    gx = 0.5 * c * e2 * math.sin(c * x)
    gy = 0.5 * c * e2 * math.sin(c * y)
    if r > 0.0:
        k = a * b * e1 / _SQRT2
        gx += k * (x / r)
        gy += k * (y / r)
    return f, gx, gy


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    a = p[0]
    b = p[1]
    c = p[2]
    cx = c * x
    cy = c * y
    sx = math.sin(cx)
    sy = math.sin(cy)
    e2 = math.exp(0.5 * (math.cos(cx) + math.cos(cy)))
    cc = c * c * e2
    hxx = 0.5 * cc * (math.cos(cx) - 0.5 * sx * sx)
    hyy = 0.5 * cc * (math.cos(cy) - 0.5 * sy * sy)
    hxy = -0.25 * cc * sx * sy
    r = math.hypot(x, y)
    if r > 1e-300:
        # Cone part −a·exp(−b·q): H = k·I − ½·a·b·e1·(b + 1/q)·u·uᵀ, k = ½·a·b·e1/q,
        # u = (x, y)/r.  It diverges like 1/r at the cusp; for r <= 1e-300 (where 1/q
        # would overflow) only the finite smooth part is used.
        q = r / _SQRT2
        e1 = math.exp(-b * q)
        k = 0.5 * a * b * e1 / q
        m = 0.5 * a * b * e1 * (b + 1.0 / q)
        ux = x / r
        uy = y / r
        hxx += k - m * ux * ux
        hxy -= m * ux * uy
        hyy += k - m * uy * uy
    return hxx, hxy, hyy


ACKLEY = Landscape(
    name="ackley",
    title="Ackley",
    formula="f(x, y) = −a·exp(−b·√(½(x² + y²))) − exp(½[cos(c·x) + cos(c·y)]) + a + e",
    params=(
        spec("a", 20.0, "depth of the central funnel", lo=0.0, hi=1e3),
        spec("b", 0.2, "steepness of the funnel", lo=0.0, hi=100.0),
        spec(
            "c", 2.0 * math.pi, "angular frequency of the ripples", lo=0.0, hi=100.0, lo_open=True
        ),
    ),
    view=(-5.0, 5.0, -5.0, 5.0),
    start=(3.3, -2.4),
    description="A nearly flat, rippled outer region around a sharp funnel: many local "
    "minima, and a non-differentiable cusp at the global minimum (gradient set to 0).",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=fixed([(0.0, 0.0)]),
    f_star_fn=const(0.0),
)

REGISTER = (ACKLEY,)
