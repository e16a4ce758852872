"""Small multiples: one small landscape panel per enabled racer, in a grid.

The lecture notes' way of comparing hyperparameters (GD on the ravine with η = .001 ...
.02, one panel each): every panel shows the same heat map, contours, minima and start,
and only its own racer's trail and head, titled with the racer's label. The panels' axes
are linked (panning or zooming one moves all) and keep x₁ and x₂ at the same scale
unless the scenario says otherwise (``[view] equal_aspect = false``).

All panels live in one QGraphicsView (a :class:`pyqtgraph.GraphicsLayoutWidget`), so a
frame is one paint of the regions that changed. The map is sampled once per view change
and handed to every panel; trails are the main panel's pieces (:class:`Trail`,
:class:`TrailLayer`, :class:`Heads`): thinned and rasterised incrementally, so the cost
of a frame does not grow with the length of the run. Panels are pooled: adding, removing,
disabling or relabelling racers re-lays out the grid without rebuilding its items.

Perceptron races have no small multiples: their data panel already shows every racer's
decision line over the same data, and the weight-space slice belongs to one racer.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QWidget

from gui.axes import LEVELS
from gui.landscape_panel import landscape_image
from gui.trails import Heads, Trail, TrailLayer, clip_polyline

if TYPE_CHECKING:
    from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent

#: map samples per side in a small panel (a panel is a few hundred pixels wide)
SMALL_GRID = 256
#: points kept per trail (a trail is thinned to ~1/1000 of the view's width)
SMALL_TRAIL_CAP = 4000
#: live trails 2 px wide: one trail per panel of at most SMALL_TRAIL_CAP points, stroked
#: whole only when the view changes (gui.axes.TRAIL_WIDTH is for many long trails)
TRAIL_WIDTH = 2
TITLE_SIZE = "15pt"
#: a sampled map as every panel shows it: RGBA image, colour levels, rect, contours x, y
MapPicture = tuple[np.ndarray, tuple[float, float], QRectF, np.ndarray, np.ndarray]
TICK_FONT_PT = 11
LABEL_SIZE = "13pt"
#: pixels a panel needs besides its plot area: title above, axes left and below
TITLE_PX, AXIS_LEFT_PX, AXIS_BOTTOM_PX = 34, 58, 52


def grid_shape(n: int, width: float, height: float, aspect: float | None) -> tuple[int, int]:
    """(columns, rows) for ``n`` panels in ``width`` x ``height`` pixels.

    The shape that gives each panel's plot the most area: with an ``aspect`` (the view's
    width / height at equal scale) a plot is the largest rectangle of that shape fitting
    its cell, otherwise the cell less its title and axes. Ties go to fewer columns.
    """
    if n <= 0:
        return 0, 0
    best, best_area = (1, n), -1.0
    for cols in range(1, n + 1):
        rows = -(-n // cols)
        if cols > 1 and -(-n // (cols - 1)) == rows:
            continue  # the same rows with an empty column
        w = width / cols - AXIS_LEFT_PX
        h = height / rows - TITLE_PX - AXIS_BOTTOM_PX
        if w <= 0 or h <= 0:
            area = min(w, h)  # cramped: prefer the least negative
        elif aspect is not None and aspect > 0 and math.isfinite(aspect):
            pw = min(w, h * aspect)
            area = pw * (pw / aspect)
        else:
            area = w * h
        if area > best_area * (1 + 1e-9):
            best, best_area = (cols, rows), area
    return best


_LUT = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=True)


def _colored(img: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``img`` through the viridis colour map over [lo, hi] as RGBA bytes (NaN:
    transparent)."""
    span = hi - lo if hi > lo else 1.0
    with np.errstate(invalid="ignore"):
        idx = np.clip((img - lo) * (255.0 / span), 0, 255)
    rgba: np.ndarray = _LUT[np.nan_to_num(idx, nan=0.0).astype(np.intp)]
    rgba[~np.isfinite(img)] = 0
    return rgba


