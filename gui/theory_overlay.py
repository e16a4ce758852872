"""Theory beside the race, in the window: lecture 5's closed forms drawn next to the run.

Shown only while the overlay is on (View → Theory beside the race, ``[view] theory``) and
the race's landscape is a quadratic (:func:`engine.theory.race_quadratic`); otherwise
every item is hidden and the Theory dock says why there is nothing to predict.

* On the landscape panel: the eigen-directions of A through the minimum, one double
  arrow per eigenvector uᵢ, half-length ∝ 1/√|λᵢ| (the axes of a level ellipse; the
  longer is 30 % of the home view's larger side, each kept inside the view and at least
  8 % of the other), labelled λᵢ.
* On the loss panel: each covered racer's predicted loss gap (engine.theory
  .predicted_curve) in wide translucent dashes of the racer's colour under its measured
  line (a run that agrees shows inside its prediction), in the panel's mode (log y, |f − f*| or
  f = f* + gap), the whole run at once (min/max-decimated above 4,000 steps).
* The Theory dock: the landscape's λ, κ, 2/λmax, η* and Distill's optimum, and per racer
  its method, predicted and measured per-step contraction of |x − x*|, their difference
  and agree/disagree (engine.theory.run_theory, the same blocks as summary.json); a
  racer the theory does not cover says why. The measured rates are refitted at most
  every :data:`MEASURE_MS` while rows arrive (and once after the last), the rest when
  the racers, the start or the landscape change.
* On the Maps panel's learning-rate map: vertical lines at η* and 2/λmax
  (:func:`lr_map_lines`, also drawn by ``main.py map`` through gui.map_picture.map_marks).

The overlay only reads the race and the scenario; its toggle is a scenario edit through
the window's intents.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QBrush, QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.display import minmax_decimate
from engine.theory import Quadratic, method_of, predicted_curve, race_quadratic, run_theory
from gui.palette import color_for

if TYPE_CHECKING:
    from gui.window import MainWindow

#: the predicted curves: wide translucent dashes, so that the measured line that agrees
#: with one shows inside it (live; slides: SLIDE_PEN)
PREDICTED_PEN = 4.0
SLIDE_PEN = 7.0
PREDICTED_ALPHA = 110
MEASURE_MS = 500  # the measured rates are refitted at most this often while the race runs
MAX_POINTS = 4000  # a predicted curve longer than this is min/max-decimated
EIGEN_SHARE = 0.3  # the longer eigen-arrow's half-length: this share of the view's larger side
EIGEN_MIN = 0.08  # the shorter one is at least this share of the longer
METHOD_NAMES = {
    "gd": "GD",
    "heavy_ball": "heavy ball",
    "ema": "EMA momentum",
    "nesterov": "Nesterov",
    "nag": "NAG",
}
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def num(v: float | None, digits: int = 6) -> str:
    """A figure as the table shows it (six significant digits; "—" for none)."""
    if v is None:
        return "—"
    if not math.isfinite(v):
        return str(v)
    return f"{float(v) + 0.0:.{digits}g}"


def eigen_axes(
    q: Quadratic, view: tuple[float, float, float, float]
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per eigenvalue (ascending): (centre, half-vector, λ) of its double arrow in the
    view box (x0, x1, y0, y1): half-lengths ∝ 1/√|λᵢ|, the longer EIGEN_SHARE of the
    view's larger side, the shorter at least EIGEN_MIN of the longer, each within the box
    (when the centre is in it)."""
    x0, x1, y0, y1 = view
    side = max(x1 - x0, y1 - y0)
    lam = np.maximum(np.abs(q.lam), 1e-300)
    inv = 1.0 / np.sqrt(lam)
    rel = np.maximum(inv / float(inv.max()), EIGEN_MIN)
    c = q.centre
    out = []
    for k in range(2):
        u = q.vectors[:, k]
        half = EIGEN_SHARE * side * float(rel[k])
        if x0 < c[0] < x1 and y0 < c[1] < y1:  # stay inside the box along ±u
            room = [
                (hi - c[d]) / abs(u[d]) if u[d] > 0 else (c[d] - lo) / abs(u[d])
                for d, (lo, hi) in enumerate(((x0, x1), (y0, y1)))
                if abs(u[d]) > 1e-12
            ]
            room += [
                (c[d] - lo) / abs(u[d]) if u[d] > 0 else (hi - c[d]) / abs(u[d])
                for d, (lo, hi) in enumerate(((x0, x1), (y0, y1)))
                if abs(u[d]) > 1e-12
            ]
            half = min(half, 0.92 * min(room))
        out.append((c.copy(), u * half, float(q.lam[k])))
    return out


