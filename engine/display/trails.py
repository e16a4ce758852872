"""A bounded, thinned copy of a growing optimizer trajectory.

:func:`thin_path` appends only the points that move farther than a tolerance,
:func:`rethin` halves a full buffer with a doubled tolerance, and :class:`TrailThinner`
keeps one trail with both, so drawing cost never grows with trail length.
:func:`finite_bounds` is the bounding box of a trail's finite points.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit

__all__ = ["TrailThinner", "finite_bounds", "rethin", "thin_path"]


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
