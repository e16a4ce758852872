"""A map's colours and axes, without widgets: what :mod:`gui.map_picture` draws.

Colours (:func:`map_colours`), by what the user chose:

* ``minimum`` (basins of attraction): one hue per known minimum the run ends nearest to,
  brighter the fewer steps it needs to settle; pale: not settled; near black: diverged;
  dark blue: unbounded below; grey: no known minimum.
* ``steps`` / ``final_loss``: viridis reversed (bright: few steps, low loss; log scale
  where the values are positive), with a colour bar; grey: not settled (``steps``); the
  special colours of divergence as above.
* ``diverged`` (trainability): red where a run diverged, darker the sooner; blue where it
  did not, darker if it settled.

Log axes: the plot's coordinates are log10 of the values (pixels of a log grid are then
evenly spaced), labelled in decades (:func:`set_log_ticks`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg

from engine.maps.colours import minimum_hue, shaded
from engine.maps.compute import MapResult

#: one hue per known minimum (Okabe-Ito, the racers' palette family)
MINIMUM_RGB = np.array(
    [[230, 159, 0], [86, 180, 233], [0, 158, 115], [204, 121, 167], [240, 228, 66],
     [0, 114, 178], [213, 94, 0], [150, 150, 60]], dtype=np.float64,
)  # fmt: skip
NONE_RGB = (150, 150, 150)
UNSETTLED_RGB = (185, 185, 185)
DIVERGED_RGB = (25, 25, 25)
UNBOUNDED_RGB = (25, 40, 110)
TRAINED_RGB = (40, 90, 170)
SLOW_RGB = (150, 190, 230)
COLOUR_NAMES = {
    "minimum": "which minimum",
    "steps": "steps to tolerance",
    "final_loss": "final loss",
    "diverged": "diverged",
}


def hex_colour(rgb: Any) -> str:
    r, g, b = (int(v) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass
class ColourKey:
    """What the colours of a map mean: a colour bar (``bar``: values lo, hi, label, log)
    and/or swatches (colour, text), and notes."""

    swatches: list[tuple[tuple[int, int, int], str]] = field(default_factory=list)
    bar: tuple[float, float, str, bool] | None = None
    notes: list[str] = field(default_factory=list)  # lines without a colour


def cmap() -> pg.ColorMap:
    """Viridis reversed: bright yellow at the low end (few steps, low loss)."""
    pos, colours = pg.colormap.get("viridis").getStops(mode="byte")
    return pg.ColorMap(1.0 - pos[::-1], colours[::-1])


def _decade_text(e: int) -> str:
    """10^e as a lecture writes it: 0.001 to 1000 in full, else with a power of ten."""
    if -3 <= e <= 3:
        return f"{10.0**e:g}"
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return "10" + str(e).translate(sup)


def _log_tick_values(
    axis: pg.AxisItem, lo: float, hi: float, size: float
) -> list[tuple[float, list[float]]]:
    """Ticks of a log10 axis: the decades, their 2..9 multiples as minor ticks; within
    one decade, evenly spaced values (their log10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    if hi - lo >= 1.0:
        major = [float(d) for d in range(math.ceil(lo), math.floor(hi) + 1)]
        minor = [d + math.log10(k) for d in range(math.floor(lo), math.ceil(hi))
                 for k in range(2, 10)]  # fmt: skip
        step = max(1, math.ceil(len(major) / max(size / 60.0, 1.0)))
        inside = [m for m in minor if lo < m < hi]
        if hi - lo >= 2.5:
            return [(1.0, major[::step]), (0.1, inside)]
        mid = {math.log10(2), math.log10(5)}  # few decades: 2 and 5 labelled too
        labelled = [m for m in inside if round(m - math.floor(m), 9) in {round(v, 9) for v in mid}]
        return [(1.0, major), (0.3, labelled), (0.1, [m for m in inside if m not in labelled])]
    a, b = 10.0**lo, 10.0**hi
    ticks = pg.AxisItem.tickValues(axis, a, b, size)
    out = []
    for spacing, vals in ticks[:2]:
        out.append((spacing, [math.log10(v) for v in vals if v > 0 and a <= v <= b]))
    return out


def _log_tick_strings(values: list[float], scale: float, spacing: float) -> list[str]:
    out = []
    for v in values:
        e = round(v)
        if abs(v - e) < 1e-9:
            out.append(_decade_text(e))
        elif abs(spacing - 0.1) < 1e-9:
            out.append("")  # a decade's 2..9 multiples: ticks only
        else:
            out.append(f"{10.0**v:.3g}")
    return out


def set_log_ticks(axis: pg.AxisItem, on: bool) -> None:
    """Label ``axis`` (whose values are log10 of the quantity) in decades, or plainly."""
    if on:
        axis.tickValues = lambda lo, hi, size: _log_tick_values(axis, lo, hi, size)
        axis.tickStrings = _log_tick_strings
    else:
        for name in ("tickValues", "tickStrings"):
            axis.__dict__.pop(name, None)
    axis.picture = None
    axis.update()


def _ramp(values: np.ndarray, ok: np.ndarray, log: bool) -> tuple[np.ndarray, float, float]:
    """RGB of ``values`` where ``ok`` on the reversed viridis, and the range (log10 when
    ``log``) the colour bar shows."""
    rgb = np.zeros((*values.shape, 3))
    if not ok.any():
        return rgb, 0.0, 1.0
    v = np.log10(values[ok]) if log else values[ok].astype(np.float64)
    lo, hi = float(np.min(v)), float(np.max(v))
    t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    rgb[ok] = cmap().map(t, mode="byte")[:, :3]
    return rgb, lo, hi


def map_colours(
    res: MapResult, by: str, rows: int | None = None, minima: list[Any] | None = None
) -> tuple[np.ndarray, ColourKey]:
    """The map as an RGBA uint8 image shaped like its metrics (+ 4), and its key.
    ``rows``: only the first rows are computed (the others transparent)."""
    m = res.metrics
    n = m["steps_to_tol"].shape[0] if rows is None else rows
    steps = m["steps_to_tol"][:n]
    div = m["diverged_step"][:n] >= 0
    unb = m["unbounded_step"][:n] >= 0
    settled = steps >= 0
    key = ColourKey()
    tail = f" in {res.extra['steps']:,} steps" if "steps" in res.extra else ""
    if by == "minimum":
        mins = m["minimum"][:n]
        hue = minimum_hue(mins, MINIMUM_RGB)
        rgb = np.where(settled[..., None], shaded(hue, steps), 0.45 * hue + 0.55 * 235)
        rgb[mins < 0] = NONE_RGB
        for k in sorted(set(np.unique(mins).tolist()) - {-1}):
            at = minima[k] if minima is not None and k < len(minima) else None
            where = f" ({at[0]:.3g}, {at[1]:.3g})" if at is not None else f" {k + 1}"
            key.swatches.append((tuple(MINIMUM_RGB[k % len(MINIMUM_RGB)].astype(int)),
                                 f"ends at minimum{where}"))  # fmt: skip
        key.notes.append("brighter: settles sooner")
        if (~settled & (mins >= 0) & ~div & ~unb).any():
            key.notes.append(f"pale: not settled{tail}")
    elif by == "diverged":
        rgb = np.where(settled[..., None], TRAINED_RGB, SLOW_RGB).astype(np.float64)
        ds = m["diverged_step"][:n]
        if div.any():
            u = np.log1p(ds[div].astype(np.float64))
            lo, hi = float(u.min()), float(u.max())
            t = ((u - lo) / (hi - lo) if hi > lo else np.zeros_like(u))[:, None]
            rgb[div] = (1 - t) * np.array([110.0, 0, 0]) + t * np.array([250.0, 150, 110])
        key.swatches += [(TRAINED_RGB, "settled"), (SLOW_RGB, f"not settled{tail}"),
                         ((180, 40, 30), "diverged (darker: sooner)")]  # fmt: skip
    else:
        metric = "steps_to_tol" if by == "steps" else "final_loss"
        vals = m[metric][:n].astype(np.float64)
        ok = settled.copy() if by == "steps" else np.isfinite(vals) & ~div & ~unb
        log = bool(ok.any() and (vals[ok] > 0).all())
        if by == "steps":
            vals = np.maximum(vals, 1.0)
            log = True
        rgb, lo, hi = _ramp(vals, ok, log)
        rgb[~ok] = UNSETTLED_RGB
        label = "steps to tolerance" if by == "steps" else "final loss"
        key.bar = (lo, hi, label, log)
        if by == "steps" and (~settled & ~div & ~unb).any():
            key.swatches.append((UNSETTLED_RGB, f"not settled{tail}"))
    if by != "diverged":
        rgb[div] = DIVERGED_RGB
        if div.any():
            key.swatches.append((DIVERGED_RGB, "diverged"))
    rgb[unb] = UNBOUNDED_RGB
    if unb.any():
        key.swatches.append((UNBOUNDED_RGB, "unbounded below"))
    full = np.zeros((*m["steps_to_tol"].shape, 4), dtype=np.uint8)
    full[:n, ..., :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    full[:n, ..., 3] = 255
    return full, key


def param_label(name: str, log: bool, short: bool = False) -> str:
    """An axis title: the parameter's description and symbol ("learning rate η (lr)");
    ``short``: its symbol and name ("η (lr)")."""
    from engine.optimizers import OPTIMIZERS, get_optimizer

    for opt in OPTIMIZERS:
        for p in get_optimizer(opt).params:
            if p.name == name:
                if short:
                    return f"{p.symbol} ({name})" if p.symbol else name
                sym = f" {p.symbol}" if p.symbol and p.symbol not in p.doc else ""
                return f"{p.doc}{sym} ({name}{', log scale' if log else ''})"
    return name


def axis_coords(res: MapResult, k: int) -> np.ndarray:
    """The plot coordinates of axis ``k``'s pixel centres: log10 of the values on a log
    axis (the axis then labels them as powers of ten), the values otherwise."""
    spec = res.spec
    v = np.asarray(spec.axes[spec.names[k]], dtype=np.float64)
    return np.log10(v) if spec.log[k] else v


def _edges(c: np.ndarray, lim: tuple[float, float], log: bool) -> tuple[float, float]:
    if c.shape[0] > 1:
        d = (c[-1] - c[0]) / (c.shape[0] - 1)
        return float(c[0] - d / 2), float(c[-1] + d / 2)
    lo, hi = (math.log10(lim[0]), math.log10(lim[1])) if log else lim
    return float(lo), float(hi)


def map_rect(res: MapResult) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the map's image in plot coordinates (pixels centred); a random
    search's: the box its points were drawn from."""
    spec = res.spec

    def edges(k: int) -> tuple[float, float]:
        if spec.search == "random":  # points in no order: the box they were drawn from
            lo, hi = spec.lims[k]
            return (math.log10(lo), math.log10(hi)) if spec.log[k] else (float(lo), float(hi))
        return _edges(axis_coords(res, k), spec.lims[k], spec.log[k])

    x0, x1 = edges(0)
    if len(spec.names) == 1:
        return x0, x1, 0.0, 1.0
    y0, y1 = edges(1)
    return x0, x1, y0, y1
