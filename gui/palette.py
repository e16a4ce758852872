"""The racers' colours and line styles.

Colours are colour-blind-safe (Okabe & Ito, 2008), ordered for a white background; racer
``i`` without a colour of its own gets ``OKABE_ITO[i % 8]``. Beyond eight racers colours
repeat, so each racer is told apart by the pair (colour, line style): a racer's style is
the number of racers before it drawn in the same colour (solid, dash, dot, dash-dot,
dash-dot-dot, then round again). Pairs therefore never repeat while no colour is used
more than five times: 40 palette racers, or any scenario whose own colours do the same.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#B8A200",  # dark yellow (Okabe-Ito yellow, darkened to read on white)
)

#: line styles in the order a repeated colour takes them (the first use is solid)
LINE_STYLES: tuple[Qt.PenStyle, ...] = (
    Qt.PenStyle.SolidLine,
    Qt.PenStyle.DashLine,
    Qt.PenStyle.DotLine,
    Qt.PenStyle.DashDotLine,
    Qt.PenStyle.DashDotDotLine,
)


def color_for(index: int) -> str:
    """The palette colour of racer ``index`` (cycles every 8; see line_styles)."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def line_styles(colors: Sequence[str]) -> list[Qt.PenStyle]:
    """The line style of each racer drawn in ``colors`` (one per racer, in order): the
    k-th racer of a colour (compared case-insensitively, ignoring alpha) takes
    ``LINE_STYLES[k % 5]``."""
    seen: dict[str, int] = {}
    out = []
    for c in colors:
        key = c.lower()[:7]
        k = seen.get(key, 0)
        seen[key] = k + 1
        out.append(LINE_STYLES[k % len(LINE_STYLES)])
    return out


_ICONS: dict[tuple[str, int, int, int], QIcon] = {}


def line_icon(color: str, style: Qt.PenStyle, width: int = 40, height: int = 12) -> QIcon:
    """A sample of a racer's line, ``color`` in ``style``, 3 px across a transparent
    ``width`` x ``height`` icon: what shows the racer beside its name where the trails'
    colours alone would repeat (the leaderboard, the racer editors). Made once each."""
    key = (color.lower(), int(style.value), width, height)
    icon = _ICONS.get(key)
    if icon is None:
        pm = QPixmap(width, height)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(color), 3.0, style, Qt.PenCapStyle.FlatCap))
        p.drawLine(QPointF(1.0, height / 2.0), QPointF(width - 1.0, height / 2.0))
        p.end()
        icon = _ICONS[key] = QIcon(pm)
    return icon


@functools.cache  # asked for every racer at every 3-D frame
def dash_pattern(style: Qt.PenStyle) -> tuple[float, ...]:
    """Qt's dash pattern of ``style`` (on, off, ... lengths in pen widths), () for a solid
    line: how a view that strokes no Qt pen (the 3-D trails) draws the same style."""
    if style == Qt.PenStyle.SolidLine:
        return ()
    return tuple(float(v) for v in QPen(style).dashPattern())
