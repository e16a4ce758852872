"""2-D loss landscapes: loss, analytic gradient and analytic Hessian as numba kernels.

Every landscape has an integer id ``lid`` (its position in ``LANDSCAPES``) and a packed
float64 parameter array ``p`` (``Landscape.pack``).  The numba dispatchers below take
``(lid, p, ...)``:

* ``landscape_fgh(lid, p, x0, x1, want_h) -> (f, gx, gy, hxx, hxy, hyy)``  loss,
  gradient and (when ``want_h``; else zeros) Hessian at ``(x0, x1)`` (the race kernel's)
* ``landscape_fg(lid, p, x, g) -> f``   loss at ``(x[0], x[1])``; gradient written to ``g``
* ``landscape_hess(lid, p, x, h)``      full symmetric 2x2 Hessian written to ``h``
* ``landscape_f(lid, p, x0, x1) -> f``  loss only
* ``landscape_grid(lid, p, x0, x1, nx, y0, y1, ny, out)``  loss on a grid, ``out[j, i]``

None of them allocates or raises: huge inputs overflow to inf/NaN, an unknown ``lid``
gives NaN, and singular points get finite values (Ackley at the origin: gradient 0 and
the Hessian of its smooth cosine part).

Speed and compile time: the per-landscape helpers return tuples and are inlined into
the dispatchers at the numba-IR level (``jit_inline``: small functions, one call site
each, no compilation of their own), so the dispatchers contain no calls (bar libm) and
therefore no NRT reference counting of their array arguments. ``landscape_fgh`` is
``jit_hot``: compiled once and inlined by LLVM into the race kernel, where it returns
its results in registers; ``landscape_fg`` and ``landscape_hess`` wrap it (one
dispatcher to type and lower for the gradient and the Hessian: the race's Newton steps
get their Hessian from the same call as the gradient). (Each helper compiled as a
function of its own cost ~0.15 s of cold compile, 54 of them ~8 s.)
``tests/test_landscapes.py`` checks the compiled dispatchers for calls.

Landscapes (``f`` with ``(x, y)`` the position; parameters in brackets):

 0. quadratic         f = f₀ + ½·(λ₁·u² + λ₂·v²),  (u, v) = R(−θ)·(x − cx, y − cy)
                      i.e. f₀ + ½·(p − c)ᵀ A (p − c), A = R(θ)·diag(λ₁, λ₂)·R(θ)ᵀ, θ in degrees
                      [lambda1=2, lambda2=100, angle=0, cx=0, cy=0, f0=0]  (= x² + 50·y²)
 1. quadratic_matrix  f = f₀ + ½·[a₁₁·dx² + 2·a₁₂·dx·dy + a₂₂·dy²],  dx = x − cx, dy = y − cy
                      [a11=1/2, a12=−1/6, a22=2/9, cx=3, cy=4, f0=0.05]
                      (= 0.05 + (x−3)²/4 + (y−4)²/9 − (x−3)(y−4)/6)
 2. rosenbrock        f = (a − x)² + b·(y − x²)²                     [a=1, b=100]
 3. beale             f = (1.5 − x + x·y)² + (2.25 − x + x·y²)² + (2.625 − x + x·y³)²
 4. himmelblau        f = (x² + y − 11)² + (x + y² − 7)²
 5. rastrigin         f = 2A + (x² − A·cos 2πx) + (y² − A·cos 2πy)  [A=10]
 6. ackley            f = −a·exp(−b·√(½(x² + y²))) − exp(½(cos c·x + cos c·y)) + a + e
                      [a=20, b=0.2, c=2π]
 7. booth             f = (x + 2y − 7)² + (2x + y − 5)²
 8. matyas            f = 0.26·(x² + y²) − 0.48·x·y
 9. goldstein_price   f = [1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]
                        · [30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]
10. six_hump_camel    f = (4 − 2.1x² + x⁴/3)·x² + x·y + (−4 + 4y²)·y²
11. three_hump_camel  f = 2x² − 1.05x⁴ + x⁶/6 + x·y + y²
12. styblinski_tang   f = ½·[(x⁴ − 16x² + 5x) + (y⁴ − 16y² + 5y)]
13. levi13            f = sin²(3πx) + (x − 1)²·(1 + sin²(3πy)) + (y − 1)²·(1 + sin²(2πy))
14. saddle            f = a·x² − b·y²                                 [a=1, b=1]
15. monkey_saddle     f = x³ − 3·x·y²
16. plateau           f = h·tanh((x² + y²)/w²)                        [h=1, w=1]
17. gaussian_wells    f = bowl·(x² + y²) − Σₖ dₖ·exp(−((x − xₖ)² + (y − yₖ)²)/(2·wₖ²))
                      [bowl=0.05, wells=[[xₖ, yₖ, dₖ, wₖ], ...]]

Minima and saddles that are only known numerically are refined at call time with Newton
iterations on the analytic gradient and Hessian, so they are exact to machine precision
for the given parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from engine.jit import jit, jit_hot, jit_inline, optimize_for_size
from engine.params import ParamSpec
from engine.params import resolve as resolve_params

Point = tuple[float, float]

# Landscape ids (position in LANDSCAPES).  Module-level ints are compile-time constants
# for numba.
QUADRATIC = 0
QUADRATIC_MATRIX = 1
ROSENBROCK = 2
BEALE = 3
HIMMELBLAU = 4
RASTRIGIN = 5
ACKLEY = 6
BOOTH = 7
MATYAS = 8
GOLDSTEIN_PRICE = 9
SIX_HUMP_CAMEL = 10
THREE_HUMP_CAMEL = 11
STYBLINSKI_TANG = 12
LEVI13 = 13
SADDLE = 14
MONKEY_SADDLE = 15
PLATEAU = 16
GAUSSIAN_WELLS = 17

_PI = math.pi
_TWO_PI = 2.0 * math.pi
_E = math.e
_SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------------------------------
# Per-landscape math.  *_f returns f; *_fg returns (f, ∂f/∂x, ∂f/∂y); *_h returns
# (∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²).  Tuples are returned in registers (no allocation).
# *_f and *_fg compute f with the same expression (the same bits): the race evaluates
# random search's losses with landscape_fg, the references with landscape_f.
# ---------------------------------------------------------------------------------------


# Quadratic form f = f0 + ½·[a11·dx² + 2·a12·dx·dy + a22·dy²] (shared by both quadratics).
@jit_inline
def _qform_f(a11, a12, a22, cx, cy, f0, x, y):
    dx = x - cx
    dy = y - cy
    return f0 + 0.5 * (a11 * dx * dx + 2.0 * a12 * dx * dy + a22 * dy * dy)


@jit_inline
def _qform_fg(a11, a12, a22, cx, cy, f0, x, y):
    dx = x - cx
    dy = y - cy
    gx = a11 * dx + a12 * dy
    gy = a12 * dx + a22 * dy
    return f0 + 0.5 * (a11 * dx * dx + 2.0 * a12 * dx * dy + a22 * dy * dy), gx, gy


# quadratic: p = [lambda1, lambda2, angle, cx, cy, f0, a11, a12, a22] (last 3 derived).
@jit_inline
def _quadratic_f(p, x, y):
    return _qform_f(p[6], p[7], p[8], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_fg(p, x, y):
    return _qform_fg(p[6], p[7], p[8], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_h(p, x, y):
    return p[6], p[7], p[8]


# quadratic_matrix: p = [a11, a12, a22, cx, cy, f0].
@jit_inline
def _quadratic_matrix_f(p, x, y):
    return _qform_f(p[0], p[1], p[2], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_matrix_fg(p, x, y):
    return _qform_fg(p[0], p[1], p[2], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_matrix_h(p, x, y):
    return p[0], p[1], p[2]


# rosenbrock: f = (a − x)² + b·(y − x²)², p = [a, b].
@jit_inline
def _rosenbrock_f(p, x, y):
    u = p[0] - x
    v = y - x * x
    return u * u + p[1] * v * v


@jit_inline
def _rosenbrock_fg(p, x, y):
    a = p[0]
    b = p[1]
    u = a - x
    v = y - x * x
    bv = b * v
    return u * u + bv * v, -2.0 * u - 4.0 * x * bv, 2.0 * bv


@jit_inline
def _rosenbrock_h(p, x, y):
    b = p[1]
    return 2.0 - 4.0 * b * (y - x * x) + 8.0 * b * x * x, -4.0 * b * x, 2.0 * b


# beale: f = Σ_k (c_k − x + x·y^k)², c = (1.5, 2.25, 2.625).
@jit_inline
def _beale_f(p, x, y):
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    return t1 * t1 + t2 * t2 + t3 * t3


@jit_inline
def _beale_fg(p, x, y):
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    f = t1 * t1 + t2 * t2 + t3 * t3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    return f, gx, gy


@jit_inline
def _beale_h(p, x, y):
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    # t_x = y^k − 1, t_y = k·x·y^(k−1), t_xx = 0, t_xy = k·y^(k−1), t_yy = k(k−1)·x·y^(k−2)
    a1 = y - 1.0
    a2 = y2 - 1.0
    a3 = y3 - 1.0
    b1 = x
    b2 = 2.0 * x * y
    b3 = 3.0 * x * y2
    hxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
    hxy = 2.0 * (a1 * b1 + t1 + a2 * b2 + t2 * 2.0 * y + a3 * b3 + t3 * 3.0 * y2)
    hyy = 2.0 * (b1 * b1 + b2 * b2 + t2 * 2.0 * x + b3 * b3 + t3 * 6.0 * x * y)
    return hxx, hxy, hyy


# himmelblau: f = (x² + y − 11)² + (x + y² − 7)².
@jit_inline
def _himmelblau_f(p, x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return a * a + b * b


@jit_inline
def _himmelblau_fg(p, x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return a * a + b * b, 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b


@jit_inline
def _himmelblau_h(p, x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return 4.0 * a + 8.0 * x * x + 2.0, 4.0 * (x + y), 4.0 * b + 8.0 * y * y + 2.0


# rastrigin: f = 2A + Σ (xᵢ² − A·cos 2πxᵢ), p = [A].
@jit_inline
def _rastrigin_f(p, x, y):
    a = p[0]
    return 2.0 * a + x * x - a * math.cos(_TWO_PI * x) + y * y - a * math.cos(_TWO_PI * y)


@jit_inline
def _rastrigin_fg(p, x, y):
    a = p[0]
    cx = math.cos(_TWO_PI * x)
    cy = math.cos(_TWO_PI * y)
    f = 2.0 * a + x * x - a * cx + y * y - a * cy
    k = _TWO_PI * a
    return f, 2.0 * x + k * math.sin(_TWO_PI * x), 2.0 * y + k * math.sin(_TWO_PI * y)


@jit_inline
def _rastrigin_h(p, x, y):
    k = _TWO_PI * _TWO_PI * p[0]
    return 2.0 + k * math.cos(_TWO_PI * x), 0.0, 2.0 + k * math.cos(_TWO_PI * y)


# ackley: f = a·(1 − exp(−b·q)) + (e − exp(½(cos cx + cos cy))), q = √(½(x² + y²)),
# p = [a, b, c].  (Same as −a·exp(−b·q) − exp(…) + a + e, ordered to be exact at 0.)
@jit_inline
def _ackley_f(p, x, y):
    a = p[0]
    b = p[1]
    c = p[2]
    q = math.hypot(x, y) / _SQRT2
    e2 = math.exp(0.5 * (math.cos(c * x) + math.cos(c * y)))
    return a * (1.0 - math.exp(-b * q)) + (_E - e2)


@jit_inline
def _ackley_fg(p, x, y):
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
def _ackley_h(p, x, y):
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


# booth: f = (x + 2y − 7)² + (2x + y − 5)².
@jit_inline
def _booth_f(p, x, y):
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    return a * a + b * b


@jit_inline
def _booth_fg(p, x, y):
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    return a * a + b * b, 2.0 * a + 4.0 * b, 4.0 * a + 2.0 * b


@jit_inline
def _booth_h(p, x, y):
    return 10.0, 8.0, 10.0


# matyas: f = 0.26·(x² + y²) − 0.48·x·y.
@jit_inline
def _matyas_f(p, x, y):
    return 0.26 * (x * x + y * y) - 0.48 * x * y


@jit_inline
def _matyas_fg(p, x, y):
    return 0.26 * (x * x + y * y) - 0.48 * x * y, 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


@jit_inline
def _matyas_h(p, x, y):
    return 0.52, -0.48, 0.52


# goldstein_price: f = A·B, A = 1 + u²·P, B = 30 + v²·Q, u = x + y + 1, v = 2x − 3y,
# P = 19 − 14x + 3x² − 14y + 6xy + 3y², Q = 18 − 32x + 12x² + 48y − 36xy + 27y².
@jit_inline
def _goldstein_price_f(p, x, y):
    u = x + y + 1.0
    v = 2.0 * x - 3.0 * y
    pp = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    qq = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    return (1.0 + u * u * pp) * (30.0 + v * v * qq)


@jit_inline
def _goldstein_price_fg(p, x, y):
    u = x + y + 1.0
    v = 2.0 * x - 3.0 * y
    pp = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    qq = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    px = -14.0 + 6.0 * x + 6.0 * y  # = P_y
    qx = -32.0 + 24.0 * x - 36.0 * y
    qy = 48.0 - 36.0 * x + 54.0 * y
    aa = 1.0 + u * u * pp
    bb = 30.0 + v * v * qq
    ax = 2.0 * u * pp + u * u * px  # = A_y
    bx = 4.0 * v * qq + v * v * qx
    by = -6.0 * v * qq + v * v * qy
    return aa * bb, ax * bb + aa * bx, ax * bb + aa * by


@jit_inline
def _gp_a(x, y):
    """A = 1 + u²·P with its derivatives (A_x = A_y, A_xx = A_xy = A_yy since u_x = u_y)."""
    u = x + y + 1.0
    pp = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    px = -14.0 + 6.0 * x + 6.0 * y  # = P_y; P_xx = P_xy = P_yy = 6
    return 1.0 + u * u * pp, 2.0 * u * pp + u * u * px, 2.0 * pp + 4.0 * u * px + 6.0 * u * u


@jit_inline
def _gp_b(x, y):
    """B = 30 + v²·Q with its first and second derivatives (v_x = 2, v_y = −3):
    B_ij = 2·v_i·v_j·Q + 2v·(v_i·Q_j + v_j·Q_i) + v²·Q_ij."""
    v = 2.0 * x - 3.0 * y
    qq = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    qx = -32.0 + 24.0 * x - 36.0 * y  # Q_xx = 24, Q_xy = −36, Q_yy = 54
    qy = 48.0 - 36.0 * x + 54.0 * y
    v2 = v * v
    bb = 30.0 + v2 * qq
    bx = 4.0 * v * qq + v2 * qx
    by = -6.0 * v * qq + v2 * qy
    bxx = 8.0 * qq + 8.0 * v * qx + 24.0 * v2
    bxy = -12.0 * qq + 2.0 * v * (2.0 * qy - 3.0 * qx) - 36.0 * v2
    byy = 18.0 * qq - 12.0 * v * qy + 54.0 * v2
    return bb, bx, by, bxx, bxy, byy


@jit_inline
def _goldstein_price_h(a, b):
    """Hessian of A·B from ``a = _gp_a(x, y)`` and ``b = _gp_b(x, y)`` (three small
    helpers, because one big one is not inlined into the dispatcher)."""
    aa, ax, axx = a
    bb, bx, by, bxx, bxy, byy = b
    hxx = axx * bb + 2.0 * ax * bx + aa * bxx
    hxy = axx * bb + ax * (bx + by) + aa * bxy
    hyy = axx * bb + 2.0 * ax * by + aa * byy
    return hxx, hxy, hyy


# six_hump_camel: f = 4x² − 2.1x⁴ + x⁶/3 + xy − 4y² + 4y⁴.
@jit_inline
def _six_hump_camel_f(p, x, y):
    x2 = x * x
    y2 = y * y
    return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2


@jit_inline
def _six_hump_camel_fg(p, x, y):
    x2 = x * x
    y2 = y * y
    f = (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2
    gx = x * (8.0 - 8.4 * x2 + 2.0 * x2 * x2) + y
    gy = x + y * (-8.0 + 16.0 * y2)
    return f, gx, gy


@jit_inline
def _six_hump_camel_h(p, x, y):
    x2 = x * x
    return 8.0 - 25.2 * x2 + 10.0 * x2 * x2, 1.0, -8.0 + 48.0 * y * y


# three_hump_camel: f = 2x² − 1.05x⁴ + x⁶/6 + xy + y².
@jit_inline
def _three_hump_camel_f(p, x, y):
    x2 = x * x
    return x2 * (2.0 - 1.05 * x2 + x2 * x2 / 6.0) + x * y + y * y


@jit_inline
def _three_hump_camel_fg(p, x, y):
    x2 = x * x
    f = x2 * (2.0 - 1.05 * x2 + x2 * x2 / 6.0) + x * y + y * y
    return f, x * (4.0 - 4.2 * x2 + x2 * x2) + y, x + 2.0 * y


@jit_inline
def _three_hump_camel_h(p, x, y):
    x2 = x * x
    return 4.0 - 12.6 * x2 + 5.0 * x2 * x2, 1.0, 2.0


# styblinski_tang: f = ½·Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ).
@jit_inline
def _styblinski_tang_f(p, x, y):
    x2 = x * x
    y2 = y * y
    return 0.5 * ((x2 * x2 - 16.0 * x2 + 5.0 * x) + (y2 * y2 - 16.0 * y2 + 5.0 * y))


@jit_inline
def _styblinski_tang_fg(p, x, y):
    x2 = x * x
    y2 = y * y
    f = 0.5 * ((x2 * x2 - 16.0 * x2 + 5.0 * x) + (y2 * y2 - 16.0 * y2 + 5.0 * y))
    return f, x * (2.0 * x2 - 16.0) + 2.5, y * (2.0 * y2 - 16.0) + 2.5


@jit_inline
def _styblinski_tang_h(p, x, y):
    return 6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0


# levi13: f = sin²(3πx) + (x − 1)²·(1 + sin²(3πy)) + (y − 1)²·(1 + sin²(2πy)).
@jit_inline
def _levi13_f(p, x, y):
    s1 = math.sin(3.0 * _PI * x)
    s2 = math.sin(3.0 * _PI * y)
    s3 = math.sin(2.0 * _PI * y)
    xm = x - 1.0
    ym = y - 1.0
    return s1 * s1 + xm * xm * (1.0 + s2 * s2) + ym * ym * (1.0 + s3 * s3)


@jit_inline
def _levi13_fg(p, x, y):
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
def _levi13_h(p, x, y):
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


# saddle: f = a·x² − b·y², p = [a, b].
@jit_inline
def _saddle_f(p, x, y):
    return p[0] * x * x - p[1] * y * y


@jit_inline
def _saddle_fg(p, x, y):
    a = p[0]
    b = p[1]
    return a * x * x - b * y * y, 2.0 * a * x, -2.0 * b * y


@jit_inline
def _saddle_h(p, x, y):
    return 2.0 * p[0], 0.0, -2.0 * p[1]


# monkey_saddle: f = x³ − 3xy².
@jit_inline
def _monkey_saddle_f(p, x, y):
    return x * (x * x - 3.0 * y * y)


@jit_inline
def _monkey_saddle_fg(p, x, y):
    return x * (x * x - 3.0 * y * y), 3.0 * (x * x - y * y), -6.0 * x * y


@jit_inline
def _monkey_saddle_h(p, x, y):
    return 6.0 * x, -6.0 * y, -6.0 * x


# plateau: f = h·tanh(s), s = (x² + y²)/w², p = [h, w].  sech²(s) = 4e/(1 + e)², e = exp(−2s),
# is accurate where 1 − tanh² would cancel.
@jit_inline
def _plateau_f(p, x, y):
    iw2 = 1.0 / (p[1] * p[1])
    return p[0] * math.tanh((x * x + y * y) * iw2)


@jit_inline
def _plateau_fg(p, x, y):
    h = p[0]
    iw2 = 1.0 / (p[1] * p[1])
    s = (x * x + y * y) * iw2
    e = math.exp(-2.0 * s)
    sech2 = 4.0 * e / ((1.0 + e) * (1.0 + e))
    k = 2.0 * h * iw2 * sech2
    return h * math.tanh(s), k * x, k * y


@jit_inline
def _plateau_h(p, x, y):
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


# gaussian_wells: f = bowl·(x² + y²) − Σₖ dₖ·exp(−rₖ²/(2wₖ²)),
# p = [bowl, n, x₁, y₁, d₁, w₁, x₂, ...].  The helpers give one well's term at p[o:o+4];
# the loop over wells sits in the dispatchers.
@jit_inline
def _well_f(p, o, x, y):
    dx = x - p[o]
    dy = y - p[o + 1]
    w = p[o + 3]
    iw2 = 1.0 / (w * w)
    return p[o + 2] * math.exp(-0.5 * (dx * dx + dy * dy) * iw2)


@jit_inline
def _well_fg(p, o, x, y):
    # (dₖ·eₖ, gradient of −dₖ·eₖ): f −= the first, ∇f += the other two.
    dx = x - p[o]
    dy = y - p[o + 1]
    w = p[o + 3]
    iw2 = 1.0 / (w * w)
    de = p[o + 2] * math.exp(-0.5 * (dx * dx + dy * dy) * iw2)
    return de, de * iw2 * dx, de * iw2 * dy


@jit_inline
def _well_h(p, o, x, y):
    dx = x - p[o]
    dy = y - p[o + 1]
    w = p[o + 3]
    iw2 = 1.0 / (w * w)
    dei = p[o + 2] * math.exp(-0.5 * (dx * dx + dy * dy) * iw2) * iw2
    return dei * (1.0 - dx * dx * iw2), -dei * dx * dy * iw2, dei * (1.0 - dy * dy * iw2)


# ---------------------------------------------------------------------------------------
# Dispatchers (the public numba API)
# ---------------------------------------------------------------------------------------


@jit_inline
def landscape_f(lid: int, p: np.ndarray, x0: float, x1: float) -> float:
    """Loss of landscape ``lid`` with packed parameters ``p`` at ``(x0, x1)``.

    Returns NaN for an unknown ``lid``.
    """
    if lid == QUADRATIC:
        f = _quadratic_f(p, x0, x1)
    elif lid == QUADRATIC_MATRIX:
        f = _quadratic_matrix_f(p, x0, x1)
    elif lid == ROSENBROCK:
        f = _rosenbrock_f(p, x0, x1)
    elif lid == BEALE:
        f = _beale_f(p, x0, x1)
    elif lid == HIMMELBLAU:
        f = _himmelblau_f(p, x0, x1)
    elif lid == RASTRIGIN:
        f = _rastrigin_f(p, x0, x1)
    elif lid == ACKLEY:
        f = _ackley_f(p, x0, x1)
    elif lid == BOOTH:
        f = _booth_f(p, x0, x1)
    elif lid == MATYAS:
        f = _matyas_f(p, x0, x1)
    elif lid == GOLDSTEIN_PRICE:
        f = _goldstein_price_f(p, x0, x1)
    elif lid == SIX_HUMP_CAMEL:
        f = _six_hump_camel_f(p, x0, x1)
    elif lid == THREE_HUMP_CAMEL:
        f = _three_hump_camel_f(p, x0, x1)
    elif lid == STYBLINSKI_TANG:
        f = _styblinski_tang_f(p, x0, x1)
    elif lid == LEVI13:
        f = _levi13_f(p, x0, x1)
    elif lid == SADDLE:
        f = _saddle_f(p, x0, x1)
    elif lid == MONKEY_SADDLE:
        f = _monkey_saddle_f(p, x0, x1)
    elif lid == PLATEAU:
        f = _plateau_f(p, x0, x1)
    elif lid == GAUSSIAN_WELLS:
        f = p[0] * (x0 * x0 + x1 * x1)
        for k in range(np.int64(p[1])):
            f -= _well_f(p, 2 + 4 * k, x0, x1)
    else:
        f = math.nan
    return f


@jit_hot
def landscape_fgh(
    lid: int, p: np.ndarray, x0: float, x1: float, want_h: bool
) -> tuple[float, float, float, float, float, float]:
    """``(f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)`` of landscape ``lid`` at ``(x0, x1)``.

    The Hessian entries are computed only when ``want_h`` (else they are 0.0). An
    unknown ``lid`` gives NaN everywhere. The one dispatcher of the race kernel: one
    call site there evaluates the loss, the gradient and (newton) the Hessian; the
    array forms :func:`landscape_fg` and :func:`landscape_hess` wrap it.
    """
    # its callers inline it and optimise it for speed there; its own copy, for size
    optimize_for_size()
    if lid == QUADRATIC:
        f, gx, gy = _quadratic_fg(p, x0, x1)
    elif lid == QUADRATIC_MATRIX:
        f, gx, gy = _quadratic_matrix_fg(p, x0, x1)
    elif lid == ROSENBROCK:
        f, gx, gy = _rosenbrock_fg(p, x0, x1)
    elif lid == BEALE:
        f, gx, gy = _beale_fg(p, x0, x1)
    elif lid == HIMMELBLAU:
        f, gx, gy = _himmelblau_fg(p, x0, x1)
    elif lid == RASTRIGIN:
        f, gx, gy = _rastrigin_fg(p, x0, x1)
    elif lid == ACKLEY:
        f, gx, gy = _ackley_fg(p, x0, x1)
    elif lid == BOOTH:
        f, gx, gy = _booth_fg(p, x0, x1)
    elif lid == MATYAS:
        f, gx, gy = _matyas_fg(p, x0, x1)
    elif lid == GOLDSTEIN_PRICE:
        f, gx, gy = _goldstein_price_fg(p, x0, x1)
    elif lid == SIX_HUMP_CAMEL:
        f, gx, gy = _six_hump_camel_fg(p, x0, x1)
    elif lid == THREE_HUMP_CAMEL:
        f, gx, gy = _three_hump_camel_fg(p, x0, x1)
    elif lid == STYBLINSKI_TANG:
        f, gx, gy = _styblinski_tang_fg(p, x0, x1)
    elif lid == LEVI13:
        f, gx, gy = _levi13_fg(p, x0, x1)
    elif lid == SADDLE:
        f, gx, gy = _saddle_fg(p, x0, x1)
    elif lid == MONKEY_SADDLE:
        f, gx, gy = _monkey_saddle_fg(p, x0, x1)
    elif lid == PLATEAU:
        f, gx, gy = _plateau_fg(p, x0, x1)
    elif lid == GAUSSIAN_WELLS:
        bowl = p[0]
        f = bowl * (x0 * x0 + x1 * x1)
        gx = 2.0 * bowl * x0
        gy = 2.0 * bowl * x1
        for k in range(np.int64(p[1])):
            de, dgx, dgy = _well_fg(p, 2 + 4 * k, x0, x1)
            f -= de
            gx += dgx
            gy += dgy
    else:
        f = math.nan
        gx = math.nan
        gy = math.nan
    hxx = 0.0
    hxy = 0.0
    hyy = 0.0
    if want_h:
        if lid == QUADRATIC:
            hxx, hxy, hyy = _quadratic_h(p, x0, x1)
        elif lid == QUADRATIC_MATRIX:
            hxx, hxy, hyy = _quadratic_matrix_h(p, x0, x1)
        elif lid == ROSENBROCK:
            hxx, hxy, hyy = _rosenbrock_h(p, x0, x1)
        elif lid == BEALE:
            hxx, hxy, hyy = _beale_h(p, x0, x1)
        elif lid == HIMMELBLAU:
            hxx, hxy, hyy = _himmelblau_h(p, x0, x1)
        elif lid == RASTRIGIN:
            hxx, hxy, hyy = _rastrigin_h(p, x0, x1)
        elif lid == ACKLEY:
            hxx, hxy, hyy = _ackley_h(p, x0, x1)
        elif lid == BOOTH:
            hxx, hxy, hyy = _booth_h(p, x0, x1)
        elif lid == MATYAS:
            hxx, hxy, hyy = _matyas_h(p, x0, x1)
        elif lid == GOLDSTEIN_PRICE:
            hxx, hxy, hyy = _goldstein_price_h(_gp_a(x0, x1), _gp_b(x0, x1))
        elif lid == SIX_HUMP_CAMEL:
            hxx, hxy, hyy = _six_hump_camel_h(p, x0, x1)
        elif lid == THREE_HUMP_CAMEL:
            hxx, hxy, hyy = _three_hump_camel_h(p, x0, x1)
        elif lid == STYBLINSKI_TANG:
            hxx, hxy, hyy = _styblinski_tang_h(p, x0, x1)
        elif lid == LEVI13:
            hxx, hxy, hyy = _levi13_h(p, x0, x1)
        elif lid == SADDLE:
            hxx, hxy, hyy = _saddle_h(p, x0, x1)
        elif lid == MONKEY_SADDLE:
            hxx, hxy, hyy = _monkey_saddle_h(p, x0, x1)
        elif lid == PLATEAU:
            hxx, hxy, hyy = _plateau_h(p, x0, x1)
        elif lid == GAUSSIAN_WELLS:
            hxx = 2.0 * p[0]
            hxy = 0.0
            hyy = hxx
            for k in range(np.int64(p[1])):
                dxx, dxy, dyy = _well_h(p, 2 + 4 * k, x0, x1)
                hxx += dxx
                hxy += dxy
                hyy += dyy
        else:
            hxx = math.nan
            hxy = math.nan
            hyy = math.nan
    return f, gx, gy, hxx, hxy, hyy


@jit_hot
def landscape_fg(lid: int, p: np.ndarray, x: np.ndarray, g: np.ndarray) -> float:
    """Loss of landscape ``lid`` at ``(x[0], x[1])``; writes the gradient into ``g[0:2]``.

    An unknown ``lid`` gives NaN loss and gradient.
    """
    # np.bool_: not the literal False, for which numba would compile landscape_fgh again
    f, gx, gy, _, _, _ = landscape_fgh(lid, p, x[0], x[1], np.bool_(False))
    g[0] = gx
    g[1] = gy
    return f


@jit
def landscape_hess(lid: int, p: np.ndarray, x: np.ndarray, h: np.ndarray) -> None:
    """Write the symmetric 2x2 Hessian of landscape ``lid`` at ``(x[0], x[1])`` into ``h``.

    An unknown ``lid`` gives NaN entries.
    """
    _, _, _, hxx, hxy, hyy = landscape_fgh(lid, p, x[0], x[1], np.bool_(True))
    h[0, 0] = hxx
    h[0, 1] = hxy
    h[1, 0] = hxy
    h[1, 1] = hyy


@jit
def landscape_grid(
    lid: int,
    p: np.ndarray,
    x0: float,
    x1: float,
    nx: int,
    y0: float,
    y1: float,
    ny: int,
    out: np.ndarray,
) -> None:
    """Fill ``out[j, i] = f(x0 + i·(x1 − x0)/(nx − 1), y0 + j·(y1 − y0)/(ny − 1))``.

    ``out`` has shape ``(ny, nx)``; with ``nx == 1`` (``ny == 1``) the column (row) is at
    ``x0`` (``y0``).
    """
    dx = (x1 - x0) / (nx - 1) if nx > 1 else 0.0
    dy = (y1 - y0) / (ny - 1) if ny > 1 else 0.0
    for j in range(ny):
        y = y0 + j * dy
        for i in range(nx):
            out[j, i] = landscape_f(lid, p, x0 + i * dx, y)


# ---------------------------------------------------------------------------------------
# Python side: critical points by Newton refinement
# ---------------------------------------------------------------------------------------


def _fgh(lid: int, p: np.ndarray, x: float, y: float) -> tuple[float, np.ndarray, np.ndarray]:
    xv = np.array([x, y])
    g = np.empty(2)
    h = np.empty((2, 2))
    f = landscape_fg(lid, p, xv, g)
    landscape_hess(lid, p, xv, h)
    return float(f), g, h


def _newton(lid: int, p: np.ndarray, x: float, y: float, iters: int = 40) -> Point | None:
    """Pure Newton iteration on ∇f = 0 from ``(x, y)``; None if it does not converge."""
    polish = 0
    for _ in range(iters):
        _, g, h = _fgh(lid, p, x, y)
        # scaled by a power of two (exact) so that det cannot underflow where f is nearly
        # flat (a Gaussian's far tail): there a subnormal det faked convergence
        top = float(np.max(np.abs(h)))
        if not (math.isfinite(top) and top > 0.0 and np.all(np.isfinite(g))):
            return None
        k = -math.frexp(top)[1]
        h00, h01 = math.ldexp(h[0, 0], k), math.ldexp(h[0, 1], k)
        h10, h11 = math.ldexp(h[1, 0], k), math.ldexp(h[1, 1], k)
        try:
            g0, g1 = math.ldexp(g[0], k), math.ldexp(g[1], k)
        except OverflowError:  # a huge gradient where f is flat: a step to nowhere
            return None
        det = h00 * h11 - h01 * h10
        if not (math.isfinite(det) and det != 0.0):
            return None
        dx = (h11 * g0 - h01 * g1) / det
        dy = (h00 * g1 - h10 * g0) / det
        x -= dx
        y -= dy
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > 1e8:
            return None
        if max(abs(dx), abs(dy)) <= 1e-11 * max(1.0, abs(x), abs(y)):
            polish += 1  # quadratic convergence: one or two more steps reach round-off
            if polish >= 2:
                return (float(x), float(y))
    return None


def _descend(lid: int, p: np.ndarray, x: float, y: float, iters: int = 200) -> Point | None:
    """Damped Newton with a positive-definite-modified Hessian and Armijo backtracking:
    goes downhill into the basin of ``(x, y)``, then polishes with pure Newton."""
    f, g, h = _fgh(lid, p, x, y)
    for _ in range(iters):
        lam, vec = np.linalg.eigh(h)
        scale = max(1e-300, float(np.max(np.abs(lam))))
        lam = np.maximum(np.abs(lam), 1e-6 * scale)
        step = -(vec @ ((vec.T @ g) / lam))
        slope = float(g @ step)
        if not math.isfinite(slope) or slope >= 0.0:
            break
        t = 1.0
        for _ in range(60):
            fn = landscape_f(lid, p, x + t * step[0], y + t * step[1])
            if fn <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        x += t * step[0]
        y += t * step[1]
        f, g, h = _fgh(lid, p, x, y)
        if t == 1.0 and float(np.max(np.abs(step))) < 1e-8 * max(1.0, abs(x), abs(y)):
            break
    return _newton(lid, p, x, y)


def _classify(lid: int, p: np.ndarray, pt: Point) -> str:
    """'min', 'max', 'saddle' or 'degenerate' from the Hessian eigenvalues at ``pt``."""
    _, _, h = _fgh(lid, p, pt[0], pt[1])
    if not np.all(np.isfinite(h)):
        return "degenerate"
    lam = np.linalg.eigvalsh(h)
    tol = 1e-9 * max(1e-300, float(np.max(np.abs(lam))))
    if lam[0] > tol:
        return "min"
    if lam[1] < -tol:
        return "max"
    if lam[0] < -tol and lam[1] > tol:
        return "saddle"
    return "degenerate"


def _dedupe(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for pt in points:
        tol = 1e-7 * max(1.0, abs(pt[0]), abs(pt[1]))
        if all(abs(pt[0] - q[0]) > tol or abs(pt[1] - q[1]) > tol for q in out):
            out.append(pt)
    return out


def _refine(lid: int, p: np.ndarray, guesses: list[Point], kind: str) -> list[Point]:
    """Newton-refine rough ``guesses``; keep converged points of the given ``kind``."""
    out = []
    for gx, gy in guesses:
        pt = _newton(lid, p, gx, gy)
        if pt is not None and _classify(lid, p, pt) == kind:
            out.append(pt)
    return _dedupe(out)


def _by_value(lid: int, p: np.ndarray, points: list[Point]) -> list[Point]:
    """Sort by loss (lowest first); ties keep their given order."""
    return sorted(points, key=lambda q: landscape_f(lid, p, q[0], q[1]))


def _scan_critical(
    lid: int, p: np.ndarray, box: tuple[float, float, float, float], n: int = 161
) -> tuple[list[Point], list[Point]]:
    """All minima and saddles found from a grid scan of ``box``: grid local minima of f
    seed a descent, grid local minima of |∇f|² (finite differences) seed pure Newton."""
    xmin, xmax, ymin, ymax = box
    grid = np.empty((n, n))
    landscape_grid(lid, p, xmin, xmax, n, ymin, ymax, n, grid)
    xs = np.linspace(xmin, xmax, n)
    ys = np.linspace(ymin, ymax, n)
    gy_, gx_ = np.gradient(grid, ys, xs)
    g2 = gx_ * gx_ + gy_ * gy_

    def local_minima(a: np.ndarray) -> list[tuple[int, int]]:
        c = a[1:-1, 1:-1]
        mask = np.ones_like(c, dtype=bool)
        for dj in (-1, 0, 1):
            for di in (-1, 0, 1):
                if dj or di:
                    mask &= c <= a[1 + dj : n - 1 + dj, 1 + di : n - 1 + di]
        js, is_ = np.nonzero(mask)
        return [(int(j) + 1, int(i) + 1) for j, i in zip(js, is_, strict=True)]

    minima: list[Point] = []
    saddles: list[Point] = []
    for j, i in local_minima(grid):
        pt = _descend(lid, p, float(xs[i]), float(ys[j]))
        if pt is not None and _classify(lid, p, pt) == "min":
            minima.append(pt)
    for j, i in local_minima(g2)[:400]:
        pt = _newton(lid, p, float(xs[i]), float(ys[j]))
        if pt is None:
            continue
        kind = _classify(lid, p, pt)
        if kind == "min":
            minima.append(pt)
        elif kind == "saddle":
            saddles.append(pt)
    return _by_value(lid, p, _dedupe(minima)), _dedupe(saddles)


# ---------------------------------------------------------------------------------------
# Per-landscape pack / minima / saddles / f*
# ---------------------------------------------------------------------------------------


def _pack_in_order(specs: tuple[ParamSpec, ...]) -> Callable[[dict[str, Any]], np.ndarray]:
    names = [s.name for s in specs]
    return lambda prm: np.array([float(prm[k]) for k in names], dtype=np.float64)


def _pack_quadratic(prm: dict[str, Any]) -> np.ndarray:
    l1 = float(prm["lambda1"])
    l2 = float(prm["lambda2"])
    th = math.radians(float(prm["angle"]))
    c = math.cos(th)
    s = math.sin(th)
    a11 = l1 * c * c + l2 * s * s
    a12 = (l1 - l2) * c * s
    a22 = l1 * s * s + l2 * c * c
    vals = [l1, l2, float(prm["angle"]), prm["cx"], prm["cy"], prm["f0"], a11, a12, a22]
    return np.array(vals, dtype=np.float64)


def _pack_wells(prm: dict[str, Any]) -> np.ndarray:
    wells = prm["wells"]
    out = [float(prm["bowl"]), float(len(wells))]
    for w in wells:
        out.extend(float(v) for v in w)
    return np.array(out, dtype=np.float64)


def _quadratic_kind(prm: dict[str, Any]) -> str:
    """Type of the centre of ``quadratic``: 'min' (λ₁, λ₂ ≥ 0), 'saddle' or 'max'."""
    l1, l2 = float(prm["lambda1"]), float(prm["lambda2"])
    if l1 >= 0.0 and l2 >= 0.0:
        return "min"
    return "saddle" if l1 * l2 < 0.0 else "max"


def _quadratic_matrix_kind(prm: dict[str, Any]) -> str:
    """Type of the centre of ``quadratic_matrix`` from det A and the diagonal."""
    a11, a12, a22 = float(prm["a11"]), float(prm["a12"]), float(prm["a22"])
    det = a11 * a22 - a12 * a12
    if det < 0.0:
        return "saddle"
    if det > 0.0:
        return "min" if a11 > 0.0 else "max"
    return "min" if a11 >= 0.0 and a22 >= 0.0 else "max"  # singular: semi-definite


def _quad_points(kind_fn: Callable[[dict[str, Any]], str], kind: str):
    """The centre (cx, cy) if it is a critical point of type ``kind``."""

    def points(ls: Landscape, prm: dict[str, Any]) -> list[Point]:
        return [(float(prm["cx"]), float(prm["cy"]))] if kind_fn(prm) == kind else []

    return points


def _quad_f_star(kind_fn: Callable[[dict[str, Any]], str]):
    """f₀ if the quadratic is positive semi-definite, else None (unbounded below)."""
    return lambda ls, prm: float(prm["f0"]) if kind_fn(prm) == "min" else None


def _fixed(points: list[Point]) -> Callable[[Landscape, dict[str, Any]], list[Point]]:
    """Exactly known points."""
    return lambda ls, prm: list(points)


def _newton_points(guesses: list[Point], kind: str):
    """Points known to ~6 digits, Newton-refined for the landscape's parameters; the
    minima come out sorted by loss (global first)."""

    def points(ls: Landscape, prm: dict[str, Any]) -> list[Point]:
        p = ls.pack(prm)
        pts = _refine(ls.lid, p, guesses, kind)
        return _by_value(ls.lid, p, pts) if kind == "min" else pts

    return points


def _const(value: float | None) -> Callable[[Landscape, dict[str, Any]], float | None]:
    return lambda ls, prm: value


def _f_at_global(ls: Landscape, prm: dict[str, Any]) -> float | None:
    mins = ls.minima(prm)
    if not mins:
        return None
    return ls.value_at(prm, *mins[0])


@lru_cache(maxsize=64)
def _wells_critical(key: tuple[float, ...]) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    p = np.array(key, dtype=np.float64)
    lid = GAUSSIAN_WELLS
    n = int(p[1])
    cen = p[2:].reshape(n, 4) if n else np.zeros((0, 4))
    xmin, xmax, ymin, ymax = GAUSSIAN_WELLS_VIEW
    for xk, yk, _, wk in cen:
        xmin = min(xmin, xk - 4.0 * wk)
        xmax = max(xmax, xk + 4.0 * wk)
        ymin = min(ymin, yk - 4.0 * wk)
        ymax = max(ymax, yk + 4.0 * wk)
    # Resolve the narrowest well with >= 8 grid cells per width.
    span = max(xmax - xmin, ymax - ymin)
    wmin = float(np.min(cen[:, 3])) if n else 1.0
    npts = int(min(401, max(161, 8.0 * span / wmin)))
    minima, saddles = _scan_critical(lid, p, (xmin, xmax, ymin, ymax), npts)
    seeded = [_descend(lid, p, float(xk), float(yk)) for xk, yk, _, _ in cen]
    extra = [q for q in seeded if q is not None and _classify(lid, p, q) == "min"]
    minima = _by_value(lid, p, _dedupe(minima + extra))
    return tuple(minima), tuple(saddles)


def _wells_minima(ls: Landscape, prm: dict[str, Any]) -> list[Point]:
    return list(_wells_critical(tuple(ls.pack(prm).tolist()))[0])


def _wells_saddles(ls: Landscape, prm: dict[str, Any]) -> list[Point]:
    return list(_wells_critical(tuple(ls.pack(prm).tolist()))[1])


def _wells_f_star(ls: Landscape, prm: dict[str, Any]) -> float | None:
    mins = ls.minima(prm)
    best = ls.value_at(prm, *mins[0]) if mins else math.inf
    if float(prm["bowl"]) == 0.0:
        # Without the bowl f → 0 far away: the infimum is min(0, deepest minimum).
        return min(best, 0.0)
    return best if mins else None


# ---------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------


def _none_list(ls: Landscape, prm: dict[str, Any]) -> list[Point]:
    return []


@dataclass(frozen=True)
class Landscape:
    """One 2-D test function with its parameters, view box and known critical points.

    ``pack``/``minima``/``saddles``/``f_star`` resolve ``params`` over the defaults first
    (so ``{}`` or ``None`` means the defaults) and raise ``ParamError`` for unknown names or
    out-of-range values.  Minima are listed global first (ties in the listed order).  The
    egg-crate landscapes (rastrigin, ackley, levi13) list only their global minimum: they
    have a local minimum near every lattice point.
    """

    name: str
    lid: int
    title: str
    formula: str
    params: tuple[ParamSpec, ...]
    view: tuple[float, float, float, float]
    start: tuple[float, float]
    description: str
    pack_fn: Callable[[dict[str, Any]], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    minima_fn: Callable[[Landscape, dict[str, Any]], list[Point]] = field(
        default=_none_list, repr=False, compare=False
    )
    saddles_fn: Callable[[Landscape, dict[str, Any]], list[Point]] = field(
        default=_none_list, repr=False, compare=False
    )
    f_star_fn: Callable[[Landscape, dict[str, Any]], float | None] = field(
        default=_f_at_global, repr=False, compare=False
    )

    def resolve(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """``given`` merged over the defaults (ParamError on unknown names / bad values)."""
        return resolve_params(self.params, given)

    def pack(self, params: dict[str, Any] | None = None) -> np.ndarray:
        """The float64 parameter array the numba kernels take (may hold derived values)."""
        prm = self.resolve(params)
        fn = self.pack_fn if self.pack_fn is not None else _pack_in_order(self.params)
        return fn(prm)

    def minima(self, params: dict[str, Any] | None = None) -> list[Point]:
        """Known local minima, global first."""
        return [(float(a), float(b)) for a, b in self.minima_fn(self, self.resolve(params))]

    def saddles(self, params: dict[str, Any] | None = None) -> list[Point]:
        """Known saddle points (may be empty)."""
        return [(float(a), float(b)) for a, b in self.saddles_fn(self, self.resolve(params))]

    def f_star(self, params: dict[str, Any] | None = None) -> float | None:
        """Global minimum value (infimum), or None if ``f`` is unbounded below."""
        v = self.f_star_fn(self, self.resolve(params))
        return None if v is None else float(v)

    def value_at(self, params: dict[str, Any] | None, x: float, y: float) -> float:
        """Loss at ``(x, y)``."""
        return float(landscape_f(self.lid, self.pack(params), float(x), float(y)))


def _spec(name: str, default: Any, doc: str, symbol: str = "", **kw: Any) -> ParamSpec:
    return ParamSpec(name=name, default=default, doc=doc, symbol=symbol or name, **kw)


_QUADRATIC_PARAMS = (
    _spec("lambda1", 2.0, "curvature (eigenvalue) along the rotated u axis", "λ₁", lo=-1e6, hi=1e6),
    _spec(
        "lambda2", 100.0, "curvature (eigenvalue) along the rotated v axis", "λ₂", lo=-1e6, hi=1e6
    ),
    _spec("angle", 0.0, "rotation θ of the eigenvector axes, degrees", "θ", lo=-360.0, hi=360.0),
    _spec("cx", 0.0, "x of the centre (minimum)", lo=-1e3, hi=1e3),
    _spec("cy", 0.0, "y of the centre (minimum)", lo=-1e3, hi=1e3),
    _spec("f0", 0.0, "loss at the centre", "f₀", lo=-1e6, hi=1e6),
)

_QUADRATIC_MATRIX_PARAMS = (
    _spec("a11", 0.5, "Hessian entry a₁₁", "a₁₁", lo=-1e6, hi=1e6),
    _spec("a12", -1.0 / 6.0, "Hessian entry a₁₂ = a₂₁", "a₁₂", lo=-1e6, hi=1e6),
    _spec("a22", 2.0 / 9.0, "Hessian entry a₂₂", "a₂₂", lo=-1e6, hi=1e6),
    _spec("cx", 3.0, "x of the centre", lo=-1e3, hi=1e3),
    _spec("cy", 4.0, "y of the centre", lo=-1e3, hi=1e3),
    _spec("f0", 0.05, "loss at the centre", "f₀", lo=-1e6, hi=1e6),
)

_WELLS_DEFAULT = [[-2.0, -1.0, 1.0, 0.8], [2.0, 1.5, 1.8, 0.7], [0.5, -2.5, 0.7, 0.5]]
GAUSSIAN_WELLS_VIEW = (-4.5, 4.5, -4.5, 4.5)

# Himmelblau: 4 minima, 4 saddles (its local maximum is at (−0.270845, −0.923039)).
_HIMMELBLAU_MIN = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
_HIMMELBLAU_SADDLE = [
    (3.385154, 0.073852),
    (-0.127961, -1.953715),
    (-3.073026, -0.081353),
    (0.086678, 2.884255),
]

# Six-hump camel: 2 global + 4 local minima, 7 saddles (and two local maxima).
_CAMEL6_MIN = [
    (0.0898, -0.7126),
    (-0.0898, 0.7126),
    (-1.7036, 0.7961),
    (1.7036, -0.7961),
    (1.6071, 0.5687),
    (-1.6071, -0.5687),
]
_CAMEL6_SADDLE = [
    (0.0, 0.0),
    (-1.1092, 0.7683),
    (1.1092, -0.7683),
    (-1.6381, -0.2287),
    (1.6381, 0.2287),
    (1.2961, 0.6051),
    (-1.2961, -0.6051),
]

_ST_LO = -2.903534  # 1-D Styblinski-Tang: minima at _ST_LO, _ST_HI; maximum at _ST_MID
_ST_HI = 2.746803
_ST_MID = 0.156731


def _make_registry() -> dict[str, Landscape]:
    L: list[Landscape] = []

    def add(name: str, title: str, formula: str, params: tuple[ParamSpec, ...], **kw: Any):
        L.append(
            Landscape(name=name, lid=len(L), title=title, formula=formula, params=params, **kw)
        )

    add(
        "quadratic",
        "Quadratic bowl (eigenvalues)",
        "f(x, y) = f₀ + ½·(λ₁·u² + λ₂·v²),  (u, v) = R(−θ)·(x − cx, y − cy)",
        _QUADRATIC_PARAMS,
        view=(-5.0, 5.0, -1.5, 1.5),
        start=(4.0, 0.5),
        description="The condition number λ₂/λ₁ sets how GD zig-zags across the ravine: the "
        "step size must stay below 2/λ_max while progress along the flat axis scales with "
        "λ_min. Opposite-sign eigenvalues turn the centre into a saddle.",
        pack_fn=_pack_quadratic,
        minima_fn=_quad_points(_quadratic_kind, "min"),
        saddles_fn=_quad_points(_quadratic_kind, "saddle"),
        f_star_fn=_quad_f_star(_quadratic_kind),
    )
    add(
        "quadratic_matrix",
        "Quadratic (matrix form)",
        "f(x, y) = f₀ + ½·[a₁₁·(x − cx)² + 2·a₁₂·(x − cx)(y − cy) + a₂₂·(y − cy)²]",
        _QUADRATIC_MATRIX_PARAMS,
        view=(0.0, 6.0, 0.0, 8.0),
        start=(1.5, 2.0),
        description="The lecture error function E(w₁, w₂) = 0.05 + (w₁−3)²/4 + (w₂−4)²/9 − "
        "(w₁−3)(w₂−4)/6: GD steps against the gradient of a tilted elliptic bowl.",
        minima_fn=_quad_points(_quadratic_matrix_kind, "min"),
        saddles_fn=_quad_points(_quadratic_matrix_kind, "saddle"),
        f_star_fn=_quad_f_star(_quadratic_matrix_kind),
    )
    add(
        "rosenbrock",
        "Rosenbrock banana valley",
        "f(x, y) = (a − x)² + b·(y − x²)²",
        (
            _spec("a", 1.0, "minimum at (a, a²)", lo=-100.0, hi=100.0),
            _spec(
                "b", 100.0, "steepness of the valley walls", lo=0.0, hi=1e6, lo_open=True, log=True
            ),
        ),
        view=(-2.0, 2.0, -1.0, 3.0),
        start=(-1.5, 2.0),
        description="A narrow curved valley: finding it is easy, following its nearly flat "
        "floor to the minimum at (a, a²) is slow for GD and rewards momentum.",
        minima_fn=lambda ls, prm: [(float(prm["a"]), float(prm["a"]) ** 2)],
        f_star_fn=_const(0.0),
    )
    add(
        "beale",
        "Beale",
        "f(x, y) = (1.5 − x + x·y)² + (2.25 − x + x·y²)² + (2.625 − x + x·y³)²",
        (),
        view=(-4.5, 4.5, -4.5, 4.5),
        start=(1.0, 1.5),
        description="Flat plateaus next to very steep ridges in the corners: the gradient "
        "scale varies by orders of magnitude, which favours adaptive step sizes.",
        minima_fn=_fixed([(3.0, 0.5)]),
        saddles_fn=_newton_points([(0.0, 1.0), (0.1005, -2.6445)], "saddle"),
        f_star_fn=_const(0.0),
    )
    add(
        "himmelblau",
        "Himmelblau",
        "f(x, y) = (x² + y − 11)² + (x + y² − 7)²",
        (),
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(0.0, 0.0),
        description="Four equally deep minima: which one an optimizer reaches depends on "
        "the start point and its dynamics, not on the depth.",
        minima_fn=_newton_points(_HIMMELBLAU_MIN, "min"),
        saddles_fn=_newton_points(_HIMMELBLAU_SADDLE, "saddle"),
        f_star_fn=_const(0.0),
    )
    add(
        "rastrigin",
        "Rastrigin",
        "f(x, y) = 2A + [x² − A·cos(2πx)] + [y² − A·cos(2πy)]",
        (_spec("A", 10.0, "amplitude of the cosine ripples", lo=0.0, hi=1e3),),
        view=(-5.12, 5.12, -5.12, 5.12),
        start=(3.2, 2.4),
        description="A parabola covered in a regular egg-crate of local minima: plain GD "
        "stops in the nearest dimple; only large or noisy steps hop between them.",
        minima_fn=_fixed([(0.0, 0.0)]),
        f_star_fn=_const(0.0),
    )
    add(
        "ackley",
        "Ackley",
        "f(x, y) = −a·exp(−b·√(½(x² + y²))) − exp(½[cos(c·x) + cos(c·y)]) + a + e",
        (
            _spec("a", 20.0, "depth of the central funnel", lo=0.0, hi=1e3),
            _spec("b", 0.2, "steepness of the funnel", lo=0.0, hi=100.0),
            _spec("c", _TWO_PI, "angular frequency of the ripples", lo=0.0, hi=100.0, lo_open=True),
        ),
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(3.3, -2.4),
        description="A nearly flat, rippled outer region around a sharp funnel: many local "
        "minima, and a non-differentiable cusp at the global minimum (gradient set to 0).",
        minima_fn=_fixed([(0.0, 0.0)]),
        f_star_fn=_const(0.0),
    )
    add(
        "booth",
        "Booth",
        "f(x, y) = (x + 2y − 7)² + (2x + y − 5)²",
        (),
        view=(-5.0, 7.0, -3.0, 9.0),
        start=(-4.0, -2.0),
        description="A well-conditioned tilted quadratic bowl (Hessian eigenvalues 2 and 18): "
        "every reasonable optimizer converges straight to (1, 3).",
        minima_fn=_fixed([(1.0, 3.0)]),
        f_star_fn=_const(0.0),
    )
    add(
        "matyas",
        "Matyas",
        "f(x, y) = 0.26·(x² + y²) − 0.48·x·y",
        (),
        view=(-6.0, 6.0, -6.0, 6.0),
        start=(-4.5, 2.0),
        description="A diagonal ravine (Hessian eigenvalues 0.04 and 1): GD quickly reaches "
        "the diagonal, then crawls along it.",
        minima_fn=_fixed([(0.0, 0.0)]),
        f_star_fn=_const(0.0),
    )
    add(
        "goldstein_price",
        "Goldstein–Price",
        "f(x, y) = [1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]·"
        "[30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]",
        (),
        view=(-2.0, 2.0, -2.0, 2.0),
        start=(-1.0, 1.0),
        description="Losses spanning six orders of magnitude with several local minima: "
        "fixed step sizes either crawl or blow up.",
        minima_fn=_newton_points([(0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)], "min"),
        saddles_fn=_newton_points([(-0.4, -0.6), (1.2, -0.2), (0.6, 0.4), (1.4, 0.6)], "saddle"),
        f_star_fn=_const(3.0),
    )
    add(
        "six_hump_camel",
        "Six-hump camel",
        "f(x, y) = (4 − 2.1x² + x⁴/3)·x² + x·y + (4y² − 4)·y²",
        (),
        view=(-2.2, 2.2, -1.2, 1.2),
        start=(-1.5, -1.0),
        description="Two symmetric global minima plus four local ones: the basin an optimizer "
        "falls into is decided early.",
        minima_fn=_newton_points(_CAMEL6_MIN, "min"),
        saddles_fn=_newton_points(_CAMEL6_SADDLE, "saddle"),
    )
    add(
        "three_hump_camel",
        "Three-hump camel",
        "f(x, y) = 2x² − 1.05x⁴ + x⁶/6 + x·y + y²",
        (),
        view=(-2.5, 2.5, -2.5, 2.5),
        start=(2.0, -2.0),
        description="A global minimum at the origin flanked by two shallow local minima that "
        "catch optimizers starting on the sides.",
        minima_fn=_newton_points([(0.0, 0.0), (-1.7476, 0.8738), (1.7476, -0.8738)], "min"),
        saddles_fn=_newton_points([(-1.0705, 0.5353), (1.0705, -0.5353)], "saddle"),
        f_star_fn=_const(0.0),
    )
    add(
        "styblinski_tang",
        "Styblinski–Tang",
        "f(x, y) = ½·[(x⁴ − 16x² + 5x) + (y⁴ − 16y² + 5y)]",
        (),
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(4.0, 3.5),
        description="Four minima of different depth in the four quadrants: starting at the "
        "upper right, GD settles in the shallowest one.",
        minima_fn=_newton_points(
            [(_ST_LO, _ST_LO), (_ST_LO, _ST_HI), (_ST_HI, _ST_LO), (_ST_HI, _ST_HI)], "min"
        ),
        saddles_fn=_newton_points(
            [(_ST_LO, _ST_MID), (_ST_MID, _ST_LO), (_ST_HI, _ST_MID), (_ST_MID, _ST_HI)],
            "saddle",
        ),
    )
    add(
        "levi13",
        "Lévi N.13",
        "f(x, y) = sin²(3πx) + (x − 1)²·[1 + sin²(3πy)] + (y − 1)²·[1 + sin²(2πy)]",
        (),
        view=(-3.0, 5.0, -3.0, 5.0),
        start=(-2.0, 3.5),
        description="Ripples of different frequency in x and y on top of a bowl: many local "
        "minima, the global one at (1, 1).",
        minima_fn=_fixed([(1.0, 1.0)]),
        f_star_fn=_const(0.0),
    )
    add(
        "saddle",
        "Saddle",
        "f(x, y) = a·x² − b·y²",
        (
            _spec("a", 1.0, "upward curvature along x", lo=0.0, hi=1e6, lo_open=True),
            _spec("b", 1.0, "downward curvature along y", lo=0.0, hi=1e6, lo_open=True),
        ),
        view=(-3.0, 3.0, -3.0, 3.0),
        start=(2.5, 0.05),
        description="Unbounded below with a saddle at the origin: near the x axis GD first "
        "slides towards the saddle and only slowly escapes along y.",
        saddles_fn=_fixed([(0.0, 0.0)]),
        f_star_fn=_const(None),
    )
    add(
        "monkey_saddle",
        "Monkey saddle",
        "f(x, y) = x³ − 3x·y²",
        (),
        view=(-2.0, 2.0, -2.0, 2.0),
        start=(1.5, 0.3),
        description="A degenerate saddle (zero Hessian) with three descending valleys: the "
        "gradient vanishes quadratically, so escaping the origin is very slow.",
        saddles_fn=_fixed([(0.0, 0.0)]),
        f_star_fn=_const(None),
    )
    add(
        "plateau",
        "Plateau (saturating tanh)",
        "f(x, y) = h·tanh((x² + y²)/w²)",
        (
            _spec("h", 1.0, "height of the plateau", lo=0.0, hi=1e6, lo_open=True),
            _spec("w", 1.0, "width of the central well", lo=0.0, hi=1e3, lo_open=True),
        ),
        view=(-3.0, 3.0, -2.5, 2.5),
        start=(2.0, 1.5),
        description="Vanishing gradients: tanh saturates (d/ds tanh s = 1 − tanh² s, 0.0013 "
        "at s = 4), so far from the well the loss is a flat plateau at h where GD stalls.",
        minima_fn=_fixed([(0.0, 0.0)]),
        f_star_fn=_const(0.0),
    )
    add(
        "gaussian_wells",
        "Gaussian wells",
        "f(x, y) = bowl·(x² + y²) − Σₖ dₖ·exp(−[(x − xₖ)² + (y − yₖ)²]/(2·wₖ²))",
        (
            _spec("bowl", 0.05, "curvature of the background bowl", lo=0.0, hi=1e3),
            _spec(
                "wells",
                _WELLS_DEFAULT,
                "wells as [xₖ, yₖ, depth dₖ, width wₖ]",
                kind="wells",
                max_len=8,
            ),
        ),
        view=GAUSSIAN_WELLS_VIEW,
        start=(-3.0, -2.5),
        description="Several local minima of different depth: GD from (−3, −2.5) settles in "
        "the nearest, shallower well; reaching the deepest one needs momentum or noise.",
        pack_fn=_pack_wells,
        minima_fn=_wells_minima,
        saddles_fn=_wells_saddles,
        f_star_fn=_wells_f_star,
    )
    return {ls.name: ls for ls in L}


LANDSCAPES: dict[str, Landscape] = _make_registry()


def get_landscape(name: str) -> Landscape:
    """The landscape registered as ``name``; KeyError listing the valid names otherwise."""
    try:
        return LANDSCAPES[name]
    except KeyError:
        raise KeyError(
            f"unknown landscape {name!r}; expected one of {', '.join(LANDSCAPES)}"
        ) from None


def value(name: str, params: dict[str, Any] | None, x: float, y: float) -> float:
    """Loss of landscape ``name`` at ``(x, y)``."""
    ls = get_landscape(name)
    return float(landscape_f(ls.lid, ls.pack(params), float(x), float(y)))


def grad(name: str, params: dict[str, Any] | None, x: float, y: float) -> np.ndarray:
    """Gradient (shape (2,)) of landscape ``name`` at ``(x, y)``."""
    ls = get_landscape(name)
    g = np.empty(2)
    landscape_fg(ls.lid, ls.pack(params), np.array([x, y], dtype=np.float64), g)
    return g


def hessian(name: str, params: dict[str, Any] | None, x: float, y: float) -> np.ndarray:
    """Hessian (shape (2, 2)) of landscape ``name`` at ``(x, y)``."""
    ls = get_landscape(name)
    h = np.empty((2, 2))
    landscape_hess(ls.lid, ls.pack(params), np.array([x, y], dtype=np.float64), h)
    return h
