"""The race kernel: steps every racer of a race through a chunk of updates.

One compiled function serves every optimizer x objective pair (integer dispatch), so
start-up compiles a handful of kernels once and reads them from the disk cache after.
It runs with the GIL released (``nogil``): a Python thread calls it chunk by chunk
while the GUI thread reads the buffers it fills.

Per racer ``r`` and step ``t`` the buffers hold the point ``x_t``, the loss ``f(x_t)``,
the gradient norm ``|∇f(x_t)|`` (noise-free; for the perceptron, of the mini-batch of
step t) and the learning rate of update ``t`` (the one that leads from x_t to x_{t+1}).
Row 0 is the start. ``count[r]`` rows are valid.

A racer whose loss or gradient stops being finite is marked diverged at that step;
its rows stop at the last finite point and the other racers go on.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit, jit_hot, jit_inline, jit_kernel, prefetch_row
from engine.landscapes import landscape_fg, landscape_hess
from engine.optimizers import NAG, NEWTON, RANDOM_SEARCH, opt_update
from engine.schedules import CONSTANT, SP_UNIT, SP_WARMUP, schedule_lr

# objective kinds
LANDSCAPE = 0
PERCEPTRON = 1

# cfg slots (int64)
CFG_KIND = 0
CFG_LID = 1
CFG_BATCH = 2
CFG_NROWS = 3
CFG_SEED = 4
CFG_SIZE = 5

# racer status
RUNNING = 0
DIVERGED = 1

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------- random numbers
@jit_inline
def _rotl(x: np.uint64, k: np.uint64) -> np.uint64:
    return (x << k) | (x >> (np.uint64(64) - k))


@jit_inline
def rng_next(s: np.ndarray, o: int) -> np.uint64:
    """xoroshiro128+ on the two words s[o], s[o+1] (state passed in explicitly)."""
    s0 = s[o]
    s1 = s[o + 1]
    result = s0 + s1
    s1 ^= s0
    s[o] = _rotl(s0, np.uint64(24)) ^ s1 ^ (s1 << np.uint64(16))
    s[o + 1] = _rotl(s1, np.uint64(37))
    return result


@jit_inline
def rng_uniform(s: np.ndarray, o: int) -> float:
    """Uniform double in [0, 1)."""
    return float(rng_next(s, o) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit_inline
def rng_normal(s: np.ndarray, o: int) -> float:
    """Standard normal (Box-Muller, one value per call)."""
    u1 = 1.0 - rng_uniform(s, o)
    u2 = rng_uniform(s, o)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def splitmix64(seed: int) -> list[int]:
    """Two 64-bit words from ``seed`` (seeding the xoroshiro state), pure Python."""
    out = []
    z = seed & 0xFFFFFFFFFFFFFFFF
    for _ in range(2):
        z = (z + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        v = z
        v = ((v ^ (v >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        v = ((v ^ (v >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out.append(v ^ (v >> 31))
    return out


@jit_inline
def _splitmix_word(z: np.uint64) -> np.uint64:
    z = z + np.uint64(0x9E3779B97F4A7C15)
    v = z
    v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return v ^ (v >> np.uint64(31))


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


# ---------------------------------------------------------------- objectives
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


# ---------------------------------------------------------------- linear algebra
@jit_inline
def sym_eig(a: np.ndarray, lam: np.ndarray, v: np.ndarray, m: np.ndarray) -> None:
    """Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations.

    Writes eigenvalues into ``lam`` and eigenvectors as the columns of ``v``; ``m`` is
    scratch of a's shape; ``a`` is left untouched. Non-finite input gives non-finite
    output, never a hang.
    """
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            m[i, j] = a[i, j]
    for i in range(n):
        for j in range(n):
            v[i, j] = 1.0 if i == j else 0.0
    for _sweep in range(60):
        off = 0.0
        for p in range(n):
            for q in range(p + 1, n):
                off += m[p, q] * m[p, q]
        if not off > 1e-300:  # also stops on NaN
            break
        for p in range(n):
            for q in range(p + 1, n):
                if m[p, q] == 0.0:
                    continue
                theta = (m[q, q] - m[p, p]) / (2.0 * m[p, q])
                tt = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    tt = -tt
                c = 1.0 / math.sqrt(tt * tt + 1.0)
                s = tt * c
                for k in range(n):
                    mkp = m[k, p]
                    mkq = m[k, q]
                    m[k, p] = c * mkp - s * mkq
                    m[k, q] = s * mkp + c * mkq
                for k in range(n):
                    mpk = m[p, k]
                    mqk = m[q, k]
                    m[p, k] = c * mpk - s * mqk
                    m[q, k] = s * mpk + c * mqk
                for k in range(n):
                    vkp = v[k, p]
                    vkq = v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
    for i in range(n):
        lam[i] = m[i, i]


# ---------------------------------------------------------------- the race kernel
def scratch_for(d: int) -> np.ndarray:
    """Scratch space for :func:`race_chunk` with parameter dimension ``d``.

    Rows 4 + 3d on: the perceptron's gather tile (PF_TILE rows of [x1, x2, y]; d = 3).
    """
    return np.zeros((4 + 3 * d + (PF_TILE if d == 3 else 0), d))


@jit_kernel
def special_step(
    oid: int,
    kind: int,
    lid: int,
    lp: np.ndarray,
    data: np.ndarray,
    prow: np.ndarray,
    lo: int,
    hi: int,
    noise: float,
    hp: np.ndarray,
    rng_r: np.ndarray,
    x: np.ndarray,
    g: np.ndarray,
    lr: float,
    scratch: np.ndarray,
) -> bool:
    """The rare parts of an update, out of :func:`race_chunk` (compiled once, called).

    ``g`` is the gradient the optimizer sees (for nag: at the look-ahead point). Adds
    the gradient noise, then applies the whole update of ``newton`` (Hessian at ``x``)
    and ``random_search`` (its estimate is in scratch row 2, see race_chunk). Returns
    True when it has updated ``x``, False when the kernel still calls ``opt_update``.
    """
    d = x.shape[0]
    acc = scratch[2]
    lam = scratch[3]
    h = scratch[4 : 4 + d]
    vec = scratch[4 + d : 4 + 2 * d]
    mscr = scratch[4 + 2 * d : 4 + 3 * d]
    if noise > 0.0 and oid != RANDOM_SEARCH:  # random search uses no gradient
        for i in range(d):
            g[i] += noise * rng_normal(rng_r, 0)
    if oid == NEWTON:
        if kind == LANDSCAPE:
            landscape_hess(lid, lp, x, h)
        else:
            perceptron_hess(data, prow, lo, hi, x, h)
        sym_eig(h, lam, vec, mscr)
        damping = hp[1]
        for i in range(d):
            s = 0.0
            for k in range(d):
                s += vec[k, i] * g[k]
            acc[i] = s / max(abs(lam[i]), damping)
        for k in range(d):
            s = 0.0
            for i in range(d):
                s += vec[k, i] * acc[i]
            x[k] = x[k] - lr * s
        return True
    if oid == RANDOM_SEARCH:
        delta = hp[1]
        scale = lr / int(hp[2])
        if hp[3] != 0.0:
            scale = scale / (2.0 * delta * delta)
        for i in range(d):
            x[i] = x[i] - scale * acc[i]
        return True
    return False


@jit_kernel
def race_chunk(
    t_end: np.ndarray,
    cfg: np.ndarray,
    lp: np.ndarray,
    data: np.ndarray,
    noise: float,
    oids: np.ndarray,
    hps: np.ndarray,
    sids: np.ndarray,
    sps: np.ndarray,
    X: np.ndarray,
    st: np.ndarray,
    sc: np.ndarray,
    t_arr: np.ndarray,
    count: np.ndarray,
    status: np.ndarray,
    active: np.ndarray,
    rng: np.ndarray,
    perm: np.ndarray,
    perm_epoch: np.ndarray,
    xs: np.ndarray,
    loss: np.ndarray,
    gnorm: np.ndarray,
    lrs: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Advance every active, running racer ``r`` up to update ``t_end[r]``.

    Shapes: R racers, d parameters, cap buffer rows. ``t_end`` (R,) the last row to
    record (<= cap − 1); ``X`` (R, d) current points; ``st`` (R, K, d), ``sc`` (R, S)
    optimizer state; ``t_arr`` (R,) updates done; ``rng`` (R, 4) uint64 (words 0-1:
    gradient noise, 2-3: random-search directions); ``perm`` (S, n_rows) int32 and
    ``perm_epoch`` (S,): the perceptron's batch orders of up to S epochs (-1: empty
    slot), shared by all racers;
    ``xs`` (R, cap, d), ``loss``/``gnorm``/``lrs`` (R, cap) the recorded rows.
    ``scratch`` comes from :func:`scratch_for` (the kernel runs without the numba
    runtime and allocates nothing).

    Perceptron: the racers advance epoch by epoch (each pass of the outer loop runs
    every racer through the rest of the earliest epoch any of them is in), so one
    shuffle serves them all instead of one per racer and epoch. The S slots keep the
    orders of a few epochs, so racers in different epochs (one restarted mid-race) do
    not reshuffle at every chunk: a new epoch replaces an empty slot, else the latest
    epoch before it (the one its racers just finished), else the earliest.

    Compile time: the dispatchers (objective, schedule, optimizer) are ``jit_hot``,
    compiled once by numba and inlined by LLVM; each call site is still a copy of
    their machine code for LLVM to optimise, so each has exactly one call site. The
    extra evaluations of a step (nag's look-ahead point, random search's x ± δ·u) go
    through the same objective call as the recorded one (``ev`` counts them; the loss
    from the gradient call has the same bits as a loss-only evaluation); the rare
    rest of an update is the called :func:`special_step`.
    """
    R = X.shape[0]
    d = X.shape[1]
    kind = cfg[CFG_KIND]
    lid = cfg[CFG_LID]
    bs = cfg[CFG_BATCH]
    nrows = cfg[CFG_NROWS]
    seed = cfg[CFG_SEED]
    spe = 1
    if kind == PERCEPTRON:
        spe = (nrows + bs - 1) // bs
    prow = perm[0]
    g = scratch[0]
    xt = scratch[1]
    acc = scratch[2]  # random search: Σ (f(x + δu) − f(x − δu))·δu
    vec = scratch[4 + d]  # random search: the direction δu
    tile = scratch[4 + 3 * d :]  # (PF_TILE, 3) for the perceptron; empty otherwise
    while True:
        # the earliest epoch of a racer with rows left to record (landscapes: one pass)
        ep = -1
        for r in range(R):
            if active[r] != 0 and status[r] == RUNNING and count[r] <= t_end[r]:
                e = t_arr[r] // spe if kind == PERCEPTRON else 0
                if ep < 0 or e < ep:
                    ep = e
        if ep < 0:
            break
        if kind == PERCEPTRON:
            slot = -1
            for k in range(perm_epoch.shape[0]):
                if perm_epoch[k] == ep:
                    slot = k
            if slot < 0:
                # replace an empty slot, else the latest epoch before ep, else the earliest
                for k in range(perm_epoch.shape[0]):
                    pk = perm_epoch[k]
                    if pk < 0:
                        slot = k
                        break
                    if slot < 0:
                        slot = k
                        continue
                    ps = perm_epoch[slot]
                    if pk < ep:
                        if ps > ep or pk > ps:
                            slot = k
                    elif ps > ep and pk < ps:
                        slot = k
                epoch_permutation(seed, ep, perm[slot])
                perm_epoch[slot] = ep
            prow = perm[slot]
        for r in range(R):
            if active[r] == 0 or status[r] != RUNNING or count[r] > t_end[r]:
                continue
            t = t_arr[r]
            if kind == PERCEPTRON and t // spe != ep:
                continue
            oid = oids[r]
            sid = sids[r]
            hp = hps[r]
            sp = sps[r]
            x = X[r]
            base_lr = hp[0]
            per_epoch = sp[SP_UNIT] != 0.0
            special = oid == NEWTON or oid == RANDOM_SEARCH or noise > 0.0
            n_extra = 0  # objective evaluations per update besides the recorded one
            if oid == NAG:
                n_extra = 1
            elif oid == RANDOM_SEARCH:
                n_extra = 2 * int(hp[2])
            tend = t_end[r]
            st_r = st[r]  # views made once per racer
            sc_r = sc[r]
            rng_r = rng[r]
            xs_r = xs[r]
            loss_r = loss[r]
            gnorm_r = gnorm[r]
            lrs_r = lrs[r]
            # a constant rate without warm-up is base_lr at every step (schedule_lr
            # returns it times 1.0: the same bits)
            const_lr = sid == CONSTANT and not sp[SP_WARMUP] > 0.0
            lr = base_lr
            fplus = 0.0
            ev = 0  # 0: the evaluation at x_t (recorded); 1..n_extra: the extra ones
            while True:
                lo = 0
                hi = 0
                if kind == PERCEPTRON:
                    if t // spe != ep:
                        break  # row t is in the next epoch: a later pass records it
                    lo = (t % spe) * bs
                    hi = min(lo + bs, nrows)
                xe = x if ev == 0 else xt
                if kind == LANDSCAPE:
                    f = landscape_fg(lid, lp, xe, g)
                else:
                    f = perceptron_fg(data, prow, lo, hi, xe, g, tile)
                if ev == 0:
                    if d == 2:  # landscapes: straight-line code, no loop (~10 % of a step)
                        g0 = g[0]
                        g1 = g[1]
                        gn2 = g0 * g0 + g1 * g1
                        xs_r[t, 0] = x[0]
                        xs_r[t, 1] = x[1]
                    else:
                        gn2 = 0.0
                        for i in range(d):
                            gn2 += g[i] * g[i]
                            xs_r[t, i] = x[i]
                    if not const_lr:
                        ts = float(t // spe) if per_epoch else float(t)
                        lr = schedule_lr(sid, sp, base_lr, ts)
                    loss_r[t] = f
                    gnorm_r[t] = math.sqrt(gn2)
                    lrs_r[t] = lr
                    if not (math.isfinite(f) and math.isfinite(gn2)):
                        status[r] = DIVERGED
                        break
                    count[r] = t + 1
                    if t >= tend:
                        break
                    if oid == RANDOM_SEARCH:
                        for i in range(d):
                            acc[i] = 0.0
                elif oid == RANDOM_SEARCH:
                    if ev % 2 == 1:
                        fplus = f
                    else:
                        for i in range(d):
                            acc[i] += (fplus - f) * vec[i]
                if ev < n_extra:  # set up the next evaluation point
                    ev += 1
                    if oid == NAG:  # the gradient at the look-ahead point x + ρ·v
                        for i in range(d):
                            xt[i] = x[i] + hp[1] * st_r[0, i]
                    elif ev % 2 == 1:  # random search: a new direction δu, then x + δu ...
                        for i in range(d):
                            u = hp[1] * rng_normal(rng_r, 2)
                            vec[i] = u
                            xt[i] = x[i] + u
                    else:  # ... and x − δu
                        for i in range(d):
                            xt[i] = x[i] - vec[i]
                    continue
                ev = 0
                # ---- the update (g: the gradient the optimizer sees)
                if not (special and special_step(oid, kind, lid, lp, data, prow, lo, hi, noise,
                                                  hp, rng_r, x, g, lr, scratch)):  # fmt: skip
                    opt_update(oid, hp, st_r, sc_r, x, g, lr, t)
                t += 1
            t_arr[r] = t
