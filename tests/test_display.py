"""Tests of engine.display: contours, trail thinning, decimation, log axis, quiver."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.display import (
    TrailThinner,
    contour_segments,
    ema_update,
    log_safe,
    minmax_decimate,
    nice_levels,
    quiver_segments,
    rethin,
    thin_path,
)

SETTINGS = settings(deadline=None, max_examples=150)


# ---------------------------------------------------------------- helpers
def grid(f, nx: int, ny: int, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """z[j, i] = f(x_i, y_j) on the contour_segments sampling convention."""
    x = np.linspace(x0, x1, nx)
    y = np.linspace(y0, y1, ny)
    X, Y = np.meshgrid(x, y)  # shape (ny, nx)
    return f(X, Y)


def bilinear(z: np.ndarray, x0: float, x1: float, y0: float, y1: float, px, py) -> np.ndarray:
    """Bilinear interpolation of the sampled field at points (px, py)."""
    ny, nx = z.shape
    hx = (x1 - x0) / (nx - 1)
    hy = (y1 - y0) / (ny - 1)
    fx = (np.asarray(px) - x0) / hx
    fy = (np.asarray(py) - y0) / hy
    i = np.clip(np.floor(fx).astype(int), 0, nx - 2)
    j = np.clip(np.floor(fy).astype(int), 0, ny - 2)
    tx = fx - i
    ty = fy - j
    return (
        z[j, i] * (1 - tx) * (1 - ty)
        + z[j, i + 1] * tx * (1 - ty)
        + z[j + 1, i] * (1 - tx) * ty
        + z[j + 1, i + 1] * tx * ty
    )


def assert_on_levels(z, x0, x1, y0, y1, levels, xs, ys, li, rtol=1e-9) -> None:
    assert xs.shape == ys.shape == li.shape
    assert xs.size % 2 == 0
    assert np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))
    assert np.all((xs >= min(x0, x1)) & (xs <= max(x0, x1)))
    assert np.all((ys >= min(y0, y1)) & (ys <= max(y0, y1)))
    zi = bilinear(z, x0, x1, y0, y1, xs, ys)
    lev = np.asarray(levels)[li]
    scale = np.nanmax(np.abs(z[np.isfinite(z)])) + 1.0
    np.testing.assert_allclose(zi, lev, rtol=0, atol=rtol * scale)
    # both points of a segment belong to the same level
    assert np.array_equal(li[0::2], li[1::2])


def seg_lengths(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.hypot(xs[1::2] - xs[0::2], ys[1::2] - ys[0::2])


# ---------------------------------------------------------------- contours
def test_circle_contours_on_level_closed_and_2pi_r() -> None:
    x0, x1, y0, y1 = -2.0, 2.0, -2.0, 2.0
    z = grid(lambda x, y: x * x + y * y, 401, 401, x0, x1, y0, y1)
    radii = np.array([0.5123, 1.0071, 1.7093])  # no sample exactly on a level
    levels = radii**2
    xs, ys, li = contour_segments(z, x0, x1, y0, y1, levels)
    assert_on_levels(z, x0, x1, y0, y1, levels, xs, ys, li)
    assert np.all(np.diff(li) >= 0)  # grouped by level
    for k, r in enumerate(radii):
        m = li == k
        lx, ly = xs[m], ys[m]
        assert abs(seg_lengths(lx, ly).sum() - 2 * math.pi * r) < 1e-3 * 2 * math.pi * r
        np.testing.assert_allclose(np.hypot(lx, ly), r, atol=2e-4)
        # a closed curve: every end point is shared by exactly two segments
        counts = Counter(zip(lx.tolist(), ly.tolist(), strict=True))
        assert set(counts.values()) == {2}
        a, b = np.searchsorted(li, [k, k + 1])
        assert np.array_equal(xs[a:b], lx)


def test_levels_through_samples() -> None:
    # x² + y² = 0.25 and = 1 pass exactly through grid samples (ties: corner == level)
    x0, x1, y0, y1 = -2.0, 2.0, -2.0, 2.0
    z = grid(lambda x, y: x * x + y * y, 401, 401, x0, x1, y0, y1)
    levels = np.array([0.25, 1.0, z[200, 300]])
    xs, ys, li = contour_segments(z, x0, x1, y0, y1, levels)
    assert_on_levels(z, x0, x1, y0, y1, levels, xs, ys, li)
    for k, lev in enumerate(levels):
        r = math.sqrt(lev)
        total = seg_lengths(xs[li == k], ys[li == k]).sum()
        assert abs(total - 2 * math.pi * r) < 1e-3 * 2 * math.pi * r


def test_saddle_field_non_square_grid() -> None:
    x0, x1, y0, y1 = -3.0, 1.0, -0.5, 2.5
    f = lambda x, y: (x + 1) ** 2 - 2 * (y - 1) ** 2  # noqa: E731
    z = grid(f, 97, 61, x0, x1, y0, y1)
    levels = np.array([-1.3, -0.2, 0.0, 0.35, 2.0])
    xs, ys, li = contour_segments(z, x0, x1, y0, y1, levels)
    assert xs.size > 0
    assert set(np.unique(li).tolist()) == set(range(levels.size))
    assert_on_levels(z, x0, x1, y0, y1, levels, xs, ys, li)
    # level 0 is the pair of lines x + 1 = ±√2 (y − 1)
    m = li == 2
    np.testing.assert_allclose(np.abs(xs[m] + 1), math.sqrt(2) * np.abs(ys[m] - 1), atol=0.02)


def test_rosenbrock_grid_with_nice_levels() -> None:
    x0, x1, y0, y1 = -2.0, 2.0, -1.0, 3.0
    z = grid(lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2, 300, 280, x0, x1, y0, y1)
    levels = nice_levels(z, 15)
    xs, ys, li = contour_segments(z, x0, x1, y0, y1, levels)
    assert_on_levels(z, x0, x1, y0, y1, levels, xs, ys, li)
    assert set(np.unique(li).tolist()) == set(range(15))


def test_saddle_cell_resolved_by_centre() -> None:
    # a = z[0,0] and c = z[1,1] high, b = z[0,1] and d = z[1,0] low; centre 0.5
    z = np.array([[1.0, 0.0], [0.0, 1.0]])
    # level 0.4: centre above, a-c joined, the lines cut off the low corners b and d
    xs, ys, _ = contour_segments(z, 0.0, 1.0, 0.0, 1.0, np.array([0.4]))
    mid = np.sort(np.round(np.c_[xs[0::2] + xs[1::2], ys[0::2] + ys[1::2]] / 2, 6), axis=0)
    assert xs.size == 4
    np.testing.assert_allclose(mid, [[0.2, 0.2], [0.8, 0.8]])  # (0.8, 0.2) & (0.2, 0.8)
    for sx, sy in zip(xs.reshape(-1, 2), ys.reshape(-1, 2), strict=True):
        corner = (round(sx.mean()), round(sy.mean()))
        assert corner in {(1, 0), (0, 1)}
    # level 0.6: centre below, b-d joined, the lines cut off the high corners a and c
    xs, ys, _ = contour_segments(z, 0.0, 1.0, 0.0, 1.0, np.array([0.6]))
    assert xs.size == 4
    for sx, sy in zip(xs.reshape(-1, 2), ys.reshape(-1, 2), strict=True):
        corner = (round(sx.mean()), round(sy.mean()))
        assert corner in {(0, 0), (1, 1)}


@SETTINGS
@given(
    z=hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 9), st.integers(2, 9)),
        elements=st.integers(-20, 20).map(lambda v: v + 0.5),
    ),
    levels=st.lists(st.integers(-20, 20).map(float), min_size=1, max_size=4),
)
def test_random_fields_watertight(z: np.ndarray, levels: list[float]) -> None:
    # half-integer samples never equal an integer level: no degenerate corner cases
    lev = np.array(levels)
    xs, ys, li = contour_segments(z, 0.0, z.shape[1] - 1.0, 0.0, z.shape[0] - 1.0, lev)
    assert_on_levels(z, 0.0, z.shape[1] - 1.0, 0.0, z.shape[0] - 1.0, lev, xs, ys, li)
    assert np.all(seg_lengths(xs, ys) > 0)
    for k in range(lev.size):
        m = li == k
        counts = Counter(zip(xs[m].tolist(), ys[m].tolist(), strict=True))
        for (px, py), c in counts.items():
            on_border = px in (0.0, z.shape[1] - 1.0) or py in (0.0, z.shape[0] - 1.0)
            assert c == (1 if on_border else 2)
        # same segments as asking for this level alone
        sx, sy, _ = contour_segments(
            z, 0.0, z.shape[1] - 1.0, 0.0, z.shape[0] - 1.0, lev[k : k + 1]
        )
        assert np.array_equal(sx, xs[m]) and np.array_equal(sy, ys[m])


def test_nonfinite_cells_produce_no_segments() -> None:
    x0, x1, y0, y1 = -2.0, 2.0, -2.0, 2.0
    nx = ny = 81
    z = grid(lambda x, y: np.sin(2 * x) * np.cos(3 * y) + 0.1 * x, nx, ny, x0, x1, y0, y1)
    z[10:30, 20:50] = np.nan
    z[60, :] = np.inf
    z[:, 70] = -np.inf
    z[5, 5] = np.nan
    levels = np.linspace(-0.9, 0.9, 7)
    xs, ys, li = contour_segments(z, x0, x1, y0, y1, levels)
    assert xs.size > 0
    assert_on_levels(np.nan_to_num(z, posinf=0, neginf=0), x0, x1, y0, y1, levels, xs, ys, li)
    hx = (x1 - x0) / (nx - 1)
    hy = (y1 - y0) / (ny - 1)
    i = np.floor(((xs[0::2] + xs[1::2]) / 2 - x0) / hx).astype(int)
    j = np.floor(((ys[0::2] + ys[1::2]) / 2 - y0) / hy).astype(int)
    corners = np.stack([z[j, i], z[j, i + 1], z[j + 1, i], z[j + 1, i + 1]])
    assert np.all(np.isfinite(corners))


def test_contour_degenerate_inputs() -> None:
    z = np.full((50, 40), np.nan)
    for out in (
        contour_segments(z, 0, 1, 0, 1, np.array([0.0, 1.0])),
        contour_segments(np.ones((50, 40)), 0, 1, 0, 1, np.array([1.0])),
        contour_segments(np.arange(10.0).reshape(1, 10), 0, 1, 0, 1, np.array([3.5])),
        contour_segments(np.eye(5), 0, 1, 0, 1, np.array([])),
        contour_segments(np.eye(5), 0, 1, 0, 1, np.array([np.nan, np.inf])),
    ):
        xs, ys, li = out
        assert xs.size == ys.size == li.size == 0
        assert xs.dtype == np.float64 and li.dtype == np.int64
    # a NaN level among good ones keeps the indices of the others
    xs, ys, li = contour_segments(np.eye(5), 0, 1, 0, 1, np.array([np.nan, 0.5]))
    assert xs.size > 0 and set(li.tolist()) == {1}
    with pytest.raises(ValueError):
        contour_segments(np.ones(5), 0, 1, 0, 1, np.array([0.5]))


def test_contour_unsorted_and_duplicate_levels() -> None:
    z = grid(lambda x, y: x * y, 40, 30, -1, 1, -1, 1)
    levels = np.array([0.3, -0.2, 0.3, 0.05])
    xs, ys, li = contour_segments(z, -1, 1, -1, 1, levels)
    assert np.all(np.diff(li) >= 0)
    for k, lev in enumerate(levels):
        sx, sy, _ = contour_segments(z, -1, 1, -1, 1, np.array([lev]))
        assert np.array_equal(xs[li == k], sx) and np.array_equal(ys[li == k], sy)


# ---------------------------------------------------------------- nice_levels
def test_nice_levels_log_spaced_in_range() -> None:
    z = grid(lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2 - 7.0, 200, 200, -2, 2, -1, 3)
    lev = nice_levels(z, 12)
    assert lev.shape == (12,) and lev.dtype == np.float64
    assert np.all(np.diff(lev) > 0)
    assert z.min() < lev[0] and lev[-1] < z.max()
    ratios = (lev[1:] - z.min()) / (lev[:-1] - z.min())
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert ratios[0] > 1.5  # spans a large dynamic range


def test_nice_levels_edge_cases() -> None:
    assert nice_levels(np.ones((5, 5)), 0).size == 0
    np.testing.assert_array_equal(nice_levels(np.full((4, 4), -3.0), 5), np.full(5, -3.0))
    assert np.all(np.isnan(nice_levels(np.full((4, 4), np.nan), 3)))
    z = grid(lambda x, y: -100 + x * x + y * y, 50, 50, -1, 1, -1, 1)
    z[0, :] = np.nan
    z[1, :] = np.inf
    z[2, :] = -np.inf
    lev = nice_levels(z, 6)
    assert np.all(np.isfinite(lev)) and np.all(np.diff(lev) > 0)
    assert np.all((lev > -100) & (lev < -98))
    one = nice_levels(z, 1)
    assert one.shape == (1,) and np.isfinite(one[0])
    sparse = np.zeros((600, 600))  # bigger than the percentile sample; one sample differs
    sparse[3, 7] = 5.0
    lev = nice_levels(sparse, 3)
    assert np.all((lev > 0) & (lev <= 5))
    two_valued = np.where(np.eye(10) > 0, 1.0, 0.0)
    lev = nice_levels(two_valued, 4)
    assert np.all((lev > 0) & (lev <= 1)) and np.all(np.diff(lev) > 0)


# ---------------------------------------------------------------- thin_path / rethin
TOL = 1e-12


def check_thinning(pts: np.ndarray, kept: np.ndarray, eps: float, full: bool) -> None:
    """Invariants of greedy thinning of ``pts`` (rows) into ``kept`` (rows)."""
    eps = max(eps, 0.0)
    finite = np.all(np.isfinite(pts), axis=1)
    if kept.shape[0] == 0:
        assert not finite.any()
        return
    # first finite point always kept
    assert np.array_equal(kept[0], pts[np.argmax(finite)])
    d = np.hypot(*(kept[1:] - kept[:-1]).T)
    assert np.all(d > eps * (1 - TOL))
    # walk the input: kept rows appear in order; every dropped row is within eps of the
    # last kept row before it
    # (when the output filled up, rows after the last kept one were never examined)
    k = 0
    for p in pts[finite]:
        if k == kept.shape[0] and full:
            break
        if k < kept.shape[0] and np.array_equal(p, kept[k]):
            k += 1
            continue
        assert k > 0
        assert math.hypot(*(p - kept[k - 1])) <= eps * (1 + TOL)
    assert k == kept.shape[0]


steps = st.one_of(st.just(0.0), st.floats(-1.0, 1.0), st.sampled_from([np.nan, np.inf]))
walks = st.lists(st.tuples(steps, steps), max_size=120).map(
    lambda s: np.cumsum(np.array(s, dtype=np.float64).reshape(-1, 2), axis=0)
)


@SETTINGS
@given(
    pts=walks,
    eps=st.one_of(st.just(0.0), st.floats(0.0, 3.0), st.just(-1.0)),
    m=st.integers(1, 60),
    cuts=st.lists(st.integers(0, 120), max_size=6),
)
def test_thin_path_invariants_and_chunking(
    pts: np.ndarray, eps: float, m: int, cuts: list[int]
) -> None:
    n = pts.shape[0]
    big = np.full((m + 5, 2), -7.0)
    out = big[:m]
    bounds = sorted({0, n, *(c for c in cuts if c <= n)})
    n_out, lx, ly = 0, math.nan, math.nan
    for a, b in itertools.pairwise(bounds):
        before = out[:n_out].copy()
        n_out, lx, ly = thin_path(pts, a, b, lx, ly, eps, out, n_out)
        assert 0 <= n_out <= m
        assert np.array_equal(out[: before.shape[0]], before)  # only appends
        if n_out == m:
            break
    assert np.all(big[m:] == -7.0)  # never writes past m
    kept = out[:n_out]
    check_thinning(pts, kept, eps, full=n_out == m)
    if n_out:
        assert (lx, ly) == tuple(kept[-1])
    # chunked == one call (when the buffer did not fill)
    if n_out < m:
        one = np.empty((m, 2))
        n1, _, _ = thin_path(pts, 0, n, math.nan, math.nan, eps, one, 0)
        assert n1 == n_out and np.array_equal(one[:n1], kept)


def test_thin_path_clamps_and_resumes() -> None:
    pts = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [1.05, 0.0], [3.0, 0.0]])
    out = np.empty((10, 2))
    n, lx, ly = thin_path(pts, -5, 2, math.nan, math.nan, 0.5, out, 0)
    assert (n, lx, ly) == (1, 0.0, 0.0)
    n, lx, ly = thin_path(pts, 2, 99, lx, ly, 0.5, out, n)
    assert n == 3 and (lx, ly) == (3.0, 0.0)
    np.testing.assert_array_equal(out[:3, 0], [0.0, 1.0, 3.0])
    # a full buffer: nothing is written and the state comes back unchanged
    n2 = thin_path(pts, 0, 5, 9.0, 9.0, 0.0, out[:3], 3)
    assert n2 == (3, 9.0, 9.0)
    # extra columns (e.g. a wider state) are ignored
    wide = np.c_[pts, np.full(5, np.nan)]
    assert thin_path(wide, 0, 5, math.nan, math.nan, 0.5, out, 0)[0] == 3


@SETTINGS
@given(pts=walks, eps1=st.floats(0.0, 1.0), factor=st.floats(1.0, 4.0))
def test_rethin(pts: np.ndarray, eps1: float, factor: float) -> None:
    n = pts.shape[0]
    buf = np.empty((max(n, 1), 2))
    k, _, _ = thin_path(pts, 0, n, math.nan, math.nan, eps1, buf, 0)
    src = buf[:k].copy()
    eps2 = eps1 * factor
    k2 = rethin(buf, k, eps2)
    assert 0 <= k2 <= k
    check_thinning(src, buf[:k2], eps2, full=False)
    # rethinning the raw points equals thinning them
    raw = np.vstack([pts, np.zeros((1, 2))])
    k3 = rethin(raw, n, eps2)
    ref = np.empty((max(n, 1), 2))
    k4, _, _ = thin_path(pts, 0, n, math.nan, math.nan, eps2, ref, 0)
    assert k3 == k4 and np.array_equal(raw[:k3], ref[:k4])


def test_trail_thinner_bounded_and_faithful() -> None:
    rng = np.random.default_rng(3)
    pts = np.cumsum(rng.normal(size=(60_000, 2)), axis=0) * 0.01
    pts[500:510] = np.nan
    tt = TrailThinner(capacity=500)
    count = 0
    while count < pts.shape[0]:
        count = min(pts.shape[0], count + int(rng.integers(1, 3000)))
        p = tt.update(pts, count)
        assert p.shape[0] <= 500
        d = np.hypot(*(p[1:] - p[:-1]).T)
        assert np.all(d > tt.eps * (1 - TOL))
    assert tt.consumed == pts.shape[0] and tt.eps > 0
    # every input point lies within 2 eps (one eps per thinning generation, summed
    # geometrically) of the last kept point before it
    kept = {tuple(r) for r in p.tolist()}
    last = None
    for q in pts:
        if not np.all(np.isfinite(q)):
            continue
        if tuple(q.tolist()) in kept:
            last = q
            continue
        assert last is not None and math.hypot(*(q - last)) <= 2 * tt.eps
    # a shorter count means a new trajectory
    p = tt.update(pts[::-1].copy(), 10)
    assert tt.consumed == 10 and np.array_equal(p[0], pts[-1])


# ---------------------------------------------------------------- minmax_decimate
@SETTINGS
@given(
    y=hnp.arrays(
        np.float64,
        st.integers(0, 300),
        elements=st.one_of(st.floats(-1e3, 1e3), st.just(np.nan), st.just(np.inf)),
    ),
    start=st.integers(-5, 310),
    length=st.integers(-5, 320),
    buckets=st.integers(0, 40),
)
def test_minmax_decimate_envelope(y: np.ndarray, start: int, length: int, buckets: int) -> None:
    stop = start + length
    ox = np.full(2 * buckets + 3, -1.0)
    oy = np.full(2 * buckets + 3, -1.0)
    p = minmax_decimate(y, start, stop, buckets, ox[: 2 * buckets], oy[: 2 * buckets])
    assert np.all(ox[2 * buckets :] == -1.0)
    a, b = max(start, 0), min(stop, y.size)
    span = b - a
    if span <= 0 or buckets == 0:
        assert p == 0
        return
    assert 0 < p <= 2 * buckets
    x, v = ox[:p], oy[:p]
    assert np.all(np.diff(x) > 0) and np.all(x == np.round(x))
    assert x[0] >= a and x[-1] < b
    if span <= 2 * buckets:
        np.testing.assert_array_equal(x, np.arange(a, b))
        np.testing.assert_array_equal(v, y[a:b])
        return
    for k in range(buckets):
        b0, b1 = a + k * span // buckets, a + (k + 1) * span // buckets
        seg = y[b0:b1]
        m = (x >= b0) & (x < b1)
        assert 1 <= m.sum() <= 2
        assert np.all(v[m] == y[x[m].astype(int)]) or np.all(np.isnan(v[m]))
        fin = seg[~np.isnan(seg)]
        if fin.size == 0:
            assert m.sum() == 1 and np.isnan(v[m][0])
        else:
            assert np.nanmin(v[m]) == fin.min() and np.nanmax(v[m]) == fin.max()


def test_minmax_decimate_keeps_spikes() -> None:
    y = np.ones(1_000_000)
    y[123_457] = 50.0
    y[777_777] = -3.0
    y[400_000:500_000] = np.nan
    ox = np.empty(2000)
    oy = np.empty(2000)
    p = minmax_decimate(y, 0, y.size, 1000, ox, oy)
    assert 1000 <= p <= 2000
    assert 123_457 in ox[:p] and 777_777 in ox[:p]
    assert np.nanmax(oy[:p]) == 50.0 and np.nanmin(oy[:p]) == -3.0
    assert np.isnan(oy[:p]).sum() >= 99  # the gap survives


# ---------------------------------------------------------------- log_safe
def _ema_reference(y: np.ndarray, alpha: float) -> np.ndarray:
    out = np.full(y.shape, np.nan)
    acc = math.nan
    for k, v in enumerate(y):
        if math.isfinite(v):
            acc = v if math.isnan(acc) else acc + alpha * (v - acc)
        out[k] = acc
    return out


@SETTINGS
@given(
    y=hnp.arrays(np.float64, st.integers(0, 300),
                 elements=st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf])),
    alpha=st.floats(1e-4, 1.0),
    cuts=st.lists(st.integers(0, 300), max_size=6),
)  # fmt: skip
def test_ema_update_incremental_equals_reference(y: np.ndarray, alpha: float, cuts) -> None:
    """Fed in any chunks, the moving average is the one of a single pass; non-finite rows
    keep the last average (NaN until the first finite row)."""
    out = np.full(y.size, -7.0)
    bounds = sorted({0, y.size, *(c for c in cuts if c <= y.size)})
    for a, b in itertools.pairwise(bounds):
        ema_update(y, a, b, alpha, out)
    assert np.array_equal(out, _ema_reference(y, alpha), equal_nan=True)


def test_ema_update_time_constant() -> None:
    """A step from 0 to 1 reaches 1 − 1/e after about τ rows with alpha = 1/τ."""
    y = np.r_[0.0, np.ones(1000)]
    out = np.empty_like(y)
    ema_update(y, 0, y.size, 1 / 100, out)
    assert out[0] == 0.0 and out[100] == pytest.approx(1 - math.exp(-1), abs=0.01)


def test_log_safe_edge_cases() -> None:
    y = np.array([1.0, 100.0, 1e-5, 0.0, -0.0, -1.0, np.nan, np.inf, -np.inf, 1e-320])
    out = log_safe(y)
    np.testing.assert_allclose(out[:3], [0.0, 2.0, -5.0])
    np.testing.assert_allclose(out[[3, 4, 9]], -300.0)
    assert np.all(np.isnan(out[5:9]))
    assert out.dtype == np.float64 and y[3] == 0.0  # input untouched
    np.testing.assert_allclose(log_safe(y, floor=1e-8)[[2, 3, 9]], [-5.0, -8.0, -8.0])
    two_d = log_safe(np.array([[10.0, 0.0], [-2.0, 1e3]]))
    assert two_d.shape == (2, 2)
    np.testing.assert_allclose(two_d, [[1.0, -300.0], [np.nan, 3.0]])
    assert log_safe(np.float64(1000.0)) == 3.0
    assert log_safe(np.array([], dtype=np.float32)).shape == (0,)
    assert log_safe([1, 10]).tolist() == [0.0, 1.0]
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError):
            log_safe(y, floor=bad)


# ---------------------------------------------------------------- quiver
def test_quiver_shapes_and_geometry() -> None:
    xs = np.linspace(-1, 1, 5)
    ys = np.linspace(0, 2, 4)
    X, Y = np.meshgrid(xs, ys)
    gx, gy = -2 * X, -6 * Y  # −∇ of x² + 3y²
    gx[1, 2] = np.nan
    valid = np.isfinite(gx) & np.isfinite(gy) & ((gx != 0) | (gy != 0))
    length = 0.2
    px, py = quiver_segments(gx, gy, xs, ys, length)
    k = int(valid.sum())
    assert k == 20 - 2  # one NaN, one zero vector at (0, 0)
    assert px.shape == py.shape == (6 * k,)
    P = np.stack([px, py], axis=1).reshape(k, 6, 2)
    tail, tip = P[:, 0], P[:, 1]
    np.testing.assert_allclose(np.hypot(*(tip - tail).T), length)
    g = np.stack([gx[valid], gy[valid]], axis=1)  # row-major order of the grid
    np.testing.assert_allclose(tail, np.stack([X[valid], Y[valid]], axis=1))
    u = g / np.hypot(*g.T)[:, None]
    np.testing.assert_allclose((tip - tail) / length, u, atol=1e-12)
    # head strokes start at the tip, are 0.3·length long and point backwards
    for h in (3, 5):
        np.testing.assert_array_equal(P[:, h - 1], tip)
        back = P[:, h] - tip
        np.testing.assert_allclose(np.hypot(*back.T), 0.3 * length)
        cos = -(back * u).sum(axis=1) / (0.3 * length)
        np.testing.assert_allclose(cos, math.cos(math.radians(25.0)))
    # pivot='middle' centres the shaft on the grid point
    mx, my = quiver_segments(gx, gy, xs, ys, length, pivot="middle")
    M = np.stack([mx, my], axis=1).reshape(k, 6, 2)
    np.testing.assert_allclose((M[:, 0] + M[:, 1]) / 2, tail, atol=1e-12)


def test_quiver_edge_cases() -> None:
    xs = np.arange(3.0)
    ys = np.arange(2.0)
    big = np.full((2, 3), 1e308)
    tiny = np.full((2, 3), 5e-324)
    for gx, gy in ((big, -big), (tiny, tiny)):
        px, py = quiver_segments(gx, gy, xs, ys, 1.0)
        assert px.size == 36 and np.all(np.isfinite(px)) and np.all(np.isfinite(py))
        np.testing.assert_allclose(np.hypot(px[1] - px[0], py[1] - py[0]), 1.0)
    z = np.zeros((2, 3))
    assert quiver_segments(z, z, xs, ys, 1.0)[0].size == 0
    assert quiver_segments(big, big, xs, ys, 0.0)[0].size == 0
    assert quiver_segments(big, big, xs, ys, np.nan)[1].size == 0
    with pytest.raises(ValueError):
        quiver_segments(big, big, ys, xs, 1.0)
    with pytest.raises(ValueError):
        quiver_segments(big, big, xs, ys, 1.0, pivot="tip")


# ---------------------------------------------------------------- GUI drawing helpers
def test_epoch_sampler_matches_race_and_stays_bounded(root) -> None:
    """The live window's per-epoch metrics: exact values, latest epoch first, sparse
    beyond CAP, dropped at a racer's reset."""
    from engine.scenario import build_race, load_scenario
    from gui.perceptron import EpochSampler

    race = build_race(load_scenario(root / "scenarios" / "perceptron_minibatch.toml"))
    race.run()
    s = EpochSampler()
    assert s.update(race, math.inf) > 0
    for k in range(len(race.racers)):
        got, want = s.metrics(k), race.epoch_metrics(k)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
    assert s.update(race, math.inf) == 0  # nothing new
    # a zero budget still evaluates one epoch: the first racer's latest
    s2 = EpochSampler()
    assert s2.update(race, 0.0) == 1
    last = race.epoch_metrics(0)["epoch"][-1]
    assert s2.metrics(0)["epoch"].tolist() == [last] and s2.metrics(1)["epoch"].size == 0
    # beyond CAP epochs: every stride-th epoch and the latest one
    s3 = EpochSampler()
    s3.CAP = 4
    s3.update(race, math.inf)
    ep = s3.metrics(0)["epoch"]
    assert ep[-1] == last and ep.size <= 4 + 2 and ep[0] == 0
    # a reset racer starts over
    race.reset()
    s.update(race, math.inf)
    assert s.metrics(0)["epoch"].tolist() == [0]


