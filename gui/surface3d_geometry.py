"""What the 3-D view draws, as numbers: the surface's grid and heights, the lifted trails.

Neither Qt nor pyqtgraph is imported here: :mod:`gui.surface3d_gl` turns these arrays
into GL items, :mod:`gui.surface3d` is the dock.

Rules:

- Heights are data: the surface's z values are exactly ``Heights(f)`` on the grid
  (:func:`surface_grid`) and a trail point's z exactly ``Heights(f(x, y))`` at a recorded
  row. One :class:`Heights` serves the surface and the trails alike: f itself, or with
  *log height* log₁₀(f − f_min + ε).
- A trail (:class:`LiftedTrail`) is thinned like the 2-D panel's (points closer than a
  tolerance dropped, the tolerance doubled past :data:`TRAIL_CAP` points), its head is
  the last row. It ends at its last point before the racer first leaves the home box
  widened by half its size on each side (:func:`widened`; its head is then hidden):
  beyond, over no surface, heights mean little and a diverging run's would be huge.
- A dashed trail (racers past the eighth, as in the 2-D panels) is cut by the distance
  it travels in (x, y) (:func:`dash_segments`), so heights do not stretch its dashes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.display import rethin, thin_path
from engine.landscapes import landscape_f, landscape_grid

GRID_N = 96  # surface vertices per side (the 2-D heat map has gui.axes.GRID)
TRAIL_CAP = 4096  # thinned points per trail at most (then the tolerance doubles)
BUFFER_ROWS = 16  # a trail's thinning buffer, in TRAIL_CAPs: rows thinned per call
LOG_EPS = 1e-3  # log height: ε as a fraction of the grid's f range (3 decades of depth)

Box = tuple[float, float, float, float]  # x0, x1, y0, y1


class Heights:
    """The height drawn for a loss: f itself, or log₁₀(max(f − f_ref, 0) + ε).

    f_ref is the known minimum f* or the grid's least f, whichever is lower (as the 2-D
    heat map's colour); ε is :data:`LOG_EPS` of the grid's f range (its 99th percentile
    less f_ref). The surface and the trails use the same instance.
    """

    def __init__(self, log: bool, fref: float, eps: float) -> None:
        self.log = log
        self.fref = fref
        self.eps = eps

    @classmethod
    def of_grid(cls, z: np.ndarray, fmin_known: float | None, log: bool) -> Heights:
        finite = z[np.isfinite(z)]
        if finite.size == 0:
            return cls(log, 0.0, 1.0)
        zmin = float(finite.min())
        fref = min(fmin_known if fmin_known is not None else zmin, zmin)
        span = float(np.percentile(finite, 99)) - fref
        return cls(log, fref, max(span * LOG_EPS, 1e-12))

    def __call__(self, f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=float)
        if not self.log:
            return f.copy()
        with np.errstate(invalid="ignore"):
            return np.log10(np.maximum(f - self.fref, 0.0) + self.eps)


@dataclass(frozen=True)
class SurfaceGrid:
    """f sampled on a grid over a box, and the heights drawn for it.

    ``f`` and ``z`` are indexed [x index, y index] (GLSurfacePlotItem's layout); ``z`` is
    ``heights(f)`` where that is finite and ``hi`` elsewhere (no f there: a wall at the
    top); [``lo``, ``hi``] is the range of the finite heights, ``hi > lo`` (a flat or empty
    grid gets a range of 1).
    """

    x: np.ndarray
    y: np.ndarray
    f: np.ndarray
    heights: Heights
    z: np.ndarray
    lo: float
    hi: float


def surface_grid(
    lid: int,
    packed: np.ndarray,
    box: Box,
    fmin_known: float | None,
    log: bool,
    n: int = GRID_N,
) -> SurfaceGrid:
    """The landscape ``lid`` (parameters ``packed``) on an n×n grid over ``box``."""
    x0, x1, y0, y1 = box
    z = np.empty((n, n))  # [y index, x index]
    landscape_grid(lid, packed, x0, x1, n, y0, y1, n, z)
    f = z.T.copy()
    heights = Heights.of_grid(z, fmin_known, log)
    h = heights(f)
    finite = np.isfinite(h)
    if finite.any():
        lo, hi = float(h[finite].min()), float(h[finite].max())
    else:
        lo, hi = 0.0, 1.0
    h = np.where(finite, h, hi)
    if not hi > lo:
        hi = lo + 1.0
    return SurfaceGrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n), f, heights, h, lo, hi)


def widened(box: Box) -> Box:
    """``box`` widened by half its size on each side: where a trail ends."""
    x0, x1, y0, y1 = box
    dx, dy = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
    return x0 - dx, x1 + dx, y0 - dy, y1 + dy


def loss_at(lid: int, packed: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """f at each row (x, y) of ``pts``."""
    out = np.empty(pts.shape[0])
    for k in range(pts.shape[0]):
        out[k] = landscape_f(lid, packed, float(pts[k, 0]), float(pts[k, 1]))
    return out


class LiftedTrail:
    """One racer's path thinned for drawing, with f at each kept point (see the module's
    rules: it ends at its last kept point before it first leaves ``box``).

    Rows are thinned (:func:`engine.display.thin_path`) in chunks as long as the buffer
    (BUFFER_ROWS of ``cap``) has room, so a frame's many new rows cost a few calls; the
    box is checked on the points kept only, and f computed for those.
    """

    def __init__(self, cap: int = TRAIL_CAP) -> None:
        self.cap = cap
        self.buf = np.empty((BUFFER_ROWS * cap, 2))
        self.f = np.empty(cap)
        self.n = 0
        self.upto = 0  # rows taken
        self.left = False  # the racer left the box: nothing after is drawn
        self.eps = 0.0
        self.last = (math.nan, math.nan)
        self.head: tuple[float, float, float] | None = None  # (x, y, f) of its last row

    def reset(self, eps: float) -> None:
        self.n = 0
        self.upto = 0
        self.left = False
        self.eps = eps
        self.last = (math.nan, math.nan)
        self.head = None

    def update(self, xs: np.ndarray, count: int, lid: int, packed: np.ndarray, box: Box) -> bool:
        """Take rows [upto, count) of ``xs``; True if what is drawn changed."""
        if count < self.upto:
            self.reset(self.eps)
        if count == self.upto:
            return False
        start, self.upto = self.upto, count
        if self.left:
            return False
        n_first = self.n
        rethinned = False
        k = start
        while k < count:
            stop = min(count, k + (self.buf.shape[0] - self.n))  # each row adds ≤ 1 point
            n, lx, ly = thin_path(
                xs, k, stop, self.last[0], self.last[1], self.eps, self.buf, self.n
            )
            self.n = int(n)
            self.last = (float(lx), float(ly))
            k = stop
            while self.n > self.cap:
                self.eps = self.eps * 2.0 if self.eps > 0 else 1e-12
                self.n = int(rethin(self.buf, self.n, self.eps))
                self.last = (float(self.buf[self.n - 1, 0]), float(self.buf[self.n - 1, 1]))
                rethinned = True
        new = 0 if rethinned else n_first  # the points not yet checked nor lifted
        x0, x1, y0, y1 = box
        px, py = self.buf[new : self.n, 0], self.buf[new : self.n, 1]
        out = np.flatnonzero((px < x0) | (px > x1) | (py < y0) | (py > y1))
        if out.size:  # the trail ends before its first point outside
            self.n = new + int(out[0])
            self.left = True
            self.head = None
        self.f[new : self.n] = loss_at(lid, packed, self.buf[new : self.n])
        if not self.left:
            hx, hy = float(xs[count - 1, 0]), float(xs[count - 1, 1])
            if math.isfinite(hx) and math.isfinite(hy):
                self.head = (hx, hy, float(landscape_f(lid, packed, hx, hy)))
        return True

    def points(self) -> np.ndarray:
        """(k, 3): x, y, f of the kept points and the head."""
        pts = np.column_stack([self.buf[: self.n], self.f[: self.n]])
        if self.head is not None and (self.n == 0 or tuple(pts[-1, :2]) != self.head[:2]):
            pts = np.vstack([pts, np.array(self.head)[None, :]])
        return pts


def dash_segments(pos: np.ndarray, pattern: tuple[float, ...], unit: float) -> np.ndarray:
    """The pieces of the polyline ``pos`` (k, 3) drawn in ``pattern`` (on, off, on, ...
    lengths in ``unit``s of the distance travelled in (x, y), as a Qt dash pattern), as
    end-point pairs (2m, 3) for lines drawn pair by pair; an empty ``pattern`` (a solid
    line): every segment."""
    if pos.shape[0] < 2:
        return np.zeros((0, pos.shape[1]))
    step = np.hypot(np.diff(pos[:, 0]), np.diff(pos[:, 1]))
    s = np.concatenate([[0.0], np.cumsum(step)])
    total = float(s[-1])
    if not pattern or not total > 0.0 or not unit > 0.0:
        return np.repeat(pos, 2, axis=0)[1:-1]
    marks = np.cumsum(np.asarray(pattern, dtype=np.float64) * unit)  # ends of the parts
    period = float(marks[-1])
    n = math.ceil(total / period)
    starts = np.concatenate([[0.0], marks[:-1]])
    cuts = (np.arange(n)[:, None] * period + starts[None, :]).ravel()
    at = np.unique(np.concatenate([s, cuts[(cuts > 0.0) & (cuts < total)]]))
    pts = np.column_stack([np.interp(at, s, pos[:, j]) for j in range(pos.shape[1])])
    part = np.searchsorted(marks, (0.5 * (at[:-1] + at[1:])) % period, side="right")
    on = part % 2 == 0  # the pattern's even entries are drawn
    out = np.empty((2 * int(on.sum()), pos.shape[1]))
    out[0::2], out[1::2] = pts[:-1][on], pts[1:][on]
    return out
