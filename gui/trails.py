"""Racer trails and heads: the points each frame adds, thinned, and stroked into a
cached layer that repaints only where they grew."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QImage, QPainter, QPen, QTransform

from engine.display import (
    rethin,
    thin_path,
)
from gui.axes import TRAIL_CAP, update_around


class Heads(pg.GraphicsObject):
    """Every racer's current position as a filled, white-ringed disc of ``size`` pixels.

    One item painted in one pass: a ScatterPlotItem per racer costs ~0.3 ms per frame
    to update and as much again to paint, and the heads move every frame.
    """

    def __init__(self, size: float = 12.0) -> None:
        super().__init__()
        self.size = float(size)
        self.xy = np.full((0, 2), np.nan)
        self.shown = np.zeros(0, dtype=bool)
        self.brushes: list[QBrush] = []
        self.pen = pg.mkPen("w", width=1.5)

    def set_colors(self, colors: list[str]) -> None:
        """One disc per colour, all hidden until :meth:`set_point` places them."""
        self.xy = np.full((len(colors), 2), np.nan)
        self.shown = np.ones(len(colors), dtype=bool)
        self.brushes = [pg.mkBrush(c) for c in colors]
        self.update()

    def set_point(self, i: int, x: float, y: float, shown: bool = True) -> None:
        """Move disc ``i`` to (x, y) (hidden while non-finite or not ``shown``)."""
        ox, oy = self.xy[i]
        if ox == x and oy == y and self.shown[i] == shown:
            return
        self.xy[i] = (x, y)
        self.shown[i] = shown
        update_around(self, np.array([ox, x]), np.array([oy, y]), self.size)

    def points(self) -> np.ndarray:
        """The drawn discs' centres, shape (k, 2)."""
        ok: npt.NDArray[np.bool_] = self.shown & np.isfinite(self.xy).all(axis=1)
        return self.xy[ok]

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self._pixel = None

    def boundingRect(self) -> QRectF:
        # the whole view: a move repaints only the discs' old and new places (update_around)
        vb = self.getViewBox()
        return QRectF() if vb is None else vb.viewRect()

    def paint(self, p: QPainter, *_args: object) -> None:
        tr = p.combinedTransform()
        r = self.size / 2
        p.save()
        p.resetTransform()  # discs in device pixels
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(self.pen)
        for i in range(self.xy.shape[0]):
            x, y = self.xy[i]
            if not (self.shown[i] and math.isfinite(x) and math.isfinite(y)):
                continue
            c = tr.map(QPointF(float(x), float(y)))
            if abs(c.x()) > 1e6 or abs(c.y()) > 1e6:
                continue
            p.setBrush(self.brushes[i])
            p.drawEllipse(c, r, r)
        p.restore()


def clip_polyline(
    px: np.ndarray, py: np.ndarray, box: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray, str]:
    """Clip a polyline to ``box`` (Liang-Barsky per segment) for drawing.

    Returns the points and pyqtgraph's ``connect`` mode: the polyline unchanged when it is
    inside the box, else its clipped segments as pairs. A diverging zig-zag reaches 1e150
    long before it overflows, and Qt strokes such coordinates extremely slowly.
    """
    x0, x1, y0, y1 = box
    if px.size < 2 or (px.min() >= x0 and px.max() <= x1 and py.min() >= y0 and py.max() <= y1):
        return px, py, "all"
    ax, ay, bx, by = px[:-1], py[:-1], px[1:], py[1:]
    dx, dy = bx - ax, by - ay
    t0 = np.zeros_like(ax)
    t1 = np.ones_like(ax)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            r = q / p
            par = p == 0
            t0 = np.where(~par & (p < 0), np.maximum(t0, r), t0)
            t1 = np.where(~par & (p > 0), np.minimum(t1, r), t1)
            t1 = np.where(par & (q < 0), -1.0, t1)  # parallel and outside
    keep = (t0 <= t1) & np.isfinite(t0) & np.isfinite(t1)
    t0, t1 = t0[keep], t1[keep]
    ax, ay, dx, dy = ax[keep], ay[keep], dx[keep], dy[keep]
    out_x = np.empty(2 * ax.size)
    out_y = np.empty(2 * ax.size)
    out_x[0::2], out_y[0::2] = ax + t0 * dx, ay + t0 * dy
    out_x[1::2], out_y[1::2] = ax + t1 * dx, ay + t1 * dy
    return out_x, out_y, "pairs"


class FreshSource:
    """A TrailLayer source: ``buf[:n]`` are its points, ``fresh`` collects the points
    added since the layer last drew, ``generation`` is bumped when what was drawn became
    stale."""

    buf: np.ndarray
    n: int
    generation: int
    fresh: list[np.ndarray]

    def take_fresh(self) -> np.ndarray:
        """The points kept since the last call, in order, shape (k, 2)."""
        f, self.fresh = self.fresh, []
        if not f:
            return np.empty((0, 2))
        return f[0] if len(f) == 1 else np.concatenate(f)


