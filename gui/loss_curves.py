"""The loss panel's curves as data: what :class:`gui.loss_panel.LossPanel` draws from
each racer's loss, derived and decimated incrementally so that a frame costs the same
however long the run.

A :class:`Track` is one curve drawn from a racer's loss (the recorded loss, its moving
average or its epoch means); its :class:`CurveTrail` is that curve's min/max
:class:`Envelope` in fixed buckets, transformed (gap, log) and handed to a
:class:`gui.trails.TrailLayer` as fresh points.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from engine.display import ema_update, envelope_update
from gui.trails import FreshSource


class Envelope:
    """Min/max of a growing loss curve in fixed-width buckets, updated incrementally."""

    def __init__(self) -> None:
        self.width = 0
        self.done = 0  # rows consumed
        self.nb = 0
        self.mins = np.empty(0)
        self.restarted = False

    def update(self, y: np.ndarray, n: int, max_steps: int, buckets: int) -> int:
        """Take rows up to ``n``; returns the first bucket that changed. ``restarted``
        says whether the buckets were recomputed from row 0 (a new width, fewer rows
        than before, or outgrown buffers)."""
        width = max(1, -(-(max_steps + 1) // buckets))
        first = 0
        self.restarted = False
        if width != self.width or n < self.done or self.mins.shape[0] * width < n:
            self.restarted = True
            self.width = width
            cap = -(-max(n, max_steps + 1) // width) + 1
            self.mins = np.full(cap, np.nan)
            self.maxs = np.full(cap, np.nan)
            self.imin = np.zeros(cap, dtype=np.int64)
            self.imax = np.zeros(cap, dtype=np.int64)
            self.done = 0
        else:
            first = self.done // width
        start = (self.done // width) * width
        self.nb = int(
            envelope_update(y, start, n, width, self.mins, self.maxs, self.imin, self.imax)
        )
        self.done = n
        return first

    def points(self, b0: int, b1: int) -> tuple[np.ndarray, np.ndarray]:
        """Buckets [b0, b1) as (step, loss) points, each bucket's min and max in step order."""
        imin, imax = self.imin[b0:b1], self.imax[b0:b1]
        mins, maxs = self.mins[b0:b1], self.maxs[b0:b1]
        first_min = imin <= imax
        xs = np.empty(2 * (b1 - b0))
        ys = np.empty(2 * (b1 - b0))
        xs[0::2] = np.where(first_min, imin, imax)
        xs[1::2] = np.where(first_min, imax, imin)
        ys[0::2] = np.where(first_min, mins, maxs)
        ys[1::2] = np.where(first_min, maxs, mins)
        return xs, ys


