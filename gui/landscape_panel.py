"""The landscape panel: heat map (log colour), contours, minima and saddles, the
gradient field, and every racer's trail and head."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget

from engine.display import (
    contour_segments,
    nice_levels,
    quiver_segments,
)
from engine.landscapes import landscape_grid
from engine.optimizers import get_optimizer
from gui.axes import GRID, LEVELS, TRAIL_WIDTH, cache_legend, cache_static_items, plain_axes
from gui.palette import line_styles
from gui.trails import Heads, Trail, TrailLayer, clip_polyline

if TYPE_CHECKING:
    from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent


def arrow_segments(x0: float, y0: float, dx: float, dy: float) -> tuple[list[float], list[float]]:
    """Shaft and two head strokes of one arrow, as point pairs."""
    L = math.hypot(dx, dy)
    if not (L > 0 and math.isfinite(L)):
        return [], []
    x1, y1 = x0 + dx, y0 + dy
    ux, uy = dx / L, dy / L
    h = 0.25 * L
    ax = x1 - h * (ux * 0.866 - uy * 0.5)
    ay = y1 - h * (uy * 0.866 + ux * 0.5)
    bx = x1 - h * (ux * 0.866 + uy * 0.5)
    by = y1 - h * (uy * 0.866 - ux * 0.5)
    return [x0, x1, x1, ax, x1, bx], [y0, y1, y1, ay, y1, by]


def landscape_image(
    lid: int,
    packed: np.ndarray,
    box: tuple[float, float, float, float],
    n: int,
    fmin_known: float | None,
    log_color: bool,
    levels: int,
) -> tuple[np.ndarray, tuple[float, float], tuple[np.ndarray, np.ndarray]] | None:
    """The heat map of a landscape over ``box`` on an n x n grid (log10(f − f_min + δ), or
    f), its colour levels (0.5 and 99.5 percentiles) and its contour segments (pairs);
    None where f is nowhere finite. f_min is the known minimum, else the grid's."""
    x0, x1, y0, y1 = box
    z = np.empty((n, n))
    landscape_grid(lid, packed, x0, x1, n, y0, y1, n, z)
    finite = np.isfinite(z)
    if not finite.any():
        return None
    zmin = float(z[finite].min())
    fref = min(fmin_known if fmin_known is not None else zmin, zmin)
    span = float(np.percentile(z[finite], 99)) - fref
    delta = max(span * 1e-6, 1e-12)
    if log_color:
        img = np.log10(np.where(finite, z - fref + delta, np.nan))
    else:
        img = np.where(finite, z, np.nan)
    lo, hi = np.nanpercentile(img, [0.5, 99.5])
    cx, cy, _ = contour_segments(z, x0, x1, y0, y1, nice_levels(z, levels))
    return img, (float(lo), float(hi)), (cx, cy)


