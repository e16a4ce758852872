"""The batch kernel's entry point (:func:`map_chunk`, nogil: threads run disjoint ranges):
a range of blocks, each the step loop over its passes, with the layout of its arrays
(see engine.maps.batch)."""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit_kernel
from engine.maps.batch.passes import (
    bias_pass,
    fix_stopped,
    land_pass,
    rate_pass,
    scan_known,
    scan_unknown,
)
from engine.maps.batch.updates import (
    adagrad_pass,
    adam_pass,
    adam_uniform_pass,
    gd_pass,
    heavy_ball_pass,
    momentum_pass,
    nag_pass,
    nag_point,
    rmsprop_pass,
    sgd_pass,
)

# the optimizer families of the kernel (engine.maps.compute maps optimizers onto them)
FAM_SGD = 0  # sgd: plain, heavy ball, nesterov, dampening, L2 weight decay
FAM_MOMENTUM = 1  # momentum (EMA form)
FAM_NAG = 2  # nag (look-ahead gradient)
FAM_ADAM = 3  # adam, adamw (amsgrad, bias_correction, L2 or decoupled decay)
FAM_RMSPROP = 4  # rmsprop (centered, momentum, L2 decay)
FAM_ADAGRAD = 5  # adagrad (lr_decay, initial accumulator, L2 decay)

# flags (int64 array) of the racer, the same for every pixel
FL_NESTEROV = 0
FL_AMSGRAD = 1
FL_DECOUPLED = 2
FL_CENTERED = 3
FL_SIZE = 4

# per-pixel hyperparameter rows P[k] (HP_ROWS, n) of each family (compute.py packs them)
HP_ROWS = 5  # row 0: the base learning rate, then the family's (see compute.family_rows)

# integer outputs OI (OI_SIZE, n) int32 and float outputs OF (OF_SIZE, n) float64
OI_STEPS_TO_TOL = 0
OI_FIRST = 1
OI_DIVERGED = 2
OI_UNBOUNDED = 3
OI_UPDATES = 4
OI_SIZE = 5
OF_FINAL_LOSS = 0
OF_BEST_LOSS = 1
OF_X = 2
OF_Y = 3
OF_SIZE = 4

# rows of a block's workspace W (W_SIZE, B)
_XA0, _XA1, _XB0, _XB1 = 0, 1, 2, 3  # the point, double-buffered (row t: buffer t % 2)
_FA, _FB = 4, 5  # the loss, double-buffered as the point
_G0, _G1 = 6, 7  # the gradient of the row (then the look-ahead's, nag)
_STOP, _FIRST, _LAST, _BEST = 8, 9, 10, 11  # -1: none (row numbers as floats)
_BLOWN, _KIND, _LIMIT, _F0 = 12, 13, 14, 15  # divergence rule: row, 1 rise / 2 fall
_LR = 16  # the rate of this update
_FX0, _FX1, _FL = 17, 18, 19  # point and loss of the last finite row of a stopped pixel
_S0 = 20  # optimizer state rows _S0 .. _S0 + 5 (per family; see the update passes)
_XT0, _XT1, _FT = 26, 27, 28  # nag's look-ahead point and loss
_BC1, _BCS = 29, 30  # Adam: 1 − β₁ᵗ and √(1 − β₂ᵗ) of this update
W_SIZE = 31

# state rows given at the start (ST0: (ST_ROWS, n)): a velocity (x, y) and its flag
ST_ROWS = 3