def _exit_point(a: np.ndarray, b: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Where the segment from ``a`` (inside ``box``) to ``b`` crosses its edge."""
    px, py, _ = clip_polyline(
        np.array([a[0], b[0]], dtype=float), np.array([a[1], b[1]], dtype=float), box
    )
    if px.size < 2:
        return np.array([a[0], a[1]], dtype=float)
    return np.array([px[1], py[1]])


class _Cell:
    """One small panel: a PlotItem with the shared map and one racer's trail and head."""

    def __init__(self) -> None:
        self.plot = pg.PlotItem()
        p = self.plot
        p.setMenuEnabled(False)
        p.hideButtons()
        p.showGrid(False, False)
        font = pg.QtGui.QFont()
        font.setPointSize(TICK_FONT_PT)
        for name in ("left", "bottom"):
            ax = p.getAxis(name)
            ax.enableAutoSIPrefix(False)
            ax.setTickFont(font)
        p.getAxis("left").setWidth(AXIS_LEFT_PX)
        p.setLabel("bottom", "x₁", **{"font-size": LABEL_SIZE})
        p.setLabel("left", "x₂", **{"font-size": LABEL_SIZE})
        self.image = pg.ImageItem()
        self.image.setZValue(-10)
        p.addItem(self.image)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 150), width=1))
        self.contours.setZValue(-5)
        p.addItem(self.contours)
        self.minima = pg.ScatterPlotItem(
            symbol="star", size=14, brush=pg.mkBrush("#ffffff"), pen=pg.mkPen("k", width=1)
        )
        self.saddles = pg.ScatterPlotItem(
            symbol="x", size=11, brush=pg.mkBrush("#ffffff"), pen=pg.mkPen("k", width=1)
        )
        p.addItem(self.minima)
        p.addItem(self.saddles)
        self.start = pg.TargetItem(pos=(0, 0), size=11, movable=False, pen=pg.mkPen("w", width=2))
        self.start.setZValue(20)
        p.addItem(self.start)
        self.style = pg.PlotCurveItem(pen=pg.mkPen("k", width=TRAIL_WIDTH), antialias=False)
        self.trail = Trail(SMALL_TRAIL_CAP)
        self.layer = TrailLayer()
        self.layer.setZValue(5)
        p.addItem(self.layer, ignoreBounds=True)
        self.layer.set_racers([self.trail], [self.style])
        self.heads = Heads(11)
        self.heads.setZValue(10)
        p.addItem(self.heads, ignoreBounds=True)
        self.note = pg.TextItem(color="k", fill=pg.mkBrush(255, 255, 255, 210))
        note_font = pg.QtGui.QFont()
        note_font.setPointSize(TICK_FONT_PT)
        self.note.setFont(note_font)
        self.note.setZValue(12)
        self.note.hide()
        p.addItem(self.note, ignoreBounds=True)
        # the box the trail of a blown-up run ends at (the view asked for), dashed
        self.outline = pg.PlotCurveItem(
            pen=pg.mkPen((255, 255, 255, 160), width=1, style=Qt.PenStyle.DashLine)
        )
        self.outline.setZValue(4)
        p.addItem(self.outline, ignoreBounds=True)
        self.racer = -1  # index of the racer shown
        self.source: tuple[np.ndarray, int] | None = None
        self.scan = [0, -1]  # rows scanned for the home box, the last row inside it
        for it in (self.image, self.contours, self.minima, self.saddles):
            it.setCacheMode(it.CacheMode.DeviceCoordinateCache)
        for name in ("left", "bottom"):
            p.getAxis(name).setCacheMode(self.image.CacheMode.DeviceCoordinateCache)

    def show_racer(self, i: int, label: str, color: str) -> None:
        if i != self.racer:
            self.trail.reset(self.trail.eps)
            self.source = None
            self.scan = [0, -1]
            self._hide_note()
            self.heads.set_colors([color])
            self.layer.invalidate()
            self.style.setVisible(True)
        self.racer = i
        c = pg.mkColor(color)
        if self.style.opts["pen"].color() != c:
            self.style.setPen(pg.mkPen(c, width=self.style.opts["pen"].widthF()))
            self.heads.set_colors([color])
            self.layer.invalidate()
        self.plot.setTitle(
            f'<span style="color:{c.name()}">■</span> {html.escape(label)}', size=TITLE_SIZE
        )

    def set_width(self, width: float) -> None:
        """Stroke the trail ``width`` px wide, antialiased."""
        self.style.setPen(pg.mkPen(self.style.opts["pen"].color(), width=width))
        self.style.opts["antialias"] = True
        self.layer.invalidate()

    def update(
        self,
        xs: np.ndarray,
        count: int,
        escaped: bool = False,
        home: tuple[float, float, float, float] | None = None,
    ) -> None:
        """Take the racer's first ``count`` rows. ``escaped`` (diverged or unbounded):
        once it has left ``home`` for good its trail ends at the edge, with a note of the
        step, and the rows beyond are not drawn (as in the single panel)."""
        self.source = (xs, count)
        if count == 0:
            self.heads.set_point(0, math.nan, math.nan)
            self.trail.reset(self.trail.eps)
            self.layer.push(0, None)
            self.scan = [0, -1]
            self._hide_note()
            return
        last_in = self._last_inside(xs, count, home) if escaped else count - 1
        if escaped and home is not None and 0 <= last_in < count - 1:
            edge = _exit_point(xs[last_in], xs[last_in + 1], home)
            self.source = (xs, last_in + 1)
            self.heads.set_point(0, math.nan, math.nan, False)
            if self.trail.update(xs, last_in + 1) or not self.note.isVisible():
                self.layer.push(0, edge)
            x0, x1, y0, y1 = home
            self.note.setText(f"left the view at step {last_in + 1:,}")
            self.note.setAnchor(
                (
                    1.0 if edge[0] >= 0.5 * (x0 + x1) else 0.0,
                    0.0 if edge[1] >= 0.5 * (y0 + y1) else 1.0,
                )
            )
            self.note.setPos(float(edge[0]), float(edge[1]))
            if not self.note.isVisible():
                self.note.show()
                self.outline.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
            return
        self._hide_note()
        last = xs[count - 1]
        self.heads.set_point(0, float(last[0]), float(last[1]))
        if self.trail.update(xs, count):
            self.layer.push(0, last)

    def _hide_note(self) -> None:
        if self.note.isVisible():
            self.note.hide()
            self.outline.setData([], [])

    def _last_inside(
        self, xs: np.ndarray, count: int, home: tuple[float, float, float, float] | None
    ) -> int:
        """The last of the first ``count`` rows inside ``home`` (-1: none). Called only
        once the run has blown up: the first call scans every row so far, later calls
        only the rows added since."""
        if home is None:
            return count - 1
        scan = self.scan
        if count < scan[0]:  # restarted
            scan[0], scan[1] = 0, -1
        if count > scan[0]:
            x0, x1, y0, y1 = home
            px, py = xs[scan[0] : count, 0], xs[scan[0] : count, 1]
            inside = np.flatnonzero((px >= x0) & (px <= x1) & (py >= y0) & (py <= y1))
            if inside.size:
                scan[1] = scan[0] + int(inside[-1])
            scan[0] = count
        return scan[1]

    def rethin(self, eps: float) -> None:
        """The view changed: thin the trail anew for it."""
        self.trail.reset(eps)
        if self.source is not None:
            self.trail.update(*self.source)
        self.layer.invalidate()