def double_arrow(c: np.ndarray, h: np.ndarray, head: float) -> tuple[list[float], list[float]]:
    """Point pairs of a shaft from c − h to c + h with a head of length ``head`` at each end."""
    xs: list[float] = [float(c[0] - h[0]), float(c[0] + h[0])]
    ys: list[float] = [float(c[1] - h[1]), float(c[1] + h[1])]
    L = float(np.hypot(*h))
    if not L > 0:
        return [], []
    u = h / L
    hd = min(head, 0.45 * L)
    for s in (1.0, -1.0):
        tip = c + s * h
        for a in (0.5, -0.5):  # ±30° barbs
            cs, sn = 0.866, a
            bx = s * (u[0] * cs - u[1] * sn)
            by = s * (u[1] * cs + u[0] * sn)
            xs += [float(tip[0]), float(tip[0] - hd * bx)]
            ys += [float(tip[1]), float(tip[1] - hd * by)]
    return xs, ys


def lr_map_lines(race: Any, i: int, names: tuple[str, ...] | list[str]) -> list[tuple[str, float]]:
    """Labelled vertical lines of a map over ``names`` of racer ``i`` of ``race``: η* and
    2/λmax when the landscape is a positive definite quadratic, the map's first axis is
    ``lr`` and the racer is plain GD (a 1-D map), or the map sweeps lr × momentum of
    torch's sgd (the lines then hold on its ρ = 0 edge); nothing otherwise."""
    names = tuple(names)
    if not names or names[0] != "lr" or not 0 <= i < len(race.racers):
        return []
    q = race_quadratic(race)
    if q is None or not q.positive_definite:
        return []
    cfg = race.racers[i]
    start = cfg.start if cfg.start is not None else race.objective.start
    if len(names) == 1:
        m = method_of(cfg, np.asarray(start, dtype=np.float64), float(race.objective.grad_noise))
        if isinstance(m, str) or m.kind != "gd":
            return []
        tail = ""
    elif names[1] == "momentum" and cfg.optimizer == "sgd":
        tail = " (GD, ρ = 0)"
    else:
        return []
    assert q.lr_optimal is not None and q.lr_max_stable is not None
    return [
        (f"η* = 2/(λmin + λmax) = {q.lr_optimal:.4g}{tail}", q.lr_optimal),
        (f"2/λmax = {q.lr_max_stable:.4g}{tail}", q.lr_max_stable),
    ]


