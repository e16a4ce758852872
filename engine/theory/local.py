"""The local quadratic model of any landscape at any point, and its critical points.

At a point x₀: f, ∇f, the Hessian H, its eigenvalues λ₁ ≤ λ₂ and eigenvectors, the
second-order Taylor model m(x) = f + ∇fᵀ(x − x₀) + ½(x − x₀)ᵀH(x − x₀), and the Newton
step −H⁻¹∇f to the model's stationary point (the notes' "step to the minimum of the
approximating function"; for an indefinite H it is the model's saddle).

Classification (notes 004: by the Hessian's eigenvalues), with the tolerance rule: an
eigenvalue counts as zero when |λ| <= :data:`RTOL` · S, S the larger of the point's own
max |λ| and the landscape's curvature scale over the view box (:func:`curvature_scale`:
the median of max |λ(H)| on a 17 × 17 grid). Then "minimum" (both > 0), "maximum" (both
< 0), "saddle" (one of each) or "degenerate" (any zero: the second-derivative test says
nothing, e.g. the monkey saddle's zero Hessian at the origin). ``kind`` is that
classification of H wherever the point is; ``critical`` says whether the point is a
critical point: |∇f| <= RTOL · G, G the median |∇f| over the same grid (or ∇f exactly 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.landscapes import landscape_f, landscape_fg, landscape_hess
from engine.landscapes.critical import scan_all

Array = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]

RTOL = 1e-6
SCALE_GRID = 17
KINDS = ("minimum", "maximum", "saddle", "degenerate")


@dataclass(frozen=True)
class Scale:
    """The landscape's typical curvature and gradient over a box (the tolerances' S, G)."""

    curvature: float
    gradient: float


def scale_of(lid: int, p: np.ndarray, box: Box, n: int = SCALE_GRID) -> Scale:
    """Medians of max |λ(H)| and of |∇f| over an n × n grid of ``box`` (finite values;
    1.0 where there are none)."""
    xs = np.linspace(box[0], box[1], n)
    ys = np.linspace(box[2], box[3], n)
    curv, grad = [], []
    g = np.empty(2)
    h = np.empty((2, 2))
    for y in ys:
        for x in xs:
            pt = np.array([x, y])
            landscape_fg(lid, p, pt, g)
            landscape_hess(lid, p, pt, h)
            if np.all(np.isfinite(h)):
                curv.append(float(np.max(np.abs(np.linalg.eigvalsh(h)))))
            if np.all(np.isfinite(g)):
                grad.append(float(np.hypot(g[0], g[1])))
    c = float(np.median(curv)) if curv else 0.0
    gr = float(np.median(grad)) if grad else 0.0
    return Scale(c if c > 0.0 else 1.0, gr if gr > 0.0 else 1.0)


def classify_eigenvalues(lam: Array, curvature: float) -> str:
    """ "minimum", "maximum", "saddle" or "degenerate" (the module docstring's rule)."""
    if not np.all(np.isfinite(lam)):
        return "degenerate"
    tol = RTOL * max(float(np.max(np.abs(lam))), curvature)
    if np.any(np.abs(lam) <= tol):
        return "degenerate"
    if lam[0] > 0.0:
        return "minimum"
    return "maximum" if lam[1] < 0.0 else "saddle"


@dataclass(frozen=True)
class LocalModel:
    """The local quadratic model at ``point`` (see the module docstring). ``newton_step``
    and ``newton_point`` are None where H is degenerate (no unique stationary point)."""

    point: tuple[float, float]
    f: float
    grad: Array
    hessian: Array
    eigenvalues: Array
    eigenvectors: Array  # columns
    kind: str
    critical: bool
    newton_step: Array | None
    newton_point: tuple[float, float] | None

    def model(self, x: float, y: float) -> float:
        """The Taylor model m(x, y)."""
        d = np.array([x - self.point[0], y - self.point[1]])
        return float(self.f + self.grad @ d + 0.5 * d @ self.hessian @ d)

    def coefficients(self) -> dict[str, float]:
        """m(x, y) = c + c_x·x + c_y·y + c_xx·x² + c_xy·x·y + c_yy·y² (expanded)."""
        (hxx, hxy), (_, hyy) = self.hessian
        x0, y0 = self.point
        gx, gy = self.grad
        return {
            "1": self.f
            - gx * x0
            - gy * y0
            + 0.5 * (hxx * x0 * x0 + 2 * hxy * x0 * y0 + hyy * y0 * y0),
            "x": gx - hxx * x0 - hxy * y0,
            "y": gy - hxy * x0 - hyy * y0,
            "x^2": 0.5 * hxx,
            "xy": hxy,
            "y^2": 0.5 * hyy,
        }

    def as_dict(self) -> dict[str, Any]:
        """Plain data (lists, floats) for JSON."""
        return {
            "point": list(self.point),
            "f": self.f,
            "grad": self.grad.tolist(),
            "grad_norm": float(np.hypot(*self.grad)),
            "hessian": self.hessian.tolist(),
            "eigenvalues": self.eigenvalues.tolist(),
            "eigenvectors": self.eigenvectors.T.tolist(),
            "kind": self.kind,
            "critical": self.critical,
            "newton_step": None if self.newton_step is None else self.newton_step.tolist(),
            "newton_point": None if self.newton_point is None else list(self.newton_point),
            "taylor": {
                "centred": "m(x) = f + grad·(x − point) + ½ (x − point)ᵀ hessian (x − point)",
                "expanded": self.coefficients(),
            },
        }


def local_model(lid: int, p: np.ndarray, x: float, y: float, scale: Scale) -> LocalModel:
    """The local quadratic model of landscape ``lid`` (packed ``p``) at ``(x, y)``."""
    pt = np.array([float(x), float(y)])
    g = np.empty(2)
    h = np.empty((2, 2))
    f = float(landscape_fg(lid, p, pt, g))
    landscape_hess(lid, p, pt, h)
    finite = bool(np.all(np.isfinite(h)))
    lam, vec = np.linalg.eigh(h) if finite else (np.full(2, math.nan), np.full((2, 2), math.nan))
    kind = classify_eigenvalues(lam, scale.curvature)
    gnorm = float(np.hypot(g[0], g[1]))
    critical = gnorm == 0.0 or gnorm <= RTOL * scale.gradient
    step: Array | None = None
    point = None
    if kind != "degenerate":
        step = -np.linalg.solve(h, g).astype(np.float64)
        point = (float(pt[0] + step[0]), float(pt[1] + step[1]))
    return LocalModel((float(x), float(y)), f, g, h, lam, vec, kind, critical, step, point)


@dataclass(frozen=True)
class CriticalPoint:
    point: tuple[float, float]
    f: float
    kind: str
    eigenvalues: tuple[float, float]


def critical_points(
    lid: int, p: np.ndarray, box: Box, scale: Scale | None = None
) -> list[CriticalPoint]:
    """The critical points found in ``box`` (engine.landscapes.critical.scan_all),
    classified by the module docstring's rule, sorted by kind (minima, maxima, saddles,
    degenerate) and then by f."""
    sc = scale if scale is not None else scale_of(lid, p, box)
    out = []
    h = np.empty((2, 2))
    for x, y in scan_all(lid, p, box):
        landscape_hess(lid, p, np.array([x, y]), h)
        lam: Array = np.full(2, math.nan)
        if np.all(np.isfinite(h)):
            lam = np.linalg.eigvalsh(h).astype(np.float64)
        kind = classify_eigenvalues(lam, sc.curvature)
        f = float(landscape_f(lid, p, x, y))
        out.append(CriticalPoint((x, y), f, kind, (float(lam[0]), float(lam[1]))))
    return sorted(out, key=lambda c: (KINDS.index(c.kind), c.f, c.point))