class SmallMultiples(pg.GraphicsLayoutWidget):
    """A grid of small landscape panels, one per enabled racer (see the module doc)."""

    startChosen = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(400, 300)
        self.ci.layout.setSpacing(6)
        self.ci.layout.setContentsMargins(4, 4, 12, 4)
        self.pool: list[_Cell] = []
        self.cells: list[_Cell] = []  # shown, in grid order
        self.cell_of: dict[int, _Cell] = {}  # racer index -> its panel
        self.labels: list[str] = []
        self.colors: list[str] = []
        self.enabled: list[bool] = []
        self.shape = (0, 0)
        self.lid = -1
        self.packed = np.zeros(1)
        self.fmin_known: float | None = None
        self.minima_xy: list[tuple[float, ...]] = []
        self.saddles_xy: list[tuple[float, ...]] = []
        self.levels = LEVELS
        self.log_color = True
        self.equal_aspect = True
        self.start_xy = (0.0, 0.0)
        self.box = (-1.0, 1.0, -1.0, 1.0)  # the linked view (x0, x1, y0, y1)
        self.home: tuple[float, float, float, float] | None = None  # the view asked for
        self.trail_width: float = TRAIL_WIDTH
        self._syncing = False
        self._grid_timer = QTimer(self)
        self._grid_timer.setSingleShot(True)
        self._grid_timer.setInterval(40)
        self._grid_timer.timeout.connect(self.refresh_grid)
        self._grid: MapPicture | None = None  # the last map sampled
        self._stale = False  # changed while hidden: laid out and sampled when shown
        self.scene().sigMouseClicked.connect(self._on_click)

    # ------------------------------------------------------------ objective
    def set_landscape(
        self,
        lid: int,
        packed: np.ndarray,
        view: tuple[float, ...],
        minima: list[tuple[float, ...]],
        saddles: list[tuple[float, ...]],
        fmin: float | None,
        levels: int = LEVELS,
        log_color: bool = True,
        equal_aspect: bool = True,
    ) -> None:
        self.lid, self.packed, self.fmin_known = lid, packed, fmin
        self.minima_xy, self.saddles_xy = list(minima), list(saddles)
        self.levels, self.log_color = levels, log_color
        self.equal_aspect = bool(equal_aspect)
        self.box = (float(view[0]), float(view[1]), float(view[2]), float(view[3]))
        self.home = self.box
        for cell in self.pool:
            cell.scan = [0, -1]
            self._dress(cell)
        self._apply_box()
        self.refresh_grid()

    def set_equal_aspect(self, on: bool) -> None:
        """1:1 data units in every panel (or each axis filling its panel)."""
        self.equal_aspect = bool(on)
        for cell in self.pool:
            cell.plot.vb.setAspectLocked(self.equal_aspect, ratio=1.0)
        if self.home is not None:
            self.box = self.home
        self._relayout(force=True)
        self._apply_box()

    def view_box(self) -> tuple[float, float, float, float]:
        if self.cells:
            (x0, x1), (y0, y1) = self.cells[0].plot.vb.viewRange()
            return x0, x1, y0, y1
        return self.box

    def set_start_marker(self, x: float, y: float) -> None:
        self.start_xy = (float(x), float(y))
        for cell in self.pool:
            cell.start.setPos(QPointF(*self.start_xy))

    def _dress(self, cell: _Cell) -> None:
        """Put the landscape's fixed items (minima, saddles, start, aspect) on ``cell``."""
        m, s = self.minima_xy, self.saddles_xy
        if m:
            cell.minima.setData([v[0] for v in m], [v[1] for v in m])
        else:
            cell.minima.clear()
        if s:
            cell.saddles.setData([v[0] for v in s], [v[1] for v in s])
        else:
            cell.saddles.clear()
        cell.start.setPos(QPointF(*self.start_xy))
        cell.plot.vb.setAspectLocked(self.equal_aspect, ratio=1.0)
        if self._grid is not None:
            self._paint_grid(cell)

    # ------------------------------------------------------------ racers
    def set_racers(self, labels: list[str], colors: list[str], enabled: list[bool]) -> None:
        """The race's racers (all of them; the disabled get no panel)."""
        self.labels, self.colors = list(labels), list(colors)
        self.enabled = [bool(e) for e in enabled]
        for cell in self.pool:  # a new race or new racers: every trail starts again
            cell.racer = -1
        self._relayout(force=True)

    def set_enabled(self, enabled: list[bool]) -> bool:
        """Racers switched on or off: re-lay out if the set of panels changes (True:
        it did, and the panels need their racers' rows again)."""
        flags = [bool(e) for e in enabled]
        if flags == self.enabled:
            return False
        self.enabled = flags
        self._relayout(force=True)
        return True

    def update_racer(
        self, i: int, xs: np.ndarray, count: int, visible: bool = True, escaped: bool = False
    ) -> None:
        """Pull racer ``i``'s new rows into its panel (a racer without one is skipped);
        ``escaped`` as for :meth:`LandscapePanel.update_racer`."""
        cell = self.cell_of.get(i)
        if cell is not None and visible:
            cell.update(xs, count, escaped, self.home)

    def trail_points(self, i: int) -> np.ndarray:
        """The points racer ``i``'s panel keeps of its trail, shape (k, 2) (tests)."""
        cell = self.cell_of[i]
        return cell.trail.buf[: cell.trail.n].copy()

    def panel(self, i: int) -> pg.PlotItem:
        """Racer ``i``'s panel."""
        return self.cell_of[i].plot

    def widen_trails(self, width: float) -> None:
        """Wide antialiased trails, in every panel made from now on too (a still picture
        can afford them)."""
        self.trail_width = float(width)
        for cell in self.pool:
            cell.set_width(self.trail_width)

    # ------------------------------------------------------------ layout
    def _aspect(self) -> float | None:
        if not self.equal_aspect:
            return None
        x0, x1, y0, y1 = self.box
        return (x1 - x0) / (y1 - y0) if y1 > y0 and x1 > x0 else None

    def _relayout(self, force: bool = False) -> None:
        if not self.isVisible():
            self._stale = True
            return
        shown = [i for i, on in enumerate(self.enabled) if on]
        shape = grid_shape(len(shown), self.width(), self.height(), self._aspect())
        same = [c.racer for c in self.cells] == shown and shape == self.shape
        if same and not force:
            self._size_cells()
            self._apply_box()
            return
        while len(self.pool) < len(shown):
            cell = _Cell()
            if self.trail_width != TRAIL_WIDTH:
                cell.set_width(self.trail_width)
            self._dress(cell)
            cell.plot.vb.sigRangeChangedManually.connect(
                lambda *_a, c=cell: self._on_manual_range(c)
            )
            cell.plot.vb.sigRangeChanged.connect(lambda *_a: self._grid_timer.start())
            self.pool.append(cell)
        if not same:
            self.ci.clear()
            cols = max(shape[0], 1)
            for k in range(len(shown)):
                self.ci.addItem(self.pool[k].plot, row=k // cols, col=k % cols)
        self.shape = shape
        self.cells = self.pool[: len(shown)]
        self.cell_of = {}
        for k, i in enumerate(shown):
            cell = self.cells[k]
            cell.show_racer(i, self.labels[i], self.colors[i])
            self.cell_of[i] = cell
        for cell in self.pool[len(shown) :]:
            cell.racer = -1
            cell.source = None
        self._size_cells()
        self._apply_box()

    def _size_cells(self) -> None:
        """Every panel the same size (a share of the widget), so that at equal scale all
        show exactly the same area."""
        cols, rows = self.shape
        if not cols:
            return
        left, top, right, bottom = self.ci.layout.getContentsMargins()
        gap = self.ci.layout.horizontalSpacing(), self.ci.layout.verticalSpacing()
        w = (self.viewport().width() - left - right - gap[0] * (cols - 1)) / cols
        h = (self.viewport().height() - top - bottom - gap[1] * (rows - 1)) / rows
        w, h = max(math.floor(w), 60), max(math.floor(h), 60)
        lay = self.ci.layout
        for c in range(cols):
            lay.setColumnFixedWidth(c, w)
        for r in range(rows):
            lay.setRowFixedHeight(r, h)

    def showEvent(self, ev: QShowEvent) -> None:
        super().showEvent(ev)
        if self._stale:
            self._stale = False
            self._relayout(force=True)
            self.refresh_grid()

    def resizeEvent(self, ev: QResizeEvent) -> None:
        super().resizeEvent(ev)
        if getattr(self, "enabled", None):  # (the base class resizes before __init__ ends)
            self._relayout()

    # ------------------------------------------------------------ linked view
    def _apply_box(self) -> None:
        """Show ``box`` in every panel, now and again once the layout has settled (a
        ViewBox that gets its first size forgets a range set before)."""
        self._set_ranges()
        QTimer.singleShot(0, self._set_ranges)

    def _set_ranges(self) -> None:
        x0, x1, y0, y1 = self.box
        self._syncing = True
        try:
            for cell in self.cells:
                cell.plot.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        finally:
            self._syncing = False
        self._grid_timer.start()

    def _on_manual_range(self, src: _Cell) -> None:
        """A pan or zoom in one panel: every other panel shows the same area."""
        if self._syncing:
            return
        (x0, x1), (y0, y1) = src.plot.vb.viewRange()
        self.box = (x0, x1, y0, y1)
        self._syncing = True
        try:
            for cell in self.cells:
                if cell is not src:
                    cell.plot.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        finally:
            self._syncing = False
        self._grid_timer.start()

    # ------------------------------------------------------------ map
    def refresh_grid(self) -> None:
        """Sample the map once for the linked view and show it in every panel."""
        if self.lid < 0:
            return
        if not self.isVisible():
            self._stale = True
            return
        x0, x1, y0, y1 = self.view_box()
        # with equal scale the panels show more than the box in one direction: sample that
        grid = landscape_image(self.lid, self.packed, (x0, x1, y0, y1), SMALL_GRID,
                               self.fmin_known, self.log_color, self.levels)  # fmt: skip
        if grid is None:
            self._grid = None
            for cell in self.pool:
                cell.image.clear()
                cell.contours.setData([], [])
            return
        img, (lo, hi), (cx, cy) = grid
        img = _colored(img, lo, hi)  # once: every panel shows these pixels
        self._grid = (img, (lo, hi), QRectF(x0, y0, x1 - x0, y1 - y0), cx, cy)
        for cell in self.pool:
            self._paint_grid(cell)
        eps = (x1 - x0) / 1000.0
        for cell in self.cells:
            cell.rethin(eps)

    def _paint_grid(self, cell: _Cell) -> None:
        assert self._grid is not None
        img, _levels, rect, cx, cy = self._grid
        cell.image.setImage(img, autoLevels=False)
        cell.image.setRect(rect)
        cell.contours.setData(cx, cy, connect="pairs")

    # ------------------------------------------------------------ mouse
    def _on_click(self, ev: MouseClickEvent) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        for cell in self.cells:
            vb = cell.plot.vb
            if vb.sceneBoundingRect().contains(ev.scenePos()):
                p = vb.mapSceneToView(ev.scenePos())
                ev.accept()
                self.set_start_marker(p.x(), p.y())
                self.startChosen.emit(float(p.x()), float(p.y()))
                return
