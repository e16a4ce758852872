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
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.formula.kernel import formula_run, formula_setup, stack_registers
from engine.jit import jit_inline, jit_kernel, optimize_for_size
from engine.landscapes import FORMULA_LID, landscape_fgh
from engine.optimizers import NEWTON, RANDOM_SEARCH, newton, opt_update, random_search
from engine.optimizers.newton import sym_eig
from engine.optimizers.spec import (
    EVAL_LOOKAHEAD,
    EVAL_PAIRS,
    HP_EVALS,
    HP_EXTRA,
    HP_HESSIAN,
    HP_MOMENTUM,
    HP_PLAIN,
    HP_RHO,
    HP_ROW,
    HP_SPECIAL,
)
from engine.perceptron_kernel import (
    PF_TILE,
    epoch_permutation,
    perceptron_fg,
    perceptron_hess,
)
from engine.rng import rng_normal
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


# ---------------------------------------------------------------- the race kernel
@jit_inline
def record_2d(
    xs_r: np.ndarray,
    loss_r: np.ndarray,
    gnorm_r: np.ndarray,
    lrs_r: np.ndarray,
    t: int,
    x0: float,
    x1: float,
    f: float,
    g0: float,
    g1: float,
    lr: float,
) -> bool:
    """Record row ``t`` of a 2-D racer (point, loss, |∇f|, lr); False if it diverged.

    One place for both landscape loops of :func:`race_chunk` (the plain-SGD fast loop
    and the general one), so their rows and divergence test stay the same bits.
    """
    gn2 = g0 * g0 + g1 * g1
    xs_r[t, 0] = x0
    xs_r[t, 1] = x1
    loss_r[t] = f
    gnorm_r[t] = math.sqrt(gn2)
    lrs_r[t] = lr
    return math.isfinite(f) and math.isfinite(gn2)


@jit_kernel
def formula_sgd_loop(
    prog: np.ndarray,
    x0: float,
    x1: float,
    lr: float,
    t: int,
    tend: int,
    hess: bool,
    xs_r: np.ndarray,
    loss_r: np.ndarray,
    gnorm_r: np.ndarray,
    lrs_r: np.ndarray,
) -> tuple[int, float, float, bool]:
    """The fast loop of :func:`race_chunk` for a typed formula (engine.formula): the
    same steps, rows and divergence test as the landscapes' fast loop there, with the
    interpreter inlined into the loop and set up once (its program's header checked and
    its constants copied into the registers before the first step, not at every one:
    no instruction writes them) instead of called per evaluation. Returns the last step
    ``t``, the point, and False if the racer diverged at ``t`` (row ``t`` recorded, not
    counted)."""
    r = stack_registers()
    pc, n, o_f, o_gx, o_gy, _, _, _ = formula_setup(prog, r, 3 if hess else 2)
    while True:
        f = g0 = g1 = math.nan  # a malformed program: NaN, as formula_fgh gives
        if n >= 0:
            formula_run(prog, r, pc, n, x0, x1)
            f = r[o_f]
            g0 = r[o_gx]
            g1 = r[o_gy]
        if not record_2d(xs_r, loss_r, gnorm_r, lrs_r, t, x0, x1, f, g0, g1, lr):
            return t, x0, x1, False
        if t >= tend:
            return t, x0, x1, True
        x0 = x0 + (-lr) * g0
        x1 = x1 + (-lr) * g1
        t += 1


@jit_inline
def hold_momentum(vel_r: np.ndarray, st_r: np.ndarray, vrow: int, lo: int, hi: int) -> None:
    """Rows ``lo`` to ``hi - 1`` of a racer's recorded momentum (``vrow`` < 0: none):
    its state row, which plain SGD's fast loop leaves as it is."""
    if vrow >= 0:
        for k in range(lo, hi):
            for i in range(vel_r.shape[1]):
                vel_r[k, i] = st_r[vrow, i]


def scratch_for(d: int) -> np.ndarray:
    """Scratch space for :func:`race_chunk` with parameter dimension ``d``.

    Rows 4 + 3d on: the perceptron's gather tile (d = 3: PF_TILE rows of 3 floats, the
    PF_COLS columns of PF_ROWS rows, see engine.perceptron_kernel.perceptron_fg).
    """
    return np.zeros((4 + 3 * d + (PF_TILE if d == 3 else 0), d))


