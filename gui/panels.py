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
    ema_update,
    envelope_update,
    finite_bounds,
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


def plain_axes(plot: pg.GraphicsView | pg.PlotItem) -> None:
    """Every axis in ``plot``'s scene (its own, a colour bar's) labels values as they are:
    no SI-prefix rescaling, which turns a ±0.6 axis into ticks ±600 labelled "(x0.001)".
    Every panel calls it once its plots are built."""
    scene = plot.scene()
    if scene is None:
        return
    for item in scene.items():
        if isinstance(item, pg.AxisItem):
            item.enableAutoSIPrefix(False)


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
        self.legend_corner: tuple[int, int] | None = None  # (1, 0): right, top
        self.equal_aspect = True  # 1:1 data units (set_equal_aspect)
        self.plotItem.vb.setAspectLocked(True, ratio=1.0)
        self.home: tuple[float, float, float, float] | None = None  # the view asked for
        # racers that blew up: where each left the home box for good (set_racers)
        self.home_outline = pg.PlotCurveItem(
            pen=pg.mkPen((255, 255, 255, 160), width=1, style=Qt.PenStyle.DashLine)
        )
        self.home_outline.setZValue(4)
        self.addItem(self.home_outline, ignoreBounds=True)
        self.exits: list[tuple[pg.ArrowItem, pg.TextItem]] = []
        self._inside: list[list[int]] = []  # per racer [rows scanned, last row inside home]
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
        self.plotItem.vb.sigRangeChanged.connect(lambda *_: self._place_legend())
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_move)
        self.grid_ms = 0.0
        cache_static_items(
            self, self.image, self.contours, self.colorbar, self.minima, self.saddles, self.legend
        )
        plain_axes(self)

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
        self.home = (float(view[0]), float(view[1]), float(view[2]), float(view[3]))
        self._inside = [[0, -1] for _ in self._inside]
        self.home_outline.setData([], [])
        self.go_home()
        self.refresh_grid()

    def go_home(self) -> None:
        """Show the home box (the scenario's or the landscape's view); with equal aspect
        one of its sides is widened to keep 1:1 data units."""
        if self.home is not None:
            x0, x1, y0, y1 = self.home
            self.plotItem.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def set_equal_aspect(self, on: bool) -> None:
        """Lock (or free) the map's aspect ratio at one data unit per unit on both axes."""
        self.equal_aspect = bool(on)
        self.plotItem.vb.setAspectLocked(self.equal_aspect, ratio=1.0)
        self.go_home()

    def _place_legend(self) -> None:
        """Put the legend in the view's corner farthest from the start marker."""
        (x0, x1), (y0, y1) = self.plotItem.vb.viewRange()
        p = self.start.pos()
        corner = (int(p.x() < 0.5 * (x0 + x1)), int(p.y() < 0.5 * (y0 + y1)))
        if corner == self.legend_corner:
            return
        self.legend_corner = corner
        right, top = corner
        pos = (right, 1 - top)  # fractions of the legend and of the view, y down
        self.legend.anchor(
            itemPos=pos, parentPos=pos, offset=(-10 if right else 10, 10 if top else -10)
        )

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
        for arrow, text in self.exits:
            self.removeItem(arrow)
            self.removeItem(text)
        self.exits = []
        self._inside = [[0, -1] for _ in labels]
        self.home_outline.setData([], [])
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
            # where the racer left the home box for good, once it blew up (update_racer)
            exit_arrow = pg.ArrowItem(
                headLen=16, tipAngle=40, tailLen=10, tailWidth=4, pen=pg.mkPen("w", width=1),
                brush=pg.mkBrush(c),
            )  # fmt: skip
            exit_text = pg.TextItem(color=c, fill=pg.mkBrush(255, 255, 255, 200))
            for it in (exit_arrow, exit_text):
                it.setZValue(12)
                it.hide()
                self.addItem(it, ignoreBounds=True)
            self.exits.append((exit_arrow, exit_text))
            self.trails.append(trail)
            self.arrows.append(arrow)
            t = Trail()
            t.reset(eps)
            self.trail_state.append(t)
        self._sources = [None] * len(labels)
        self.trail_layer.set_racers(self.trail_state, self.trails)
        cache_legend(self.legend)

    def update_racer(
        self, i: int, xs: np.ndarray, count: int, visible: bool, escaped: bool = False
    ) -> None:
        """Pull racer ``i``'s new rows and redraw its trail and head.

        ``escaped``: the run diverged or is unbounded below. Once it has left the home box
        for good, its trail ends at the box's edge, an arrow there shows which way it went
        ("left the view at step k") and its head is hidden; the rows beyond are not drawn.
        """
        trail = self.trails[i]
        trail.setVisible(visible)
        arrow, text = self.exits[i]
        if not visible:
            self.heads.set_point(i, math.nan, math.nan, False)
            arrow.hide()
            text.hide()
            self.trail_layer.update()
            return
        st = self.trail_state[i]
        last_in = self._last_inside(i, xs, count)
        if escaped and 0 <= last_in < count - 1:
            edge = self._exit_point(xs[last_in], xs[last_in + 1])
            self._sources[i] = (xs, last_in + 1)
            self.heads.set_point(i, math.nan, math.nan, False)
            if st.update(xs, last_in + 1) or not arrow.isVisible():
                self.trail_layer.push(i, edge)
            self._show_exit(i, xs[last_in], edge, last_in + 1)
            return
        if arrow.isVisible():
            arrow.hide()
            text.hide()
            self._outline_home()
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

    def _last_inside(self, i: int, xs: np.ndarray, count: int) -> int:
        """The last of racer ``i``'s first ``count`` rows inside the home box (-1: none),
        scanning only the rows added since the last call."""
        if self.home is None:
            return count - 1
        scan = self._inside[i]
        if count < scan[0]:  # restarted
            scan[0], scan[1] = 0, -1
        if count > scan[0]:
            x0, x1, y0, y1 = self.home
            px, py = xs[scan[0] : count, 0], xs[scan[0] : count, 1]
            inside = np.flatnonzero((px >= x0) & (px <= x1) & (py >= y0) & (py <= y1))
            if inside.size:
                scan[1] = scan[0] + int(inside[-1])
            scan[0] = count
        return scan[1]

    def _exit_point(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Where the segment from ``a`` (inside the home box) to ``b`` crosses its edge."""
        assert self.home is not None
        px, py, _ = clip_polyline(
            np.array([a[0], b[0]], dtype=float), np.array([a[1], b[1]], dtype=float), self.home
        )
        if px.size < 2:
            return np.array([a[0], a[1]], dtype=float)
        return np.array([px[1], py[1]])

    def _show_exit(self, i: int, a: np.ndarray, edge: np.ndarray, step: int) -> None:
        """Racer ``i``'s exit arrow at ``edge``, pointing from ``a`` out of the box."""
        arrow, text = self.exits[i]
        key = (step, float(edge[0]), float(edge[1]), self.plotItem.vb.viewPixelSize())
        if arrow.isVisible() and getattr(arrow, "_shown", None) == key:
            return  # a run that blew up keeps going: nothing new to show
        arrow._shown = key  # type: ignore[attr-defined]
        sx, sy = key[3]
        dx, dy = (edge[0] - a[0]) / sx, -(edge[1] - a[1]) / sy  # device pixels, y down
        if not (dx or dy):
            dx = 1.0
        # an ArrowItem at angle 0 points to the left; the angle turns it clockwise
        arrow.setStyle(angle=math.degrees(math.atan2(-dy, -dx)))
        arrow.setPos(float(edge[0]), float(edge[1]))
        note = f"left the view at step {step:,}"
        arrow.setToolTip(note)
        text.setText(note)
        # the note inside the box, along the edge beside the arrow's tip (not over the arrow
        # or the trail coming in), towards the box's middle
        x0, x1, y0, y1 = self.home  # type: ignore[misc]
        fx, fy = (edge[0] - x0) / (x1 - x0), (edge[1] - y0) / (y1 - y0)
        gap = 14.0  # device pixels between the tip and the note
        if min(fy, 1 - fy) <= min(fx, 1 - fx):  # out through the top or the bottom
            side = 1.0 if fx < 0.5 else -1.0
            anchor = (0.0 if side > 0 else 1.0, 0.0 if fy > 0.5 else 1.0)
            pos = (edge[0] + side * gap * sx, edge[1])
        else:  # out through the left or the right
            side = 1.0 if fy > 0.5 else -1.0  # below the tip in the top half
            anchor = (1.0 if fx > 0.5 else 0.0, 0.0 if side > 0 else 1.0)
            pos = (edge[0], edge[1] - side * gap * sy)
        text.setPos(float(pos[0]), float(pos[1]))
        text._anchor = anchor  # type: ignore[attr-defined]
        if not arrow.isVisible():
            arrow.show()
            text.setVisible(True)  # not show(): a TextItem orients itself in setVisible
            self._outline_home()
        else:
            self._stack_notes()

    def _stack_notes(self) -> None:
        """Notes that hang the same way from their edge one line apart, inwards, in racer
        order (two racers often leave through the same side)."""
        lines: dict[float, int] = {}
        for arrow, text in self.exits:
            if not arrow.isVisible():
                continue
            ax, ay = text._anchor  # type: ignore[attr-defined]
            j = lines.get(ay, 0)
            lines[ay] = j + 1
            text.setAnchor((ax, ay + j if ay else ay - j))

    def _outline_home(self) -> None:
        """A dashed outline of the home box while a racer's trail ends at its edge."""
        if self.home is not None and any(a.isVisible() for a, _ in self.exits):
            x0, x1, y0, y1 = self.home
            self.home_outline.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
            self._stack_notes()
        else:
            self.home_outline.setData([], [])

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
        self._place_legend()

    def _on_start_dragged(self) -> None:
        p = self.start.pos()
        self._place_legend()
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
    """Loss (or |f − f*|) against step for every racer; log y; divergence markers.

    On a log axis an exact zero (|f − f*| = 0, or f ≤ 0 when plotting f) has no place:
    such rows are drawn on a floor one decade below the smallest positive value shown
    (a dashed line), with a marker and "f = f* exactly at step k" where each racer first
    got there; the floor follows the data and never drives the y range by itself.

    Noisy per-step losses (:meth:`set_smoothing`, the perceptron's mini-batches): each
    racer's per-step loss is drawn faint, with its exponential moving average (time
    constant τ = min(100, steps per epoch) steps) and its per-epoch means (bold); all
    three are derived and drawn incrementally.
    """

    BUCKETS = 1500
    EMA_STEPS = 100  # the moving average's time constant, at most one epoch

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(300, 180)
        self.plotItem.setLabel("bottom", "step")
        self.plotItem.showGrid(True, True, alpha=0.3)
        self.curves: list[pg.PlotCurveItem] = []  # each racer's main line (slides widen it)
        self.tracks: list[list[_Track]] = []  # per racer: the curves drawn from its loss
        self.epoch_curves: list[pg.PlotDataItem] = []
        self.layer = TrailLayer()  # the whole run's curves, rasterised incrementally
        self.layer.setZValue(1)
        self.addItem(self.layer, ignoreBounds=True)
        self.markers = pg.ScatterPlotItem(symbol="x", size=14, pen=pg.mkPen("r", width=3))
        self.addItem(self.markers)
        # exact zeros on a log axis: the floor line, and where each racer first reached it
        self.floor: float | None = None  # log10 level of the floor
        self.floor_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen((120, 120, 120), width=1, style=Qt.PenStyle.DashLine)
        )
        self.floor_line.hide()
        self.addItem(self.floor_line, ignoreBounds=True)
        self.floor_marks = pg.ScatterPlotItem(symbol="d", size=11, pen=pg.mkPen("k", width=1))
        self.floor_marks.setZValue(4)
        self.addItem(self.floor_marks, ignoreBounds=True)
        self.floor_texts: list[pg.TextItem] = []
        self._floor_shown: tuple | None = None  # what the marks and labels show
        self.fstar: float | None = None
        self.log = True
        self.quantity = "f"  # what the curves are ("loss" for the perceptron)
        self.gap = True
        self.spe: int | None = None  # steps per epoch when smoothing noisy losses
        self._ox = np.empty(2 * self.BUCKETS)
        self._oy = np.empty(2 * self.BUCKETS)
        self.plotItem.vb.setLimits(xMin=0)
        self._set_label()
        cache_static_items(self)
        plain_axes(self)
        self.steps = 1
        self.fit_y = True  # the panel fits the y range (until the user zooms or pans)
        self.y_fits = 0  # y-range changes made by the panel (tests, benchmarks)
        self._epoch_bounds = (math.inf, -math.inf)
        self.plotItem.vb.sigRangeChangedManually.connect(self._on_manual_range)

    @property
    def sources(self) -> list[_CurveTrail]:
        """Each racer's per-step curve (its first track)."""
        return [t[0].src for t in self.tracks]

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

    def set_smoothing(self, steps_per_epoch: int | None) -> None:
        """Draw noisy per-step losses faint, with their moving average and epoch means
        (``steps_per_epoch`` > 1), or plainly (None or 1). Takes effect at set_racers."""
        spe = int(steps_per_epoch) if steps_per_epoch else 0
        self.spe = spe if spe > 1 else None

    @property
    def ema_steps(self) -> int:
        """The moving average's time constant τ in steps (its weight is 1/τ)."""
        return min(self.EMA_STEPS, self.spe or 1)

    def smoothing_note(self) -> str:
        """How to read the curves (the panel's title)."""
        if self.spe is None:
            return "loss per step (solid), validation loss per epoch (dashed)"
        return (
            f"faint: loss per step · thin: its EMA over ~{self.ema_steps} steps · "
            "bold: epoch mean · dashed: validation"
        )

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
        self.floor = None
        for tracks in self.tracks:  # transformed anew from the next update
            for t in tracks:
                t.src.reset()
        self.layer.invalidate()

    def set_racers(self, labels: list[str], colors: list[str]) -> None:
        for tracks in self.tracks:
            for t in tracks:
                self.removeItem(t.zoom)
        for it in (*self.epoch_curves, *self.floor_texts):
            self.removeItem(it)
        self.curves, self.tracks, self.epoch_curves, self.floor_texts = [], [], [], []
        self.floor = None
        self._floor_shown = None
        noisy = self.spe is not None
        for _label, color in zip(labels, colors, strict=True):
            c = pg.mkColor(color)
            faint = pg.mkColor(color)
            faint.setAlpha(35)
            # 1 px, no antialiasing: min/max-decimated loss curves are dense zig-zags and
            # wide antialiased strokes of them cost ~270 ms per repaint
            kinds = [("step", faint if noisy else c, 1.0, False)]
            if noisy:  # the epoch means are a few points: bold and antialiased
                kinds += [("ema", c, 1.0, False), ("epoch", c, 2.5, True)]
            tracks = []
            for kind, col, width, aa in kinds:
                style = pg.PlotCurveItem(pen=pg.mkPen(col, width=width), antialias=aa)
                zoom = pg.PlotCurveItem(
                    pen=pg.mkPen(col, width=width), connect="finite", antialias=aa
                )
                zoom.setVisible(False)
                self.addItem(zoom)
                tracks.append(_Track(kind, style, zoom))
            self.tracks.append(tracks)
            self.curves.append(tracks[-1].style)  # the per-step loss, or the epoch means
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
            text = pg.TextItem(color=c, anchor=(0, 1))
            text.setZValue(4)
            text.hide()
            self.addItem(text, ignoreBounds=True)
            self.floor_texts.append(text)
        # the layer strokes the sources in order: faint per-step curves under the rest
        order = [t for k in range(3) for tracks in self.tracks for t in tracks[k : k + 1]]
        self.layer.set_racers([t.src for t in order], [t.style for t in order])
        self._layer_index = {id(t): j for j, t in enumerate(order)}

    def set_epoch_curves(self, curves: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Per-epoch full validation loss (dashed, dots) at the epoch-boundary steps."""
        lo, hi = math.inf, -math.inf
        for item, (steps, vals) in zip(self.epoch_curves, curves, strict=False):
            y = self._on_floor(self.transform(np.asarray(vals)))
            ok = np.isfinite(y)  # no validation rows: no points (an all-NaN scatter warns)
            item.setData(np.asarray(steps, dtype=float)[ok], y[ok])
            fin = y[ok]
            if fin.size:
                lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
        self._epoch_bounds = (lo, hi)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """The plotted values of losses ``y``: |y − f*| (gap mode), log10 (log mode), NaN
        for non-finite rows; on a log axis −inf marks an exact zero (or f ≤ 0)."""
        v = np.asarray(y, dtype=np.float64)
        if self.gap and self.fstar is not None:
            v = np.abs(v - self.fstar)
        if not self.log:
            return np.where(np.isfinite(v), v, np.nan)
        out = np.full(v.shape, np.nan)
        fin = np.isfinite(v)
        np.log10(v, out=out, where=fin & (v > 0.0))
        out[fin & (v <= 0.0)] = -np.inf
        return out

    def _on_floor(self, ty: np.ndarray) -> np.ndarray:
        """``ty`` with its exact zeros (−inf) on the floor (NaN while there is none)."""
        return np.where(ty == -np.inf, np.nan if self.floor is None else self.floor, ty)

    def update_curves(
        self,
        losses: list[np.ndarray],
        counts: list[int],
        visible: list[bool],
        diverged: list[int | None],
        max_steps: int,
        unbounded: list[int | None] | None = None,
    ) -> None:
        """Redraw every racer's curve; the cost does not grow with the run's length.

        Zoomed out (the whole run in view, the usual case), each curve keeps an
        incremental min/max envelope in fixed buckets, so a frame only scans the rows
        added since the last one, and a :class:`TrailLayer` strokes only the buckets
        that changed. Zoomed in, the visible range is decimated into ordinary curves.
        Decimation happens before the log transform (which is monotone in f), so only
        the few thousand surviving points are transformed. The y range fits the curves
        up to each racer's diverged (or unbounded) step: a run that blew up does not
        squeeze the others into a line.
        """
        vb = self.plotItem.vb
        (x0, x1), _ = vb.viewRange()
        auto = bool(vb.autoRangeEnabled()[0]) or (x0 <= 1.0 and x1 >= max_steps - 1.0)
        if self.layer.isVisible() != auto:
            self.layer.setVisible(auto)
            for tracks in self.tracks:
                for t in tracks:
                    t.zoom.setVisible(False)
        mx, my = [], []
        fit = self.fit_y or any(vb.autoRangeEnabled())
        lo, hi = math.inf, -math.inf
        spe = self.spe or 1
        alpha = 1.0 / self.ema_steps
        for i, tracks in enumerate(self.tracks):
            n = counts[i]
            d = diverged[i]
            u = unbounded[i] if unbounded is not None else None
            cut = d if d is not None else u
            for t in tracks:
                if t.style.isVisible() != visible[i]:
                    t.style.setVisible(visible[i])
                    self.layer.invalidate()
                y, m = t.derive(losses[i], n, spe, alpha)
                scale, off = (spe, 0.5 * (spe - 1)) if t.kind == "epoch" else (1, 0.0)
                total = max_steps // scale
                src, k = t.src, self._layer_index[id(t)]
                src.set_cut(cut)
                # noisy losses: the y range fits their averages, the faint band may overflow
                fits = fit and visible[i] and (t.kind != "step" or self.spe is None)
                if auto:
                    if m == 0 and src.n:
                        src.reset()
                        self.layer.push(k, None)
                    elif m and src.update(
                        y, m, total, self.BUCKETS, self.transform, self.floor, scale, off
                    ):
                        self.layer.push(k, None)
                    if fits:
                        lo, hi = min(lo, src.lo), max(hi, src.hi)
                    continue
                t.zoom.setVisible(visible[i])
                r0 = max(math.floor((x0 - off) / scale) - 1, 0)
                r1 = min(math.ceil((x1 - off) / scale) + 2, m)
                if not visible[i] or r1 <= r0:
                    t.zoom.setData([], [])
                    continue
                if r1 - r0 <= 2 * self.BUCKETS:
                    xs = np.arange(r0, r1, dtype=np.float64)
                    ys = y[r0:r1]
                else:
                    kk = minmax_decimate(y, r0, r1, self.BUCKETS, self._ox, self._oy)
                    xs = self._ox[:kk].copy()
                    ys = self._oy[:kk]
                xs = xs * scale + off
                ty = self.transform(ys)
                t.zoom.setData(xs, self._on_floor(ty))
                fin = ty[np.isfinite(ty) & (xs <= (math.inf if cut is None else cut))]
                if fits and fin.size:
                    lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
            if visible[i] and d is not None and n > 0:
                j = min(d, n - 1)
                at = self.transform(losses[i][j : j + 1])[0]
                mx.append(float(j))
                my.append(float(at) if np.isfinite(at) else 0.0)
        if mx or self.markers.data.size:
            self.markers.setData(mx, my)
        if fit:
            lo, hi = min(lo, self._epoch_bounds[0]), max(hi, self._epoch_bounds[1])
            if my:
                lo, hi = min(lo, *my), max(hi, *my)
        floor = self._update_floor(lo, hi, visible)
        if fit:
            if floor is not None:
                lo = min(lo, floor)
            self._fit_y(lo, hi)

    def _update_floor(self, lo: float, hi: float, visible: list[bool]) -> float | None:
        """Place the floor one decade below the smallest positive value shown (``lo``),
        move every curve's zeros onto it, mark and label where each racer reached it;
        returns the floor's level, None when no zero is shown."""
        firsts = [
            tracks[0].src.first_floor if self.log and visible[i] else None
            for i, tracks in enumerate(self.tracks)
        ]
        if all(f is None for f in firsts):
            if self.floor_line.isVisible():
                self.floor_line.hide()
                self.floor_marks.setData([], [])
                for text in self.floor_texts:
                    text.hide()
                self._floor_shown = None
            return None
        ref = lo if math.isfinite(lo) else (hi if math.isfinite(hi) else 1.0)
        floor = float(math.floor(ref) - 1)
        if floor != self.floor:
            self.floor = floor
            for tracks in self.tracks:
                for t in tracks:
                    if t.src.refloor(floor):
                        self.layer.push(self._layer_index[id(t)], None)
            self.floor_line.setPos(floor)
        self.floor_line.show()
        shown = (floor, self.gap, self.fstar, tuple(firsts))
        if shown == self._floor_shown:
            return floor
        self._floor_shown = shown
        exact = self.gap and self.fstar is not None
        if exact:
            what = "f = f* exactly"
        else:
            what = "f ≤ 0" if self.quantity == "f" else f"{self.quantity} = 0 exactly"
        xs, brushes, row = [], [], 0
        for i, first in enumerate(firsts):
            text = self.floor_texts[i]
            if first is None:
                text.hide()
                continue
            color = self.tracks[i][-1].style.opts["pen"].color()
            xs.append(float(first))
            brushes.append(pg.mkBrush(color))
            text.setText(f"{what} at step {first:,}")
            text.setAnchor((0, 1 + row))  # stacked above the floor, one line per racer
            text.setPos(float(first), floor)
            text.setVisible(True)  # not show(): a TextItem orients itself in setVisible
            row += 1
        self.floor_marks.setData(xs, [floor] * len(xs), brush=brushes)
        return floor


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
    """One loss curve (its bucket envelope, transformed) as a :class:`TrailLayer`
    source: ``buf[:n]`` holds every bucket's two points, and each update hands the
    points from the last, possibly partial, bucket onwards to the layer as fresh (a
    bucket only widens as it fills, so drawing it again covers the earlier stroke).

    The transformed values (−inf for an exact zero on a log axis) are kept in ``tval``;
    ``buf`` draws the zeros on the floor. ``lo``/``hi`` are the finite range of the
    points up to step ``cut`` (a blown-up run's later rows do not count)."""

    def __init__(self) -> None:
        self.env = _Envelope()
        self.buf = np.empty((0, 2))
        self.tval = np.empty(0)
        self.n = 0
        self.generation = 0
        self.fresh: list[np.ndarray] = []
        self.cut: float | None = None
        self.lo, self.hi = math.inf, -math.inf  # finite range of the transformed points
        self.first_floor: int | None = None  # first row drawn on the floor

    def reset(self) -> None:
        self.env = _Envelope()
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
        transform,
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


class _Track:
    """One curve the loss panel draws from a racer's loss: ``kind`` "step" (the recorded
    loss), "ema" (its exponential moving average) or "epoch" (the mean of each complete
    epoch); ``src`` is its :class:`TrailLayer` source, ``style`` its pen and ``zoom`` the
    curve drawn while zoomed in. Derived values are computed from the new rows only."""

    def __init__(self, kind: str, style: pg.PlotCurveItem, zoom: pg.PlotCurveItem) -> None:
        self.kind = kind
        self.style = style
        self.zoom = zoom
        self.src = _CurveTrail()
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
