"""The colouring rules a map's pictures share: the plain picture engine.maps.io writes
without Qt and the window's (gui.map_colours), each with its own palette.

Start maps colour a pixel by the known minimum its run ends nearest to (a hue of the
palette), darker the more steps it needed to settle (:func:`shaded`), on a log scale
across the map (:func:`speed`).
"""

from __future__ import annotations

import numpy as np


def speed(steps: np.ndarray) -> np.ndarray:
    """1 for the fewest steps to tolerance of the map, 0 for the most (log scale); 0
    where a pixel did not settle (steps < 0)."""
    ok = steps >= 0
    u = np.zeros(steps.shape)
    if ok.any():
        ls = np.log1p(steps[ok].astype(np.float64))
        lo, hi = float(ls.min()), float(ls.max())
        u[ok] = 1.0 - (ls - lo) / (hi - lo) if hi > lo else 1.0
    return u


def minimum_hue(minimum: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The (…, 3) hue of each pixel's minimum (``minimum``: its index, −1: none, which
    gets the first hue: callers paint those pixels over) from the (k, 3) ``palette``,
    cycled when there are more minima than hues."""
    hue: np.ndarray = palette[np.maximum(minimum, 0) % len(palette)]
    return hue


def shaded(hue: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``hue`` darkened by how slowly each pixel settled: 0.35 to 1 times the hue
    (1: the fewest steps of the map; 0.35: the most, or not settled)."""
    out: np.ndarray = hue * (0.35 + 0.65 * speed(steps))[..., None]
    return out