class TheoryTable(QWidget):
    """The Theory dock's contents: the landscape's figures above one row per racer."""

    HEADER = ("racer", "method", "predicted", "measured", "difference", "agree (< 1 %)")

    def __init__(self) -> None:
        super().__init__()
        self.setStyleSheet("background: white")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        self.figures = QLabel()
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setWordWrap(True)
        self.figures.setStyleSheet("font-size: 12pt")
        lay.addWidget(self.figures)
        self.table = QTableWidget(0, len(self.HEADER))
        self.table.setHorizontalHeaderLabels(list(self.HEADER))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setStyleSheet("font-size: 12pt")
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        lay.addWidget(self.table, 20)  # up to its rows' height (show_rows), then the stretch
        self.note = QLabel(
            "rate: the per-step contraction of |x − x*| (the loss gap's is its square), "
            "measured by a fit of log(f − f*) over the run's settled half; "
            "dashed on the loss panel: the predicted loss"
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("font-size: 10pt; color: #444")
        lay.addWidget(self.note)
        lay.addStretch(1)
        self.rows: list[dict[str, Any] | None] = []  # the blocks shown (run_theory's)

    def show_none(self, why: str) -> None:
        self.figures.setText(why)
        self.table.setRowCount(0)
        self.rows = []

    def show_figures(self, q: Quadratic) -> None:
        lam = ", ".join(num(float(v), 4) for v in q.lam)
        if not q.positive_definite:
            self.figures.setText(
                f"f = f* + ½(x − c)ᵀA(x − c): λ = ({lam}); not positive definite: "
                "no minimum, nothing to predict"
            )
            return
        opt = q.distill_optimum()
        assert opt is not None and q.kappa is not None
        rate = (q.kappa - 1.0) / (q.kappa + 1.0)
        self.figures.setText(
            f"λ = ({lam}), κ = {num(q.kappa, 4)}; GD stable iff 0 &lt; η &lt; 2/λmax = "
            f"{num(q.lr_max_stable, 4)}<br>"
            f"η* = 2/(λmin + λmax) = {num(q.lr_optimal, 4)}, rate (κ − 1)/(κ + 1) = "
            f"{num(rate, 4)}<br>"
            f"heavy ball, Distill's optimum: η = {num(opt[0], 4)}, ρ = {num(opt[1], 4)}, "
            f"rate √ρ = {num(math.sqrt(opt[1]), 4)}"
        )

    def show_rows(
        self, labels: list[str], colors: list[str], blocks: list[dict[str, Any] | None]
    ) -> None:
        t = self.table
        t.clearSpans()
        t.setRowCount(len(blocks))
        self.rows = list(blocks)
        for r, (label, color, b) in enumerate(zip(labels, colors, blocks, strict=True)):
            name = QTableWidgetItem(f"■ {label}")
            name.setForeground(QBrush(QColor(color)))
            t.setItem(r, 0, name)
            if b is None or not b["covered"]:
                why = "—" if b is None else str(b["reason"])
                t.setItem(r, 1, QTableWidgetItem(why))
                t.setSpan(r, 1, 1, 3)
                measured = None if b is None else b["measured_rate"]
                t.setItem(r, 4, QTableWidgetItem(f"measured {num(measured)}"))
                t.setItem(r, 5, QTableWidgetItem("n/a"))
                continue
            rel = b["relative_difference"]
            diff = "—" if rel is None else f"{rel * 100 + 0.0:+.3f} %"
            cells = (
                METHOD_NAMES.get(str(b["method"]), str(b["method"])),
                num(b["predicted_rate"]),
                num(b["measured_rate"]),
                diff.replace("+0.000", "0.000").replace("-0.000", "0.000"),
                str(b["agreement"]),
            )
            for k, text in enumerate(cells, start=1):
                item = QTableWidgetItem(text)
                if k >= 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if k == 5:
                    good = text == "agree"
                    item.setForeground(QBrush(QColor("#1a7f37" if good else "#b00020")))
                t.setItem(r, k, item)

        t.setMaximumHeight(self.table_height())

    def table_height(self) -> int:
        """The header and every row, without scrolling."""
        t = self.table
        rows = sum(t.rowHeight(r) for r in range(t.rowCount()))
        return t.horizontalHeader().sizeHint().height() + rows + 2 * t.frameWidth() + 8

    def cell(self, r: int, k: int) -> str:
        """The text of row ``r``, column ``k`` (tests)."""
        item = self.table.item(r, k)
        return "" if item is None else item.text()

    def natural_height(self, width: int) -> int:
        """Figures, every row and the note at ``width`` pixels, without scrolling."""
        inner = width - 12  # the layout's side margins
        fig, note = self.figures.heightForWidth(inner), self.note.heightForWidth(inner)
        return fig + self.table_height() + note + 24


class TheoryOverlay(QObject):
    """The theory overlay of one :class:`gui.window.MainWindow` (module docstring)."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.on = False
        self.q: Quadratic | None = None
        self.table = TheoryTable()
        self.dock = QDockWidget("Theory", win)
        self.dock.setObjectName("Theory")
        self.dock.setWidget(self.table)
        self.dock.hide()  # placed beside the equations the first time the overlay is on
        self._placed = False
        self.action = QAction("&Theory beside the race", win, checkable=True)
        self.action.setToolTip(
            "On a quadratic landscape: the eigen-directions of A, each GD/momentum racer's "
            "predicted loss dashed beside its own, and predicted against measured rates"
        )
        lp = win.landscape
        self.axes_under = pg.PlotCurveItem(pen=pg.mkPen((0, 0, 0, 200), width=5))
        self.axes_item = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255), width=2.5))
        self.labels: list[pg.TextItem] = []
        for z, it in ((3, self.axes_under), (3.5, self.axes_item)):
            it.setZValue(z)
            lp.addItem(it, ignoreBounds=True)
        for _ in range(2):
            text = pg.TextItem(color="w", fill=pg.mkBrush(0, 0, 0, 170))
            font = text.textItem.font()
            font.setPointSize(12)
            text.setFont(font)
            text.setZValue(13)
            text.hide()
            lp.addItem(text, ignoreBounds=True)
            self.labels.append(text)
        self.curves: list[pg.PlotCurveItem] = []  # the predicted gaps on the loss panel
        self.gaps: list[np.ndarray | None] = []  # each racer's predicted f − f* (t = 0..steps)
        self.blocks: list[dict[str, Any] | None] = []
        self._measured_at: tuple[int, ...] | None = None  # the row counts last fitted
        self.pen_width = PREDICTED_PEN
        self.timer = QTimer(self)
        self.timer.setInterval(MEASURE_MS)
        self.timer.timeout.connect(self.measure)

    # ------------------------------------------------------------ wiring
    def attach(self, bridge: Any) -> None:
        """Follow the session (after the window's own handlers) and the loss panel's modes."""
        bridge.reloaded.connect(lambda _race: self.rebuild())
        bridge.racersChanged.connect(lambda _changed: self.rebuild())
        bridge.raceChanged.connect(self.rebuild)
        self.win.log_y.toggled.connect(lambda _on: self.draw_curves())
        self.win.gap_y.toggled.connect(lambda _on: self.draw_curves())
        self.action.toggled.connect(self.set_on)  # the window makes a user's toggle an edit
        self.timer.start()
        self.rebuild()

    def set_on(self, on: bool) -> None:
        """Show or hide everything the overlay draws (the dock too)."""
        self.on = bool(on)
        win = self.win
        if self.on and not self._placed:
            # added only now: a dock hidden in a tab group leaves a stray tab bar behind
            win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
            win.tabifyDockWidget(win.eq_dock, self.dock)
            self._placed = True
        self.dock.setVisible(self.on)
        if self.on:
            self.dock.raise_()
            QTimer.singleShot(0, self.dock.raise_)  # again once a new tab group is laid out
        maps = getattr(self.win, "maps", None)
        if maps is not None:
            maps.show_theory = self.on
            maps.redraw()
        self.rebuild()

    # ------------------------------------------------------------ what is shown
    @property
    def shown(self) -> bool:
        """The overlay is on and the landscape is a positive definite quadratic."""
        return self.on and self.q is not None and self.q.positive_definite

    def rebuild(self) -> None:
        """Everything anew from the race: the quadratic, the arrows, the predicted curves,
        the table (racers, start, steps or landscape changed)."""
        win = self.win
        race = win.race
        self.q = None if race.is_perceptron else race_quadratic(race)
        self._draw_axes()
        n = len(race.racers)
        self.gaps = []
        if self.shown:
            for i in range(n):
                self.gaps.append(predicted_curve(race, i, self.q))
        self._make_curves(n)
        self.draw_curves()
        self._measured_at = None
        self.measure(force=True)

    def _draw_axes(self) -> None:
        q, lp = self.q, self.win.landscape
        if not self.on or q is None or lp.home is None:
            self.axes_item.setData([], [])
            self.axes_under.setData([], [])
            for t in self.labels:
                t.hide()
            return
        x0, x1, y0, y1 = lp.home
        head = 0.03 * max(x1 - x0, y1 - y0)
        xs: list[float] = []
        ys: list[float] = []
        for k, (c, h, lam) in enumerate(eigen_axes(q, lp.home)):
            ax, ay = double_arrow(c, h, head)
            xs += ax
            ys += ay
            text = self.labels[k]
            text.setText(f"λ{str(k + 1).translate(SUB)} = {num(lam, 4)}")
            start = np.asarray(self.win.race.objective.start[:2], dtype=np.float64)
            if np.hypot(*(c + h - start)) < np.hypot(*(c - h - start)):
                h = -h  # the label at the end away from the start (the trails come from there)
            tip = c + h
            # at the tip, extending inwards: above a mostly horizontal arrow, right of a
            # mostly vertical one (anchor y: 0 hangs the text below the point)
            if abs(h[0]) >= abs(h[1]):
                text.setAnchor((0.0 if h[0] < 0 else 1.0, 1.0))
            else:
                text.setAnchor((0.0, 0.0 if h[1] > 0 else 1.0))
            text.setPos(float(tip[0]), float(tip[1]))
            text.setVisible(True)  # not show(): a TextItem orients itself in setVisible
        self.axes_item.setData(np.array(xs), np.array(ys), connect="pairs")
        self.axes_under.setData(np.array(xs), np.array(ys), connect="pairs")

    def _make_curves(self, n: int) -> None:
        loss = self.win.loss
        while len(self.curves) > n:
            loss.removeItem(self.curves.pop())
        while len(self.curves) < n:
            c = pg.PlotCurveItem(connect="finite")
            c.setZValue(0.5)  # under the measured curves (the panel's layer is at 1)
            c.setCacheMode(c.CacheMode.DeviceCoordinateCache)
            loss.addItem(c, ignoreBounds=True)
            self.curves.append(c)
        for i, (c, cfg) in enumerate(zip(self.curves, self.win.race.racers, strict=True)):
            colour = QColor(cfg.color or color_for(i))
            colour.setAlpha(PREDICTED_ALPHA)
            pen = pg.mkPen(colour, width=self.pen_width, style=Qt.PenStyle.CustomDashLine)
            pen.setDashPattern([3.0, 2.0])
            c.setPen(pen)
            c.opts["antialias"] = self.pen_width > 4

    def plotted(self, gap: np.ndarray) -> np.ndarray:
        """The loss panel's y of a predicted gap f − f* in its current mode."""
        loss = self.win.loss
        assert self.q is not None
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            v = gap if (loss.gap and loss.fstar is not None) else gap + self.q.f_star
            if loss.log:
                out = np.full(v.shape, np.nan)
                np.log10(v, out=out, where=np.isfinite(v) & (v > 0.0))
                return out
            return np.where(np.isfinite(v), v, np.nan)

    def draw_curves(self) -> None:
        """Each covered racer's predicted curve, dashed, in the loss panel's mode."""
        race = self.win.race
        for i, c in enumerate(self.curves):
            gap = self.gaps[i] if i < len(self.gaps) else None
            if gap is None or not self.shown or not race.racers[i].enabled:
                c.setData([], [])
                c.setVisible(False)
                continue
            x = np.arange(gap.shape[0], dtype=np.float64)
            y = gap
            if gap.shape[0] > MAX_POINTS:
                ox = np.empty(MAX_POINTS)
                oy = np.empty(MAX_POINTS)
                k = minmax_decimate(gap, 0, gap.shape[0], MAX_POINTS // 2, ox, oy)
                x, y = ox[:k].copy(), oy[:k].copy()
            c.setData(x, self.plotted(y))
            c.setVisible(True)

    def measure(self, force: bool = False) -> None:
        """Refit the measured rates if rows arrived since the last fit and the table is
        in sight (or ``force``), and show the table."""
        win = self.win
        race = win.race
        if not self.on or not (force or self.table.isVisible()):
            return
        if self.q is None:
            name = str(win.scenario.objective.name)
            what = {"perceptron": "the perceptron's loss", "formula": "this formula"}.get(
                name, name
            )
            self.table.show_none(
                f"The theory covers quadratic landscapes f = f* + ½(x − c)ᵀA(x − c); "
                f"{what} is not one: nothing to predict."
            )
            self._measured_at = None
            return
        counts = tuple(int(c) for c in race.count[: len(race.racers)])
        if counts == self._measured_at:
            return
        self._measured_at = counts
        self.blocks = [run_theory(race, i, self.q) for i in range(len(race.racers))]
        self.table.show_figures(self.q)
        labels = [c.label for c in race.racers]
        colors = [c.color or color_for(i) for i, c in enumerate(race.racers)]
        self.table.show_rows(labels, colors, self.blocks)

    # ------------------------------------------------------------ slides
    def slide_layout(self, width: int, height: int) -> None:
        """In a rendered slide (MainWindow.slide_layout): the table under the loss panel
        when shown, and wide antialiased dashes."""
        win = self.win
        self.pen_width = SLIDE_PEN
        self._make_curves(len(self.curves))
        self.axes_item.setPen(pg.mkPen((255, 255, 255), width=3))
        self.axes_under.setPen(pg.mkPen((0, 0, 0, 200), width=6))
        if not self.on or self.q is None:
            self.dock.hide()
            return
        win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        win.splitDockWidget(win.loss_dock, self.dock, Qt.Orientation.Vertical)
        self.dock.show()
        self.measure(force=True)
        self.table.table.setMinimumHeight(min(self.table.table_height(), int(height * 0.4)))
        # the loss dock's width in a slide (MainWindow.slide_layout: 40 % of it)
        h = min(self.table.natural_height(int(width * 0.4)), int(height * 0.5))
        win.resizeDocks([win.loss_dock, self.dock], [height - h, h], Qt.Orientation.Vertical)

    def under_loss(self, img: QImage) -> QImage:
        """``img`` (the loss panel's picture) with the table under it when the dock is
        shown (MainWindow.compose_image; the figures refitted now)."""
        if not self.on or self.q is None or not self.dock.isVisible():
            return img
        self._measured_at = None
        self.measure(force=True)
        t = self.table.grab().toImage()
        out = QImage(
            max(img.width(), t.width()), img.height() + t.height(), QImage.Format.Format_ARGB32
        )
        out.fill(Qt.GlobalColor.white)
        p = QPainter(out)
        p.drawImage(0, 0, img)
        p.drawImage(0, img.height(), t)
        p.end()
        return out