class CurveTrail(FreshSource):
    """One loss curve (its bucket envelope, transformed) as a :class:`TrailLayer`
    source: ``buf[:n]`` holds every bucket's two points, and each update hands the
    points from the last, possibly partial, bucket onwards to the layer as fresh (a
    bucket only widens as it fills, so drawing it again covers the earlier stroke).

    The transformed values (−inf for an exact zero on a log axis) are kept in ``tval``;
    ``buf`` draws the zeros on the floor. ``lo``/``hi`` are the finite range of the
    points up to step ``cut`` (a blown-up run's later rows do not count)."""

    def __init__(self) -> None:
        self.env = Envelope()
        self.buf = np.empty((0, 2))
        self.tval = np.empty(0)
        self.n = 0
        self.generation = 0
        self.fresh: list[np.ndarray] = []
        self.cut: float | None = None
        self.lo, self.hi = math.inf, -math.inf  # finite range of the transformed points
        self.first_floor: int | None = None  # first row drawn on the floor

    def reset(self) -> None:
        self.env = Envelope()
        self.n = 0
        self.generation += 1
        self.fresh = []
        self.lo, self.hi = math.inf, -math.inf
        self.first_floor = None

    def set_cut(self, cut: float | None) -> None:
        """Count only the points up to step ``cut`` (None: all) in ``lo``/``hi``."""
        if cut == self.cut:
            return
        self.cut = cut
        self.lo, self.hi = math.inf, -math.inf
        self._widen(self.buf[: self.n, 0], self.tval[: self.n])

    def _widen(self, xs: np.ndarray, ty: np.ndarray) -> None:
        ok = np.isfinite(ty)
        if self.cut is not None:
            ok &= xs <= self.cut
        fin = ty[ok]
        if fin.size:
            self.lo, self.hi = min(self.lo, float(fin.min())), max(self.hi, float(fin.max()))

    def refloor(self, floor: float) -> bool:
        """Move the points drawn on the floor to ``floor``; True if any moved (then what
        was drawn is stale)."""
        zero = self.tval[: self.n] == -np.inf
        if not zero.any():
            return False
        self.buf[: self.n, 1] = np.where(zero, floor, self.tval[: self.n])
        self.generation += 1
        self.fresh = []
        return True

    def update(
        self,
        y: np.ndarray,
        n: int,
        max_steps: int,
        buckets: int,
        transform: Callable[[np.ndarray], np.ndarray],
        floor: float | None = None,
        scale: float = 1.0,
        offset: float = 0.0,
    ) -> bool:
        """Take rows up to ``n`` of ``y``; point k is drawn at step k·scale + offset."""
        b0 = self.env.update(y, n, max_steps, buckets)
        if self.env.restarted and self.n:
            self.generation += 1  # restarted: what was drawn is stale
            self.fresh = []
            self.lo, self.hi = math.inf, -math.inf
            self.first_floor = None
        nb = self.env.nb
        if nb <= b0:
            return False
        need = 2 * nb
        if self.buf.shape[0] < need:
            size = max(need, 2 * self.env.mins.shape[0])
            buf, tval = np.empty((size, 2)), np.empty(size)
            buf[: 2 * b0] = self.buf[: 2 * b0]
            tval[: 2 * b0] = self.tval[: 2 * b0]
            self.buf, self.tval = buf, tval
        xs, ys = self.env.points(b0, nb)
        xs = xs * scale + offset
        ty = transform(ys)
        zero = ty == -np.inf
        if zero.any() and self.first_floor is None:
            # the exact first row on the floor, from the raw rows of its bucket
            w = self.env.width
            b = b0 + int(np.argmax(zero)) // 2
            rows = transform(y[b * w : min((b + 1) * w, n)])
            self.first_floor = b * w + int(np.argmax(rows == -np.inf))
        self.buf[2 * b0 : need, 0] = xs
        self.buf[2 * b0 : need, 1] = np.where(zero, np.nan if floor is None else floor, ty)
        self.tval[2 * b0 : need] = ty
        self.n = need
        self._widen(xs, ty)
        self.fresh.append(self.buf[2 * b0 : need].copy())
        return True


class Track:
    """One curve the loss panel draws from a racer's loss: ``kind`` "step" (the recorded
    loss), "ema" (its exponential moving average) or "epoch" (the mean of each complete
    epoch); ``src`` is its :class:`TrailLayer` source, ``style`` its pen and ``zoom`` the
    curve drawn while zoomed in. Derived values are computed from the new rows only."""

    def __init__(self, kind: str, style: pg.PlotCurveItem, zoom: pg.PlotCurveItem) -> None:
        self.kind = kind
        self.style = style
        self.zoom = zoom
        self.src = CurveTrail()
        self.y = np.empty(0)
        self.done = 0  # rows (ema) or epochs (epoch) derived

    def _room(self, size: int) -> None:
        if self.y.shape[0] < size:
            y = np.full(max(size, 2 * self.y.shape[0]), np.nan)
            y[: self.done] = self.y[: self.done]
            self.y = y

    def derive(self, loss: np.ndarray, n: int, spe: int, alpha: float) -> tuple[np.ndarray, int]:
        """The values this curve draws from the first ``n`` rows of ``loss``, and how many."""
        if self.kind == "step":
            return loss, n
        if self.kind == "ema":
            if n < self.done:  # restarted
                self.done = 0
            self._room(n)
            if n > self.done:
                ema_update(loss, self.done, n, alpha, self.y)
                self.done = n
            return self.y, n
        m = n // spe  # complete epochs: rows [e·spe, (e + 1)·spe) are epoch e's batches
        if m < self.done:
            self.done = 0
        self._room(m)
        if m > self.done:
            block = loss[self.done * spe : m * spe].reshape(-1, spe)
            ok = np.isfinite(block)
            count = ok.sum(axis=1)
            total = np.where(ok, block, 0.0).sum(axis=1)
            self.y[self.done : m] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            self.done = m
        return self.y, m
