"""The perceptron objective in numba: the epoch shuffle and the mini-batch loss/gradient.

The model is a = σ(w1·x1 + w2·x2 + b) with the binary cross-entropy loss; the race
kernel (engine.kernel.race_chunk) calls :func:`perceptron_fg` once per step with the
rows of the step's mini-batch, in the order of :func:`epoch_permutation`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit, jit_hot, jit_inline, prefetch_row
from engine.rng import _rotl, _splitmix_word


@jit_inline  # one call site in the race kernel; a compiled callee was typed twice there
def epoch_permutation(seed: int, epoch: int, perm: np.ndarray) -> None:
    """Fill ``perm`` with the shuffle of epoch ``epoch``: a pure function of (seed, epoch).

    The race makes it once per epoch for all its racers, so all see the same
    mini-batches. Fisher-Yates with xoroshiro128+ on two local words (allocates
    nothing); the index in [0, i] comes from Lemire's multiply-shift on the top 32 bits
    of each output (the best bits of xoroshiro128+), with his rejection step so that it
    is exactly uniform: no 64-bit division per element (a modulo cost ~10 ns of the
    ~11 ns per element). Sets of 2^32 rows or more fall back to the modulo.
    """
    n = perm.shape[0]
    base = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(epoch)
    s0 = _splitmix_word(base)
    s1 = _splitmix_word(s0)
    if s0 == 0 and s1 == 0:
        s1 = np.uint64(1)
    for i in range(n):
        perm[i] = i
    small = n <= 0xFFFFFFFF
    m32 = np.uint64(0xFFFFFFFF)
    for i in range(n - 1, 0, -1):
        bound = np.uint64(i + 1)
        while True:
            result = s0 + s1
            s1 ^= s0
            s0 = _rotl(s0, np.uint64(24)) ^ s1 ^ (s1 << np.uint64(16))
            s1 = _rotl(s1, np.uint64(37))
            if not small:
                j = int(result % bound)
                break
            m = (result >> np.uint64(32)) * bound  # < 2^64: both factors < 2^32
            low = m & m32
            if low >= bound:  # the common case: no division at all
                j = int(m >> np.uint64(32))
                break
            if low >= ((m32 - bound + np.uint64(1)) & m32) % bound:  # (2^32 − bound) mod bound
                j = int(m >> np.uint64(32))
                break
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp


# ---------------------------------------------------------------- the objective
PF_TILE = 256  # rows of a mini-batch gathered at a time into scratch (see perceptron_fg)
PF_GATHER_MIN = 32  # smaller batches are read in place


@jit_inline
def bce_loss(z: float, y: float) -> float:
    """Binary cross-entropy of a = σ(z) against y in the stable form softplus(z) − y·z."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z


@jit_inline
def _bce_row(w1: float, w2: float, b: float, x1: float, x2: float, y: float) -> tuple[float, float]:
    """(ℓ, dℓ/dz) of one row: ℓ = softplus(z) − y·z (stable), dℓ/dz = σ(z) − y."""
    z = w1 * x1 + w2 * x2 + b
    e = math.exp(-abs(z))
    inv = 1.0 / (1.0 + e)
    a = inv if z >= 0.0 else e * inv
    return max(z, 0.0) + math.log1p(e) - y * z, a - y


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
    The loss uses the stable form ℓ = softplus(z) − y·z = −y·log a − (1 − y)·log(1 − a).

    The rows are read through a random permutation, so nearly every read misses the
    cache. Batches of PF_GATHER_MIN rows or more are first copied, ``tile.shape[0]`` rows
    at a time, into the contiguous scratch ``tile`` (k, 3): independent loads whose misses
    the CPU overlaps; read inside the compute loop, each miss would wait behind the exp
    and log1p of the rows before it (3-4x slower on 1M rows). Same arithmetic in the same
    order either way: bit-identical results. While it computes, it prefetches the rows
    a tile (or a mini-batch) ahead, so the next gathers mostly hit the cache: the
    shuffled order then costs about what the storage order does.
    """
    w1 = x[0]
    w2 = x[1]
    b = x[2]
    s = 0.0
    g0 = 0.0
    g1 = 0.0
    g2 = 0.0
    m = hi - lo
    nt = tile.shape[0]
    # software prefetch of the rows `ahead` positions on in the order (the next tile or
    # the next mini-batch): their cache misses overlap the maths of the current rows
    npr = perm.shape[0]
    ahead = max(min(m, nt), PF_GATHER_MIN)
    if m >= PF_GATHER_MIN and nt > 0:
        for t0 in range(lo, hi, nt):
            t1 = min(t0 + nt, hi)
            for k in range(t0, t1):
                j = perm[k]
                tile[k - t0, 0] = data[j, 0]
                tile[k - t0, 1] = data[j, 1]
                tile[k - t0, 2] = data[j, 2]
            for k in range(t1 - t0):
                if t0 + k + ahead < npr:
                    prefetch_row(data, perm[t0 + k + ahead])
                x1 = tile[k, 0]
                x2 = tile[k, 1]
                ell, r = _bce_row(w1, w2, b, x1, x2, tile[k, 2])
                s += ell
                g0 += r * x1
                g1 += r * x2
                g2 += r
    else:
        for k in range(lo, hi):
            if k + ahead < npr:
                prefetch_row(data, perm[k + ahead])
            j = perm[k]
            x1 = data[j, 0]
            x2 = data[j, 1]
            ell, r = _bce_row(w1, w2, b, x1, x2, data[j, 2])
            s += ell
            g0 += r * x1
            g1 += r * x2
            g2 += r
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
