"""The plot panels: the landscape (heat map, contours, trails) and the loss curves.

Panels draw what they are given; they never step the race. Per frame they pull only
the rows added since the last frame: trails are thinned incrementally (engine.display
.thin_path) and loss curves are min/max-decimated to the visible step range, so the
cost of a frame does not grow with the length of the run.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPainter, QTransform

from engine.display import (
    contour_segments,
    envelope_update,
    finite_bounds,
    log_safe,
    minmax_decimate,
    nice_levels,
    quiver_segments,
    rethin,
    thin_path,
)
from engine.landscapes import landscape_grid

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")


def cache_static_items(plot: pg.PlotWidget, *items: object) -> None:
    """Render axes (and other rarely changing items) once into a pixmap and reuse it.

    Without this every repaint replays each axis' QPicture (text included), which costs
    ~12 ms per axis per frame with software rendering.
    """
    from PySide6.QtWidgets import QGraphicsItem

    mode = QGraphicsItem.CacheMode.DeviceCoordinateCache
    for name in ("left", "bottom", "right", "top"):
        ax = plot.plotItem.getAxis(name)
        if ax is not None:
            ax.setCacheMode(mode)
    for it in items:
        it.setCacheMode(mode)  # type: ignore[attr-defined]


def cache_legend(legend: pg.LegendItem) -> None:
    """Pixmap-cache a legend's samples and labels too (call after adding entries): a
    parent's cache holds only its own painting, and a plot whose curves move under the
    legend repaints every entry each frame otherwise."""
    from PySide6.QtWidgets import QGraphicsItem

    mode = QGraphicsItem.CacheMode.DeviceCoordinateCache
    for sample, label in legend.items:
        sample.setCacheMode(mode)
        label.setCacheMode(mode)


GRID = 512
LEVELS = 15
TRAIL_CAP = 20000
# Live trails are cosmetic 1 px strokes: Qt strokes a wider pen by outlining the whole
# path, ~30x slower (8 trails of ~20k points: ~60 ms per repaint at 1.5 px, ~2 ms at 1 px).
# Rendered slides (MainWindow.slide_layout) widen them.
TRAIL_WIDTH = 1


def update_around(item: pg.GraphicsObject, xs: np.ndarray, ys: np.ndarray, pad_px: float) -> None:
    """Schedule a repaint of ``item`` where the points (item coordinates) are, padded by
    ``pad_px`` device pixels: a frame then repaints (and re-blits every cached layer
    under) a few small rectangles instead of the whole plot.

    The item's pixel size is cached in ``item._pixel`` (reset it in viewTransformChanged):
    pyqtgraph's pixelVectors() costs ~0.1 ms and this runs ~20 times a frame.
    """
    pix = getattr(item, "_pixel", None)
    if pix is None:
        px, py = item.pixelVectors()
        if px is None or py is None:
            item.update()
            return
        pix = (abs(px.x()) + abs(py.x()), abs(px.y()) + abs(py.y()))
        item._pixel = pix  # type: ignore[attr-defined]
    x0, x1, y0, y1 = finite_bounds(xs, ys)
    if not x0 <= x1:
        return
    mx, my = pad_px * pix[0], pad_px * pix[1]
    rect = QRectF(x0 - mx, y0 - my, x1 - x0 + 2 * mx, y1 - y0 + 2 * my)
    item.update(rect.intersected(item.boundingRect()))


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
        self.brushes: list = []
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
        ok = self.shown & np.isfinite(self.xy).all(axis=1)
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


class _FreshSource:
    """A TrailLayer source: ``fresh`` collects the points added since the layer last
    drew, ``generation`` is bumped when what was drawn became stale."""

    fresh: list[np.ndarray]

    def take_fresh(self) -> np.ndarray:
        """The points kept since the last call, in order, shape (k, 2)."""
        f, self.fresh = self.fresh, []
        if not f:
            return np.empty((0, 2))
        return f[0] if len(f) == 1 else np.concatenate(f)


class Trail(_FreshSource):
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
        self.trails: list[Trail] = []
        self.styles: list[pg.PlotCurveItem] = []
        self.heads: list[np.ndarray | None] = []
        self.pending: list[list[np.ndarray]] = []
        self.tails: list[np.ndarray | None] = []
        self.n_pending = 0
        self.drawn: list[tuple[float, float] | None] = []  # last point drawn, per racer
        self.generations: list[int] = []
        self.img: QImage | None = None
        self.key: tuple | None = None
        self.origin = QPointF()
        self.full_redraws = 0  # for tests and benchmarks

    def set_racers(self, trails: list[Trail], styles: list[pg.PlotCurveItem]) -> None:
        self.trails, self.styles = trails, styles
        self.heads = [None] * len(trails)
        self.invalidate()

    def invalidate(self) -> None:
        """Redraw every trail whole at the next paint."""
        self._forget()
        self.update()

    def _forget(self) -> None:
        self.key = None
        self.tails: list[np.ndarray | None] = [None] * len(self.trails)  # last pushed point
        self.pending = [[] for _ in self.trails]
        self.n_pending = 0
        self.drawn = [None] * len(self.trails)
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

    def _style_key(self) -> tuple:
        return tuple(
            (s.opts["pen"].color().rgba(), s.opts["pen"].widthF(), bool(s.opts["antialias"]),
             s.isVisible())
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
        if self.n_pending or any(self.pending):
            self._stroke(tr, view)
        p.save()
        p.resetTransform()
        p.drawImage(self.origin, self.img)
        p.restore()

    def _stroke(self, tr: object, view: QRectF) -> None:
        """Stroke the queued points into the image."""
        q = QPainter(self.img)
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
            q.setPen(style.opts["pen"])
            q.drawPath(pg.arrayToQPath(px, py, connect=connect))
        q.end()
        self.n_pending = 0


class LandscapePanel(pg.PlotWidget):
    """Heat map (log colour) + contours + minima/saddles + racer trails and heads."""

    startChosen = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(400, 300)
        self.plotItem.setLabel("bottom", "x₁")
        self.plotItem.setLabel("left", "x₂")
        self.plotItem.showGrid(False, False)
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.image.setZValue(-10)
        cmap = pg.colormap.get("viridis")
        self.colorbar = pg.ColorBarItem(
            colorMap=cmap, label="log₁₀(f − f_min + δ)", interactive=False, width=15
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plotItem)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 150), width=1))
        self.contours.setZValue(-5)
        self.addItem(self.contours)
        self.quiver = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 170), width=1))
        self.quiver.setZValue(-4)
        self.addItem(self.quiver)
        self.minima = pg.ScatterPlotItem(
            symbol="star",
            size=16,
            brush=pg.mkBrush("#ffffff"),
            pen=pg.mkPen("k", width=1),
            name="minima",
        )
        self.saddles = pg.ScatterPlotItem(
            symbol="x",
            size=13,
            brush=pg.mkBrush("#ffffff"),
            pen=pg.mkPen("k", width=1),
        )
        self.addItem(self.minima)
        self.addItem(self.saddles)
        self.start = pg.TargetItem(pos=(0, 0), size=14, movable=True, pen=pg.mkPen("w", width=2))
        self.start.setZValue(20)
        self.addItem(self.start)
        self.start.sigPositionChangeFinished.connect(self._on_start_dragged)
        self.hover = pg.TextItem(color="w", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
        self.hover.setZValue(30)
        self.addItem(self.hover, ignoreBounds=True)
        self.hover.hide()
        self.legend = self.plotItem.addLegend(offset=(10, 10), labelTextSize="11pt")
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.trails: list[pg.PlotCurveItem] = []  # styles and legend samples (not drawn)
        self.trail_layer = TrailLayer()
        self.trail_layer.setZValue(5)
        self.addItem(self.trail_layer, ignoreBounds=True)
        self.heads = Heads(12)
        self.heads.setZValue(10)
        self.addItem(self.heads, ignoreBounds=True)
        self._sources: list[tuple[np.ndarray, int] | None] = []
        self.arrows: list[pg.PlotCurveItem] = []
        self.trail_state: list[Trail] = []
        self.show_quiver = False
        self.levels = LEVELS  # contour levels (scenario view.levels)
        self.log_color = True  # heat map of log10(f − f_min + δ), else of f (view.log_color)
        self.lid = -1
        self.packed = np.zeros(1)
        self.fmin = 0.0
        self._grid_timer = QTimer(self)
        self._grid_timer.setSingleShot(True)
        self._grid_timer.setInterval(40)
        self._grid_timer.timeout.connect(self.refresh_grid)
        self.plotItem.vb.sigRangeChanged.connect(lambda *_: self._grid_timer.start())
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_move)
        self.grid_ms = 0.0
        cache_static_items(
            self, self.image, self.contours, self.colorbar, self.minima, self.saddles, self.legend
        )

    # ------------------------------------------------------------ objective
    def set_landscape(
        self,
        lid: int,
        packed: np.ndarray,
        view: tuple[float, ...],
        minima: list,
        saddles: list,
        fmin: float | None,
    ) -> None:
        self.lid = lid
        self.packed = packed
        self.fmin_known = fmin
        self.minima.setData(
            [m[0] for m in minima], [m[1] for m in minima]
        ) if minima else self.minima.clear()
        self.saddles.setData(
            [s[0] for s in saddles], [s[1] for s in saddles]
        ) if saddles else self.saddles.clear()
        self.plotItem.vb.setRange(xRange=(view[0], view[1]), yRange=(view[2], view[3]), padding=0)
        self.refresh_grid()

    def view_box(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.plotItem.vb.viewRange()
        return x0, x1, y0, y1

    def refresh_grid(self) -> None:
        """Recompute heat map, contours (and quiver) for the visible box."""
        if self.lid < 0:
            return
        import time

        t0 = time.perf_counter()
        x0, x1, y0, y1 = self.view_box()
        z = np.empty((GRID, GRID))
        landscape_grid(self.lid, self.packed, x0, x1, GRID, y0, y1, GRID, z)
        finite = np.isfinite(z)
        if not finite.any():
            self.image.clear()
            self.contours.setData([], [])
            return
        zmin = float(z[finite].min())
        fref = self.fmin_known if self.fmin_known is not None else zmin
        fref = min(fref, zmin)
        span = float(np.percentile(z[finite], 99)) - fref
        delta = max(span * 1e-6, 1e-12)
        if self.log_color:
            img = np.log10(np.where(finite, z - fref + delta, np.nan))
        else:
            img = np.where(finite, z, np.nan)
        # the constructor's label sits on the bar's left axis (a "right" label would be a second)
        self.colorbar.setLabel("left", "log₁₀(f − f_min + δ)" if self.log_color else "f")
        lo, hi = np.nanpercentile(img, [0.5, 99.5])
        self.image.setImage(img, autoLevels=False, levels=(lo, hi))
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.setLevels((lo, hi))
        levels = nice_levels(z, self.levels)
        cx, cy, _ = contour_segments(z, x0, x1, y0, y1, levels)
        self.contours.setData(cx, cy, connect="pairs")
        if self.show_quiver:
            self._draw_quiver(x0, x1, y0, y1)
        else:
            self.quiver.setData([], [])
        self.grid_ms = (time.perf_counter() - t0) * 1000
        eps = (x1 - x0) / 3000.0
        for tr, src in zip(self.trail_state, self._sources, strict=False):
            tr.reset(eps)
            if src is not None:  # re-thin now: a paused race gets no update_racer
                tr.update(*src)
        self.trail_layer.invalidate()

    def _draw_quiver(self, x0: float, x1: float, y0: float, y1: float) -> None:
        from engine.landscapes import landscape_fg

        n = 21
        xs = np.linspace(x0, x1, n + 2)[1:-1]
        ys = np.linspace(y0, y1, n + 2)[1:-1]
        gx = np.empty((n, n))
        gy = np.empty((n, n))
        g = np.empty(2)
        p = np.empty(2)
        for j, yv in enumerate(ys):
            for i, xv in enumerate(xs):
                p[0], p[1] = xv, yv
                landscape_fg(self.lid, self.packed, p, g)
                gx[j, i], gy[j, i] = -g[0], -g[1]
        qx, qy = quiver_segments(gx, gy, xs, ys, 0.8 * (x1 - x0) / n)
        self.quiver.setData(qx, qy, connect="pairs")

    def set_quiver(self, on: bool) -> None:
        self.show_quiver = on
        self.refresh_grid()

    # ------------------------------------------------------------ racers
    def set_racers(self, labels: list[str], colors: list[str]) -> None:
        for item in self.arrows:
            self.removeItem(item)
        self.legend.clear()
        self.trails, self.arrows, self.trail_state = [], [], []
        self.heads.set_colors(colors)
        eps = (self.view_box()[1] - self.view_box()[0]) / 3000.0
        for label, color in zip(labels, colors, strict=True):
            c = pg.mkColor(color)
            trail = pg.PlotCurveItem(pen=pg.mkPen(c, width=TRAIL_WIDTH))
            arrow = pg.PlotCurveItem(pen=pg.mkPen(c, width=2))
            arrow.setZValue(11)
            self.addItem(arrow)
            self.legend.addItem(trail, label)
            self.trails.append(trail)
            self.arrows.append(arrow)
            t = Trail()
            t.reset(eps)
            self.trail_state.append(t)
        self._sources = [None] * len(labels)
        self.trail_layer.set_racers(self.trail_state, self.trails)
        cache_legend(self.legend)

    def update_racer(self, i: int, xs: np.ndarray, count: int, visible: bool) -> None:
        """Pull racer ``i``'s new rows and redraw its trail and head."""
        trail = self.trails[i]
        trail.setVisible(visible)
        if not visible:
            self.heads.set_point(i, math.nan, math.nan, False)
            self.trail_layer.update()
            return
        st = self.trail_state[i]
        self._sources[i] = (xs, count)
        if count == 0:
            self.heads.set_point(i, math.nan, math.nan)
            st.reset(st.eps)
            self.trail_layer.push(i, None)
            return
        last = xs[count - 1]
        self.heads.set_point(i, float(last[0]), float(last[1]))
        if st.update(xs, count):
            self.trail_layer.push(i, last)

    def set_arrows(self, i: int, segs: tuple[np.ndarray, np.ndarray] | None) -> None:
        if segs is None:
            if self.arrows[i].xData is not None and self.arrows[i].xData.size:
                self.arrows[i].setData([], [])
        else:
            self.arrows[i].setData(segs[0], segs[1], connect="pairs")

    # ------------------------------------------------------------ mouse
    def set_start_marker(self, x: float, y: float) -> None:
        self.start.blockSignals(True)
        self.start.setPos(QPointF(x, y))
        self.start.blockSignals(False)

    def _on_start_dragged(self) -> None:
        p = self.start.pos()
        self.startChosen.emit(float(p.x()), float(p.y()))

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        self.set_start_marker(p.x(), p.y())
        self.startChosen.emit(float(p.x()), float(p.y()))

    def _on_move(self, pos) -> None:
        vb = self.plotItem.vb
        if self.lid < 0 or not vb.sceneBoundingRect().contains(pos):
            self.hover.hide()
            return
        from engine.landscapes import landscape_f

        p = vb.mapSceneToView(pos)
        f = landscape_f(self.lid, self.packed, p.x(), p.y())
        self.hover.setText(f"x₁ = {p.x():.4g}\nx₂ = {p.y():.4g}\nf = {f:.6g}")
        self.hover.setPos(p)
        self.hover.show()


