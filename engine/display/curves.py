"""Loss-vs-step curves: envelopes for zoomed views, a safe log axis, smoothing.

:func:`minmax_decimate` and :func:`envelope_update` reduce a curve to the min and max of
each bucket of steps (at once, or incrementally as the curve grows); :func:`log_safe` is
log10 that never warns; :func:`ema_update` an exponential moving average, incrementally.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit

__all__ = ["ema_update", "envelope_update", "log_safe", "minmax_decimate"]


@jit
def minmax_decimate(
    y: np.ndarray,
    start: int,
    stop: int,
    buckets: int,
    out_x: np.ndarray,
    out_y: np.ndarray,
) -> int:
    """Min/max decimation of a loss-vs-step curve over steps ``[start, stop)`` (compiled).

    Writes at most ``2 * buckets`` points ``(out_x[p], out_y[p])`` with ``x`` = step
    index, ascending, and returns how many it wrote. If the range holds at most
    ``2 * buckets`` steps they are copied as they are. Otherwise bucket ``b`` covers
    steps ``[start + b*span // buckets, start + (b+1)*span // buckets)``
    (``span = stop - start``)
    and contributes its minimum and maximum at their own steps, in step order (one point
    if they coincide); NaNs are ignored, except that a bucket of only NaNs contributes
    one NaN point (at its first step) so ``connect='finite'`` keeps the gap. ±inf count
    as values. ``start``/``stop`` are clamped to ``y``; ``buckets`` to the output size.
    """
    n = y.shape[0]
    if start < 0:
        start = 0
    if stop > n:
        stop = n
    buckets = min(buckets, out_x.shape[0] // 2, out_y.shape[0] // 2)
    if stop <= start or buckets <= 0:
        return 0
    span = stop - start
    if span <= 2 * buckets:
        for k in range(span):
            out_x[k] = start + k
            out_y[k] = y[start + k]
        return span
    p = 0
    for b in range(buckets):
        b0 = start + (b * span) // buckets
        b1 = start + ((b + 1) * span) // buckets
        imin = -1
        imax = -1
        vmin = 0.0
        vmax = 0.0
        for i in range(b0, b1):
            v = y[i]
            if np.isnan(v):
                continue
            if imin < 0:
                imin = i
                imax = i
                vmin = v
                vmax = v
            elif v < vmin:
                imin = i
                vmin = v
            elif v > vmax:
                imax = i
                vmax = v
        if imin < 0:
            out_x[p] = b0
            out_y[p] = np.nan
            p += 1
        elif imin == imax:
            out_x[p] = imin
            out_y[p] = vmin
            p += 1
        elif imin < imax:
            out_x[p] = imin
            out_y[p] = vmin
            out_x[p + 1] = imax
            out_y[p + 1] = vmax
            p += 2
        else:
            out_x[p] = imax
            out_y[p] = vmax
            out_x[p + 1] = imin
            out_y[p + 1] = vmin
            p += 2
    return p


def log_safe(y: np.ndarray, floor: float = 1e-300) -> np.ndarray:
    """``log10(y)`` for log-axis plots, without warnings.

    Positive finite values below ``floor`` and zeros (either sign) map to
    ``log10(floor)``; negative values, NaN and ±inf map to NaN (a gap with
    ``connect='finite'``). Returns a new float64 array of the shape of ``y``.
    ``floor`` must be positive and finite.
    """
    floor = float(floor)
    if not (floor > 0.0 and math.isfinite(floor)):
        raise ValueError(f"floor must be positive and finite, got {floor!r}")
    v = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(v) & (v >= 0.0)
    out = np.full(v.shape, np.nan)
    np.log10(np.maximum(v, floor), out=out, where=ok)
    return out


@jit
def ema_update(y: np.ndarray, start: int, stop: int, alpha: float, out: np.ndarray) -> None:
    """Exponential moving average of ``y``, rows [start, stop) into ``out``.

    out[k] = out[k−1] + alpha·(y[k] − out[k−1]), starting from the first finite y (NaN
    before it); a non-finite y[k] keeps out[k−1]. ``out[start − 1]`` must hold the
    average so far, so a growing curve costs only its new rows. With alpha = 1/τ the
    average forgets with a time constant of about τ rows.
    """
    prev = out[start - 1] if start > 0 else math.nan
    for k in range(start, stop):
        v = y[k]
        if math.isfinite(v):
            if math.isfinite(prev):
                prev = prev + alpha * (v - prev)
            else:
                prev = v
        out[k] = prev


@jit
def envelope_update(
    y: np.ndarray,
    start: int,
    stop: int,
    width: int,
    mins: np.ndarray,
    maxs: np.ndarray,
    imin: np.ndarray,
    imax: np.ndarray,
) -> int:
    """Incremental min/max envelope of ``y`` in fixed buckets of ``width`` steps.

    Recomputes the buckets that rows [start, stop) touch (from each bucket's first row),
    so a caller that passes start = the first row of its last incomplete bucket pays only
    for the new rows. Returns the number of buckets now covered. Non-finite rows are
    skipped (a bucket of only non-finite rows gets NaN).
    """
    if stop <= start or width < 1:
        return (stop + width - 1) // width if width >= 1 else 0
    b0 = start // width
    b1 = (stop - 1) // width
    for b in range(b0, b1 + 1):
        lo = b * width
        hi = min(lo + width, stop)
        mn = math.inf
        mx = -math.inf
        jn = lo
        jx = lo
        for j in range(lo, hi):
            v = y[j]
            if not math.isfinite(v):
                continue
            if v < mn:
                mn = v
                jn = j
            if v > mx:
                mx = v
                jx = j
        if mn == math.inf:
            mins[b] = math.nan
            maxs[b] = math.nan
        else:
            mins[b] = mn
            maxs[b] = mx
        imin[b] = jn
        imax[b] = jx
    return b1 + 1