def _renamed(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A new function object with ``fn``'s code, globals and defaults, called ``name``
    (numba names its machine code and cache files after it)."""
    out = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    out.__qualname__ = name
    out.__module__ = fn.__module__
    out.__doc__ = fn.__doc__
    return out


#: ``shuffle_epoch(seed, epoch, perm)``: :func:`engine.perceptron_kernel.epoch_permutation`
#: (``jit_inline``) compiled as a kernel of its own, called by race_chunk once per epoch.
#: Inlined, its ~1,700 lines of numba IR made the race kernel's typing and lowering
#: costlier per line, and numba's inliner copies a function's IR (twice) before it types
#: it again; compiled straight from its code, it is typed and lowered once, alone.
shuffle_epoch = jit_kernel(_renamed(epoch_permutation.py_func, "shuffle_epoch"))


@jit_kernel
def special_step(
    oid: int,
    kind: int,
    ev: int,
    data: np.ndarray,
    prow: np.ndarray,
    lo: int,
    hi: int,
    noise: float,
    hp: np.ndarray,
    rng_r: np.ndarray,
    x: np.ndarray,
    g: np.ndarray,
    xt: np.ndarray,
    lr: float,
    scratch: np.ndarray,
) -> bool:
    """The rare parts of a step, out of :func:`race_chunk` (compiled once, called).

    ``ev > 0`` (odd; evaluations in pairs, ``EVAL_PAIRS``): writes the point of its
    evaluation ``ev`` into ``xt``: ``x + δu`` with a new direction ``δu`` (scratch row
    4 + d; race_chunk makes ``x − δu`` for the next one); returns True.

    ``ev == 0``: the update. ``g`` is the gradient the optimizer sees (for a look-ahead:
    at the look-ahead point). Adds the gradient noise, then applies the whole update of
    the optimizers whose spec is ``special``: ``newton`` (Hessian at ``x`` in scratch
    rows 4 to 4 + d: race_chunk writes a landscape's, this computes the perceptron's)
    and ``random_search`` (its estimate is in scratch row 2, see race_chunk).
    Returns True when it has updated ``x``, False when the kernel still calls
    ``opt_update``.

    The normal deviates of both (noise, directions) come from one loop: one inlined
    copy of the generator to compile.
    """
    optimize_for_size()  # rare paths over d <= 3 elements: no vector code for LLVM to make
    d = x.shape[0]
    acc = scratch[2]
    lam = scratch[3]
    h = scratch[4 : 4 + d]
    vec = scratch[4 + d : 4 + 2 * d]
    mscr = scratch[4 + 2 * d : 4 + 3 * d]
    udir = scratch[4 + d]  # random search: the direction δu
    pairs = hp[HP_EVALS] == EVAL_PAIRS
    if ev > 0 or (noise > 0.0 and not pairs):  # finite differences use no gradient
        # odd ev: xt = x + δu, δu = δ·N(0, I) (stream 2); else g += noise·N(0, I) (stream 0)
        scale = noise
        o = 0
        src = g
        dst = g
        out = lam
        if ev > 0:
            scale = hp[random_search.DELTA]
            o = 2
            src = x
            dst = xt
            out = udir
        for i in range(d):
            u = scale * rng_normal(rng_r, o)
            out[i] = u
            dst[i] = src[i] + u
        if ev > 0:
            return True
    if oid == NEWTON:
        if kind != LANDSCAPE:  # a landscape's Hessian is in h already (race_chunk)
            perceptron_hess(data, prow, lo, hi, x, h)
        sym_eig(h, lam, vec, mscr)
        damping = hp[newton.DAMPING]
        saddle_free = hp[newton.SADDLE_FREE] != 0.0
        for i in range(d):
            s = 0.0
            for k in range(d):
                s += vec[k, i] * g[k]
            if saddle_free:
                a = abs(lam[i])
                acc[i] = s / (damping if damping > a else a)  # max(|λ|, δ) (as max() picks)
            else:  # plain Newton: λ = 0 gives inf or NaN, and the race marks it diverged
                acc[i] = s / lam[i]
        for k in range(d):
            s = 0.0
            for i in range(d):
                s += vec[k, i] * acc[i]
            x[k] = x[k] - lr * s
        return True
    if oid == RANDOM_SEARCH:  # x ← x + s·(η/N)·acc (normalize: also divided by 2δ²)
        delta = hp[random_search.DELTA]
        scale = lr / np.int64(hp[random_search.DIRECTIONS])
        if hp[random_search.NORMALIZE] != 0.0:
            scale = scale / (2.0 * delta * delta)
        if hp[random_search.SIGN] > 0.0:  # sign = +1: the notes' W + α(G⁺ − G⁻)·δW (climbs)
            scale = -scale
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
    bts: np.ndarray,
    btab: np.ndarray,
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
    vel: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Advance every active, running racer ``r`` up to update ``t_end[r]``.

    Shapes: R racers, d parameters, cap buffer rows. ``t_end`` (R,) the last row to
    record (<= cap − 1); ``X`` (R, d) current points; ``st`` (R, K, d), ``sc`` (R, S)
    optimizer state; ``bts`` (T, 3, L) the Adam family's bias corrections
    (engine.optimizers.bias_table), racer r's is ``bts[btab[r]]`` (racers share them);
    ``t_arr`` (R,) updates done; ``rng`` (R, 4) uint64 (words 0-1:
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

    The fast path: plain SGD (momentum 0, weight decay 0, no gradient noise) at a
    constant rate (schedule "constant" without warm-up) on a landscape runs in a loop
    of its own that does exactly the general loop's work for it with the point in
    registers: record the row, test for divergence, ``x ← x + (−lr)·g`` (opt_update's
    plain SGD arithmetic). Same bits, rows and divergence step
    (tests/test_engine_fastpath.py); ~2x faster than the general loop, whose rare
    branches and memory round trips (X[r], scratch) cost more than SGD's whole step and
    leave it at the mercy of code placement. In the general loop the point lives in
    ``X[r]`` and a landscape's gradient comes back from
    :func:`engine.landscapes.landscape_fgh` in registers, stored to scratch row 0 only
    for an update that reads it.

    Compile time: the dispatchers (objective, schedule, optimizer) are ``jit_hot``,
    compiled once by numba and inlined by LLVM; each call site is still a copy of
    their machine code for LLVM to optimise, so each has one call site, bar
    landscape_fgh's second one in the fast loop (without the Hessian: LLVM drops it
    there). The extra evaluations of a step (nag's look-ahead point, random search's
    x ± δ·u) go through the same objective call as the recorded one (``ev`` counts
    them; the loss from the gradient call has the same bits as a loss-only
    evaluation); random search's new directions (x + δ·u) and the rare rest of an
    update are the called :func:`special_step`, the perceptron's shuffle the called
    :func:`shuffle_epoch`.
    Arguments of those calls are variables, never literal constants: numba would
    compile the callee once more for a literal.

    One function (~270 lines, past the usual length) for the same reason: the race is
    one compiled kernel with integer dispatch whose loops share the one call site of each
    inlined dispatcher; a loop moved into a function of its own would need call sites of
    its own (more machine code to compile) or cost a call per step in the hot loop.
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
    hm = scratch[4 : 4 + d]  # newton: the Hessian (special_step's h)
    tile = scratch[4 + 3 * d :]  # (PF_TILE, 3) for the perceptron; empty otherwise
    while True:
        # the earliest epoch of a racer with rows left to record (landscapes: one pass)
        # not the literal -1: numba would compile shuffle_epoch for it too
        ep: np.int64 | int = np.int64(-1)
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
                shuffle_epoch(seed, ep, perm[slot])
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
            # the racer's kernel fields (engine.optimizers.spec: packed from its spec)
            special = hp[HP_SPECIAL] != 0.0 or noise > 0.0
            n_extra = np.int64(hp[HP_EXTRA])  # objective evaluations besides the recorded one
            lookahead = hp[HP_EVALS] == EVAL_LOOKAHEAD
            pairs = hp[HP_EVALS] == EVAL_PAIRS
            tend = t_end[r]
            st_r = st[r]  # views made once per racer
            sc_r = sc[r]
            bt_r = bts[btab[r]]
            rng_r = rng[r]
            xs_r = xs[r]
            loss_r = loss[r]
            gnorm_r = gnorm[r]
            lrs_r = lrs[r]
            # the momentum row recorded with each row (a race that records it, an
            # optimizer that has one): the state after the update that led to the row
            vrow = int(hp[HP_MOMENTUM]) - 1 if vel.shape[1] > 0 else -1
            vel_r = vel[r]
            # a constant rate without warm-up is base_lr at every step (schedule_lr
            # returns it times 1.0: the same bits)
            const_lr = sid == CONSTANT and not sp[SP_WARMUP] > 0.0
            # Plain SGD (no momentum, no weight decay, no noise) at a constant rate on a
            # landscape: the fast loop below. Otherwise the general loop: the point lives
            # in X[r] (opt_update reads and writes it there), a landscape's gradient comes
            # back from landscape_fgh in registers and goes to scratch row 0 only when
            # an update needs it.
            land = kind == LANDSCAPE
            plain = land and hp[HP_PLAIN] != 0.0 and not special
            hess = land and hp[HP_HESSIAN] != 0.0
            lr = base_lr
            if plain and const_lr:
                # the fast path: a tight loop of exactly the general loop's work for plain
                # SGD at a constant rate, the point in registers: the same bits, rows and
                # divergence test (opt_update's plain SGD is x + (−lr)·g too)
                x0 = x[0]
                x1 = x[1]
                t0 = t
                if lid == FORMULA_LID:  # the same loop, the interpreter inlined in it
                    t, x0, x1, ok = formula_sgd_loop(
                        lp, x0, x1, lr, t, tend, hess, xs_r, loss_r, gnorm_r, lrs_r
                    )
                    if ok:
                        count[r] = t + 1
                    else:  # as below: the rows up to t - 1 counted (none new if t == t0)
                        if t > t0:
                            count[r] = t
                        status[r] = DIVERGED
                    x[0] = x0
                    x[1] = x1
                    t_arr[r] = t
                    hold_momentum(vel_r, st_r, vrow, t0, count[r])
                    continue
                while True:
                    f, g0, g1, h00, h01, h11 = landscape_fgh(lid, lp, x0, x1, hess)
                    if not record_2d(xs_r, loss_r, gnorm_r, lrs_r, t, x0, x1, f, g0, g1, lr):
                        status[r] = DIVERGED
                        break
                    count[r] = t + 1
                    if t >= tend:
                        break
                    x0 = x0 + (-lr) * g0
                    x1 = x1 + (-lr) * g1
                    t += 1
                x[0] = x0
                x[1] = x1
                t_arr[r] = t
                hold_momentum(vel_r, st_r, vrow, t0, count[r])
                continue
            fplus = 0.0
            ev = 0  # 0: the evaluation at x_t (recorded); 1..n_extra: the extra ones
            while True:
                lo = 0
                hi = 0
                if kind == PERCEPTRON:
                    if t // spe != ep:
                        break  # row t is in the next epoch: a later pass records it
                    lo = (t % spe) * bs
                    hi = lo + bs
                    if nrows < hi:  # min(lo + bs, nrows)
                        hi = nrows
                xe = x if ev == 0 else xt
                if land:
                    f, g0, g1, h00, h01, h11 = landscape_fgh(lid, lp, xe[0], xe[1], hess)
                else:
                    f = perceptron_fg(data, prow, lo, hi, xe, g, tile)
                    g0 = g[0]
                    g1 = g[1]
                    h00 = h01 = h11 = 0.0
                if ev == 0:
                    if not const_lr:
                        ts = float(t // spe) if per_epoch else float(t)
                        lr = schedule_lr(sid, sp, base_lr, ts)
                    if land:  # straight-line code, no loop (~10 % of a step)
                        finite = record_2d(xs_r, loss_r, gnorm_r, lrs_r, t, x[0], x[1], f, g0,
                                           g1, lr)  # fmt: skip
                    else:
                        gn2 = 0.0
                        for i in range(d):
                            gn2 += g[i] * g[i]
                            xs_r[t, i] = x[i]
                        loss_r[t] = f
                        gnorm_r[t] = math.sqrt(gn2)
                        lrs_r[t] = lr
                        finite = math.isfinite(f) and math.isfinite(gn2)
                    if not finite:
                        status[r] = DIVERGED
                        break
                    if vrow >= 0:
                        for i in range(d):
                            vel_r[t, i] = st_r[vrow, i]
                    count[r] = t + 1
                    if t >= tend:
                        break
                    if pairs:
                        for i in range(d):
                            acc[i] = 0.0
                elif pairs:
                    if ev % 2 == 1:
                        fplus = f
                    else:
                        for i in range(d):
                            acc[i] += (fplus - f) * vec[i]
                if ev < n_extra:  # set up the next evaluation point
                    ev += 1
                    if lookahead:  # the gradient at the look-ahead point x + ρ·v
                        rho = hp[HP_RHO]
                        row = np.int64(hp[HP_ROW])
                        for i in range(d):
                            xt[i] = x[i] + rho * st_r[row, i]
                        continue
                    if ev % 2 == 0:  # evaluations in pairs: x − δu ...
                        for i in range(d):
                            xt[i] = x[i] - vec[i]
                        continue
                    # ... after x + δu with a new direction δu: special_step below
                else:
                    ev = 0
                    # ---- the update (g: the gradient the optimizer sees)
                    if land:
                        if plain:  # plain SGD at a scheduled rate: opt_update's arithmetic
                            x[0] = x[0] + (-lr) * g0
                            x[1] = x[1] + (-lr) * g1
                            t += 1
                            continue
                        g[0] = g0
                        g[1] = g1
                        if hess:
                            hm[0, 0] = h00
                            hm[0, 1] = h01
                            hm[1, 0] = h01
                            hm[1, 1] = h11
                # one call site of each: special_step (random search's next point when
                # ev > 0, the rare updates when ev = 0), else opt_update
                if not (special and special_step(oid, kind, ev, data, prow, lo, hi, noise, hp,
                                                  rng_r, x, g, xt, lr, scratch)):  # fmt: skip
                    opt_update(oid, hp, st_r, sc_r, bt_r, x, g, lr, t)
                if ev == 0:
                    t += 1
            t_arr[r] = t
