"""What the local-model probe draws on the landscape (the dock: gui/local_probe.py): around
the probed point, the second-order Taylor model's contours (dashed, light on a dark halo,
clipped to a disk: :func:`taylor_contours`), the Newton step −H⁻¹∇f as an arrow to the
model's stationary point with its label, and the critical points' markers (a symbol per
type, :data:`KIND_STYLE`). The contours' geometry is plain numpy; :class:`ProbeLayer` holds
the pyqtgraph items.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import shiboken6

from engine.display import contour_segments
from engine.theory.local import CriticalPoint, LocalModel

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


NEWTON_LABEL = {
    "minimum": "Newton → model's minimum",
    "maximum": "Newton → model's maximum",
    "saddle": "Newton → model's saddle",
}


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
        self.items = tuple(z)
        self.lines: list[ContourLine] = []
        self.arrow_end: tuple[float, float] | None = None
        self.clear()

    def alive(self) -> bool:
        """Whether every item drawn is still there: at exit Python can free them before Qt
        tears the window (and the dock, which then reports itself hidden) down."""
        return all(shiboken6.isValid(item) for item in self.items)

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
