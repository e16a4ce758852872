"""The lecture quadratics: ``quadratic`` (by eigenvalues and angle) and
``quadratic_matrix`` (by the Hessian's entries), both f₀ + ½·(p − c)ᵀ A (p − c)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, Params, Point, Points, spec


# f = f0 + ½·[a11·dx² + 2·a12·dx·dy + a22·dy²], dx = x − cx, dy = y − cy
@jit_inline
def _qform_f(
    a11: float, a12: float, a22: float, cx: float, cy: float, f0: float, x: float, y: float
) -> float:
    dx = x - cx
    dy = y - cy
    return f0 + 0.5 * (a11 * dx * dx + 2.0 * a12 * dx * dy + a22 * dy * dy)


@jit_inline
def _qform_fg(
    a11: float, a12: float, a22: float, cx: float, cy: float, f0: float, x: float, y: float
) -> tuple[float, float, float]:
    dx = x - cx
    dy = y - cy
    gx = a11 * dx + a12 * dy
    gy = a12 * dx + a22 * dy
    return f0 + 0.5 * (a11 * dx * dx + 2.0 * a12 * dx * dy + a22 * dy * dy), gx, gy


# quadratic: p = [lambda1, lambda2, angle, cx, cy, f0, a11, a12, a22] (last 3 derived).
@jit_inline
def _quadratic_f(p: Packed, x: float, y: float) -> float:
    return _qform_f(p[6], p[7], p[8], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return _qform_fg(p[6], p[7], p[8], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return p[6], p[7], p[8]


# quadratic_matrix: p = [a11, a12, a22, cx, cy, f0].
@jit_inline
def _quadratic_matrix_f(p: Packed, x: float, y: float) -> float:
    return _qform_f(p[0], p[1], p[2], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_matrix_fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return _qform_fg(p[0], p[1], p[2], p[3], p[4], p[5], x, y)


@jit_inline
def _quadratic_matrix_h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return p[0], p[1], p[2]


def _pack_quadratic(prm: Params) -> np.ndarray:
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


def _quadratic_kind(prm: Params) -> str:
    """Type of the centre of ``quadratic``: 'min' (λ₁, λ₂ ≥ 0), 'saddle' or 'max'."""
    l1, l2 = float(prm["lambda1"]), float(prm["lambda2"])
    if l1 >= 0.0 and l2 >= 0.0:
        return "min"
    return "saddle" if l1 * l2 < 0.0 else "max"


def _quadratic_matrix_kind(prm: Params) -> str:
    """Type of the centre of ``quadratic_matrix`` from det A and the diagonal."""
    a11, a12, a22 = float(prm["a11"]), float(prm["a12"]), float(prm["a22"])
    det = a11 * a22 - a12 * a12
    if det < 0.0:
        return "saddle"
    if det > 0.0:
        return "min" if a11 > 0.0 else "max"
    return "min" if a11 >= 0.0 and a22 >= 0.0 else "max"  # singular: semi-definite


def _centre_if(kind_fn: Callable[[Params], str], kind: str) -> Points:
    """The centre (cx, cy) if it is a critical point of type ``kind``."""

    def points(ls: Landscape, prm: Params) -> list[Point]:
        return [(float(prm["cx"]), float(prm["cy"]))] if kind_fn(prm) == kind else []

    return points


def _f_star(kind_fn: Callable[[Params], str]) -> Callable[[Landscape, Params], Any]:
    """f₀ if the quadratic is positive semi-definite, else None (unbounded below)."""
    return lambda ls, prm: float(prm["f0"]) if kind_fn(prm) == "min" else None


QUADRATIC = Landscape(
    name="quadratic",
    title="Quadratic bowl (eigenvalues)",
    formula="f(x, y) = f₀ + ½·(λ₁·u² + λ₂·v²),  (u, v) = R(−θ)·(x − cx, y − cy)",
    params=(
        spec(
            "lambda1", 2.0, "curvature (eigenvalue) along the rotated u axis", "λ₁", lo=-1e6, hi=1e6
        ),
        spec(
            "lambda2",
            100.0,
            "curvature (eigenvalue) along the rotated v axis",
            "λ₂",
            lo=-1e6,
            hi=1e6,
        ),
        spec("angle", 0.0, "rotation θ of the eigenvector axes, degrees", "θ", lo=-360.0, hi=360.0),
        spec("cx", 0.0, "x of the centre (minimum)", lo=-1e3, hi=1e3),
        spec("cy", 0.0, "y of the centre (minimum)", lo=-1e3, hi=1e3),
        spec("f0", 0.0, "loss at the centre", "f₀", lo=-1e6, hi=1e6),
    ),
    view=(-5.0, 5.0, -1.5, 1.5),
    start=(4.0, 0.5),
    description="The condition number λ₂/λ₁ sets how GD zig-zags across the ravine: the "
    "step size must stay below 2/λ_max while progress along the flat axis scales with "
    "λ_min. Opposite-sign eigenvalues turn the centre into a saddle.",
    kernels=Kernels(_quadratic_f, _quadratic_fg, _quadratic_h),
    pack_fn=_pack_quadratic,
    minima_fn=_centre_if(_quadratic_kind, "min"),
    saddles_fn=_centre_if(_quadratic_kind, "saddle"),
    f_star_fn=_f_star(_quadratic_kind),
)

QUADRATIC_MATRIX = Landscape(
    name="quadratic_matrix",
    title="Quadratic (matrix form)",
    formula="f(x, y) = f₀ + ½·[a₁₁·(x − cx)² + 2·a₁₂·(x − cx)(y − cy) + a₂₂·(y − cy)²]",
    params=(
        spec("a11", 0.5, "Hessian entry a₁₁", "a₁₁", lo=-1e6, hi=1e6),
        spec("a12", -1.0 / 6.0, "Hessian entry a₁₂ = a₂₁", "a₁₂", lo=-1e6, hi=1e6),
        spec("a22", 2.0 / 9.0, "Hessian entry a₂₂", "a₂₂", lo=-1e6, hi=1e6),
        spec("cx", 3.0, "x of the centre", lo=-1e3, hi=1e3),
        spec("cy", 4.0, "y of the centre", lo=-1e3, hi=1e3),
        spec("f0", 0.05, "loss at the centre", "f₀", lo=-1e6, hi=1e6),
    ),
    view=(0.0, 6.0, 0.0, 8.0),
    start=(1.5, 2.0),
    description="The lecture error function E(w₁, w₂) = 0.05 + (w₁−3)²/4 + (w₂−4)²/9 − "
    "(w₁−3)(w₂−4)/6: GD steps against the gradient of a tilted elliptic bowl.",
    kernels=Kernels(_quadratic_matrix_f, _quadratic_matrix_fg, _quadratic_matrix_h),
    minima_fn=_centre_if(_quadratic_matrix_kind, "min"),
    saddles_fn=_centre_if(_quadratic_matrix_kind, "saddle"),
    f_star_fn=_f_star(_quadratic_matrix_kind),
)

REGISTER = (QUADRATIC, QUADRATIC_MATRIX)
