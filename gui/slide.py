"""The window as a slide: the panels it shows (the landscape, its small multiples or the
perceptron's) and, to their right, the loss panel, for ``main.py render`` and File >
Export PNG…. :class:`gui.window.MainWindow` calls these from its ``slide_layout`` and
``compose_image``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QToolBar

if TYPE_CHECKING:
    from gui.window import MainWindow

SLIDE_PEN_WIDTH = 2.5  # trails and loss curves in a still picture [px]


def compose_image(win: MainWindow) -> QImage:
    """The central panel and the loss panel side by side, as shown, each centred
    vertically on white (with the theory table under the loss panel when it is shown)."""
    shown = win.central.currentWidget()
    assert shown is not None  # the stack holds the panels from the window's _build_ui on
    a = shown.grab().toImage()
    b = win.theory.under_loss(win.loss.grab().toImage())  # the theory table when shown
    h = max(a.height(), b.height())
    img = QImage(a.width() + b.width(), h, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.white)
    p = QPainter(img)
    p.drawImage(0, (h - a.height()) // 2, a)
    p.drawImage(a.width(), (h - b.height()) // 2, b)
    p.end()
    return img


def slide_layout(win: MainWindow, width: int, height: int) -> None:
    """Lay ``win`` out as a ``width`` x ``height`` slide: every dock but the loss panel's,
    the menu bar, the timeline and the toolbars hidden; the loss dock right of the central
    panel at 40 % of the width; trails and loss curves wide and antialiased."""
    for d in (win.side_dock, win.fields_dock, win.maps_dock, win.board_dock, win.eq_dock,
              win.probe_dock):  # fmt: skip
        d.hide()
    win.menuBar().hide()
    win.timeline.hide()
    for tb in win.findChildren(QToolBar):
        tb.hide()
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, win.loss_dock)
    win.loss_dock.show()
    layout = win.layout()
    if layout is not None:  # the minimum size without the hidden docks, or it clamps
        layout.activate()
    win.resize(width, height)
    win.resizeDocks([win.loss_dock], [int(width * 0.4)], Qt.Orientation.Horizontal)
    # a still picture can afford the wide, antialiased strokes a live frame cannot
    for item in (*win.loss.curves, *win.landscape.trails, *win.perceptron.trails):
        pen = item.opts["pen"]
        item.setPen(pg.mkPen(pen.color(), width=SLIDE_PEN_WIDTH, style=pen.style()))
        item.opts["antialias"] = True
    win.multiples.widen_trails(SLIDE_PEN_WIDTH)
    win.theory.slide_layout(width, height)