class LandscapePanel(pg.PlotWidget):
    """Heat map (log colour) + contours + minima/saddles + racer trails and heads."""

    startChosen = Signal(float, float)
    probeChosen = Signal(float, float)  # Shift+click: inspect the point (gui/local_probe.py)

    def __init__(self, parent: QWidget | None = None) -> None:
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
        self.fmin_known: float | None = None  # f* when known (set_landscape)
        self._grid_timer = QTimer(self)
        self._grid_timer.setSingleShot(True)
        self._grid_timer.setInterval(40)
        self._grid_timer.timeout.connect(self.refresh_grid)
        self.plotItem.vb.sigRangeChanged.connect(lambda *_: self._grid_timer.start())
        self.plotItem.vb.sigRangeChanged.connect(lambda *_: self._place_legend())
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_move)
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
        minima: list[tuple[float, ...]],
        saddles: list[tuple[float, ...]],
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
        self.set_map_overlay(None)  # a start map was of the landscape before
        self.go_home()
        self.refresh_grid()

    def set_map_overlay(
        self, rgba: np.ndarray | None, rect: tuple[float, float, float, float] = (0, 1, 0, 1)
    ) -> None:
        """A start map (RGBA, [y, x]) over ``rect`` (x0, x1, y0, y1), drawn semi-transparent
        over the heat map and under the contours and trails; None removes it."""
        item = getattr(self, "map_overlay", None)
        if rgba is None:
            if item is not None:
                item.clear()
                item.hide()
            return
        if item is None:
            item = self.map_overlay = pg.ImageItem()
            item.setZValue(-7)
            item.setOpacity(0.75)
            cache_static_items(self, item)  # repainted under moving trails every frame
            self.addItem(item, ignoreBounds=True)
        x0, x1, y0, y1 = rect
        item.setImage(rgba, autoLevels=False)
        item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        item.show()

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
        x0, x1, y0, y1 = self.view_box()
        grid = landscape_image(self.lid, self.packed, (x0, x1, y0, y1), GRID, self.fmin_known,
                               self.log_color, self.levels)  # fmt: skip
        if grid is None:
            self.image.clear()
            self.contours.setData([], [])
            return
        img, (lo, hi), (cx, cy) = grid
        # the constructor's label sits on the bar's left axis (a "right" label would be a second)
        self.colorbar.setLabel("left", "log₁₀(f − f_min + δ)" if self.log_color else "f")
        self.image.setImage(img, autoLevels=False, levels=(lo, hi))
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.setLevels((lo, hi))
        self.contours.setData(cx, cy, connect="pairs")
        if self.show_quiver:
            self._draw_quiver(x0, x1, y0, y1)
        else:
            self.quiver.setData([], [])
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
        for label, color, dash in zip(labels, colors, line_styles(colors), strict=True):
            c = pg.mkColor(color)
            trail = pg.PlotCurveItem(pen=pg.mkPen(c, width=TRAIL_WIDTH, style=dash))
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
        arrow._shown = key
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
        assert self.home is not None  # set with the landscape, before any race
        x0, x1, y0, y1 = self.home
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
        text._anchor = anchor
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
            ax, ay = text._anchor
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

    def show_step_arrows(self, race: Any, counts: list[int]) -> None:
        """At each enabled racer's head: its last update, −η·∇f and, where its optimizer
        has one, its momentum, on one scale (the longest is 12 % of the view's width)."""
        x0, x1, _, _ = self.view_box()
        for i, cfg in enumerate(race.racers):
            c = counts[i]
            if c == 0 or not cfg.enabled:
                self.set_arrows(i, None)
                continue
            head = race.xs[i, c - 1]
            lr = race.lrs[i, c - 1]
            opt = get_optimizer(cfg.optimizer)
            vecs = [-lr * race.objective.gradient(head)]
            if c >= 2:
                vecs.append(head - race.xs[i, c - 2])
            momentum = opt.arrow(race.st[i], lr)  # None without a momentum (its spec)
            if momentum is not None and np.all(np.isfinite(momentum)):  # NaN: not recorded
                vecs.append(momentum)
            longest = max(float(np.hypot(*v[:2])) for v in vecs)
            if not (longest > 0 and math.isfinite(longest)):
                self.set_arrows(i, None)
                continue
            scale = 0.12 * (x1 - x0) / longest
            px: list[float] = []
            py: list[float] = []
            for v in vecs:
                ax, ay = arrow_segments(
                    float(head[0]), float(head[1]), float(v[0]) * scale, float(v[1]) * scale
                )
                px += ax
                py += ay
            self.set_arrows(i, (np.array(px), np.array(py)))

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

    def _on_click(self, ev: MouseClickEvent) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:  # a probe, not a restart
            self.probeChosen.emit(float(p.x()), float(p.y()))
            return
        self.set_start_marker(p.x(), p.y())
        self.startChosen.emit(float(p.x()), float(p.y()))

    def _on_move(self, pos: QPointF) -> None:
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
