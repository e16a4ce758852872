"""Iso-lines of a sampled landscape, and the levels to draw them at.

:func:`contour_segments` runs marching squares in one numba kernel and returns the
lines as point pairs for ``PlotCurveItem(xs, ys, connect='pairs')``; :func:`nice_levels`
picks levels spread over a landscape's range (geometric when it spans decades).
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit

_EMPTY = np.empty(0, dtype=np.float64)

__all__ = ["contour_segments", "nice_levels"]


@jit
def _lerp_t(lev: float, za: float, zb: float) -> float:
    """Fraction of the way from za to zb where the level is crossed, clamped to [0, 1]."""
    t = (lev - za) / (zb - za)
    if not t >= 0.0:  # also catches NaN from inf - inf on absurd inputs
        return 0.0
    if t > 1.0:
        return 1.0
    return t


@jit
def _lerp(p: float, q: float, t: float) -> float:
    """p + t (q − p), exactly p at t = 0 and exactly q at t = 1."""
    if t == 1.0:
        return q
    return p + t * (q - p)


@jit
def _edge_point(
    e: int,
    lev: float,
    a: float,
    b: float,
    c: float,
    d: float,
    xa: float,
    xb: float,
    ya: float,
    yb: float,
) -> tuple[float, float]:
    """Crossing point on edge e of the cell with corners a=(i,j), b=(i+1,j), c=(i+1,j+1),
    d=(i,j+1); edges 0 bottom (a-b), 1 right (b-c), 2 top (d-c), 3 left (a-d).

    A shared edge is computed by the same expression from both of its cells (and a
    crossing at a corner is that corner's coordinates), so the segments of neighbouring
    cells meet at bit-identical points.
    """
    if e == 0:
        return _lerp(xa, xb, _lerp_t(lev, a, b)), ya
    if e == 1:
        return xb, _lerp(ya, yb, _lerp_t(lev, b, c))
    if e == 2:
        return _lerp(xa, xb, _lerp_t(lev, d, c)), yb
    return xa, _lerp(ya, yb, _lerp_t(lev, a, d))


@jit
def _contour_kernel(
    z: np.ndarray,
    x0: float,
    hx: float,
    y0: float,
    hy: float,
    slev: np.ndarray,
    sidx: np.ndarray,
    pos: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    fill: bool,
) -> None:
    """Marching squares over all cells and all (sorted, finite) levels.

    Count mode (``fill=False``): adds the number of segments of each level to
    ``pos[level]``. Fill mode: writes each segment's two points at ``2*pos[level]`` and
    advances ``pos[level]``. A corner is "above" when z >= level, so the level is
    crossed in a cell exactly when min(corners) < level <= max(corners).
    """
    ny, nx = z.shape
    nl = slev.shape[0]
    if nl == 0:
        return
    lmin = slev[0]
    lmax = slev[nl - 1]
    for j in range(ny - 1):
        ya = y0 + j * hy
        yb = y0 + (j + 1) * hy
        for i in range(nx - 1):
            a = z[j, i]
            b = z[j, i + 1]
            c = z[j + 1, i + 1]
            d = z[j + 1, i]
            if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c) and np.isfinite(d)):
                continue
            lo = min(min(a, b), min(c, d))
            hi = max(max(a, b), max(c, d))
            if hi < lmin or lo >= lmax:
                continue
            # first sorted level > lo (bisect right)
            k0 = 0
            k1 = nl
            while k0 < k1:
                mid = (k0 + k1) >> 1
                if slev[mid] > lo:
                    k1 = mid
                else:
                    k0 = mid + 1
            xa = x0 + i * hx
            xb = x0 + (i + 1) * hx
            k = k0
            while k < nl and slev[k] <= hi:
                lev = slev[k]
                li = sidx[k]
                k += 1
                sa = a >= lev
                sb = b >= lev
                sc = c >= lev
                sd = d >= lev
                saddle = sa == sc and sb == sd and sa != sb
                if not fill:
                    pos[li] += 2 if saddle else 1
                    continue
                if saddle:
                    centre = 0.25 * a + 0.25 * b + 0.25 * c + 0.25 * d
                    if (centre >= lev) == sa:
                        # a and c joined through the centre: cut off b and d
                        ea0, ea1, eb0, eb1 = 0, 1, 2, 3
                    else:
                        # b and d joined: cut off a and c
                        ea0, ea1, eb0, eb1 = 3, 0, 1, 2
                    p = 2 * pos[li]
                    xs[p], ys[p] = _edge_point(ea0, lev, a, b, c, d, xa, xb, ya, yb)
                    xs[p + 1], ys[p + 1] = _edge_point(ea1, lev, a, b, c, d, xa, xb, ya, yb)
                    xs[p + 2], ys[p + 2] = _edge_point(eb0, lev, a, b, c, d, xa, xb, ya, yb)
                    xs[p + 3], ys[p + 3] = _edge_point(eb1, lev, a, b, c, d, xa, xb, ya, yb)
                    pos[li] += 2
                else:
                    # exactly two edges are crossed; join them in edge order
                    e0 = -1
                    e1 = -1
                    if sa != sb:
                        e0 = 0
                    if sb != sc:
                        if e0 < 0:
                            e0 = 1
                        else:
                            e1 = 1
                    if sd != sc:
                        if e0 < 0:
                            e0 = 2
                        else:
                            e1 = 2
                    if sa != sd:
                        e1 = 3
                    p = 2 * pos[li]
                    xs[p], ys[p] = _edge_point(e0, lev, a, b, c, d, xa, xb, ya, yb)
                    xs[p + 1], ys[p + 1] = _edge_point(e1, lev, a, b, c, d, xa, xb, ya, yb)
                    pos[li] += 1


def contour_segments(
    z: np.ndarray,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    levels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Iso-lines of a sampled field at several levels, as line segments (marching squares).

    ``z[j, i]`` is the value at ``x = x0 + i*(x1-x0)/(nx-1)``, ``y = y0 + j*(y1-y0)/(ny-1)``
    (row j = y, column i = x; ``z.shape == (ny, nx)``). Crossings are linearly
    interpolated along cell edges; an ambiguous (saddle) cell is resolved by the average
    of its four corners; a cell with any non-finite corner yields nothing, as does a
    non-finite level. A sample exactly equal to a level counts as above it (a segment
    may then have zero length).

    Returns ``(xs, ys, level_index)``, three arrays of the same length ``2 * nseg``:
    segment ``s`` runs from ``(xs[2s], ys[2s])`` to ``(xs[2s+1], ys[2s+1])``, ready for
    ``PlotCurveItem(xs, ys, connect='pairs')``. ``level_index[p]`` (int64) is the
    position in ``levels`` of the level point ``p`` belongs to, and the output is grouped
    by it in ascending order, so one level is ``xs[level_index == k]`` or the contiguous
    slice ``np.searchsorted(level_index, [k, k + 1])``.

    Two compiled passes over the grid (count, then fill), all levels at once; 15 levels
    on a 512x512 grid take a few milliseconds.
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must be 2-D, got shape {z.shape}")
    lev = np.ascontiguousarray(levels, dtype=np.float64).reshape(-1)
    ny, nx = z.shape
    empty_i = np.empty(0, dtype=np.int64)
    if nx < 2 or ny < 2 or lev.size == 0:
        return _EMPTY.copy(), _EMPTY.copy(), empty_i
    hx = (float(x1) - float(x0)) / (nx - 1)
    hy = (float(y1) - float(y0)) / (ny - 1)
    finite = np.flatnonzero(np.isfinite(lev))
    order = finite[np.argsort(lev[finite], kind="stable")]
    slev = np.ascontiguousarray(lev[order])
    sidx = order.astype(np.int64)

    counts = np.zeros(lev.size, dtype=np.int64)
    _contour_kernel(z, float(x0), hx, float(y0), hy, slev, sidx, counts, _EMPTY, _EMPTY, False)
    total = int(counts.sum())
    if total == 0:
        return _EMPTY.copy(), _EMPTY.copy(), empty_i
    pos = np.zeros(lev.size, dtype=np.int64)
    pos[1:] = np.cumsum(counts)[:-1]
    xs = np.empty(2 * total, dtype=np.float64)
    ys = np.empty(2 * total, dtype=np.float64)
    _contour_kernel(z, float(x0), hx, float(y0), hy, slev, sidx, pos, xs, ys, True)
    level_index = np.repeat(np.arange(lev.size, dtype=np.int64), 2 * counts)
    return xs, ys, level_index


def _positive_finite(v: np.ndarray, zmin: float) -> np.ndarray:
    """The finite positive values of ``v - zmin`` (no warning if it overflows)."""
    with np.errstate(over="ignore"):
        d = v - zmin
    return d[np.isfinite(d) & (d > 0.0)]


def nice_levels(z: np.ndarray, n: int, lo_pct: float = 1.0, hi_pct: float = 99.0) -> np.ndarray:
    """``n`` contour levels suited to loss landscapes with a huge dynamic range.

    Levels are log-spaced in ``d = z - zmin`` (zmin = smallest finite value) between the
    ``lo_pct`` and ``hi_pct`` percentiles of the positive finite ``d``, and returned as
    z-values (ascending float64 array of length ``n``): dense near the minimum, sparse on
    the steep walls, whatever the sign or offset of ``z``. NaN and ±inf samples are
    ignored.

    Degenerate fields still give ``n`` values: all samples equal → ``n`` copies of that
    value (no contour would cross it anyway); no finite sample → ``n`` NaNs (which
    :func:`contour_segments` skips).
    """
    n = int(n)
    if n <= 0:
        return np.empty(0, dtype=np.float64)
    v = np.asarray(z, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.full(n, np.nan)
    zmin = float(v.min())
    d = _positive_finite(v[:: max(v.size // 65536, 1)], zmin)  # a sample is plenty
    if d.size == 0:
        d = _positive_finite(v, zmin)
    if d.size == 0:
        return np.full(n, zmin)
    lo, hi = np.percentile(d, [lo_pct, hi_pct])
    lo = float(lo)
    hi = float(hi)
    if not hi > lo:
        # (nearly) two-valued field: any level in (0, hi] draws the same line
        lo = hi * 1e-3
    if n == 1:
        return np.array([zmin + math.sqrt(lo * hi)])
    return zmin + np.geomspace(lo, hi, n)