# ---------------------------------------------------------------- a range of blocks
@jit_kernel
def map_chunk(
    fam: int,
    lid: int,
    lp: np.ndarray,
    steps: int,
    sid: int,
    sp: np.ndarray,
    const_lr: bool,
    known: bool,
    fstar: float,
    tol: float,
    factor: float,
    flags: np.ndarray,
    X: np.ndarray,
    P: np.ndarray,
    ST0: np.ndarray,
    BT: np.ndarray,
    btab: np.ndarray,
    OI: np.ndarray,
    OF: np.ndarray,
    block: int,
    lo0: int,
    hi0: int,
    W: np.ndarray,
) -> None:
    """Pixels ``lo0`` to ``hi0``, block after block of ``block`` pixels (``W``: a
    block's workspace, (W_SIZE, block)); threads run disjoint ranges at once (nogil).

    n pixels: ``X`` (2, n) starts; ``P`` (HP_ROWS, n) hyperparameters (row 0 the base
    rate); ``ST0`` (ST_ROWS, n) the initial state (velocity); ``BT`` (NT, 3, L) bias
    tables, pixel i's is ``BT[btab[i]]`` (L > steps; Adam family only); out: ``OI``
    (OI_SIZE, n) int32, ``OF`` (OF_SIZE, n) float64 (final loss, best loss, final x, y).
    ``lid``/``lp``: the landscape; ``sid``/``sp``: the schedule (``const_lr``: the rate
    is the base rate at every step); ``known``: f* known (``fstar``), ``tol``: its
    tolerance (loss or gradient), ``factor``: the divergence rule's.

    One function (~210 lines, past the usual length): it is the time loop of a block,
    which carries the block's state from step to step (the ping-pong point rows, the
    stop scan's rows, the family's moments); the work of a step is already in the
    passes it calls (land_pass, rate_pass, the family's update pass), and a part moved
    out would take the workspace's ~20 rows as arguments.
    """
    # the rows of the workspace (see the layout above)
    xa0 = W[_XA0]
    xa1 = W[_XA1]
    xb0 = W[_XB0]
    xb1 = W[_XB1]
    FA = W[_FA]
    FB = W[_FB]
    G0 = W[_G0]
    G1 = W[_G1]
    stop = W[_STOP]
    first = W[_FIRST]
    last = W[_LAST]
    best = W[_BEST]
    blown = W[_BLOWN]
    kind = W[_KIND]
    limit = W[_LIMIT]
    f0 = W[_F0]
    LR = W[_LR]
    fx0 = W[_FX0]
    fx1 = W[_FX1]
    fl = W[_FL]
    s0 = W[_S0]
    s1 = W[_S0 + 1]
    s2 = W[_S0 + 2]
    s3 = W[_S0 + 3]
    s4 = W[_S0 + 4]
    s5 = W[_S0 + 5]
    xt0 = W[_XT0]
    xt1 = W[_XT1]
    FT = W[_FT]
    BC1 = W[_BC1]
    BCS = W[_BCS]
    nesterov = flags[FL_NESTEROV] != 0
    amsgrad = flags[FL_AMSGRAD] != 0
    decoupled = flags[FL_DECOUPLED] != 0
    centered = flags[FL_CENTERED] != 0
    for lo in range(lo0, hi0, block):  # a block: its pixels from the start to the figures
        hi = min(lo + block, hi0)
        m = hi - lo
        base = P[0, lo:hi]
        p1 = P[1, lo:hi]
        p2 = P[2, lo:hi]
        p3 = P[3, lo:hi]
        p4 = P[4, lo:hi]
        bt_k = btab[lo:hi]
        plain = True  # sgd: μ = 0 and λ = 0 for every pixel of the block
        no_decay = True  # sgd: λ = 0 for every pixel of the block
        uniform = True  # every pixel of the block has the same hyperparameters and table
        for i in range(m):
            if p1[i] != 0.0 or p3[i] != 0.0:
                plain = False
            if p3[i] != 0.0:
                no_decay = False
            if (base[i] != base[0] or p1[i] != p1[0] or p2[i] != p2[0] or p3[i] != p3[0]
                    or p4[i] != p4[0] or bt_k[i] != bt_k[0]):  # fmt: skip
                uniform = False
        for i in range(m):
            xa0[i] = X[0, lo + i]
            xa1[i] = X[1, lo + i]
            stop[i] = -1.0
            first[i] = -1.0
            last[i] = -1.0
            best[i] = math.inf
            blown[i] = -1.0
            kind[i] = 1.0
            LR[i] = base[i]
            # the state: zeros, bar a velocity (sgd, momentum, nag: row 0) and adagrad's sums
            s0[i] = ST0[0, lo + i]
            s1[i] = ST0[1, lo + i]
            s2[i] = ST0[2, lo + i]  # sgd: the buffer exists
            s3[i] = 0.0
            s4[i] = 0.0
            s5[i] = 0.0
            if fam == FAM_ADAGRAD:
                s0[i] = p3[i]
                s1[i] = p3[i]
            elif fam == FAM_RMSPROP:
                s2[i] = 0.0
        t_end = 0
        for t in range(steps + 1):
            t_end = t
            tf = float(t)
            if t % 2 == 0:
                c0, c1, n0, n1, Fc, Fp = xa0, xa1, xb0, xb1, FA, FB
            else:
                c0, c1, n0, n1, Fc, Fp = xb0, xb1, xa0, xa1, FB, FA
            land_pass(lid, lp, c0, c1, Fc, G0, G1, m)
            if t == 0:
                for i in range(m):
                    v = Fc[i]
                    f0[i] = v
                    if known:
                        a = abs(v - fstar)
                        a = tol if tol > a else a  # np.maximum of finite values
                        limit[i] = factor * (1e-12 if a < 1e-12 else a)
                    else:
                        a = abs(v)
                        limit[i] = factor * (1.0 if a < 1.0 else a)
            if known:
                alive, died = scan_known(m, tf, Fc, G0, G1, stop, first, last, best, blown, limit,
                                         fstar, tol)  # fmt: skip
            else:
                alive, died = scan_unknown(m, tf, Fc, G0, G1, stop, first, last, best, blown, kind,
                                           limit, f0, tol)  # fmt: skip
            if died > 0:
                if t == 0:
                    fix_stopped(m, tf, stop, c0, c1, Fp, fx0, fx1, fl)
                else:
                    fix_stopped(m, tf, stop, n0, n1, Fp, fx0, fx1, fl)
            if alive == 0 or t == steps:
                break
            if not const_lr:
                rate_pass(m, sid, sp, base, tf, LR)
            if fam == FAM_SGD and plain:
                gd_pass(m, c0, c1, n0, n1, G0, G1, LR)
            elif fam == FAM_SGD and no_decay and t > 0:
                heavy_ball_pass(m, c0, c1, n0, n1, G0, G1, LR, p1, p2, s0, s1, nesterov)
            elif fam == FAM_SGD:
                sgd_pass(m, c0, c1, n0, n1, G0, G1, LR, p1, p2, p3, s0, s1, s2, nesterov)
            elif fam == FAM_MOMENTUM:
                momentum_pass(m, c0, c1, n0, n1, G0, G1, LR, p1, s0, s1)
            elif fam == FAM_NAG:
                nag_point(m, c0, c1, p1, s0, s1, xt0, xt1)
                land_pass(lid, lp, xt0, xt1, FT, G0, G1, m)
                nag_pass(m, c0, c1, n0, n1, G0, G1, LR, p1, s0, s1)
            elif fam == FAM_ADAM and uniform:
                lr = LR[0]
                k0 = bt_k[0]
                step_size = lr / BT[k0, 0, t + 1]
                adam_uniform_pass(m, c0, c1, n0, n1, G0, G1, lr, p1[0], p2[0], p3[0], p4[0],
                                  step_size, BT[k0, 2, t + 1], s0, s1, s2, s3, s4, s5, amsgrad,
                                  decoupled)  # fmt: skip
            elif fam == FAM_ADAM:
                bias_pass(m, t + 1, BT, bt_k, BC1, BCS)
                adam_pass(m, c0, c1, n0, n1, G0, G1, LR, p1, p2, p3, p4, s0, s1, s2, s3, s4, s5,
                          BC1, BCS, amsgrad, decoupled)  # fmt: skip
            elif fam == FAM_RMSPROP:
                rmsprop_pass(m, c0, c1, n0, n1, G0, G1, LR, p1, p2, p3, p4, s0, s1, s3, s4, s5,
                             s2, centered)  # fmt: skip
            elif fam == FAM_ADAGRAD:
                adagrad_pass(m, tf + 1.0, c0, c1, n0, n1, G0, G1, LR, p1, p2, p4, s0, s1)
        # the figures (reduce_race's rules); a running pixel ends at row t_end = steps
        if t_end % 2 == 0:
            c0, c1, Fc = xa0, xa1, FA
        else:
            c0, c1, Fc = xb0, xb1, FB
        for i in range(m):
            s = stop[i]
            dead = s >= 0.0
            count = s if dead else float(steps + 1)
            has = count > 0.0
            fin = fl[i] if dead else Fc[i]
            la = last[i]
            k = lo + i
            OI[OI_STEPS_TO_TOL, k] = np.int32(la + 1.0) if has and la + 1.0 < count else -1
            OI[OI_FIRST, k] = np.int32(first[i])
            div = -1.0
            unb = -1.0
            bl = blown[i]
            if bl >= 0.0:
                if kind[i] == 2.0:
                    unb = bl
                else:
                    div = bl
            elif dead:
                if (not known) and has and fin < f0[i]:
                    unb = s
                else:
                    div = s
            OI[OI_DIVERGED, k] = np.int32(div)
            OI[OI_UNBOUNDED, k] = np.int32(unb)
            OI[OI_UPDATES, k] = np.int32(s) if dead else np.int32(steps)
            OF[OF_FINAL_LOSS, k] = fin
            OF[OF_BEST_LOSS, k] = best[i] if has else math.nan
            OF[OF_X, k] = fx0[i] if dead else c0[i]
            OF[OF_Y, k] = fx1[i] if dead else c1[i]
