"""The racers' colours and line styles.

Colours are colour-blind-safe (Okabe & Ito, 2008), ordered for a white background; racer
``i`` without a colour of its own gets ``OKABE_ITO[i % 8]``. Beyond eight racers colours
repeat, so each racer is told apart by the pair (colour, line style): a racer's style is
the number of racers before it drawn in the same colour (solid, dash, dot, dash-dot,
dash-dot-dot, then round again). Pairs therefore never repeat while no colour is used
more than five times: 40 palette racers, or any scenario whose own colours do the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt

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