class Trail(FreshSource):
    """Incrementally thinned copy of one racer's path, for drawing."""

    def __init__(self, cap: int = TRAIL_CAP) -> None:
        self.buf = np.empty((cap, 2))
        self.n = 0
        self.upto = 0
        self.eps = 0.0
        self.last = (math.nan, math.nan)
        self.generation = 0  # bumped by reset: what was drawn of the trail is stale
        self.fresh: list[np.ndarray] = []  # points kept since the last take_fresh()

    def reset(self, eps: float) -> None:
        self.n = 0
        self.upto = 0
        self.eps = eps
        self.last = (math.nan, math.nan)
        self.generation += 1
        self.fresh = []

    def update(self, xs: np.ndarray, count: int) -> bool:
        """Take rows [upto, count) of ``xs`` (n, ≥2); True if anything changed."""
        if count < self.upto:
            self.reset(self.eps)
        if count == self.upto:
            return False
        cap = self.buf.shape[0]
        while self.upto < count:
            if self.n > cap // 2:
                self.eps = self.eps * 2.0 if self.eps > 0 else 1e-12
                self.n = int(rethin(self.buf, self.n, self.eps))
                if self.n:
                    self.last = (float(self.buf[self.n - 1, 0]), float(self.buf[self.n - 1, 1]))
            stop = min(count, self.upto + (cap - self.n))
            n0 = self.n
            n, lx, ly = thin_path(
                xs, self.upto, stop, self.last[0], self.last[1], self.eps, self.buf, self.n
            )
            self.n = int(n)
            if self.n > n0:
                self.fresh.append(self.buf[n0 : self.n].copy())
            self.last = (float(lx), float(ly))
            self.upto = stop
        return True

    def points(self, head: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """x and y arrays to draw (the kept points plus the current head)."""
        pts = self.buf[: self.n]
        if head is not None and np.all(np.isfinite(head)):
            pts = np.vstack([pts, head[None, :2]])
        return pts[:, 0].copy(), pts[:, 1].copy()


class TrailLayer(pg.GraphicsObject):
    """Every racer's trail, rasterised incrementally into one image.

    A trail only grows, so each frame strokes just the segments added since the last
    paint into an image the size of the view (device pixels), and a paint is one blit:
    the cost of a frame does not grow with the trails' lengths or the pen's width. The
    image is redrawn whole from the thinned trails (:class:`Trail`) when the view's
    transform (zoom, pan, resize), a trail (restart), a pen or a racer's visibility
    changes. ``styles[i]`` (a PlotCurveItem that is not drawn itself; it is the legend's
    sample) holds racer ``i``'s pen and antialiasing.

    Segments are stroked in the order they arrive (a later segment of any racer over an
    earlier one); each increment starts at the last point drawn, so the joins are those
    of one continuous polyline. The segment from the last kept point to the head is
    stroked too: it lies along the true path, within the thinning tolerance.
    """

    MAX_PENDING = 200_000  # points waiting for a paint; beyond, redraw whole at the next

    def __init__(self) -> None:
        super().__init__()
        self.trails: Sequence[FreshSource] = []
        self.styles: list[pg.PlotCurveItem] = []
        self.heads: list[np.ndarray | None] = []
        self.pending: list[list[np.ndarray]] = []
        self.tails: list[np.ndarray | None] = []
        self.n_pending = 0
        self.drawn: list[tuple[float, float] | None] = []  # last point drawn, per racer
        self.dashes: list[float] = []
        self.generations: list[int] = []
        self.img: QImage | None = None
        self.key: tuple[object, ...] | None = None  # what the image was drawn for
        self.origin = QPointF()
        self.full_redraws = 0  # for tests and benchmarks

    def set_racers(self, trails: Sequence[FreshSource], styles: list[pg.PlotCurveItem]) -> None:
        self.trails, self.styles = trails, styles
        self.heads = [None] * len(trails)
        self.invalidate()

    def invalidate(self) -> None:
        """Redraw every trail whole at the next paint."""
        self._forget()
        self.update()

    def _forget(self) -> None:
        self.key = None
        self.tails = [None] * len(self.trails)  # last pushed point
        self.pending = [[] for _ in self.trails]
        self.n_pending = 0
        self.drawn = [None] * len(self.trails)
        self.dashes = [0.0] * len(self.trails)  # dash offset where each racer's stroke ends
        self.generations = [t.generation for t in self.trails]

    def push(self, i: int, head: np.ndarray | None) -> None:
        """Racer ``i``'s trail (``trails[i]``) moved on: queue its new points for drawing."""
        if self.key is None:
            self.trails[i].take_fresh()
            self.heads[i] = head
            self.update()
            return
        if self.trails[i].generation != self.generations[i]:
            self.trails[i].take_fresh()
            self.heads[i] = head
            self.invalidate()
            return
        pts = self.trails[i].take_fresh()
        if head is not None and np.all(np.isfinite(head[:2])):
            pts = np.vstack([pts, head[None, :2]]) if pts.shape[0] else head[None, :2]
        self.heads[i] = head
        if pts.shape[0]:
            self.pending[i].append(pts)
            self.n_pending += pts.shape[0]
            if self.n_pending > self.MAX_PENDING:
                self.invalidate()
                return
            tail = self.tails[i]
            ends = pts if tail is None else np.vstack([tail[None, :], pts])
            self.tails[i] = pts[-1].copy()
            width = self.styles[i].opts["pen"].widthF() if self.styles else 1.0
            update_around(self, ends[:, 0], ends[:, 1], 2.0 + width)

    # ------------------------------------------------------------ QGraphicsItem
    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self._pixel = None
        self.prepareGeometryChange()

    def boundingRect(self) -> QRectF:
        vb = self.getViewBox()
        return QRectF() if vb is None else vb.viewRect()

    def _style_key(self) -> tuple[tuple[int, float, bool, bool, int], ...]:
        return tuple(
            (s.opts["pen"].color().rgba(), s.opts["pen"].widthF(), bool(s.opts["antialias"]),
             s.isVisible(), s.opts["pen"].style().value)
            for s in self.styles
        )  # fmt: skip

    def paint(self, p: QPainter, *_args: object) -> None:
        if not self.trails:
            return
        # item -> the painter's logical device coordinates (what resetTransform() leaves);
        # not deviceTransform(), which adds the offset of a widget painted into its
        # window's backing store
        tr = p.combinedTransform()
        view = self.boundingRect()
        dev = p.device()
        box = tr.mapRect(view).toAlignedRect().intersected(QRect(-8192, -8192, 16384, 16384))
        if box.isEmpty():
            return
        dpr = dev.devicePixelRatioF() if hasattr(dev, "devicePixelRatioF") else 1.0
        key = (tr.m11(), tr.m12(), tr.m21(), tr.m22(), tr.dx(), tr.dy(),
               box.x(), box.y(), box.width(), box.height(), dpr, self._style_key())  # fmt: skip
        if key != self.key:
            if self.key is not None:  # the whole image changes, not just the exposed part
                QTimer.singleShot(0, self.update)
            self._forget()
            self.key = key
            self.full_redraws += 1
            img = QImage(
                int(box.width() * dpr), int(box.height() * dpr),
                QImage.Format.Format_ARGB32_Premultiplied,
            )  # fmt: skip
            img.setDevicePixelRatio(dpr)
            img.fill(0)
            self.img, self.origin = img, QPointF(box.topLeft())
            for i, t in enumerate(self.trails):
                pts = t.buf[: t.n]
                h = self.heads[i]
                if h is not None and np.all(np.isfinite(h[:2])):
                    pts = np.vstack([pts, h[None, :2]])
                t.take_fresh()
                if pts.shape[0]:
                    self.pending[i].append(pts)
        layer = self.img
        assert layer is not None  # made with self.key, which is set
        if self.n_pending or any(self.pending):
            self._stroke(layer, tr, view)
        p.save()
        p.resetTransform()
        p.drawImage(self.origin, layer)
        p.restore()

    def _stroke(self, img: QImage, tr: QTransform, view: QRectF) -> None:
        """Stroke the queued points into ``img``."""
        q = QPainter(img)
        q.setTransform(tr * QTransform.fromTranslate(-self.origin.x(), -self.origin.y()))
        w, h = view.width(), view.height()
        clip = (view.left() - 4 * w, view.right() + 4 * w, view.top() - 4 * h,
                view.bottom() + 4 * h)  # fmt: skip
        for i, chunks in enumerate(self.pending):
            if not chunks:
                continue
            style = self.styles[i]
            pts = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
            chunks.clear()
            if not style.isVisible():
                continue
            last = self.drawn[i]
            self.drawn[i] = (float(pts[-1, 0]), float(pts[-1, 1]))
            if last is not None:
                pts = np.vstack([np.array(last)[None, :], pts])
            if pts.shape[0] < 2:
                continue
            px, py, connect = clip_polyline(
                np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1]), clip
            )
            if px.size < 2:
                continue
            q.setRenderHint(QPainter.RenderHint.Antialiasing, bool(style.opts["antialias"]))
            pen, path = style.opts["pen"], pg.arrayToQPath(px, py, connect=connect)
            if pen.style() != Qt.PenStyle.SolidLine:  # the dashes go on where the last ended
                pen = QPen(pen)
                pen.setDashOffset(self.dashes[i])
                self.dashes[i] += q.transform().map(path).length() / max(pen.widthF(), 1.0)
            q.setPen(pen)
            q.drawPath(path)
        q.end()
        self.n_pending = 0
