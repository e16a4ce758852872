"""The "Local model" dock: the local quadratic model of the landscape at a probed point,
and the critical points of the view (issue 15; engine.theory.local computes both).

Probing: Shift+click on the landscape (``LandscapePanel.probeChosen``), the dock's
x₁/x₂ fields and its Probe button, or a click on a row of the critical points. The dock
shows f, ∇f, the Hessian H, its eigenvalues and the classification (minimum, maximum,
saddle, degenerate); the landscape shows, around the point, the second-order Taylor
model's contours (dashed, light on a dark halo, clipped to a disk: :func:`taylor_contours`)
and the Newton step −H⁻¹∇f as an arrow to the model's stationary point (its minimum only
where H is positive definite; no arrow where H is singular). Esc or Clear removes the
probe. A new landscape, new parameters or a new formula recompute it at the same point;
a perceptron race has no landscape, and the dock says so.

The critical points of the visible box (:func:`engine.theory.local.critical_points`) are
listed with their types and marked on the landscape (a symbol per type, :data:`KIND_STYLE`)
while the dock is shown; they follow pans and zooms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.display import contour_segments
from engine.theory.local import (
    KINDS,
    CriticalPoint,
    LocalModel,
    critical_points,
    local_model,
    scale_of,
)
from gui.docks import scrolled

#: per type: the marker's pyqtgraph symbol, its fill, the character the table shows, and
#: the colour of the type's name in the dock's text (dark: it is read on white)
KIND_STYLE: dict[str, tuple[str, str, str, str]] = {
    "minimum": ("t", "#4fc3f7", "▼", "#0072B2"),
    "maximum": ("t1", "#ff7043", "▲", "#D55E00"),
    "saddle": ("d", "#ffd54f", "◆", "#8a6d00"),
    "degenerate": ("s", "#bdbdbd", "■", "#555555"),
}

#: the disk the Taylor contours are drawn in: its radius is 1.5 × the Newton step's
#: length, kept between these fractions of the view's shorter side
RADIUS_MIN, RADIUS_MAX = 0.2, 0.35
CONTOUR_GRID = 64  # samples of the model per side of the disk's square
CONTOUR_COUNT = 3  # levels on each side of the base level


@dataclass(frozen=True)
class ContourLine:
    """One connected piece of the model's level set m = ``level`` (a polyline)."""

    level: float
    xs: np.ndarray
    ys: np.ndarray


