"""Fields drawn under the trails: gradient arrows and the perceptron's loss surface.

:func:`quiver_segments` turns a sampled gradient into arrows as point pairs;
:func:`perceptron_loss_grid` samples the mean cross-entropy over a slice of weight space.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit
from engine.perceptron_kernel import bce_loss

_EMPTY = np.empty(0, dtype=np.float64)

__all__ = ["perceptron_loss_grid", "quiver_segments"]


@jit
def _quiver_kernel(
    gx: np.ndarray,
    gy: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    length: float,
    shift: float,
    head: float,
    cos_t: float,
    sin_t: float,
    px: np.ndarray,
    py: np.ndarray,
) -> int:
    """Fill 6 points (3 segments) per drawable arrow; returns the number of points."""
    ny, nx = gx.shape
    p = 0
    h = head * length
    for j in range(ny):
        for i in range(nx):
            vx = gx[j, i]
            vy = gy[j, i]
            if not (np.isfinite(vx) and np.isfinite(vy)):
                continue
            s = max(abs(vx), abs(vy))
            if s == 0.0:
                continue
            vx /= s
            vy /= s
            r = math.sqrt(vx * vx + vy * vy)
            ux = vx / r
            uy = vy / r
            bx = xs[i] - shift * length * ux
            by = ys[j] - shift * length * uy
            tx = bx + length * ux
            ty = by + length * uy
            # head strokes: back from the tip along u rotated by +-theta
            h1x = tx - h * (cos_t * ux - sin_t * uy)
            h1y = ty - h * (cos_t * uy + sin_t * ux)
            h2x = tx - h * (cos_t * ux + sin_t * uy)
            h2y = ty - h * (cos_t * uy - sin_t * ux)
            px[p] = bx
            py[p] = by
            px[p + 1] = tx
            py[p + 1] = ty
            px[p + 2] = tx
            py[p + 2] = ty
            px[p + 3] = h1x
            py[p + 3] = h1y
            px[p + 4] = tx
            py[p + 4] = ty
            px[p + 5] = h2x
            py[p + 5] = h2y
            p += 6
    return p


def quiver_segments(
    gx: np.ndarray,
    gy: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    length: float,
    *,
    head: float = 0.3,
    head_angle: float = 25.0,
    pivot: str = "tail",
) -> tuple[np.ndarray, np.ndarray]:
    """Arrows of a vector field as point pairs for ``PlotCurveItem(connect='pairs')``.

    One arrow per grid point ``(xs[i], ys[j])`` with ``gx[j, i], gy[j, i]`` finite and
    non-zero (``gx.shape == gy.shape == (len(ys), len(xs))``), pointing along that
    vector and ``length`` long in data units: a shaft and two head strokes of
    ``head * length`` at ``±head_angle`` degrees, i.e. 6 points (3 segments) per arrow,
    shaft first. ``pivot='tail'`` puts the arrow's tail on the grid point, ``'middle'``
    its midpoint. The GUI passes ``-∇f`` to show descent directions. A non-positive or
    non-finite ``length`` gives empty arrays.
    """
    gx = np.ascontiguousarray(gx, dtype=np.float64)
    gy = np.ascontiguousarray(gy, dtype=np.float64)
    xs = np.ascontiguousarray(xs, dtype=np.float64).reshape(-1)
    ys = np.ascontiguousarray(ys, dtype=np.float64).reshape(-1)
    if gx.shape != gy.shape or gx.shape != (ys.size, xs.size):
        raise ValueError(
            f"gx {gx.shape} and gy {gy.shape} must both have shape (len(ys), len(xs)) "
            f"= {(ys.size, xs.size)}"
        )
    if pivot not in ("tail", "middle"):
        raise ValueError(f"pivot must be 'tail' or 'middle', got {pivot!r}")
    length = float(length)
    if not (length > 0.0 and math.isfinite(length)) or gx.size == 0:
        return _EMPTY.copy(), _EMPTY.copy()
    shift = 0.5 if pivot == "middle" else 0.0
    theta = math.radians(float(head_angle))
    px = np.empty(6 * gx.size, dtype=np.float64)
    py = np.empty(6 * gx.size, dtype=np.float64)
    p = _quiver_kernel(
        gx, gy, xs, ys, length, shift, float(head), math.cos(theta), math.sin(theta), px, py
    )
    return px[:p].copy(), py[:p].copy()


@jit
def perceptron_loss_grid(
    data: np.ndarray,
    b: float,
    x0: float,
    x1: float,
    nx: int,
    y0: float,
    y1: float,
    ny: int,
    out: np.ndarray,
) -> None:
    """Mean BCE of σ(w1·x1 + w2·x2 + b) over ``data`` rows on a (w1, w2) grid at fixed b.

    ``out[j, i]`` is the loss at w1 = x0 + i·(x1 − x0)/(nx − 1), w2 = y0 + j·(y1 − y0)/(ny − 1):
    the slice of the full-batch loss surface that the weight-space panel draws.
    """
    n = data.shape[0]
    dx = (x1 - x0) / (nx - 1) if nx > 1 else 0.0
    dy = (y1 - y0) / (ny - 1) if ny > 1 else 0.0
    for j in range(ny):
        w2 = y0 + j * dy
        for i in range(nx):
            w1 = x0 + i * dx
            s = 0.0
            for k in range(n):
                z = w1 * data[k, 0] + w2 * data[k, 1] + b
                s += bce_loss(z, data[k, 2])
            out[j, i] = s / n if n > 0 else math.nan
