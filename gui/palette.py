"""Colour-blind-safe colours (Okabe & Ito, 2008), ordered for a white background."""

from __future__ import annotations

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


def color_for(index: int) -> str:
    """The palette colour of racer ``index`` (cycles)."""
    return OKABE_ITO[index % len(OKABE_ITO)]
