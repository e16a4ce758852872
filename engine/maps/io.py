"""A map's files: ``map.npz`` (the figures and axes), ``map.json`` (what was computed)
and ``map.png`` (a picture), written into a temporary folder renamed into place, so a
failed or interrupted write leaves nothing half-written.

The picture is drawn with numpy into an RGB array and encoded here (zlib): no Qt in the
engine. Start maps: the hue says which known minimum a start ends nearest to (grey:
none, or not settled), the brightness how fast it settled (bright: few steps); black:
diverged, dark blue: unbounded below. Hyperparameter maps (log axes where the
parameter is log-scaled): colour = log steps to tolerance (bright yellow: fast, dark
purple: slow), grey: not settled, dark red: diverged; 1-D maps are a curve of the
steps to tolerance over the swept axis (red ticks: diverged). Tick marks at the
decades of log axes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.maps.colours import minimum_hue, shaded, speed
from engine.maps.compute import METRICS, MapResult

HUES = np.array(
    [[230, 90, 60], [60, 160, 230], [90, 200, 90], [230, 190, 50], [190, 100, 220],
     [60, 210, 200], [240, 140, 180], [160, 160, 90]], dtype=np.float64,
)  # fmt: skip
NONE_RGB = (110, 110, 110)
DIVERGED_RGB = (0, 0, 0)
UNBOUNDED_RGB = (20, 30, 90)


class MapWriteError(OSError):
    """The map's files could not be written (one message for the user)."""


def png_bytes(rgb: np.ndarray) -> bytes:
    """PNG encoding of an (h, w, 3) uint8 image."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))  # fmt: skip


def _ramp(u: np.ndarray) -> np.ndarray:
    """A dark-purple -> teal -> yellow ramp for u in [0, 1] (1: best)."""
    stops = np.array([[50, 10, 80], [40, 110, 140], [60, 180, 110], [250, 230, 40]], float)
    x = np.clip(u, 0.0, 1.0) * (len(stops) - 1)
    k = np.minimum(x.astype(int), len(stops) - 2)
    f = (x - k)[..., None]
    out: np.ndarray = stops[k] * (1 - f) + stops[k + 1] * f
    return out


def _colours(res: MapResult) -> np.ndarray:
    m = res.metrics
    steps = m["steps_to_tol"]
    if res.spec.kind == "start":
        rgb = shaded(minimum_hue(m["minimum"], HUES), steps)
        rgb[(m["minimum"] < 0) | (steps < 0)] = NONE_RGB
    else:
        rgb = _ramp(speed(steps))
        rgb[steps < 0] = NONE_RGB
    rgb[m["diverged_step"] >= 0] = DIVERGED_RGB
    rgb[m["unbounded_step"] >= 0] = UNBOUNDED_RGB
    out: np.ndarray = rgb
    return out


def _decades(axis: np.ndarray, log: bool) -> list[float]:
    """Fractions along an axis (0 to 1) of its decade ticks (log axes only)."""
    if not log or axis.shape[0] < 2:
        return []
    lo, hi = math.log10(float(axis[0])), math.log10(float(axis[-1]))
    return [(d - lo) / (hi - lo) for d in range(math.ceil(lo), math.floor(hi) + 1)]


def picture(res: MapResult, size: int = 512) -> np.ndarray:
    """The map as an (h, w, 3) uint8 image (see the module docstring)."""
    spec = res.spec
    pad = 16
    if spec.search == "random" or len(spec.shape) == 1:
        return _curve(res, size, pad)
    ny, nx = spec.shape
    scale = max(1, size // max(nx, ny))
    img = _colours(res)[::-1]  # row 0 at the bottom, as a plot
    img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    h, w, _ = img.shape
    out = np.full((h + 2 * pad, w + 2 * pad, 3), 255.0)
    out[pad : pad + h, pad : pad + w] = img
    ax, ay = spec.axes[spec.names[0]], spec.axes[spec.names[1]]
    for f in _decades(ax, spec.log[0]):
        c = pad + round(f * (w - 1))
        out[pad + h : pad + h + pad // 2, c] = 0.0
    for f in _decades(ay, spec.log[1]):
        r = pad + h - 1 - round(f * (h - 1))
        out[r, pad // 2 : pad] = 0.0
    return out.astype(np.uint8)


def _curve(res: MapResult, size: int, pad: int) -> np.ndarray:
    """A 1-D map (or a random search, against its first parameter): steps to tolerance
    (log) up, the swept value across; diverged pixels as red ticks at the bottom."""
    spec = res.spec
    name = spec.names[0]
    xv = spec.axes[name].astype(np.float64).ravel()
    lg = spec.log[0]
    lo, hi = spec.lims[0] if spec.lims else (float(xv.min()), float(xv.max()))
    tx = (
        (np.log(xv) - math.log(lo)) / (math.log(hi) - math.log(lo)) if lg else (xv - lo) / (hi - lo)
    )
    h, w = size // 2, size
    out = np.full((h + 2 * pad, w + 2 * pad, 3), 255.0)
    out[pad : pad + h, pad] = 0.0
    out[pad + h - 1, pad : pad + w] = 0.0
    m = res.metrics
    steps = m["steps_to_tol"].ravel()
    ok = steps >= 0
    cols = np.clip(np.rint(tx * (w - 1)).astype(int), 0, w - 1) + pad
    if ok.any():
        ls = np.log1p(steps[ok].astype(np.float64))
        top = max(float(ls.max()), 1e-9)
        rows = pad + h - 1 - np.rint(ls / top * (h - 8)).astype(int)
        for c, r in zip(cols[ok].tolist(), rows.tolist(), strict=True):
            out[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3] = (40, 90, 200)
    bad = (m["diverged_step"].ravel() >= 0) | (m["unbounded_step"].ravel() >= 0)
    for c in cols[bad].tolist():
        out[pad + h - 10 : pad + h - 1, c] = (200, 30, 30)
    for c in cols[~ok & ~bad].tolist():
        out[pad + h - 6 : pad + h - 1, c] = NONE_RGB
    for f in _decades(np.array([lo, hi]), lg):
        c = pad + round(f * (w - 1))
        out[pad + h : pad + h + pad // 2, c] = 0.0
    return out.astype(np.uint8)


def npz_arrays(res: MapResult) -> dict[str, np.ndarray]:
    """The arrays of map.npz: the figures, the axes (named after what they sweep), the
    final points and the racer."""
    out: dict[str, np.ndarray] = {k: res.metrics[k] for k in METRICS}
    for n in res.spec.names:
        out[n] = np.asarray(res.spec.axes[n])
    out["final_point"] = res.final_point
    out["racer"] = np.array(res.racer)
    return out


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: _clean(u) for k, u in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(u) for u in v]
    return v


def slug(label: str) -> str:
    """A folder name for a racer's label."""
    keep = "".join(c if c.isalnum() or c in "-." else " " for c in label.strip())
    return "_".join(keep.split()).strip("._") or "racer"


