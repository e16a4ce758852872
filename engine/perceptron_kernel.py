"""The perceptron objective in numba: the epoch shuffle and the mini-batch loss/gradient.

The model is a = σ(w1·x1 + w2·x2 + b) with the binary cross-entropy loss; the race
kernel (engine.kernel.race_chunk) calls :func:`perceptron_fg` once per step with the
rows of the step's mini-batch, in the order of :func:`epoch_permutation`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit, jit_hot, jit_inline, prefetch_row
from engine.rng import _splitmix_word, lemire_pair, xoroshiro_step
from engine.vmath import (
    prefer_wide_vectors,
    prefetch_item,
    radd,
    softplus_sigmoid_e,
    vexp,
    vlog1p,
)


@jit_inline
def _fy_draw(
    s0: np.uint64, s1: np.uint64, i: int, top: int
) -> tuple[int, int, np.uint64, np.uint64]:
    """The indices of the shuffle's steps i and i + 1 (i + 1 = top: step i alone, j2 = 0)
    from one xoroshiro128+ output, redrawn until :func:`engine.rng.lemire_pair` accepts."""
    b1 = np.uint64(i + 1)
    b2 = np.uint64(i + 2) if i + 1 < top else np.uint64(1)
    while True:
        x, s0, s1 = xoroshiro_step(s0, s1)
        j1, j2, ok = lemire_pair(x, b1, b2)
        if ok:
            break
    return np.int64(j1), np.int64(j2), s0, s1  # type: ignore[return-value]  # numba's int


@jit_inline  # one call site in the race kernel; a compiled callee was typed twice there
def epoch_permutation(seed: int, epoch: int, perm: np.ndarray) -> None:
    """Fill ``perm`` with the shuffle of epoch ``epoch``: a pure function of (seed, epoch).

    The race makes it once per epoch for all its racers, so all see the same
    mini-batches. The "inside-out" Fisher-Yates shuffle: for i = 1, ..., n − 1, j uniform
    in [0, i], perm[i] = perm[j], perm[j] = i (perm[0] = 0 first): after step i, perm[:i + 1]
    is a uniform permutation of 0..i, so the result is exactly uniform given exactly
    uniform draws. No separate pass writes the identity first.

    The draws: xoroshiro128+ on two local words seeded by splitmix64 from (seed, epoch)
    (allocates nothing); steps i and i + 1 take their indices from ONE 64-bit output by
    :func:`engine.rng.lemire_pair` with bounds (i + 1, i + 2) (exactly uniform, no
    division but in the rare rejection test): half the generator steps, whose serial
    dependency chain bounded the old shuffle. The draws run two pairs ahead of the swaps,
    which prefetch the lines the swaps will touch (the same draws in the same order:
    only the timing changes). Past 2^32 − 1 rows the product of two bounds would
    pass 2^64: there, one index per output.
    """
    n = perm.shape[0]
    base = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(epoch)
    s0 = _splitmix_word(base)
    s1 = _splitmix_word(s0)
    if s0 == 0 and s1 == 0:
        s1 = np.uint64(1)
    if n == 0:
        return
    perm[0] = 0
    top = min(n, 0xFFFFFFFF)  # steps below top: indices drawn in pairs
    a1 = 0  # the pair of steps i, i + 1
    a2 = 0
    b1 = 0  # the pair of steps i + 2, i + 3
    b2 = 0
    if top > 1:
        a1, a2, s0, s1 = _fy_draw(s0, s1, 1, top)
    if top > 3:
        b1, b2, s0, s1 = _fy_draw(s0, s1, 3, top)
    i = 1
    while i < top:
        c1 = 0
        c2 = 0
        if i + 4 < top:
            c1, c2, s0, s1 = _fy_draw(s0, s1, i + 4, top)
            prefetch_item(perm, c1)
            prefetch_item(perm, c2)
        perm[i] = perm[a1]  # a1 == i: overwritten on the next line
        perm[a1] = i
        if i + 1 < top:
            perm[i + 1] = perm[a2]
            perm[a2] = i + 1
        i += 2
        a1 = b1
        a2 = b2
        b1 = c1
        b2 = c2
    i = top
    while i < n:  # only past 2^32 − 1 rows
        j, _, s0, s1 = _fy_draw(s0, s1, i, i + 1)
        perm[i] = perm[j]
        perm[j] = i
        i += 1


# ---------------------------------------------------------------- the objective
PF_ROWS = 256  # rows of a mini-batch gathered at a time (see perceptron_fg)
PF_COLS = 5  # float64 per gathered row in the tile: x1, x2, y, z and e^−|z|
PF_TILE = -(-PF_ROWS * PF_COLS // 3)  # rows of the (PF_TILE, 3) scratch array holding a tile
PF_AHEAD_MIN = 32  # prefetch at least this many rows ahead in the order


@jit_inline
def bce_loss(z: float, y: float) -> float:
    """Binary cross-entropy of a = σ(z) against y in the stable form softplus(z) − y·z,
    softplus(z) = max(z, 0) + log1p(e^−|z|) (engine.vmath: no libm call).

    Exact for every y in [0, 1], soft labels included: −[y·log σ(z) + (1 − y)·log σ(−z)]
    = y·softplus(−z) + (1 − y)·softplus(z) = softplus(z) − y·z, as softplus(−z) =
    softplus(z) − z. No exp overflows; the rounding error is a few ulp of max(|z|, ℓ)."""
    return max(z, 0.0) + vlog1p(vexp(-abs(z))) - y * z


@jit_hot
def perceptron_fg(
    data: np.ndarray,
    perm: np.ndarray,
    lo: int,
    hi: int,
    x: np.ndarray,
    g: np.ndarray,
    tile: np.ndarray,
) -> float:
    """Mean binary cross-entropy of a = σ(w1·x1 + w2·x2 + b) over rows perm[lo:hi].

    ``x = (w1, w2, b)``; writes the gradient mean((a − y)·(x1, x2, 1)) into ``g``.
    Per row z = w1·x1 + w2·x2 + b (in that order), ℓ = softplus(z) − y·z (the stable form
    of −y·log a − (1 − y)·log(1 − a), exact for soft labels y in [0, 1] too, see
    :func:`bce_loss`) and dℓ/dz = a − y, softplus and σ from
    :func:`engine.vmath.softplus_sigmoid_e` (within 2 and 4 ulp of libm's formulas).

    ``tile`` is scratch, at least (PF_TILE, 3): PF_ROWS rows of the batch at a time are
    gathered through ``perm`` into its columns (x1, x2, y; then z, e^−|z|). The rows are
    read in a random order, so nearly every read misses the cache: a gather loop of
    independent loads lets the CPU overlap the misses, and prefetches the rows a tile (or
    a mini-batch) ahead. The maths then run over the columns in two vectorised passes
    (z and e^−|z|; then softplus, σ and the sums): two shorter dependency chains keep
    more rows in flight than one long one.

    Summation order: the four sums (ℓ, (a − y)·x1, (a − y)·x2, a − y) are running sums
    whose additions may be reassociated (:func:`engine.vmath.radd`, the only fast-math
    flag used), which the vectoriser does thus (L = 8 lanes with AVX-512 or AVX2, as
    compiled here): per tile of kn rows, L partial sums, the first starting from the
    total of the tiles before; row k < L·⌊kn/L⌋ adds into sum k mod L; then the sums
    combine as a tree, ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)); then the last
    kn mod L rows add in order. The compiled code fixes this order, so a run repeats bit
    for bit on one machine; a CPU with other vector widths may round the last bits
    differently. The mean divides by the row count at the end.
    """
    prefer_wide_vectors()
    w1 = x[0]
    w2 = x[1]
    b = x[2]
    s = 0.0
    g0 = 0.0
    g1 = 0.0
    g2 = 0.0
    m = hi - lo
    flat = tile.reshape(tile.size)
    nt = flat.shape[0] // PF_COLS
    cx1 = flat[0:nt]
    cx2 = flat[nt : 2 * nt]
    cy = flat[2 * nt : 3 * nt]
    cz = flat[3 * nt : 4 * nt]
    ce = flat[4 * nt : 5 * nt]
    npr = perm.shape[0]
    ahead = max(min(m, nt), PF_AHEAD_MIN)
    for t0 in range(lo, hi, nt):
        kn = min(nt, hi - t0)
        kp = min(kn, max(npr - ahead - t0, 0))  # rows with a row to prefetch
        # unsigned indices: no negative-index wrap-around code (all are in range)
        pa = perm[np.uint64(t0 + ahead) :]
        pt = perm[np.uint64(t0) :]
        for k in range(kp):
            prefetch_row(data, np.uint64(pa[np.uint64(k)]))
            j = np.uint64(pt[np.uint64(k)])
            cx1[k] = data[j, 0]
            cx2[k] = data[j, 1]
            cy[k] = data[j, 2]
        for k in range(kp, kn):
            j = np.uint64(pt[np.uint64(k)])
            cx1[k] = data[j, 0]
            cx2[k] = data[j, 1]
            cy[k] = data[j, 2]
        for k in range(kn):
            z = w1 * cx1[k] + w2 * cx2[k] + b
            cz[k] = z
            ce[k] = vexp(-abs(z))
        for k in range(kn):
            z = cz[k]
            y = cy[k]
            sp, a = softplus_sigmoid_e(z, ce[k])
            r = a - y
            s = radd(s, sp - y * z)
            g0 = radd(g0, r * cx1[k])
            g1 = radd(g1, r * cx2[k])
            g2 = radd(g2, r)
    if m == 0:
        g[0] = 0.0
        g[1] = 0.0
        g[2] = 0.0
        return 0.0
    g[0] = g0 / m
    g[1] = g1 / m
    g[2] = g2 / m
    return s / m


@jit
def perceptron_hess(
    data: np.ndarray, perm: np.ndarray, lo: int, hi: int, x: np.ndarray, h: np.ndarray
) -> None:
    """Hessian mean(a(1 − a)·[x1, x2, 1][x1, x2, 1]ᵀ) over rows perm[lo:hi]."""
    for i in range(3):
        for j in range(3):
            h[i, j] = 0.0
    for k in range(lo, hi):
        j = perm[k]
        x1 = data[j, 0]
        x2 = data[j, 1]
        z = x[0] * x1 + x[1] * x2 + x[2]
        a = 1.0 / (1.0 + math.exp(-z))
        w = a * (1.0 - a)
        h[0, 0] += w * x1 * x1
        h[0, 1] += w * x1 * x2
        h[0, 2] += w * x1
        h[1, 1] += w * x2 * x2
        h[1, 2] += w * x2
        h[2, 2] += w
    h[1, 0] = h[0, 1]
    h[2, 0] = h[0, 2]
    h[2, 1] = h[1, 2]
    m = hi - lo
    if m > 0:
        for p in range(3):
            for q in range(3):
                h[p, q] /= m
