"""The measured asymptotic rate of a recorded run: a straight-line fit of log(f − f*).

The rule (:func:`measured_rate`), for the loss gaps e_t = f(x_t) − f* of rows t = 0, 1, ...:

1. A row is usable while e_t is finite, above the floor and below 1e280. The floor is
   the larger of 1e-280 and what the caller knows of the round-off there (for a
   quadratic: 1e3 ulps of f* and the gap of 1e3 ulps of the centre's coordinates, so
   the fitted gaps are exact to ~1e-3). The run's usable rows are rows 0..n−1, n the
   first row that is not usable (a run that reaches the floor, overflows or hits zero
   stops there).
2. The settled part is the second half of those rows, n//2..n−1: the transient (the
   faster modes, a momentum's start-up) has had as many steps to die out as are fitted.
3. Over the settled part, the sums S_j = e_j + ... + e_{j+P−1} of P = max(1, m//4)
   consecutive gaps (m the settled rows): for a geometric e_t they are the same
   geometric sequence, and they smooth the spiral of a momentum method, whose gap
   dips towards zero twice per turn. At least :data:`MIN_ROWS` sums, else there is no
   measurement.
4. Least squares of log S_j against j: slope s. The loss gap contracts by exp(s) per
   step (``loss_rate``) and the error |x − x*| by exp(s/2) (``rate``, comparable with
   the predicted per-step contraction of the error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_ROWS = 5
FLOOR = 1e-280
CEILING = 1e280


@dataclass(frozen=True)
class Fit:
    """A measured rate: ``rate`` per step of |x − x*|, ``loss_rate`` = rate² of f − f*,
    fitted over rows ``first..last`` (inclusive)."""

    rate: float
    loss_rate: float
    first: int
    last: int


def usable_rows(gap: npt.NDArray[np.float64], floor: float = 0.0) -> int:
    """n: rows 0..n−1 are all usable (rule 1 of the module docstring)."""
    lo = max(FLOOR, float(floor))
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(gap) & (gap > lo) & (gap < CEILING))
    hit = np.flatnonzero(bad)
    return int(hit[0]) if hit.size else int(gap.shape[0])


def measured_rate(loss: npt.NDArray[np.float64], f_star: float, floor: float = 0.0) -> Fit | None:
    """The fit of the module docstring over ``loss`` (a run's recorded losses, row t =
    after t updates); None when fewer than MIN_ROWS rows are settled."""
    gap = np.asarray(loss, dtype=np.float64) - float(f_star)
    n = usable_rows(gap, floor)
    first = n // 2
    width = max(1, (n - first) // 4)
    if n - first - width + 1 < MIN_ROWS:
        return None
    t = np.arange(first, n, dtype=np.float64)
    y = np.log(gap[first:n])
    # the sums of rule 3, of the gaps detrended by a first fit (so that they stay of one
    # magnitude and a running sum loses nothing), trend restored after
    trend = _slope(t, y)
    w = np.exp(y - trend * (t - first))
    sums = np.cumsum(np.concatenate(([0.0], w)))
    tj = t[: t.shape[0] - width + 1]
    ys = np.log(sums[width:] - sums[:-width]) + trend * (tj - first)
    slope = _slope(tj, ys)
    return Fit(math.exp(0.5 * slope), math.exp(slope), first, n - 1)


def _slope(t: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    """Least-squares slope of y against t."""
    tc = t - t.mean()
    return float(tc @ (y - y.mean()) / (tc @ tc))


def agreement(predicted: float | None, measured: float | None, rtol: float = 0.01) -> str:
    """ "agree" when |measured − predicted| < rtol·predicted (1 %), "disagree" otherwise,
    "n/a" when either is missing (or the prediction is 0: the start is the minimum)."""
    if predicted is None or measured is None or predicted <= 0.0:
        return "n/a"
    return "agree" if abs(measured - predicted) < rtol * predicted else "disagree"
