"""The perceptron view: the data with each racer's decision line, and weight space.

Weight space shows the full-batch training loss over (w1, w2) at a fixed bias b: the
slice through the selected racer's current b (the title says which), recomputed when
that b moves. The loss surface is drawn from at most GRID_ROWS training rows (every
k-th row; the title says so when it is a subsample).

While a race plays, the slice is computed in a background thread (the compiled grid
kernel releases the GIL) at most every SLICE_INTERVAL seconds: on 100,000-row data with
a moving b it used to take the GUI thread ~0.4 s every ten frames.
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QWidget

from engine.display import contour_segments, nice_levels, perceptron_loss_grid
from engine.objective import PerceptronObjective
from engine.race import Race
from gui.axes import TRAIL_WIDTH, cache_legend, cache_static_items, plain_axes
from gui.palette import line_styles
from gui.trails import Heads, Trail, TrailLayer

if TYPE_CHECKING:
    from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent

GRID = 64
GRID_ROWS = 1500
SCATTER_ROWS = 4000
SLICE_INTERVAL = 1.0  # s between two live (background) computations of the slice

Box = tuple[float, float, float, float]  # (x0, x1, y0, y1)
Slice = tuple[np.ndarray, np.ndarray, np.ndarray]  # loss grid, contour xs, contour ys


class SliceJob(TypedDict):
    """A background slice: ``out["slice"]`` once the thread is done, and what it was
    asked for."""

    out: dict[str, Slice]
    b: float
    label: str
    box: Box
    gen: int


def compute_slice(rows: np.ndarray, b: float, box: Box) -> Slice:
    """The loss grid over ``box`` (w1 from x0 to x1, w2 from y0 to y1) at bias ``b`` and
    its contour segments; any thread (the kernels release the GIL)."""
    x0, x1, y0, y1 = box
    z = np.empty((GRID, GRID))
    perceptron_loss_grid(rows, b, x0, x1, GRID, y0, y1, GRID, z)
    cx, cy, _ = contour_segments(z, x0, x1, y0, y1, nice_levels(z, 12))
    return z, cx, cy


EPOCH_FIELDS = ("train_loss", "val_loss", "val_accuracy", "train_accuracy")


class EpochSampler:
    """Per-epoch full-set metrics of a perceptron race, evaluated within a time budget.

    ``Race.epoch_metrics`` evaluates every epoch reached on the whole training and
    validation sets; with 100,000 rows at full speed epochs pass at ~25 per second per
    racer and that is ~0.8 s of work per second of play — in the GUI thread. The live
    window needs far less: each racer's latest epoch (leaderboard) and a curve of at most
    ~CAP points. Each :meth:`update` evaluates, within ``budget_s``, first the latest
    epoch of every racer, then epochs at a stride of ceil(epochs / CAP), oldest first.
    Every figure shown is exact (same :meth:`PerceptronObjective.evaluate`); a fast race
    just has a sparser curve. A racer's reset (``race.run_id``) or another race drops
    what is known. A race shown at an earlier step (gui.frames.RaceAt) shares its race's
    epochs, and :meth:`metrics` gives only those reached by the step shown.
    """

    CAP = 400

    def __init__(self) -> None:
        self.race: Race | None = None
        self.known: list[dict[int, np.ndarray]] = []
        self.run_ids: list[int] = []
        self.view: Race | None = None  # the race last updated as shown (maybe a RaceAt)

    def _attach(self, race: Race) -> None:
        self.view = race
        race = getattr(race, "race", race)  # a RaceAt's epochs are its race's
        n = len(race.racers)
        ids = [int(r) for r in race.run_id[:n]]
        if race is not self.race or len(self.known) != n:
            self.race = race
            self.known = [{} for _ in range(n)]
            self.run_ids = ids
            return
        for k in range(n):
            if ids[k] != self.run_ids[k]:
                self.known[k] = {}
                self.run_ids[k] = ids[k]

    def update(self, race: Race, budget_s: float) -> int:
        """Evaluate epochs of ``race`` for up to ``budget_s`` seconds; returns how many."""
        self._attach(race)
        spe = int(race.steps_per_epoch)
        end = time.perf_counter() + budget_s
        latest: list[int] = []
        for k in range(len(self.known)):
            c = int(race.count[k])
            latest.append((c - 1) // spe if c > 0 else -1)
        done = 0
        # the latest epoch of every racer first (the leaderboard), then the curves
        for k, e in enumerate(latest):
            if e >= 0 and e not in self.known[k]:
                done += self._evaluate(race, k, [e], spe)
                if time.perf_counter() >= end:
                    return done
        for k, e in enumerate(latest):
            if e < 0:
                continue
            stride = max(1, -(-(e + 1) // self.CAP))
            todo = [j for j in range(0, e + 1, stride) if j not in self.known[k]]
            for i in range(0, len(todo), 8):
                done += self._evaluate(race, k, todo[i : i + 8], spe)
                if time.perf_counter() >= end:
                    return done
        return done

    def _evaluate(self, race: Race, k: int, epochs: list[int], spe: int) -> int:
        obj = race.objective
        assert isinstance(obj, PerceptronObjective)  # epochs are a perceptron's
        rid = int(race.run_id[k])
        pts = race.xs[k, np.asarray(epochs) * spe]
        vals = obj.evaluate(pts)
        if int(race.run_id[k]) != rid or rid != self.run_ids[k]:
            return 0  # reset meanwhile: the rows read may be mixed
        for e, v in zip(epochs, vals, strict=True):
            self.known[k][e] = v
        return len(epochs)

    def metrics(self, k: int) -> dict[str, np.ndarray]:
        """Racer ``k``'s evaluated epochs, in order: the keys of ``Race.epoch_metrics``."""
        known = self.known[k] if k < len(self.known) else {}
        spe = int(self.race.steps_per_epoch) if self.race is not None else 1
        ep = np.array(sorted(known), dtype=np.int64)
        if self.view is not None and k < len(self.view.count):  # reached by the step shown
            ep = ep[ep <= (int(self.view.count[k]) - 1) // spe]
        vals = np.array([known[e] for e in ep]).reshape(-1, 4)
        out = {"epoch": ep, "step": ep * spe}
        for j, name in enumerate(EPOCH_FIELDS):
            out[name] = vals[:, j].copy()
        return out


class DecisionLines(pg.GraphicsObject):
    """Every racer's decision line in one item, each a band of ``width`` device pixels
    stroked as parallel 1 px antialiased lines half a pixel apart.

    ``lines[i]`` (PlotCurveItems that are not drawn themselves: the legend's samples)
    hold the two end points and the pen. Qt strokes a wide antialiased pen through its
    general path rasteriser (~1.3 ms for one 3 px line across the plot, every frame),
    a 1 px one through its fast cosmetic stroker (~0.15 ms).
    """

    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.width = int(width)
        self.lines: list[pg.PlotCurveItem] = []

    def boundingRect(self) -> QRectF:
        vb = self.getViewBox()
        return QRectF() if vb is None else vb.viewRect()

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def paint(self, p: QPainter, *_args: object) -> None:
        tr = p.combinedTransform()
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # half-pixel spacing: whole-pixel offsets leave visible gaps between the strokes
        n = max(2 * self.width - 1, 1)
        offsets = [0.5 * k - 0.25 * (n - 1) for k in range(n)]
        for line in self.lines:
            x, y = line.xData, line.yData
            if not line.isVisible() or x is None or len(x) != 2:
                continue
            a = tr.map(QPointF(float(x[0]), float(y[0])))
            b = tr.map(QPointF(float(x[1]), float(y[1])))
            dx, dy = b.x() - a.x(), b.y() - a.y()
            d = math.hypot(dx, dy)
            if not (0 < d < 1e7):
                continue
            nx, ny = -dy / d, dx / d
            pen = QPen(line.opts["pen"])
            if pen.style() != Qt.PenStyle.SolidLine:  # dashes as long as the band's pen's
                pen.setDashPattern([d * self.width for d in pen.dashPattern()])
            pen.setWidth(1)
            pen.setCosmetic(True)
            p.setPen(pen)
            for o in offsets:
                p.drawLine(QLineF(a.x() + o * nx, a.y() + o * ny, b.x() + o * nx, b.y() + o * ny))
        p.restore()


class PerceptronPanel(QWidget):
    """Data scatter with decision lines (left) and the weight-space contour (right)."""

    startChosen = Signal(float, float)  # (w1, w2); b is kept

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.built = False  # the plots are built by the first set_data (launch time)
        self._racers: tuple[list[str], list[str]] | None = None
        self.lines: list[pg.PlotCurveItem] = []
        self.trails: list[pg.PlotCurveItem] = []
        self.trail_state: list[Trail] = []
        self.train = np.zeros((0, 3))
        self.grid_rows = np.zeros((0, 3))
        self.slice_b: float | None = None
        self.slice_label = ""
        self.grid_note = ""  # which training rows the slice uses (set_data)
        self._dirty = True
        self._gen = 0  # bumped by every synchronous refresh and new data: drops old jobs
        self._job: tuple[threading.Thread, SliceJob] | None = None
        self._job_t = -math.inf
        self._shown_b: float | None = None  # b of the slice shown or being computed
        self.equal_aspect = True  # both plots in 1:1 data units (set_equal_aspect)
        self._boxes: tuple[Box, Box] | None = None  # (data, weights) boxes asked for

    def _build(self) -> None:
        """Create the two plots (three PlotItems, ~0.1 s) on first use, not at launch: a
        window that opens on a landscape never shows them."""
        if self.built:
            return
        self.built = True
        lay = self._row
        self.data_plot = pg.PlotWidget()
        self.data_plot.plotItem.setLabel("bottom", "x₁")
        self.data_plot.plotItem.setLabel("left", "x₂")
        self.weights = pg.PlotWidget()
        self.weights.plotItem.setLabel("bottom", "w₁")
        self.weights.plotItem.setLabel("left", "w₂")
        lay.addWidget(self.data_plot, 1)
        lay.addWidget(self.weights, 1)
        self.scatter0 = pg.ScatterPlotItem(
            size=6, symbol="o", brush=pg.mkBrush(0, 114, 178, 120), pen=None, name="y = 0"
        )
        self.scatter1 = pg.ScatterPlotItem(
            size=7, symbol="t", brush=pg.mkBrush(213, 94, 0, 140), pen=None, name="y = 1"
        )
        self.data_plot.addItem(self.scatter0)
        self.data_plot.addItem(self.scatter1)
        self.decision = DecisionLines(3)
        self.decision.setZValue(5)
        self.data_plot.addItem(self.decision, ignoreBounds=True)
        self.data_legend = self.data_plot.plotItem.addLegend(offset=(10, 10))
        self.data_legend.setBrush(pg.mkBrush(255, 255, 255, 210))
        self.image = pg.ImageItem()
        self.image.setZValue(-10)
        self.weights.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            colorMap=pg.colormap.get("viridis"),
            label="log₁₀ training loss",
            interactive=False,
            width=15,
        )
        self.colorbar.setImageItem(self.image, insert_in=self.weights.plotItem)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 150), width=1))
        self.contours.setZValue(-5)
        self.weights.addItem(self.contours)
        self.start = pg.TargetItem(pos=(0, 0), size=14, movable=True, pen=pg.mkPen("w", width=2))
        self.start.setZValue(20)
        self.weights.addItem(self.start)
        self.start.sigPositionChangeFinished.connect(self._on_start_dragged)
        self.weights.scene().sigMouseClicked.connect(self._on_click)
        self.trail_layer = TrailLayer()
        self.trail_layer.setZValue(5)
        self.weights.addItem(self.trail_layer, ignoreBounds=True)
        self.heads = Heads(12)
        self.heads.setZValue(10)
        self.weights.addItem(self.heads, ignoreBounds=True)
        self.weights.plotItem.vb.sigRangeChanged.connect(lambda *_: self._grid_dirty())
        cache_static_items(self.data_plot, self.scatter0, self.scatter1, self.data_legend)
        cache_static_items(self.weights, self.image, self.contours, self.colorbar)
        plain_axes(self.data_plot)
        plain_axes(self.weights)
        self.set_equal_aspect(self.equal_aspect)
        if self._racers is not None:
            self.set_racers(*self._racers)

    # ------------------------------------------------------------ data
    def set_data(self, train: np.ndarray, description: str) -> None:
        self._build()
        self.train = train
        step = max(1, train.shape[0] // SCATTER_ROWS)
        shown = train[::step]
        c0 = shown[shown[:, 2] <= 0.5]  # the label's class: y > 0.5 (engine.objective)
        c1 = shown[shown[:, 2] > 0.5]
        self.scatter0.setData(c0[:, 0], c0[:, 1])
        self.scatter1.setData(c1[:, 0], c1[:, 1])
        gstep = max(1, train.shape[0] // GRID_ROWS)
        self.grid_rows = np.ascontiguousarray(train[::gstep])
        self.grid_note = f" (every {gstep}th of {train.shape[0]} rows)" if gstep > 1 else ""
        note = f" — {shown.shape[0]} of {train.shape[0]} rows shown" if step > 1 else ""
        self.data_plot.plotItem.setTitle(f"training data{note}", size="10pt")
        self.data_plot.setToolTip(description)
        x0, x1 = np.percentile(train[:, 0], [0.5, 99.5]) if train.size else (-1, 1)
        y0, y1 = np.percentile(train[:, 1], [0.5, 99.5]) if train.size else (-1, 1)
        px, py = 0.15 * (x1 - x0 + 1e-9), 0.15 * (y1 - y0 + 1e-9)
        px, py = (px if x1 > x0 else 1.0), (py if y1 > y0 else 1.0)  # one row: a unit margin
        self._boxes = ((x0 - px, x1 + px, y0 - py, y1 + py), (-6.0, 6.0, -6.0, 6.0))
        self._go_home()
        self._dirty = True
        self._gen += 1
        self._shown_b = None

    def set_equal_aspect(self, on: bool) -> None:
        """Lock (or free) both plots at one data unit per unit on both axes: the decision
        line's angle and the weight vector's direction read true."""
        self.equal_aspect = bool(on)
        if not self.built:
            return
        for plot in (self.data_plot, self.weights):
            plot.plotItem.vb.setAspectLocked(self.equal_aspect, ratio=1.0)
        self._go_home()

    def _go_home(self) -> None:
        if self._boxes is None:
            return
        for plot, (x0, x1, y0, y1) in zip((self.data_plot, self.weights), self._boxes, strict=True):
            plot.plotItem.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def set_start_marker(self, w1: float, w2: float) -> None:
        self._build()
        self.start.blockSignals(True)
        self.start.setPos(QPointF(w1, w2))
        self.start.blockSignals(False)

    # ------------------------------------------------------------ racers
    def set_racers(self, labels: list[str], colors: list[str]) -> None:
        self._racers = (list(labels), list(colors))
        if not self.built:
            return
        for it in self.lines:
            it.scene().removeItem(it) if it.scene() else None
        self.lines, self.trails, self.trail_state = [], [], []
        self.heads.set_colors(colors)
        for color, dash in zip(colors, line_styles(colors), strict=True):
            c = pg.mkColor(color)
            # data, pen, legend sample; style only
            line = pg.PlotCurveItem(pen=pg.mkPen(c, width=3, style=dash))
            trail = pg.PlotCurveItem(pen=pg.mkPen(c, width=TRAIL_WIDTH, style=dash))
            self.lines.append(line)
            self.trails.append(trail)
            t = Trail()
            t.reset(0.002)
            self.trail_state.append(t)
        self.trail_layer.set_racers(self.trail_state, self.trails)
        self.data_legend.clear()
        self.data_legend.addItem(self.scatter0, "y = 0")
        self.data_legend.addItem(self.scatter1, "y = 1")
        for line, label in zip(self.lines, labels, strict=True):
            self.data_legend.addItem(line, label)
        cache_legend(self.data_legend)
        self.decision.lines = self.lines
        self.decision.update()

    def update_racer(self, i: int, xs: np.ndarray, count: int, visible: bool) -> None:
        if not self.built:
            return
        self.poll()
        line, trail = self.lines[i], self.trails[i]
        for it in (line, trail):
            it.setVisible(visible)
        if not visible or count == 0:
            self.heads.set_point(i, math.nan, math.nan, False)
            self.trail_layer.update()
            self.decision.update()
            return
        w = xs[count - 1]
        self.heads.set_point(i, float(w[0]), float(w[1]))
        st = self.trail_state[i]
        if st.update(xs, count):
            self.trail_layer.push(i, w[:2])
        (x0, x1), (y0, y1) = self.data_plot.plotItem.vb.viewRange()
        line.setData(*decision_line(float(w[0]), float(w[1]), float(w[2]), x0, x1, y0, y1))
        self.decision.update()

    # ------------------------------------------------------------ weight-space slice
    def set_slice(self, b: float, label: str) -> None:
        """Show the loss over (w1, w2) at bias ``b`` (recomputed if b moved visibly).

        Live: the slice is computed in a background thread, one at a time and at most
        every SLICE_INTERVAL s; the picture arrives at a later frame (:meth:`poll`).
        """
        if not self.built:
            return
        self.poll()
        self.slice_b, self.slice_label = b, label  # wanted (refresh_grid draws this one)
        shown = self._shown_b
        same = shown is not None and abs(b - shown) <= 0.02 * max(1.0, abs(shown))
        if same and not self._dirty:
            return
        if self._job is not None or self.grid_rows.shape[0] == 0:
            return  # the window asks again a few frames later
        now = time.perf_counter()
        if now - self._job_t < SLICE_INTERVAL and shown is not None:
            return
        self._shown_b = b
        self._dirty = False
        self._job_t = now
        (x0, x1), (y0, y1) = self.weights.plotItem.vb.viewRange()
        rows, box, gen = self.grid_rows, (x0, x1, y0, y1), self._gen
        out: dict[str, Slice] = {}

        def work() -> None:
            out["slice"] = compute_slice(rows, b, box)

        job = threading.Thread(target=work, name="weight-slice", daemon=True)
        self._job = (job, {"out": out, "b": b, "label": label, "box": box, "gen": gen})
        job.start()

    def poll(self) -> None:
        """Show the background slice if it is ready (every frame; cheap)."""
        if not self.built or self._job is None or self._job[0].is_alive():
            return
        _, job = self._job
        self._job = None
        out = job["out"]
        if job["gen"] != self._gen or "slice" not in out:
            return  # superseded (new data, a synchronous refresh) or failed
        self._show(*out["slice"], job["box"], job["b"], job["label"])

    def _grid_dirty(self) -> None:
        self._dirty = True

    def refresh_grid(self) -> None:
        """Compute and show the slice now (in this thread): renders and tests."""
        if not self.built or self.slice_b is None or self.grid_rows.shape[0] == 0:
            return
        self._gen += 1
        (x0, x1), (y0, y1) = self.weights.plotItem.vb.viewRange()
        box = (x0, x1, y0, y1)
        z, cx, cy = compute_slice(self.grid_rows, self.slice_b, box)
        self._show(z, cx, cy, box, self.slice_b, self.slice_label)
        self._shown_b = self.slice_b
        self._dirty = False

    def _show(
        self, z: np.ndarray, cx: np.ndarray, cy: np.ndarray, box: Box, b: float, label: str
    ) -> None:
        x0, x1, y0, y1 = box
        img = np.log10(np.maximum(z, 1e-12))
        lo, hi = np.nanpercentile(img, [0.5, 99.5])
        self.image.setImage(img, autoLevels=False, levels=(lo, hi))
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.setLevels((lo, hi))
        self.contours.setData(cx, cy, connect="pairs")
        self.weights.plotItem.setTitle(
            # two lines: a long racer label must not push the bias out of a narrow panel
            f"training loss over (w₁, w₂) at b = {b:.3g}<br>"
            f"<span style='font-size:8pt'>{html.escape(label)}'s current b{self.grid_note}</span>",
            size="10pt",
        )

    # ------------------------------------------------------------ mouse
    def _on_start_dragged(self) -> None:
        p = self.start.pos()
        self.startChosen.emit(float(p.x()), float(p.y()))

    def _on_click(self, ev: MouseClickEvent) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.weights.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        self.set_start_marker(p.x(), p.y())
        self.startChosen.emit(float(p.x()), float(p.y()))


def decision_line(
    w1: float, w2: float, b: float, x0: float, x1: float, y0: float, y1: float
) -> tuple[list[float], list[float]]:
    """End points of w1·x1 + w2·x2 + b = 0 across the box (empty if none is visible)."""
    if not all(math.isfinite(v) for v in (w1, w2, b)):
        return [], []
    if abs(w2) >= abs(w1) and w2 != 0:
        return [x0, x1], [-(w1 * x0 + b) / w2, -(w1 * x1 + b) / w2]
    if w1 != 0:
        return [-(w2 * y0 + b) / w1, -(w2 * y1 + b) / w1], [y0, y1]
    return [], []