#: draws a map into a PNG file (main.py passes the window's drawing, gui.map_picture)
Painter = Callable[[MapResult, Path], None]


def _write_one(
    res: MapResult, folder: Path, info: dict[str, Any], painter: Painter | None = None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = npz_arrays(res)
    np.savez_compressed(folder / "map.npz", **arrays)
    if painter is not None:
        painter(res, folder / "map.png")
    else:  # no Qt: the plain picture (colours only)
        (folder / "map.png").write_bytes(png_bytes(picture(res)))
    (folder / "map.json").write_text(json.dumps(_clean(info), indent=2) + "\n")


def write_maps(
    results: list[tuple[MapResult, dict[str, Any]]],
    out: Path,
    index: dict[str, Any],
    painter: Painter | None = None,
) -> list[Path]:
    """Write the maps into the folder ``out``: one map's map.npz, map.json and map.png
    in it, or for several racers one subfolder each (named after the racer) and a
    map.json that lists them (``index`` plus the folders). All or nothing: written into
    a temporary folder next to ``out`` first, then moved into place."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MapWriteError(f"--out {out}: expected a folder, got a file")
    try:
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".map-", dir=out.absolute().parent))
    except OSError as e:
        raise MapWriteError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    try:
        names: list[str] = []
        if len(results) == 1:
            _write_one(results[0][0], tmp, results[0][1], painter)
            names = ["map.npz", "map.json", "map.png"]
        else:
            used: set[str] = set()
            for res, info in results:
                name = slug(res.racer)
                while name in used:
                    name += "_"
                used.add(name)
                _write_one(res, tmp / name, info, painter)
                names.append(name)
            idx = dict(index, maps={r.racer: n for (r, _), n in zip(results, names, strict=True)})
            (tmp / "map.json").write_text(json.dumps(_clean(idx), indent=2) + "\n")
            names.append("map.json")
        if not out.exists():
            os.rename(tmp, out)
        else:
            for n in names:
                target = out / n
                if target.is_dir():
                    shutil.rmtree(target)
                os.replace(tmp / n, target)
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MapWriteError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    return [out / n for n in names]