class LossPanel(pg.PlotWidget):
    """Loss (or |f − f*|) against step for every racer; log y; divergence markers."""

    BUCKETS = 1500

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(300, 180)
        self.plotItem.setLabel("bottom", "step")
        self.plotItem.showGrid(True, True, alpha=0.3)
        self.curves: list[pg.PlotCurveItem] = []  # pens (styles); drawn by the layer
        self.zoom_curves: list[pg.PlotCurveItem] = []  # drawn while zoomed into the run
        self.epoch_curves: list[pg.PlotDataItem] = []
        self.sources: list[_CurveTrail] = []
        self.layer = TrailLayer()  # the whole run's curves, rasterised incrementally
        self.layer.setZValue(1)
        self.addItem(self.layer, ignoreBounds=True)
        self.markers = pg.ScatterPlotItem(symbol="x", size=14, pen=pg.mkPen("r", width=3))
        self.addItem(self.markers)
        self.fstar: float | None = None
        self.log = True
        self.quantity = "f"  # what the curves are ("loss" for the perceptron)
        self.gap = True
        self._ox = np.empty(2 * self.BUCKETS)
        self._oy = np.empty(2 * self.BUCKETS)
        self.plotItem.vb.setLimits(xMin=0)
        # log10 values read as they are: no "(x0.001)" rescaling of a -0.2 ... -0.7 axis
        self.plotItem.getAxis("left").enableAutoSIPrefix(False)
        self._set_label()
        cache_static_items(self)
        self.steps = 1
        self.fit_y = True  # the panel fits the y range (until the user zooms or pans)
        self.y_fits = 0  # y-range changes made by the panel (tests, benchmarks)
        self._epoch_bounds = (math.inf, -math.inf)
        self.plotItem.vb.sigRangeChangedManually.connect(self._on_manual_range)

    def _on_manual_range(self, *_args: object) -> None:
        self.fit_y = False

    def _set_label(self) -> None:
        what = "|f − f*|" if self.gap and self.fstar is not None else self.quantity
        self.plotItem.setLabel("left", f"log₁₀ {what}" if self.log else what)

    def set_quantity(self, what: str, note: str = "") -> None:
        """Name the curves on the y axis (``log₁₀`` is added in log mode); ``note``, if
        any, is a one-line title saying how to read them."""
        self.quantity = what
        self.plotItem.setTitle(note or None, size="9pt")
        self._set_label()

    def show_steps(self, steps: int) -> None:
        """Fix the x axis to the whole run: the axis then stays still while curves grow
        (re-laying out a moving axis every frame costs more than drawing the curves)."""
        vb = self.plotItem.vb
        vb.disableAutoRange()
        self.steps = max(int(steps), 1)
        vb.setXRange(0, self.steps, padding=0.01)
        self.fit_y = True
        self._epoch_bounds = (math.inf, -math.inf)

    def _fit_y(self, lo: float, hi: float) -> None:
        """Keep the y range around [lo, hi] with hysteresis: changed only when the data
        leaves it or fills less than ~2/3 of it, so the axis (ticks, labels, its cached
        pixmap) is not re-laid out every frame as ViewBox auto-ranging would."""
        vb = self.plotItem.vb
        if any(vb.autoRangeEnabled()):  # the plot's "A" button: fit again, x to the run
            vb.disableAutoRange()
            vb.setXRange(0, self.steps, padding=0.01)
            self.fit_y = True
        if not self.fit_y or not (math.isfinite(lo) and math.isfinite(hi)):
            return
        span = hi - lo
        if not span > 0:
            span = max(abs(hi), 1.0) * 0.1
        _, (a, b) = vb.viewRange()
        inside = a <= lo and hi <= b
        if inside and (b - a) <= 1.5 * span:
            return
        pad = 0.08 * span
        vb.setYRange(lo - pad, hi + pad, padding=0)
        self.y_fits += 1

    def set_mode(self, fstar: float | None, gap: bool, log: bool) -> None:
        self.fstar, self.gap, self.log = fstar, gap, log
        self._set_label()
        for src in self.sources:  # transformed anew from the next update
            src.reset()
        self.layer.invalidate()

    def set_racers(self, labels: list[str], colors: list[str]) -> None:
        for c in (*self.zoom_curves, *self.epoch_curves):
            self.removeItem(c)
        self.curves, self.zoom_curves, self.epoch_curves, self.sources = [], [], [], []
        for _label, color in zip(labels, colors, strict=True):
            # 1 px, no antialiasing: min/max-decimated loss curves are dense zig-zags and
            # wide antialiased strokes of them cost ~270 ms per repaint
            for group in (self.curves, self.zoom_curves):
                c = pg.PlotCurveItem(
                    pen=pg.mkPen(color, width=1), connect="finite", antialias=False
                )
                group.append(c)
            self.zoom_curves[-1].setVisible(False)
            self.addItem(self.zoom_curves[-1])
            e = pg.PlotDataItem(
                pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                symbol="o",
                symbolSize=6,
                symbolBrush=pg.mkBrush(color),
                connect="finite",
            )
            e.setZValue(3)
            self.addItem(e)
            self.epoch_curves.append(e)
            self.sources.append(_CurveTrail())
        self.layer.set_racers(self.sources, self.curves)

    def set_epoch_curves(self, curves: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Per-epoch full validation loss (dashed, dots) at the epoch-boundary steps."""
        lo, hi = math.inf, -math.inf
        for item, (steps, vals) in zip(self.epoch_curves, curves, strict=False):
            y = self.transform(np.asarray(vals))
            item.setData(np.asarray(steps, dtype=float), y)
            fin = y[np.isfinite(y)]
            if fin.size:
                lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
        self._epoch_bounds = (lo, hi)

    def transform(self, y: np.ndarray) -> np.ndarray:
        if self.gap and self.fstar is not None:
            y = np.abs(y - self.fstar)
        return log_safe(y) if self.log else np.where(np.isfinite(y), y, np.nan)

    def update_curves(
        self,
        losses: list[np.ndarray],
        counts: list[int],
        visible: list[bool],
        diverged: list[int | None],
        max_steps: int,
    ) -> None:
        """Redraw every racer's curve; the cost does not grow with the run's length.

        Zoomed out (the whole run in view, the usual case), each racer keeps an
        incremental min/max envelope in fixed buckets, so a frame only scans the rows
        added since the last one, and a :class:`TrailLayer` strokes only the buckets
        that changed. Zoomed in, the visible range is decimated into ordinary curves.
        Decimation happens before the log transform (which is monotone in f), so only
        the few thousand surviving points are transformed.
        """
        vb = self.plotItem.vb
        (x0, x1), _ = vb.viewRange()
        auto = bool(vb.autoRangeEnabled()[0]) or (x0 <= 1.0 and x1 >= max_steps - 1.0)
        if self.layer.isVisible() != auto:
            self.layer.setVisible(auto)
            for z in self.zoom_curves:
                z.setVisible(False)
        mx, my = [], []
        fit = self.fit_y or any(vb.autoRangeEnabled())
        lo, hi = math.inf, -math.inf
        for i, c in enumerate(self.curves):
            if c.isVisible() != visible[i]:
                c.setVisible(visible[i])
                self.layer.invalidate()
            n = counts[i]
            src, zc = self.sources[i], self.zoom_curves[i]
            y = losses[i]
            if auto:
                if n == 0 and src.n:
                    src.reset()
                    self.layer.push(i, None)
                elif n and src.update(y, n, max_steps, self.BUCKETS, self.transform):
                    self.layer.push(i, None)
                if fit and visible[i]:
                    lo, hi = min(lo, src.lo), max(hi, src.hi)
            else:
                zc.setVisible(visible[i])
                r0 = max(math.floor(x0) - 1, 0)
                r1 = min(math.ceil(x1) + 2, n)
                if not visible[i] or r1 <= r0:
                    zc.setData([], [])
                    continue
                if r1 - r0 <= 2 * self.BUCKETS:
                    xs = np.arange(r0, r1, dtype=np.float64)
                    ys = y[r0:r1]
                else:
                    k = minmax_decimate(y, r0, r1, self.BUCKETS, self._ox, self._oy)
                    xs = self._ox[:k].copy()
                    ys = self._oy[:k]
                ty = self.transform(ys)
                zc.setData(xs, ty)
                fin = ty[np.isfinite(ty)]
                if fit and fin.size:
                    lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
            if visible[i] and diverged[i] is not None and n > 0:
                last = self.transform(y[n - 1 : n])
                mx.append(float(n - 1))
                my.append(float(last[0]) if np.isfinite(last[0]) else 0.0)
        if mx or self.markers.data.size:
            self.markers.setData(mx, my)
        if fit:
            lo, hi = min(lo, self._epoch_bounds[0]), max(hi, self._epoch_bounds[1])
            if my:
                lo, hi = min(lo, *my), max(hi, *my)
            self._fit_y(lo, hi)


class _Envelope:
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


class _CurveTrail(_FreshSource):
    """One racer's loss curve (its bucket envelope, transformed) as a :class:`TrailLayer`
    source: ``buf[:n]`` holds every bucket's two points, and each update hands the
    points from the last, possibly partial, bucket onwards to the layer as fresh (a
    bucket only widens as it fills, so drawing it again covers the earlier stroke)."""

    def __init__(self) -> None:
        self.env = _Envelope()
        self.buf = np.empty((0, 2))
        self.n = 0
        self.generation = 0
        self.fresh: list[np.ndarray] = []
        self.lo, self.hi = math.inf, -math.inf  # finite range of the transformed points

    def reset(self) -> None:
        self.env = _Envelope()
        self.n = 0
        self.generation += 1
        self.fresh = []
        self.lo, self.hi = math.inf, -math.inf

    def update(self, y: np.ndarray, n: int, max_steps: int, buckets: int, transform) -> bool:
        b0 = self.env.update(y, n, max_steps, buckets)
        if self.env.restarted and self.n:
            self.generation += 1  # restarted: what was drawn is stale
            self.fresh = []
            self.lo, self.hi = math.inf, -math.inf
        nb = self.env.nb
        if nb <= b0:
            return False
        need = 2 * nb
        if self.buf.shape[0] < need:
            buf = np.empty((max(need, 2 * self.env.mins.shape[0]), 2))
            buf[: 2 * b0] = self.buf[: 2 * b0]
            self.buf = buf
        xs, ys = self.env.points(b0, nb)
        ty = transform(ys)
        self.buf[2 * b0 : need, 0] = xs
        self.buf[2 * b0 : need, 1] = ty
        self.n = need
        fin = ty[np.isfinite(ty)]
        if fin.size:
            self.lo, self.hi = min(self.lo, float(fin.min())), max(self.hi, float(fin.max()))
        self.fresh.append(self.buf[2 * b0 : need].copy())
        return True
