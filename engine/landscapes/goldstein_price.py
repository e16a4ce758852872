"""Goldstein–Price: f = A·B, A = 1 + u²·P, B = 30 + v²·Q, u = x + y + 1, v = 2x − 3y,
P = 19 − 14x + 3x² − 14y + 6xy + 3y², Q = 18 − 32x + 12x² + 48y − 36xy + 27y²."""

from __future__ import annotations

from engine.jit import jit_inline
from engine.landscapes.base import Kernels, Landscape, Packed, const, newton_points


@jit_inline
def _f(p: Packed, x: float, y: float) -> float:
    u = x + y + 1.0
    v = 2.0 * x - 3.0 * y
    pp = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    qq = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    return (1.0 + u * u * pp) * (30.0 + v * v * qq)


@jit_inline
def _fg(p: Packed, x: float, y: float) -> tuple[float, float, float]:
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
def _a(x: float, y: float) -> tuple[float, float, float]:
    """A = 1 + u²·P with its derivatives (A_x = A_y, A_xx = A_xy = A_yy since u_x = u_y)."""
    u = x + y + 1.0
    pp = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    px = -14.0 + 6.0 * x + 6.0 * y  # = P_y; P_xx = P_xy = P_yy = 6
    return 1.0 + u * u * pp, 2.0 * u * pp + u * u * px, 2.0 * pp + 4.0 * u * px + 6.0 * u * u


@jit_inline
def _b(x: float, y: float) -> tuple[float, float, float, float, float, float]:
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
def _ab_h(
    a: tuple[float, float, float], b: tuple[float, float, float, float, float, float]
) -> tuple[float, float, float]:
    """Hessian of A·B from ``a = _a(x, y)`` and ``b = _b(x, y)`` (three small helpers,
    because one big one is not inlined into the dispatcher)."""
    aa, ax, axx = a
    bb, bx, by, bxx, bxy, byy = b
    hxx = axx * bb + 2.0 * ax * bx + aa * bxx
    hxy = axx * bb + ax * (bx + by) + aa * bxy
    hyy = axx * bb + 2.0 * ax * by + aa * byy
    return hxx, hxy, hyy


@jit_inline
def _h(p: Packed, x: float, y: float) -> tuple[float, float, float]:
    return _ab_h(_a(x, y), _b(x, y))


GOLDSTEIN_PRICE = Landscape(
    name="goldstein_price",
    title="Goldstein–Price",
    formula="f(x, y) = [1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]·"
    "[30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]",
    params=(),
    view=(-2.0, 2.0, -2.0, 2.0),
    start=(-1.0, 1.0),
    description="Losses spanning six orders of magnitude with several local minima: "
    "fixed step sizes either crawl or blow up.",
    kernels=Kernels(_f, _fg, _h),
    minima_fn=newton_points([(0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)], "min"),
    saddles_fn=newton_points([(-0.4, -0.6), (1.2, -0.2), (0.6, 0.4), (1.4, 0.6)], "saddle"),
    f_star_fn=const(3.0),
)

REGISTER = (GOLDSTEIN_PRICE,)
