"""Pure-numeric drawing helpers the GUI calls every frame or on every zoom.

Nothing here knows about Qt: every function takes and returns plain numpy arrays,
laid out so that pyqtgraph can draw them directly.

* :func:`contour_segments` and :func:`nice_levels` — iso-lines of a sampled landscape
  as point pairs for ``PlotCurveItem(xs, ys, connect='pairs')``.
* :func:`thin_path`, :func:`rethin` and :class:`TrailThinner` — a bounded, thinned copy
  of a growing optimizer trajectory, so drawing cost never grows with trail length.
* :func:`minmax_decimate` — min/max envelope of a loss-vs-step curve for zoomed views.
* :func:`log_safe` — log10 for log-axis plots that never warns.
* :func:`ema_update` — an exponential moving average of a growing curve, incrementally.
* :func:`quiver_segments` — gradient-field arrows as point pairs.

Every numba kernel goes through :func:`engine.jit.jit` (nogil, cached, no fastmath), so
the GUI may call them from any thread.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit
from engine.perceptron_kernel import bce_loss

__all__ = [
    "TrailThinner",
    "contour_segments",
    "ema_update",
    "finite_bounds",
    "log_safe",
    "minmax_decimate",
    "nice_levels",
    "quiver_segments",
    "rethin",
    "thin_path",
]

_EMPTY = np.empty(0, dtype=np.float64)


# ================================================================ contours
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


# ================================================================ trajectory thinning
@jit
def _farther(dx: float, dy: float, eps: float) -> bool:
    """Whether hypot(dx, dy) > eps (eps >= 0), without overflow or underflow."""
    adx = abs(dx)
    ady = abs(dy)
    if adx > eps or ady > eps:
        return True
    if 1e-150 < eps < 1e150:  # both squares are safe: plain arithmetic, fast
        return adx * adx + ady * ady > eps * eps
    return math.hypot(adx, ady) > eps


@jit
def thin_path(
    xs: np.ndarray,
    start: int,
    stop: int,
    last_x: float,
    last_y: float,
    eps: float,
    out: np.ndarray,
    n_out: int,
) -> tuple[int, float, float]:
    """Incremental distance-based thinning of a 2-D trajectory (compiled, GIL released).

    Appends to ``out`` (from row ``n_out``) every finite point of ``xs[start:stop]``
    (columns 0 and 1) that lies farther than ``eps`` (Euclidean) from the last kept
    point ``(last_x, last_y)``, and returns ``(n_out, last_x, last_y)`` updated. When
    ``n_out == 0`` or the last point is non-finite, the first finite point is always kept.
    Non-finite points are skipped. ``eps < 0`` or NaN acts as 0 (only exact repeats are
    dropped). ``start``/``stop`` are clamped to the rows of ``xs``.

    Appending stops when ``out`` is full and the call returns ``n_out == len(out)``;
    rows after the one that filled it are then *not* examined. To always know where to
    resume, give a call at most ``len(out) - n_out`` rows (each row adds at most one
    point, so such a call consumes its whole range even when it fills ``out``).

    Intended use — :class:`TrailThinner` packages it: the GUI keeps at most ~20k drawn
    points per trail; each frame it thins only the rows added since the last frame;
    when the buffer fills it doubles ``eps`` and calls :func:`rethin`, so drawing cost
    never grows with trail length while every visible zig-zag larger than ``eps`` (a
    pixel or so) stays drawn.
    """
    m = out.shape[0]
    if stop > xs.shape[0]:
        stop = xs.shape[0]
    if start < 0:
        start = 0
    if not eps >= 0.0:
        eps = 0.0
    have_last = n_out > 0 and np.isfinite(last_x) and np.isfinite(last_y)
    for k in range(start, stop):
        if n_out >= m:
            break
        x = xs[k, 0]
        y = xs[k, 1]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        if have_last and not _farther(x - last_x, y - last_y, eps):
            continue
        out[n_out, 0] = x
        out[n_out, 1] = y
        n_out += 1
        last_x = x
        last_y = y
        have_last = True
    return n_out, last_x, last_y


@jit
def rethin(out: np.ndarray, n: int, eps: float) -> int:
    """Thin the first ``n`` rows of ``out`` in place with a (larger) ``eps``; returns the
    new row count.

    Same rule as :func:`thin_path`: the first finite row is kept, then every finite row
    farther than ``eps`` from the last kept one. Kept rows keep their order and move to
    the front of ``out``; rows past the returned count are left as garbage.
    """
    n = min(n, out.shape[0])
    if not eps >= 0.0:
        eps = 0.0
    k = 0
    last_x = 0.0
    last_y = 0.0
    for i in range(n):
        x = out[i, 0]
        y = out[i, 1]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        if k > 0 and not _farther(x - last_x, y - last_y, eps):
            continue
        out[k, 0] = x
        out[k, 1] = y
        k += 1
        last_x = x
        last_y = y
    return k


class TrailThinner:
    """A bounded, thinned copy of one growing trajectory, for drawing.

    Call :meth:`update` every frame with the racer's trajectory rows and its row count;
    it thins only the new rows (see :func:`thin_path`) into a buffer of ``capacity``
    points. When the buffer fills, ``eps`` doubles (or, from 0, starts at the buffer's
    extent / capacity) and the buffer is re-thinned until at most half of it is used,
    so the per-frame cost is bounded by the new rows and the drawn size by ``capacity``.

    The returned points end at the last *kept* point, which may lag the racer's current
    position by up to ``eps``; draw the current position separately (the racer's marker).
    Pass ``eps`` of about one pixel in data units; after a zoom-in, ``reset(new_eps)``
    and one :meth:`update` re-thin the whole trajectory at the finer scale (O(rows)).
    """

    def __init__(self, capacity: int = 20_000, eps: float = 0.0) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = int(capacity)
        self.initial_eps = max(float(eps), 0.0)
        self.out = np.empty((self.capacity, 2), dtype=np.float64)
        self.reset()

    def reset(self, eps: float | None = None) -> None:
        """Forget the trail (new race or new start point); optionally set a new eps."""
        if eps is not None:
            self.initial_eps = max(float(eps), 0.0)
        self.eps = self.initial_eps
        self.n = 0
        self.consumed = 0
        self.last_x = math.nan
        self.last_y = math.nan

    @property
    def points(self) -> np.ndarray:
        """The kept points, shape (n, 2) (a view: copy it if you keep it past the next
        :meth:`update`)."""
        return self.out[: self.n]

    def update(self, xs: np.ndarray, count: int) -> np.ndarray:
        """Thin rows ``xs[consumed:count]`` into the buffer and return :attr:`points`.

        ``xs`` may be a different (e.g. grown) array each call as long as its first
        ``count`` rows extend the previous ones; a ``count`` below what was already
        consumed means a restarted trajectory and resets the trail.
        """
        count = min(int(count), xs.shape[0])
        if count < self.consumed:
            self.reset()
        while self.consumed < count:
            room = self.capacity - self.n
            if room == 0:
                self._shrink()
                continue
            stop = min(count, self.consumed + room)
            self.n, self.last_x, self.last_y = thin_path(
                xs, self.consumed, stop, self.last_x, self.last_y, self.eps, self.out, self.n
            )
            self.consumed = stop
        return self.points

    def _shrink(self) -> None:
        """Double eps and re-thin until at most half of the buffer is used."""
        if self.eps <= 0.0:
            pts = self.out[: self.n]
            ext = float(np.max(pts.max(axis=0) - pts.min(axis=0)))
            self.eps = max(ext / self.capacity, 1e-300)
        else:
            self.eps *= 2.0
        self.n = rethin(self.out, self.n, self.eps)
        while self.n > self.capacity // 2:
            self.eps *= 2.0
            self.n = rethin(self.out, self.n, self.eps)
        self.last_x = float(self.out[self.n - 1, 0])
        self.last_y = float(self.out[self.n - 1, 1])


@jit
def finite_bounds(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float]:
    """(x min, x max, y min, y max) over the points whose x and y are both finite; all
    NaN if there is none. One pass (the GUI asks this of every increment it draws)."""
    x0 = math.inf
    x1 = -math.inf
    y0 = math.inf
    y1 = -math.inf
    for k in range(min(xs.shape[0], ys.shape[0])):
        x = xs[k]
        y = ys[k]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        x0 = min(x0, x)
        x1 = max(x1, x)
        y0 = min(y0, y)
        y1 = max(y1, y)
    if x0 > x1:
        return math.nan, math.nan, math.nan, math.nan
    return x0, x1, y0, y1


# ================================================================ loss curves
@jit
def minmax_decimate(
    y: np.ndarray,
    start: int,
    stop: int,
    buckets: int,
    out_x: np.ndarray,
    out_y: np.ndarray,
) -> int:
    """Min/max decimation of a loss-vs-step curve over steps ``[start, stop)`` (compiled).

    Writes at most ``2 * buckets`` points ``(out_x[p], out_y[p])`` with ``x`` = step
    index, ascending, and returns how many it wrote. If the range holds at most
    ``2 * buckets`` steps they are copied as they are. Otherwise bucket ``b`` covers
    steps ``[start + b*span // buckets, start + (b+1)*span // buckets)``
    (``span = stop - start``)
    and contributes its minimum and maximum at their own steps, in step order (one point
    if they coincide); NaNs are ignored, except that a bucket of only NaNs contributes
    one NaN point (at its first step) so ``connect='finite'`` keeps the gap. ±inf count
    as values. ``start``/``stop`` are clamped to ``y``; ``buckets`` to the output size.
    """
    n = y.shape[0]
    if start < 0:
        start = 0
    if stop > n:
        stop = n
    buckets = min(buckets, out_x.shape[0] // 2, out_y.shape[0] // 2)
    if stop <= start or buckets <= 0:
        return 0
    span = stop - start
    if span <= 2 * buckets:
        for k in range(span):
            out_x[k] = start + k
            out_y[k] = y[start + k]
        return span
    p = 0
    for b in range(buckets):
        b0 = start + (b * span) // buckets
        b1 = start + ((b + 1) * span) // buckets
        imin = -1
        imax = -1
        vmin = 0.0
        vmax = 0.0
        for i in range(b0, b1):
            v = y[i]
            if np.isnan(v):
                continue
            if imin < 0:
                imin = i
                imax = i
                vmin = v
                vmax = v
            elif v < vmin:
                imin = i
                vmin = v
            elif v > vmax:
                imax = i
                vmax = v
        if imin < 0:
            out_x[p] = b0
            out_y[p] = np.nan
            p += 1
        elif imin == imax:
            out_x[p] = imin
            out_y[p] = vmin
            p += 1
        elif imin < imax:
            out_x[p] = imin
            out_y[p] = vmin
            out_x[p + 1] = imax
            out_y[p + 1] = vmax
            p += 2
        else:
            out_x[p] = imax
            out_y[p] = vmax
            out_x[p + 1] = imin
            out_y[p + 1] = vmin
            p += 2
    return p


def log_safe(y: np.ndarray, floor: float = 1e-300) -> np.ndarray:
    """``log10(y)`` for log-axis plots, without warnings.

    Positive finite values below ``floor`` and zeros (either sign) map to
    ``log10(floor)``; negative values, NaN and ±inf map to NaN (a gap with
    ``connect='finite'``). Returns a new float64 array of the shape of ``y``.
    ``floor`` must be positive and finite.
    """
    floor = float(floor)
    if not (floor > 0.0 and math.isfinite(floor)):
        raise ValueError(f"floor must be positive and finite, got {floor!r}")
    v = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(v) & (v >= 0.0)
    out = np.full(v.shape, np.nan)
    np.log10(np.maximum(v, floor), out=out, where=ok)
    return out


@jit
def ema_update(y: np.ndarray, start: int, stop: int, alpha: float, out: np.ndarray) -> None:
    """Exponential moving average of ``y``, rows [start, stop) into ``out``.

    out[k] = out[k−1] + alpha·(y[k] − out[k−1]), starting from the first finite y (NaN
    before it); a non-finite y[k] keeps out[k−1]. ``out[start − 1]`` must hold the
    average so far, so a growing curve costs only its new rows. With alpha = 1/τ the
    average forgets with a time constant of about τ rows.
    """
    prev = out[start - 1] if start > 0 else math.nan
    for k in range(start, stop):
        v = y[k]
        if math.isfinite(v):
            if math.isfinite(prev):
                prev = prev + alpha * (v - prev)
            else:
                prev = v
        out[k] = prev


# ================================================================ gradient field
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


@jit
def envelope_update(
    y: np.ndarray,
    start: int,
    stop: int,
    width: int,
    mins: np.ndarray,
    maxs: np.ndarray,
    imin: np.ndarray,
    imax: np.ndarray,
) -> int:
    """Incremental min/max envelope of ``y`` in fixed buckets of ``width`` steps.

    Recomputes the buckets that rows [start, stop) touch (from each bucket's first row),
    so a caller that passes start = the first row of its last incomplete bucket pays only
    for the new rows. Returns the number of buckets now covered. Non-finite rows are
    skipped (a bucket of only non-finite rows gets NaN).
    """
    if stop <= start or width < 1:
        return (stop + width - 1) // width if width >= 1 else 0
    b0 = start // width
    b1 = (stop - 1) // width
    for b in range(b0, b1 + 1):
        lo = b * width
        hi = min(lo + width, stop)
        mn = math.inf
        mx = -math.inf
        jn = lo
        jx = lo
        for j in range(lo, hi):
            v = y[j]
            if not math.isfinite(v):
                continue
            if v < mn:
                mn = v
                jn = j
            if v > mx:
                mx = v
                jx = j
        if mn == math.inf:
            mins[b] = math.nan
            maxs[b] = math.nan
        else:
            mins[b] = mn
            maxs[b] = mx
        imin[b] = jn
        imax[b] = jx
    return b1 + 1
