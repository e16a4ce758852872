"""A map's picture: the plot the Maps panel shows, and the same plot as a PNG.

:class:`MapPlot` draws a result (colours: :mod:`gui.map_colours`): an image (pixels
centred on their values, log axes in decades), or a curve for a 1-D map, the racer's
current setting as a ring, known minima as stars, the landscape's contours under a start
map, a colour bar and a key, a title. :func:`render_map_png` draws the same plot
offscreen into a PNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from engine.maps.compute import MapResult
from gui.axes import plain_axes
from gui.map_colours import (
    COLOUR_NAMES,
    UNSETTLED_RGB,
    ColourKey,
    axis_coords,
    cmap,
    hex_colour,
    map_colours,
    map_rect,
    param_label,
    set_log_ticks,
)

__all__ = ["COLOUR_NAMES", "MapMarks", "MapPlot", "map_marks", "render_map_png", "title_of"]


@dataclass
class MapMarks:
    """What is drawn with a map: the racer's current setting (its start, or the swept
    hyperparameters' values), the known minima and the landscape's contour segments
    (start maps), a title (default: racer, what is swept, steps)."""

    current: tuple[float, ...] | None = None
    #: other racers' settings of the swept values, labelled (the notes' panels as points)
    others: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)
    minima: list[Any] = field(default_factory=list)
    contours: tuple[np.ndarray, np.ndarray] | None = None
    title: str | None = None
    #: labelled vertical lines at values of the first swept axis (the theory's η*, 2/λmax)
    lines: list[tuple[str, float]] = field(default_factory=list)


def title_of(res: MapResult) -> str:
    spec = res.spec
    what = "start point (basins of attraction)" if spec.kind == "start" else " × ".join(spec.names)
    shape = " × ".join(str(n) for n in reversed(spec.shape))
    steps = res.extra.get("steps")
    tail = f", {steps:,} steps" if steps is not None else ""
    return f"{res.racer}: {what}<br>{shape} pixels{tail}"


class MapPlot(pg.GraphicsLayoutWidget):
    """A map result drawn as the Maps panel shows it (module docstring).

    ``pixelClicked(p)``: a left click on flat pixel ``p``; ``zoomed(lims)``: the user
    zoomed or panned (mouse), ``lims`` the visible range of each swept axis in its values.
    """

    pixelClicked = Signal(int)
    zoomed = Signal(object)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plot = self.addPlot(row=0, col=0)
        self.plot.showGrid(False, False)
        self.image = pg.ImageItem()
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 130), width=1))
        self.contours.setZValue(-5)
        self.plot.addItem(self.contours)
        self.curve = pg.PlotDataItem(pen=pg.mkPen((40, 40, 40), width=1.5), symbol="o",
                                     symbolSize=7, symbolPen=None)  # fmt: skip
        self.plot.addItem(self.curve)
        # a random search over two hyperparameters: its points, coloured (no image)
        self.points = pg.ScatterPlotItem(size=14, pen=pg.mkPen((40, 40, 40), width=1))
        self.points.setZValue(-4)
        self.plot.addItem(self.points)
        self.bad = pg.ScatterPlotItem(symbol="x", size=11, pen=pg.mkPen((200, 30, 30), width=2))
        self.plot.addItem(self.bad)
        self.minima = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush("w"),
                                         pen=pg.mkPen("k", width=1))  # fmt: skip
        self.plot.addItem(self.minima)
        self.marker = pg.ScatterPlotItem(symbol="o", size=20, brush=None,
                                         pen=pg.mkPen("k", width=4))  # fmt: skip
        self.marker_in = pg.ScatterPlotItem(symbol="o", size=20, brush=None,
                                            pen=pg.mkPen("w", width=1.5))  # fmt: skip
        for it in (self.marker, self.marker_in):
            it.setZValue(20)
            self.plot.addItem(it)
        self._others: list[Any] = []  # the labelled marks of MapMarks.others
        self._lines: list[Any] = []  # the labelled lines of MapMarks.lines
        self.key_box = self.addLayout(row=0, col=1)
        self._key_right = True  # the key right of the plot; below it in a narrow widget
        self._key = ColourKey()
        self.bar: pg.ColorBarItem | None = None
        self.key_label = pg.LabelItem(justify="left", size="10pt")
        self.ci.layout.setColumnMaximumWidth(1, 250)
        font = _big(10)
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setStyle(tickFont=font)
        self.plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)  # the end decades
        self.result: MapResult | None = None
        self.equal = False
        self.hover = pg.TextItem(color="w", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 170))
        self.hover.setZValue(30)
        self.plot.addItem(self.hover, ignoreBounds=True)
        self.hover.hide()
        self.plot.scene().sigMouseMoved.connect(self._on_move)
        self.plot.vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.setMinimumSize(300, 260)

    def resizeEvent(self, ev: Any) -> None:
        right = self.width() >= 640
        if hasattr(self, "_key_right") and right != self._key_right:
            self._key_right = right
            self.ci.layout.setColumnMaximumWidth(1, 250 if right else 70)
            self._set_key(self._key)
            if self.result is not None and len(self.result.spec.names) == 2:
                self._axes(self.result)
        super().resizeEvent(ev)

    # ------------------------------------------------------------ drawing
    def clear_map(self, note: str = "") -> None:
        self.result = None
        self.image.clear()
        for it in (self.curve, self.contours):
            it.setData([], [])
        for it in (self.bad, self.minima, self.marker, self.marker_in, self.points):
            it.clear()
        for it in self._lines:  # the theory's lines (_set_lines)
            self.plot.removeItem(it)
        self._lines = []
        self._set_key(ColourKey())
        self.plot.setTitle(note)

    def show_map(
        self,
        res: MapResult,
        by: str,
        marks: MapMarks | None = None,
        rows: int | None = None,
        frame: bool = True,
    ) -> np.ndarray:
        """Draw ``res`` coloured by ``by`` (its first ``rows`` rows only while it runs);
        ``frame``: the view fits the map. Returns the RGBA image drawn."""
        marks = marks or MapMarks()
        spec = res.spec
        self.result = res
        rgba, key = map_colours(res, by, rows, marks.minima)
        one_d = len(spec.names) == 1
        self.plot.setTitle(marks.title or title_of(res), size="11pt" if self._key_right else "9pt")
        self._axes(res)
        x0, x1, y0, y1 = map_rect(res)
        scattered = spec.search == "random" and not one_d
        self.image.setVisible(not one_d and not scattered)  # hidden: not in any auto range
        self.points.clear()
        if one_d:
            key.bar = None  # the y axis says it
            key.swatches = [((200, 30, 30), "diverged (× on the bottom edge)") if t == "diverged"
                            else (c, f"{t} (▲ on the top edge)") if t.startswith("not settled")
                            else (c, t) for c, t in key.swatches]  # fmt: skip
            self._curve(res, by, rows, rgba)
        elif scattered:
            self.curve.setData([], [])
            self.bad.clear()
            n = rgba.shape[0] if rows is None else rows
            self.points.setData(axis_coords(res, 0)[:n], axis_coords(res, 1)[:n],
                                brush=[pg.mkBrush(*c[:3]) for c in rgba[:n]])  # fmt: skip
        else:
            self.curve.setData([], [])
            self.bad.clear()
            self.image.setImage(rgba, autoLevels=False)
            self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        start = spec.kind == "start"
        self.equal = start
        self.plot.vb.setAspectLocked(start, ratio=1.0)
        if start and marks.contours is not None:
            self.contours.setData(*marks.contours, connect="pairs")
        else:
            self.contours.setData([], [])
        if start and marks.minima:
            self.minima.setData([m[0] for m in marks.minima], [m[1] for m in marks.minima])
        else:
            self.minima.clear()
        self.set_current(marks.current)
        self._set_others(res, marks.others)
        self._set_lines(res, marks.lines)
        self._set_key(key)
        if frame:
            if one_d:
                self.plot.vb.setXRange(x0, x1, padding=0.02)
                self.plot.vb.enableAutoRange(axis="y")
            else:  # a random search's points whole, not cut by the frame
                pad = 0.03 if scattered else 0.0
                self.plot.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=pad)
        return rgba

    def set_current(self, current: tuple[float, ...] | None) -> None:
        """The ring at the racer's current setting (values; None: none)."""
        res = self.result
        if res is None or current is None or not all(math.isfinite(v) for v in current):
            self.marker.clear()
            self.marker_in.clear()
            return
        spec = res.spec
        pt = [math.log10(v) if lg and v > 0 else float(v)
              for v, lg in zip(current, spec.log, strict=False)]  # fmt: skip
        if len(spec.names) == 1:
            x = pt[0]
            lo, hi = self.plot.vb.viewRange()[1]
            pt = [x, lo + 0.5 * (hi - lo)] if self.curve.yData is None else [x, self._y_at(x)]
        for it in (self.marker, self.marker_in):
            it.setData([pt[0]], [pt[1]])

    def _set_others(self, res: MapResult, others: list[tuple[str, tuple[float, ...]]]) -> None:
        """Other settings of the swept values, labelled: dashed vertical lines on a 1-D
        map, small rings on a plane."""
        for old in self._others:
            self.plot.removeItem(old)
        self._others = []
        spec = res.spec
        pen = pg.mkPen((40, 40, 40), width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
        x0, x1, _, _ = map_rect(res)
        rank = 0
        for label, values in sorted(others, key=lambda o: o[1]):
            if len(values) != len(spec.names) or not all(
                math.isfinite(v) and (v > 0 or not lg)
                for v, lg in zip(values, spec.log, strict=True)
            ):
                continue
            pt = [math.log10(v) if lg else float(v)
                  for v, lg in zip(values, spec.log, strict=True)]  # fmt: skip
            if len(pt) == 1:
                # labels level, staggered down the lines, on the side with more room
                left = x1 > x0 and (pt[0] - x0) / (x1 - x0) > 0.5
                side = [(1, 0.5), (1, 0.5)] if left else [(0, 0.5), (0, 0.5)]
                it: Any = pg.InfiniteLine(pt[0], angle=90, pen=pen, label=f" {label} ",
                                          labelOpts={"position": 0.96 - 0.06 * (rank % 6),
                                                     "color": (20, 20, 20), "anchors": side,
                                                     "fill": (255, 255, 255, 200)})  # fmt: skip
                rank += 1
                self.plot.addItem(it)
                self._others.append(it)
                continue
            # white on an image; dark, on a white band, among a random search's points
            light = spec.search != "random"
            ring_pen = pg.mkPen("w" if light else "k", width=2)
            ring = pg.ScatterPlotItem([pt[0]], [pt[1]], symbol="o", size=11 if light else 18,
                                      brush=None, pen=ring_pen)  # fmt: skip
            # the label on the side with room, above and below in turn (marks in a row)
            right = x1 > x0 and (pt[0] - x0) / (x1 - x0) > 0.5
            text = pg.TextItem(label, color="w" if light else (20, 20, 20),
                               anchor=(1 if right else 0, 1 if rank % 2 == 0 else 0),
                               fill=None if light else pg.mkBrush(255, 255, 255, 210))  # fmt: skip
            rank += 1
            text.setPos(pt[0], pt[1])
            for it in (ring, text):
                it.setZValue(19)
                self.plot.addItem(it)
                self._others.append(it)

    def _set_lines(self, res: MapResult, lines: list[tuple[str, float]]) -> None:
        """Solid labelled vertical lines at values of the first swept axis, labels at the
        bottom of the plot, one above the other, on the side of each line with more room."""
        for old in self._lines:
            self.plot.removeItem(old)
        self._lines = []
        spec = res.spec
        if spec.kind == "start":
            return
        x0, x1, _, _ = map_rect(res)
        for k, (label, v) in enumerate(sorted(lines, key=lambda line: line[1])):
            if not (math.isfinite(v) and (v > 0 or not spec.log[0])):
                continue
            x = math.log10(v) if spec.log[0] else float(v)
            left = x1 > x0 and (x - x0) / (x1 - x0) > 0.5  # the label where there is room
            side = [(1, 0.5), (1, 0.5)] if left else [(0, 0.5), (0, 0.5)]
            it = pg.InfiniteLine(x, angle=90, pen=pg.mkPen((190, 0, 60), width=2.5),
                                 label=f" {label} ", labelOpts={"position": 0.06 + 0.07 * k,
                                 "color": (150, 0, 40), "anchors": side,
                                 "fill": (255, 255, 255, 220)})  # fmt: skip
            it.setZValue(18)
            self.plot.addItem(it)
            self._lines.append(it)

    def _y_at(self, x: float) -> float:
        xs, ys = self.curve.xData, self.curve.yData
        if xs is None or len(xs) == 0:
            return 0.0
        return float(ys[int(np.argmin(np.abs(xs - x)))])

    def _axes(self, res: MapResult) -> None:
        spec = res.spec
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        if spec.kind == "start":
            set_log_ticks(bottom, False)
            set_log_ticks(left, False)
            self.plot.setLabel("bottom", "start x₁")
            self.plot.setLabel("left", "start x₂")
            return
        set_log_ticks(bottom, spec.log[0])
        short = not self._key_right
        self.plot.setLabel("bottom", param_label(spec.names[0], spec.log[0], short))
        if len(spec.names) == 2:
            set_log_ticks(left, spec.log[1])
            self.plot.setLabel("left", param_label(spec.names[1], spec.log[1], short))

    def _curve(self, res: MapResult, by: str, rows: int | None, rgba: np.ndarray) -> None:
        """A 1-D map: steps to tolerance (or the final loss) against the swept value, log
        y; the points coloured as the image would be; diverged runs as red crosses on the
        bottom edge, runs that never settled as grey points on the top edge."""
        m = res.metrics
        n = m["steps_to_tol"].shape[0] if rows is None else rows
        order = np.argsort(axis_coords(res, 0)[:n], kind="stable")  # a random search's: no order
        x = axis_coords(res, 0)[:n][order]
        loss = by == "final_loss"
        y = (m["final_loss"] if loss else m["steps_to_tol"])[:n][order].astype(np.float64)
        bad = ((m["diverged_step"][:n] >= 0) | (m["unbounded_step"][:n] >= 0))[order]
        rgba = rgba[:n][order]
        ok = ~bad & (np.isfinite(y) & (y > 0) if loss else y >= 0)
        set_log_ticks(self.plot.getAxis("left"), True)
        self.plot.setLabel("left", "final loss" if loss else "steps to tolerance")
        ly = np.log10(np.maximum(y, 1e-300 if loss else 1.0))
        top = float(ly[ok].max()) + 0.15 if ok.any() else 1.0
        bottom = float(ly[ok].min()) - 0.15 if ok.any() else 0.0
        yy = np.where(ok, ly, np.where(bad, bottom, top))
        brushes = [pg.mkBrush(*c[:3]) for c in rgba[:n]]
        brushes = [b if o else pg.mkBrush(*UNSETTLED_RGB) for b, o in zip(brushes, ok, strict=True)]
        self.curve.setData(x[ok], yy[ok], symbolBrush=[b for b, o in zip(brushes, ok, strict=True)
                                                       if o])  # fmt: skip
        pts = [{"pos": (float(a), float(b)), "brush": pg.mkBrush(*UNSETTLED_RGB),
                "symbol": "t1", "pen": None, "size": 8}
               for a, b, o, d in zip(x, yy, ok, bad, strict=True) if not o and not d]  # fmt: skip
        pts += [{"pos": (float(a), bottom), "symbol": "x", "size": 11,
                 "pen": pg.mkPen((200, 30, 30), width=2), "brush": None}
                for a, d in zip(x, bad, strict=True) if d]  # fmt: skip
        self.bad.setData(pts)

    def _set_key(self, key: ColourKey) -> None:
        """The colour bar right of the plot; the swatches under it, or in a narrow widget
        under the plot, two a line."""
        self._key = key
        right = self._key_right
        box = self.key_box
        box.clear()
        if self.key_label.scene() is not None and self.key_label in self.ci.items:
            self.ci.removeItem(self.key_label)
        self.bar = None
        if key.bar is not None:
            lo, hi, label, log = key.bar
            if hi <= lo:
                hi = lo + 1.0
            self.bar = pg.ColorBarItem(values=(lo, hi), colorMap=cmap(), label=label,
                                       interactive=False, width=16 if right else 12,
                                       colorMapMenu=False)  # fmt: skip
            set_log_ticks(self.bar.axis, log)
            box.addItem(self.bar, row=0, col=0)
        items = [f'<span style="color:{hex_colour(c)}; font-size:{15 if right else 12}pt">■</span> '
                 + (t if right else t.replace("ends at minimum ", "→ "))
                 for c, t in key.swatches] + key.notes  # fmt: skip
        if items and right:
            self.key_label.setText("<br>".join(items), size="10pt")
            box.addItem(self.key_label, row=1, col=0)
        elif items:
            rows = ["<tr>" + "".join(f"<td>{t}&nbsp;&nbsp;</td>" for t in items[k : k + 2])
                    + "</tr>" for k in range(0, len(items), 2)]  # fmt: skip
            self.key_label.setText(f"<table>{''.join(rows)}</table>", size="9pt")
            self.ci.addItem(self.key_label, row=1, col=0)
        plain_axes(self)
        for name in ("left", "bottom"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)

    # ------------------------------------------------------------ mouse
    def _on_click(self, ev: Any) -> None:
        res = self.result
        vb = self.plot.vb
        if res is None or ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        pix = self.pixel_at(p.x(), p.y())
        if pix is not None:
            ev.accept()
            self.pixelClicked.emit(pix)

    def _on_move(self, pos: Any) -> None:
        """The swept values and the figures of the pixel under the mouse."""
        vb = self.plot.vb
        p = vb.mapSceneToView(pos) if vb.sceneBoundingRect().contains(pos) else None
        pix = self.pixel_at(p.x(), p.y()) if p is not None else None
        if pix is None or self.result is None:
            self.hover.hide()
            return
        self.hover.setText(pixel_text(self.result, pix))
        self.hover.setPos(p)
        self.hover.show()

    def pixel_at(self, x: float, y: float) -> int | None:
        """The flat pixel of the shown map at plot point (x, y) (None: outside it)."""
        res = self.result
        if res is None:
            return None
        x0, x1, y0, y1 = map_rect(res)
        one_d = len(res.spec.names) == 1
        if not (x0 <= x <= x1 and (one_d or y0 <= y <= y1)):
            return None
        i = int(np.argmin(np.abs(axis_coords(res, 0) - x)))
        if one_d:
            return i
        if res.spec.search == "random":  # the nearest point, in fractions of the box
            dx = (axis_coords(res, 0) - x) / max(x1 - x0, 1e-300)
            dy = (axis_coords(res, 1) - y) / max(y1 - y0, 1e-300)
            return int(np.argmin(dx * dx + dy * dy))
        j = int(np.argmin(np.abs(axis_coords(res, 1) - y)))
        return j * res.spec.shape[1] + i

    def point_of(self, p: int) -> tuple[float, float]:
        """The plot point at the centre of flat pixel ``p`` (tests, the marker)."""
        assert self.result is not None
        res = self.result
        if len(res.spec.names) == 1:
            return float(axis_coords(res, 0)[p]), self._y_at(float(axis_coords(res, 0)[p]))
        if res.spec.search == "random":
            return float(axis_coords(res, 0)[p]), float(axis_coords(res, 1)[p])
        j, i = divmod(p, res.spec.shape[1])
        return float(axis_coords(res, 0)[i]), float(axis_coords(res, 1)[j])

    def view_lims(self) -> list[tuple[float, float]]:
        """The visible range of each swept axis, in its values (10^ on log axes)."""
        assert self.result is not None
        spec = self.result.spec
        out = []
        for k, rng in enumerate(self.plot.vb.viewRange()[: len(spec.names)]):
            lo, hi = float(rng[0]), float(rng[1])
            out.append((10.0**lo, 10.0**hi) if spec.log[k] else (lo, hi))
        return out

    def _on_manual_range(self, *_a: Any) -> None:
        if self.result is not None:
            self.zoomed.emit(self.view_lims())


def pixel_text(res: MapResult, p: int) -> str:
    """Flat pixel ``p`` of ``res`` in words: its swept values, how its run ended."""
    spec = res.spec
    names = ("x₁", "x₂") if spec.kind == "start" else spec.names
    lines = [f"{n} = {v:.4g}" for n, v in zip(names, spec.values(p), strict=True)]
    m = {k: v.ravel()[p] for k, v in res.metrics.items()}
    if m["diverged_step"] >= 0:
        lines.append(f"diverged at step {int(m['diverged_step']):,}")
    elif m["unbounded_step"] >= 0:
        lines.append(f"unbounded below from step {int(m['unbounded_step']):,}")
    elif m["steps_to_tol"] >= 0:
        lines.append(f"settled in {int(m['steps_to_tol']):,} steps")
    elif m["steps_to_tol"] == -1 and np.isfinite(m["final_loss"]):
        lines.append("not settled")
    if np.isfinite(m["final_loss"]):
        lines.append(f"final loss {float(m['final_loss']):.4g}")
    if m["minimum"] >= 0:
        lines.append(f"ends at minimum {int(m['minimum']) + 1}")
    return "\n".join(lines)


def map_marks(
    scenario: Any,
    res: MapResult,
    current: tuple[float, ...] | None = None,
    others: list[tuple[str, tuple[float, ...]]] | None = None,
) -> MapMarks:
    """The marks of ``res`` on ``scenario``'s landscape: its known minima and, for a start
    map, its contours over the map's box; ``current``: the ring (see :class:`MapMarks`)."""
    from engine.objective import LandscapeObjective
    from engine.scenario import build_race
    from gui.axes import LEVELS
    from gui.landscape_panel import landscape_image
    from gui.theory_overlay import lr_map_lines

    race = build_race(scenario, steps=1)
    obj = race.objective
    if not isinstance(obj, LandscapeObjective):
        return MapMarks(current=current, others=others or [])
    i = next((k for k, r in enumerate(race.racers) if r.label == res.racer), -1)
    lines = lr_map_lines(race, i, res.spec.names) if res.spec.kind != "start" else []
    minima = [tuple(float(v) for v in m) for m in obj.minima()]
    contours = None
    if res.spec.kind == "start":
        (x0, x1), (y0, y1) = res.spec.lims
        lv = scenario.view.levels or LEVELS
        img = landscape_image(obj.landscape.lid, obj.packed, (x0, x1, y0, y1), 256, obj.f_star(),
                              True, lv)  # fmt: skip
        if img is not None:
            contours = img[2]
    return MapMarks(current=current, others=others or [], minima=minima, contours=contours,
                    lines=lines)  # fmt: skip


_APP: Any = None


def render_map_png(
    res: MapResult,
    path: str | Path,
    marks: MapMarks | None = None,
    by: str | None = None,
    size: tuple[int, int] = (1100, 850),
) -> Path:
    """Draw ``res`` as the Maps panel does (coloured ``by``; default: which minimum for a
    start map, steps to tolerance otherwise, the final loss where no run settled) into
    the PNG ``path``, offscreen. Needs a
    QApplication (one is made if there is none)."""
    from PySide6.QtWidgets import QApplication

    global _APP
    _app = QApplication.instance() or QApplication([])
    _APP = _app  # one for the process: a QApplication collected under its widgets crashes
    if by is None:  # which minimum (starts), else steps to tolerance if any run settled
        settled = bool((res.metrics["steps_to_tol"] >= 0).any())
        by = "minimum" if res.spec.kind == "start" else "steps" if settled else "final_loss"
    w = MapPlot()
    w.resize(*size)
    w.show_map(res, by, marks)
    w.plot.getAxis("bottom").label.setFont(_big(12))
    w.plot.getAxis("left").label.setFont(_big(12))
    _app.processEvents()
    w.grab()  # drawn once: the axes measure their tick labels and widen...
    _app.processEvents()  # ...and the layout follows before the picture is taken
    out = Path(path)
    if not w.grab().save(str(out)):
        raise OSError(f"cannot write {out}")
    w.close()
    w.deleteLater()
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    return out


def _big(points: int) -> Any:
    from PySide6.QtGui import QFont

    f = QFont()
    f.setPointSize(points)
    return f
