"""What every plot panel shares: pyqtgraph's options, cached axes and legends, the
map's grid and trail sizes, and partial repaints.

Panels draw what they are given; they never step the race. Per frame they pull only
the rows added since the last frame: trails are thinned incrementally (engine.display
.thin_path) and loss curves are min/max-decimated to the visible step range, so the
cost of a frame does not grow with the length of the run.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from engine.display import (
    finite_bounds,
)

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
        item._pixel = pix
    x0, x1, y0, y1 = finite_bounds(xs, ys)
    if not x0 <= x1:
        return
    mx, my = pad_px * pix[0], pad_px * pix[1]
    rect = QRectF(x0 - mx, y0 - my, x1 - x0 + 2 * mx, y1 - y0 + 2 * my)
    item.update(rect.intersected(item.boundingRect()))