def test_finite_bounds() -> None:
    from engine.display import finite_bounds

    x = np.array([1.0, np.nan, -2.0, 5.0, np.inf])
    y = np.array([0.5, 9.0, np.inf, -1.0, 3.0])
    assert finite_bounds(x, y) == (1.0, 5.0, -1.0, 0.5)  # rows with a non-finite x or y
    pts = np.array([[3.0, 4.0], [1.0, 2.0]])
    assert finite_bounds(pts[:, 0], pts[:, 1]) == (1.0, 3.0, 2.0, 4.0)  # strided views
    assert all(math.isnan(v) for v in finite_bounds(np.array([np.nan]), np.array([1.0])))
    assert all(math.isnan(v) for v in finite_bounds(np.empty(0), np.empty(0)))


def test_trail_layer_increments_match_a_full_redraw(qtbot) -> None:
    """Trails stroked frame by frame into the layer's image look like one stroke of the
    whole trail, and the backing store shows the same as a fresh render."""
    from PySide6.QtGui import QImage

    from gui.landscape_panel import LandscapePanel

    def pixels(img: QImage) -> np.ndarray:
        img = img.convertToFormat(QImage.Format.Format_RGB32)
        a = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
        # a copy: the view would outlive the QImage that owns the bytes
        return a.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width(), :3].copy()

    p = LandscapePanel()
    qtbot.addWidget(p)
    p.resize(500, 400)
    p.show()
    qtbot.waitExposed(p)
    p.plotItem.vb.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    p.set_racers(["a", "b"], ["#0072B2", "#D55E00"])
    t = np.linspace(0, 6 * np.pi, 3000)
    xs = [np.stack([np.cos(t) * t / 10, np.sin(t) * t / 10], axis=1),
          np.stack([t / 10 - 1, np.sin(3 * t) / 2], axis=1)]  # fmt: skip
    for count in range(1, 3001, 97):  # frame by frame, painted in between
        for i in range(2):
            p.update_racer(i, xs[i], count, True)
        qtbot.wait(1)
    for i in range(2):
        p.update_racer(i, xs[i], 3000, True)
    qtbot.wait(20)
    live = pixels(p.grab().toImage())
    redraws = p.trail_layer.full_redraws
    p.trail_layer.invalidate()
    full = pixels(p.grab().toImage())
    assert p.trail_layer.full_redraws == redraws + 1
    diff = np.abs(live.astype(int) - full.astype(int)).max(axis=2)
    assert (diff > 64).sum() <= 0.002 * diff.size
    assert (np.abs(full.astype(int) - pixels(p.grab().toImage()).astype(int)) == 0).all()
