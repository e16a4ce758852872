"""The loss panel: every racer's loss (or |f − f*|) against the step, decimated to the
view, with exact zeros on a floor and noisy losses smoothed."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from engine.display import minmax_decimate
from gui.axes import cache_static_items, plain_axes
from gui.loss_curves import CurveTrail, Track
from gui.palette import line_styles
from gui.trails import TrailLayer


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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(300, 180)
        self.plotItem.setLabel("bottom", "step")
        self.plotItem.showGrid(True, True, alpha=0.3)
        self.curves: list[pg.PlotCurveItem] = []  # each racer's main line (slides widen it)
        self.tracks: list[list[Track]] = []  # per racer: the curves drawn from its loss
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
        # the step shown by the timeline while it replays an earlier one (set_cursor)
        self.cursor = pg.InfiniteLine(
            angle=90, pen=pg.mkPen((40, 40, 40), width=1.5, style=Qt.PenStyle.DashLine),
            label="step {value:,.0f}", labelOpts={"position": 0.96, "color": (40, 40, 40),
                                                  "fill": (255, 255, 255, 200)},
        )  # fmt: skip
        self.cursor.setZValue(6)
        self.cursor.hide()
        self.addItem(self.cursor, ignoreBounds=True)
        self._floor_shown: tuple[object, ...] | None = None  # what the marks and labels show
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
        self._epoch_bounds = (math.inf, -math.inf)
        self.plotItem.vb.sigRangeChangedManually.connect(self._on_manual_range)

    @property
    def sources(self) -> list[CurveTrail]:
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
        for _label, color, dash in zip(labels, colors, line_styles(colors), strict=True):
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
                pen = pg.mkPen(col, width=width, style=dash)
                style = pg.PlotCurveItem(pen=pen, antialias=aa)
                zoom = pg.PlotCurveItem(pen=pen, connect="finite", antialias=aa)
                zoom.setVisible(False)
                self.addItem(zoom)
                tracks.append(Track(kind, style, zoom))
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

    def set_cursor(self, step: int | None) -> None:
        """A vertical line at ``step`` (the timeline's replay), None: none."""
        if step is None:
            if self.cursor.isVisible():
                self.cursor.hide()
            return
        self.cursor.show()  # first: a hidden line's label does not follow its value
        if self.cursor.value() != step:
            self.cursor.setValue(step)

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