def model_grid(
    m: LocalModel, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Taylor model m and its gradient (∂m/∂x, ∂m/∂y) at the points (x, y)."""
    dx, dy = x - m.point[0], y - m.point[1]
    (hxx, hxy), (_, hyy) = m.hessian
    gx = m.grad[0] + hxx * dx + hxy * dy
    gy = m.grad[1] + hxy * dx + hyy * dy
    z = (
        m.f
        + m.grad[0] * dx
        + m.grad[1] * dy
        + 0.5 * (hxx * dx * dx + 2 * hxy * dx * dy + hyy * dy * dy)
    )
    return z, gx, gy


def contour_levels(m: LocalModel, lo: float, hi: float, radius: float) -> np.ndarray:
    """The levels drawn, given the model's range [lo, hi] over the disk.

    Where the model's stationary point (the Newton point) lies in the disk: m* ± s·(j/J)²
    for j = 1..J (J = :data:`CONTOUR_COUNT`, s the farther of lo, hi from m*), which
    spaces the ellipses (or hyperbolas) evenly in distance, and for a saddle m* itself
    (the two lines through it). Otherwise f ± k·δ for k = 0..J, δ = max(hi − f, f − lo)/
    (J + ½): parallel-looking curves, the one through the probe among them. Levels
    outside [lo, hi] are left out."""
    J = CONTOUR_COUNT
    out: list[float] = []
    inside = False
    if m.newton_point is not None:
        inside = math.hypot(m.newton_point[0] - m.point[0], m.newton_point[1] - m.point[1]) < radius
    if inside:
        assert m.newton_step is not None
        base = m.f + 0.5 * float(m.grad @ m.newton_step)  # m at the stationary point
        s = max(hi - base, base - lo)
        if m.kind == "saddle":
            out.append(base)
        for j in range(1, J + 1):
            out += [base + s * (j / J) ** 2, base - s * (j / J) ** 2]
    else:
        d = max(hi - m.f, m.f - lo) / (J + 0.5)
        out = [m.f + k * d for k in range(-J, J + 1)]
    lev = np.array(sorted(set(out)), dtype=np.float64)
    return lev[(lev >= lo) & (lev <= hi) & np.isfinite(lev)]


def _stitch(xs: np.ndarray, ys: np.ndarray) -> list[list[tuple[float, float]]]:
    """Point pairs (marching squares' segments, neighbours meeting at bit-identical
    points) joined into polylines."""
    ends: dict[tuple[float, float], list[int]] = defaultdict(list)
    segs: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for k in range(0, xs.size, 2):
        a = (float(xs[k]), float(ys[k]))
        b = (float(xs[k + 1]), float(ys[k + 1]))
        if a == b:
            continue
        ends[a].append(len(segs))
        ends[b].append(len(segs))
        segs.append((a, b))
    used = [False] * len(segs)

    def walk(p: tuple[float, float], line: list[tuple[float, float]]) -> None:
        while True:
            nxt = next((s for s in ends[p] if not used[s]), None)
            if nxt is None:
                return
            used[nxt] = True
            a, b = segs[nxt]
            p = b if a == p else a
            line.append(p)

    lines = []
    for s, (a, b) in enumerate(segs):
        if used[s]:
            continue
        used[s] = True
        fwd = [a, b]
        walk(b, fwd)
        back: list[tuple[float, float]] = []
        walk(a, back)
        lines.append(back[::-1] + fwd)
    return lines


def taylor_contours(m: LocalModel, radius: float, n: int = CONTOUR_GRID) -> list[ContourLine]:
    """The Taylor model's level curves (levels: :func:`contour_levels`) within ``radius``
    of the probed point: marching squares on an n × n grid of the disk's square, the
    pieces joined into polylines, each vertex then moved onto its level exactly (Newton
    along ∇m: the model is a quadratic, three iterations reach round-off) and only the
    vertices inside the disk kept (a curve leaving it is cut there; pieces shorter than
    0.15 · radius are left out)."""
    if not (radius > 0 and math.isfinite(radius)) or not np.all(np.isfinite(m.hessian)):
        return []
    if not (math.isfinite(m.f) and np.all(np.isfinite(m.grad))):
        return []
    x0, y0 = m.point
    gx = np.linspace(x0 - radius, x0 + radius, n)
    gy = np.linspace(y0 - radius, y0 + radius, n)
    X, Y = np.meshgrid(gx, gy)
    z, _, _ = model_grid(m, X, Y)
    disk = (X - x0) ** 2 + (Y - y0) ** 2 <= radius * radius
    lo, hi = float(z[disk].min()), float(z[disk].max())
    if not hi > lo:
        return []
    levels = contour_levels(m, lo, hi, radius)
    out = _saddle_cross(m, radius)
    if out:  # drawn exactly: the level's vertices next to the saddle would not converge
        levels = levels[levels != out[0].level]
    cx, cy, idx = contour_segments(z, gx[0], gx[-1], gy[0], gy[-1], levels)
    h = 2.0 * radius / (n - 1)
    for k, lev in enumerate(levels):
        a, b = np.searchsorted(idx, [k, k + 1])
        for line in _stitch(cx[a:b], cy[a:b]):
            px = np.array([p[0] for p in line])
            py = np.array([p[1] for p in line])
            px, py = _onto_level(m, float(lev), px, py, h)
            inside = (px - x0) ** 2 + (py - y0) ** 2 <= radius * radius
            # runs of consecutive vertices inside the disk
            edges = np.flatnonzero(np.diff(np.concatenate(([0], inside.astype(np.int8), [0]))))
            for s, e in zip(edges[::2], edges[1::2], strict=True):
                seg_x, seg_y = px[s:e], py[s:e]
                # a sliver where a level just touches the disk's edge reads as noise
                if e - s >= 2 and np.hypot(np.diff(seg_x), np.diff(seg_y)).sum() > 0.15 * radius:
                    out.append(ContourLine(float(lev), seg_x.copy(), seg_y.copy()))
    return out


def _saddle_cross(m: LocalModel, radius: float) -> list[ContourLine]:
    """A saddle model's level through its saddle point c (in the disk): the two lines
    c + t·(√λ₂ v₁ ± √−λ₁ v₂), λ₁ < 0 < λ₂ with eigenvectors v₁, v₂, cut at the disk."""
    if m.kind != "saddle" or m.newton_point is None or m.newton_step is None:
        return []
    d = np.asarray(m.newton_step, dtype=np.float64)  # the saddle point, from the probe
    if not float(np.hypot(*d)) < radius:
        return []
    level = m.f + 0.5 * float(m.grad @ m.newton_step)
    (l1, l2), v = m.eigenvalues, m.eigenvectors
    out = []
    for sign in (1.0, -1.0):
        u = math.sqrt(l2) * v[:, 0] + sign * math.sqrt(-l1) * v[:, 1]
        a, b, c = float(u @ u), float(d @ u), float(d @ d) - radius * radius
        root = math.sqrt(b * b - a * c)  # c < 0: two real roots of opposite signs
        t = np.linspace((-b - root) / a, (-b + root) / a, 17)
        out.append(ContourLine(level, m.newton_point[0] + t * u[0], m.newton_point[1] + t * u[1]))
    return out


def _onto_level(
    m: LocalModel, level: float, px: np.ndarray, py: np.ndarray, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """The points moved along ∇m onto m = level; a vertex whose move would exceed the grid
    spacing ``h`` (next to the model's stationary point, where ∇m vanishes) stays put."""
    qx, qy = px.copy(), py.copy()
    for _ in range(3):
        z, gx, gy = model_grid(m, qx, qy)
        g2 = gx * gx + gy * gy
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(g2 > 0, (z - level) / g2, 0.0)
        qx, qy = qx - t * gx, qy - t * gy
    far = ~(np.hypot(qx - px, qy - py) <= h)
    qx[far], qy[far] = px[far], py[far]
    return qx, qy


def arrow_path(
    x0: float, y0: float, x1: float, y1: float, head: float
) -> tuple[np.ndarray, np.ndarray]:
    """Shaft and two head strokes from (x0, y0) to (x1, y1) as point pairs (empty for a
    zero or non-finite length); the head's strokes are ``head`` long, at most 30 % of
    the arrow."""
    dx, dy = x1 - x0, y1 - y0
    L = math.hypot(dx, dy)
    if not (L > 0 and math.isfinite(L)):
        return np.empty(0), np.empty(0)
    hl = min(head, 0.3 * L)
    ux, uy = dx / L, dy / L
    c, s = 0.866, 0.5  # ±30° from the shaft
    ax, ay = x1 - hl * (ux * c - uy * s), y1 - hl * (uy * c + ux * s)
    bx, by = x1 - hl * (ux * c + uy * s), y1 - hl * (uy * c - ux * s)
    return np.array([x0, x1, x1, ax, x1, bx]), np.array([y0, y1, y1, ay, y1, by])


def _num(v: float, digits: int = 6) -> str:
    """A number as the dock shows it (a negative zero as 0)."""
    if not math.isfinite(v):
        return str(v)
    return f"{float(v) + 0.0:.{digits}g}"


def _vec(v: Any, digits: int = 6) -> str:
    return "(" + ", ".join(_num(float(u), digits) for u in v) + ")"


def _expanded(c: dict[str, float]) -> str:
    """c + c_x·x₁ + ... (zero terms left out) as the dock shows it."""
    names = (
        ("1", ""),
        ("x", "·x₁"),
        ("y", "·x₂"),
        ("x^2", "·x₁²"),
        ("xy", "·x₁x₂"),
        ("y^2", "·x₂²"),
    )
    out = ""
    for key, name in names:
        v = c[key]
        if v == 0.0 and (name or out):
            continue
        sign = "−" if v < 0 else "+"
        out += (f" {sign} " if out else ("−" if v < 0 else "")) + _num(abs(v), 5) + name
    return out or "0"


NEWTON_NOTE = {
    "minimum": "H is positive definite: the step lands on the model's minimum.",
    "maximum": "H is not positive definite (negative definite): the step goes to the "
    "model's <b>maximum</b>, uphill.",
    "saddle": "H is not positive definite (one negative eigenvalue): the step goes to "
    "the model's <b>saddle</b>, not a minimum.",
    "degenerate": "H is singular (an eigenvalue ≈ 0): the model has no unique stationary "
    "point, so there is no Newton step.",
}

NEWTON_LABEL = {
    "minimum": "Newton → model's minimum",
    "maximum": "Newton → model's maximum",
    "saddle": "Newton → model's saddle",
}


def model_html(m: LocalModel) -> str:
    """The dock's text for the model ``m``."""
    (hxx, hxy), (hyx, hyy) = m.hessian
    kind_colour = KIND_STYLE[m.kind][3]
    gnorm = float(np.hypot(*m.grad))
    crit = " &nbsp;<i>(a critical point)</i>" if m.critical else ""
    lam = m.eigenvalues
    if m.kind == "degenerate" and not np.all(np.isfinite(lam)):
        why = "H is not finite here"
    elif m.kind == "degenerate":
        why = "an eigenvalue ≈ 0: the second-derivative test says nothing"
    else:
        why = {
            "minimum": "both eigenvalues &gt; 0",
            "maximum": "both eigenvalues &lt; 0",
            "saddle": "one eigenvalue &lt; 0, one &gt; 0",
        }[m.kind]
    place = " point" if m.critical else "-shaped here (∇f ≠ 0: not a critical point)"
    head = [
        f"<b>at (x₁, x₂) = {_vec(m.point)}</b>",
        f"f = {_num(m.f, 10)}",
        f"∇f = {_vec(m.grad)} &nbsp; |∇f| = {_num(gnorm)}{crit}",
    ]
    matrix = (
        "<table cellspacing='0' cellpadding='1'><tr><td rowspan='2' valign='middle'>H =&nbsp;"
        f"</td><td>[&nbsp;{_num(hxx)}</td><td>&nbsp;{_num(hxy)}&nbsp;]</td></tr>"
        f"<tr><td>[&nbsp;{_num(hyx)}</td><td>&nbsp;{_num(hyy)}&nbsp;]</td></tr></table>"
    )  # a block of its own: no line break around it
    rows = [
        f"eigenvalues λ₁ = {_num(float(lam[0]))}, λ₂ = {_num(float(lam[1]))}",
        f"<span style='font-size:15pt; color:{kind_colour}'><b>{m.kind}</b></span>{place}: {why}",
    ]
    if m.newton_step is not None and m.newton_point is not None:
        rows.append(f"Newton step −H⁻¹∇f = {_vec(m.newton_step)} → {_vec(m.newton_point)}")
    rows.append(NEWTON_NOTE[m.kind])
    rows.append(
        "model m(x) = f + ∇f·(x − x₀) + ½(x − x₀)ᵀH(x − x₀)<br>&nbsp;&nbsp;= "
        + _expanded(m.coefficients())
    )
    return "<br>".join(head) + matrix + "<br>".join(rows)


class ProbeLayer:
    """What the probe draws on a landscape panel: the Taylor contours, the Newton arrow,
    the probed point, the arrow's label and the critical points' markers."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        dash = pg.mkPen("#f4f4f4", width=2.2)
        dash.setDashPattern([5.0, 3.0])
        self.contour_halo = pg.PlotCurveItem(pen=pg.mkPen((0, 0, 0, 120), width=4.0))
        self.contours = pg.PlotCurveItem(pen=dash)
        self.arrow_halo = pg.PlotCurveItem(pen=pg.mkPen((0, 0, 0, 200), width=6.0))
        self.arrow = pg.PlotCurveItem(pen=pg.mkPen("w", width=3.0))
        self.points = pg.ScatterPlotItem()  # the probed point and the Newton point
        self.label = pg.TextItem(color="w", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 170))
        font = self.label.textItem.font()
        font.setPointSize(12)
        self.label.setFont(font)
        self.markers = pg.ScatterPlotItem(pxMode=True)
        # one path per curve: drawn as separate segments ("auto" for wide pens) the dash
        # pattern would restart at every vertex
        for curve in (self.contour_halo, self.contours):
            curve.setSegmentedLineMode("off")
        z = {self.markers: 3, self.contour_halo: 6, self.contours: 6.5, self.arrow_halo: 7,
             self.arrow: 7.5, self.points: 8, self.label: 9}  # fmt: skip
        for item, zv in z.items():
            item.setZValue(zv)
            plot.addItem(item, ignoreBounds=True)
        self.lines: list[ContourLine] = []
        self.arrow_end: tuple[float, float] | None = None
        self.clear()

    def clear(self) -> None:
        """No probe drawn (the critical points' markers stay)."""
        self.lines = []
        self.arrow_end = None
        for item in (self.contour_halo, self.contours, self.arrow_halo, self.arrow):
            item.setData([], [])
        self.points.clear()
        self.label.hide()

    def show(self, m: LocalModel, box: tuple[float, float, float, float]) -> None:
        """Draw the model ``m``, its neighbourhood scaled to the view ``box``."""
        span = min(box[1] - box[0], box[3] - box[2])
        step = 0.0 if m.newton_step is None else float(np.hypot(*m.newton_step))
        r = min(max(1.5 * step, RADIUS_MIN * span), RADIUS_MAX * span)
        self.lines = taylor_contours(m, r)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        for ln in self.lines:
            xs += [ln.xs, np.array([np.nan])]
            ys += [ln.ys, np.array([np.nan])]
        if xs:
            cx, cy = np.concatenate(xs), np.concatenate(ys)
            self.contour_halo.setData(cx, cy, connect="finite")
            self.contours.setData(cx, cy, connect="finite")
        else:
            self.contour_halo.setData([], [])
            self.contours.setData([], [])
        x0, y0 = m.point
        spots = [
            {"pos": (x0, y0), "symbol": "o", "size": 15, "brush": pg.mkBrush(255, 255, 255, 60),
             "pen": pg.mkPen("w", width=3)},
        ]  # fmt: skip
        self.arrow_end = m.newton_point
        if m.newton_point is not None:
            x1, y1 = m.newton_point
            ax, ay = arrow_path(x0, y0, x1, y1, 0.035 * span)
            self.arrow_halo.setData(ax, ay, connect="pairs")
            self.arrow.setData(ax, ay, connect="pairs")
            spots.append({"pos": (x1, y1), "symbol": "o", "size": 9,
                          "brush": pg.mkBrush("w"), "pen": pg.mkPen("k", width=1.5)})  # fmt: skip
            self.label.setText(NEWTON_LABEL[m.kind])
            # beyond the arrow's tip, off its shaft (y up on the map, down in the label)
            if abs(y1 - y0) > abs(x1 - x0):
                self.label.setAnchor((0.5, 1.15 if y1 >= y0 else -0.15))
            else:
                self.label.setAnchor((-0.08 if x1 >= x0 else 1.08, 0.5))
            self.label.setPos(x1, y1)
            self.label.show()
        else:
            self.arrow_halo.setData([], [])
            self.arrow.setData([], [])
            self.label.setText("H singular: no Newton step")
            self.label.setAnchor((0.0, 1.0))
            self.label.setPos(x0, y0)
            self.label.show()
        self.points.setData(spots)

    def show_critical(self, cps: list[CriticalPoint] | None) -> None:
        """Mark ``cps`` (a symbol and fill per type); None or [] removes the markers."""
        if not cps:
            self.markers.clear()
            return
        spots = [
            {"pos": c.point, "symbol": KIND_STYLE[c.kind][0], "size": 15,
             "brush": pg.mkBrush(KIND_STYLE[c.kind][1]), "pen": pg.mkPen("k", width=1.5)}
            for c in cps
        ]  # fmt: skip
        self.markers.setData(spots)


class LocalModelPanel(QWidget):
    """The dock's contents (module docstring). ``landscape``: the LandscapePanel probed
    and drawn on; :meth:`attach` wires it to the window."""

    COLUMNS = ("type", "x₁", "x₂", "f", "λ₁", "λ₂")

    def __init__(self, landscape: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.landscape = landscape
        self.layer = ProbeLayer(landscape)
        self.point: tuple[float, float] | None = None
        self.model: LocalModel | None = None
        self.criticals: list[CriticalPoint] = []
        self._criticals_box: tuple[Any, ...] | None = None  # (lid, packed bytes, box) scanned
        self.enabled_for_landscape = True
        self.shown = False  # the dock in front (markers and scans only then)
        lay = QVBoxLayout(self)
        self.hint = QLabel(
            "<b>Shift+click</b> the landscape to see its local quadratic model there "
            "(<b>Esc</b> clears), or give a point:"
        )
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        self.x_box, self.y_box = QDoubleSpinBox(), QDoubleSpinBox()
        for label, box in (("x₁", self.x_box), ("x₂", self.y_box)):
            box.setRange(-1e9, 1e9)
            box.setDecimals(5)
            box.setMinimumWidth(90)
            row.addWidget(QLabel(label))
            row.addWidget(box)
        self.probe_button = QPushButton("Probe")
        self.probe_button.clicked.connect(
            lambda: self.probe(self.x_box.value(), self.y_box.value())
        )
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove the probe from the landscape (Esc)")
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.probe_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.text = QLabel("")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # the model above, the critical points below: the reader drags the split
        split = QSplitter(Qt.Orientation.Vertical)
        lay.addWidget(split, 1)
        split.addWidget(scrolled(self.text, horizontal=False))
        bottom = QWidget()
        low = QVBoxLayout(bottom)
        low.setContentsMargins(0, 0, 0, 0)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])  # proportions until the dock is laid out
        head = QHBoxLayout()
        self.cp_label = QLabel("")
        self.cp_label.setWordWrap(True)
        head.addWidget(self.cp_label, 1)
        self.mark_box = QCheckBox("mark on the map")
        self.mark_box.setChecked(True)
        self.mark_box.setToolTip(
            "▼ minimum, ▲ maximum, ◆ saddle, ■ degenerate (while this dock is shown)"
        )
        self.mark_box.toggled.connect(lambda _on: self._show_markers())
        head.addWidget(self.mark_box)
        low.addLayout(head)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Click a row to probe that point")
        self.table.cellClicked.connect(self._on_row)
        low.addWidget(self.table, 1)
        self.clear_action: QAction | None = None
        # pans and zooms: the critical points of the new view, the neighbourhood's size
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(200)
        self._view_timer.timeout.connect(self._on_view)
        landscape.plotItem.vb.sigRangeChanged.connect(lambda *_: self._view_timer.start())
        self._show_text()

    # ------------------------------------------------------------ wiring
    def attach(self, bridge: Any, window: QWidget) -> None:
        """Shift+clicks on the landscape probe; a new race recomputes (after the window
        has shown its landscape: connect after the window's own handlers); Esc in
        ``window`` clears while a probe is shown."""
        self.landscape.probeChosen.connect(self.probe_from_map)
        dock = self._dock()
        if dock is not None:  # a tab behind another is not hidden: the dock tells
            dock.visibilityChanged.connect(self._on_dock_visible)
        bridge.reloaded.connect(self.on_reloaded)
        self.clear_action = QAction("Clear the local-model probe", window)
        self.clear_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.clear_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.clear_action.setEnabled(False)  # a disabled shortcut leaves Esc to others
        self.clear_action.triggered.connect(self.clear)
        window.addAction(self.clear_action)

    def on_reloaded(self, race: Any) -> None:
        """A new race: a landscape recomputes the probe at the same point and the critical
        points; a perceptron has none."""
        self.enabled_for_landscape = not race.is_perceptron
        for w in (self.x_box, self.y_box, self.probe_button, self.table, self.mark_box):
            w.setEnabled(self.enabled_for_landscape)
        self._criticals_box = None
        if not self.enabled_for_landscape:
            self.model = None
            self.layer.clear()
            self.layer.show_critical(None)
            self.criticals = []
            self.table.setRowCount(0)
            self.cp_label.setText("")
            self._show_text()
            return
        self.refresh()

    # ------------------------------------------------------------ probing
    def probe_from_map(self, x: float, y: float) -> None:
        """A Shift+click: probe and bring the dock forward."""
        self.probe(x, y)
        dock = self._dock()
        if dock is not None:
            dock.show()
            dock.raise_()

    def probe(self, x: float, y: float) -> None:
        """Probe the landscape at (x, y) (kept across landscape changes until cleared)."""
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"probe: expected a finite point, got ({x}, {y})")
        self.point = (float(x), float(y))
        for box, v in ((self.x_box, x), (self.y_box, y)):
            box.blockSignals(True)
            box.setValue(float(v))
            box.blockSignals(False)
        self.refresh()

    def clear(self) -> None:
        """No probe: the drawing and the numbers go (the critical points stay)."""
        self.point = None
        self.model = None
        self.layer.clear()
        if self.clear_action is not None:
            self.clear_action.setEnabled(False)
        self._show_text()

    def refresh(self) -> None:
        """Recompute the probe (if any) for the landscape and view shown, and the
        critical points if the dock is shown."""
        if not self.enabled_for_landscape or self.landscape.lid < 0:
            return
        box = self.landscape.view_box()
        if self.point is not None:
            scale = scale_of(self.landscape.lid, self.landscape.packed, box)
            self.model = local_model(self.landscape.lid, self.landscape.packed, *self.point, scale)
            self.layer.show(self.model, box)
            if self.clear_action is not None:
                self.clear_action.setEnabled(True)
        self._show_text()
        if self.shown:
            self.refresh_criticals()

    def _show_text(self) -> None:
        if not self.enabled_for_landscape:
            self.text.setText("<i>A perceptron race has no 2-D landscape to probe.</i>")
        elif self.model is None:
            self.text.setText("<i>No point probed.</i>")
        else:
            self.text.setText(model_html(self.model))

    # ------------------------------------------------------------ critical points
    def refresh_criticals(self) -> None:
        """The critical points of the visible box (rescanned only when the landscape or
        the box changed)."""
        if not self.enabled_for_landscape or self.landscape.lid < 0:
            return
        lid, packed = self.landscape.lid, self.landscape.packed
        x0, x1, y0, y1 = self.landscape.view_box()
        box = (float(x0), float(x1), float(y0), float(y1))
        key = (lid, packed.tobytes(), box)
        if key == self._criticals_box:
            self._show_markers()
            return
        self._criticals_box = key
        self.criticals = critical_points(lid, packed, box)
        counts = {k: sum(c.kind == k for c in self.criticals) for k in KINDS}
        plural = {"minimum": "minima", "maximum": "maxima", "saddle": "saddles",
                  "degenerate": "degenerate"}  # fmt: skip
        parts = [f"{n} {k if n == 1 else plural[k]}" for k, n in counts.items() if n]
        self.cp_label.setText(
            f"<b>Critical points in the view: {len(self.criticals)}</b>"
            + (f" ({', '.join(parts)})" if parts else "")
        )
        self.table.setRowCount(len(self.criticals))
        for r, c in enumerate(self.criticals):
            cells = (f"{KIND_STYLE[c.kind][2]} {c.kind}", *(_num(v, 5) for v in (*c.point, c.f,
                     *c.eigenvalues)))  # fmt: skip
            for k, s in enumerate(cells):
                item = QTableWidgetItem(s)
                if k:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(r, k, item)
        self._show_markers()

    def _show_markers(self) -> None:
        shown = self.mark_box.isChecked() and self.shown and self.enabled_for_landscape
        self.layer.show_critical(self.criticals if shown else None)

    def _on_row(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.criticals):
            self.probe(*self.criticals[row].point)

    def _on_view(self) -> None:
        if self.point is not None and self.model is not None:
            self.layer.show(self.model, self.landscape.view_box())
        if self.shown:
            self.refresh_criticals()

    def _on_dock_visible(self, shown: bool) -> None:
        """The dock's tab came to the front (or went behind another, or closed)."""
        self.shown = bool(shown)
        if shown:
            self.refresh_criticals()
        else:
            self._show_markers()

    def _dock(self) -> QDockWidget | None:
        w = self.parentWidget()
        while w is not None and not isinstance(w, QDockWidget):
            w = w.parentWidget()
        return w
