"""The batch kernel's update passes: opt_update's branches (engine.optimizers) on a
block in structure-of-arrays form, per-pixel hyperparameters, each element the same
operations in the same order as the race's update (the helpers of
engine.optimizers._common), so the same bits. ``c``: the point of this row, ``n``: the
next one (the other half of the double buffer), ``G``: the gradient the update sees."""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit_hot
from engine.optimizers._common import ema, ema_sq, mix


# ---------------------------------------------------------------- the update passes
@jit_hot
def sgd_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    mom: np.ndarray,
    damp: np.ndarray,
    wd: np.ndarray,
    b0: np.ndarray,
    b1: np.ndarray,
    hb: np.ndarray,
    nesterov: bool,
) -> None:
    """opt_update's SGD: L2 decay g ← g + λ·x (λ ≠ 0); μ = 0: x + (−η)·g; else the buffer
    b ← g (first update) or b·μ + (1 − τ)·g, the step b or g + μ·b (nesterov)."""
    for i in range(m):
        lr = LR[i]
        mu = mom[i]
        w = wd[i]
        x0 = c0[i]
        x1 = c1[i]
        g0 = G0[i]
        g1 = G1[i]
        if w != 0.0:
            g0 = g0 + w * x0
            g1 = g1 + w * x1
        fresh = hb[i] == 0.0
        tau = 1.0 - damp[i]
        bb0 = g0 if fresh else b0[i] * mu + tau * g0
        bb1 = g1 if fresh else b1[i] * mu + tau * g1
        b0[i] = bb0
        b1[i] = bb1
        hb[i] = 1.0 if mu != 0.0 else hb[i]
        if nesterov:
            u0 = g0 + mu * bb0
            u1 = g1 + mu * bb1
        else:
            u0 = bb0
            u1 = bb1
        s0 = g0 if mu == 0.0 else u0
        s1 = g1 if mu == 0.0 else u1
        n0[i] = x0 + (-lr) * s0
        n1[i] = x1 + (-lr) * s1


@jit_hot
def heavy_ball_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    mom: np.ndarray,
    damp: np.ndarray,
    b0: np.ndarray,
    b1: np.ndarray,
    nesterov: bool,
) -> None:
    """sgd_pass after the first update of a block without weight decay: every pixel with
    μ ≠ 0 has its buffer (sgd_pass made it), so b ← b·μ + (1 − τ)·g, the same bits
    without the flag; a pixel with μ = 0 steps by g (its buffer is never read)."""
    for i in range(m):
        lr = LR[i]
        mu = mom[i]
        g0 = G0[i]
        g1 = G1[i]
        tau = 1.0 - damp[i]
        bb0 = b0[i] * mu + tau * g0
        bb1 = b1[i] * mu + tau * g1
        b0[i] = bb0
        b1[i] = bb1
        if nesterov:
            u0 = g0 + mu * bb0
            u1 = g1 + mu * bb1
        else:
            u0 = bb0
            u1 = bb1
        s0 = g0 if mu == 0.0 else u0
        s1 = g1 if mu == 0.0 else u1
        n0[i] = c0[i] + (-lr) * s0
        n1[i] = c1[i] + (-lr) * s1


@jit_hot
def gd_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray,
) -> None:  # fmt: skip
    """opt_update's plain SGD (μ = 0, λ = 0 for the whole block): x + (−η)·g."""
    for i in range(m):
        lr = LR[i]
        n0[i] = c0[i] + (-lr) * G0[i]
        n1[i] = c1[i] + (-lr) * G1[i]


@jit_hot
def momentum_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    beta: np.ndarray,
    v0: np.ndarray,
    v1: np.ndarray,
) -> None:
    """opt_update's momentum: v ← mix(v, g, β), x ← x − η·v."""
    for i in range(m):
        lr = LR[i]
        bt = beta[i]
        a = mix(v0[i], G0[i], bt)
        b = mix(v1[i], G1[i], bt)
        v0[i] = a
        v1[i] = b
        n0[i] = c0[i] - lr * a
        n1[i] = c1[i] - lr * b


@jit_hot
def nag_point(
    m: int, c0: np.ndarray, c1: np.ndarray, rho: np.ndarray, v0: np.ndarray, v1: np.ndarray,
    xt0: np.ndarray, xt1: np.ndarray,
) -> None:  # fmt: skip
    """nag's look-ahead point x + ρ·v (the race kernel's extra evaluation)."""
    for i in range(m):
        r = rho[i]
        xt0[i] = c0[i] + r * v0[i]
        xt1[i] = c1[i] + r * v1[i]


@jit_hot
def nag_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    rho: np.ndarray,
    v0: np.ndarray,
    v1: np.ndarray,
) -> None:
    """opt_update's nag (g at the look-ahead point): v ← ρ·v − η·g, x ← x + v."""
    for i in range(m):
        lr = LR[i]
        r = rho[i]
        a = r * v0[i] - lr * G0[i]
        b = r * v1[i] - lr * G1[i]
        v0[i] = a
        v1[i] = b
        n0[i] = c0[i] + a
        n1[i] = c1[i] + b


@jit_hot
def adam_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    beta1: np.ndarray,
    beta2: np.ndarray,
    eps: np.ndarray,
    wd: np.ndarray,
    m0: np.ndarray,
    m1: np.ndarray,
    v0: np.ndarray,
    v1: np.ndarray,
    a0: np.ndarray,
    a1: np.ndarray,
    BC1: np.ndarray,
    BCS: np.ndarray,
    amsgrad: bool,
    decoupled: bool,
) -> None:
    """opt_update's adam / adamw: decay (L2 or decoupled, λ ≠ 0), m ← ema, v ← ema_sq,
    v̂ (amsgrad: the running maximum), x ← x + (−η/bc1)·m / (√v̂ / √bc2 + ε) (no
    division by √bc2 once it is 1). ``BC1``, ``BCS``: this update's 1 − β₁ᵗ and
    √(1 − β₂ᵗ) from the racer's bias table (ones: bias_correction = false)."""
    for i in range(m):
        lr = LR[i]
        w = wd[i]
        x0 = c0[i]
        x1 = c1[i]
        g0 = G0[i]
        g1 = G1[i]
        if w != 0.0:
            if decoupled:
                x0 = x0 * (1.0 - lr * w)
                x1 = x1 * (1.0 - lr * w)
            else:
                g0 = g0 + w * x0
                g1 = g1 + w * x1
        b1 = beta1[i]
        b2 = beta2[i]
        e = eps[i]
        bcs = BCS[i]
        step_size = lr / BC1[i]
        mm0 = ema(m0[i], g0, b1)
        mm1 = ema(m1[i], g1, b1)
        m0[i] = mm0
        m1[i] = mm1
        vv0 = ema_sq(v0[i], g0, b2)
        vv1 = ema_sq(v1[i], g1, b2)
        v0[i] = vv0
        v1[i] = vv1
        if amsgrad:
            h0 = a0[i]
            h1 = a1[i]
            if vv0 > h0:
                h0 = vv0
            if vv1 > h1:
                h1 = vv1
            a0[i] = h0
            a1[i] = h1
        else:
            h0 = vv0
            h1 = vv1
        r0 = math.sqrt(h0)
        r1 = math.sqrt(h1)
        if bcs != 1.0:
            r0 = r0 / bcs
            r1 = r1 / bcs
        n0[i] = x0 + (-step_size) * mm0 / (r0 + e)
        n1[i] = x1 + (-step_size) * mm1 / (r1 + e)


@jit_hot
def adam_uniform_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    lr: float,
    b1: float,
    b2: float,
    e: float,
    w: float,
    step_size: float,
    bcs: float,
    m0: np.ndarray,
    m1: np.ndarray,
    v0: np.ndarray,
    v1: np.ndarray,
    a0: np.ndarray,
    a1: np.ndarray,
    amsgrad: bool,
    decoupled: bool,
) -> None:
    """adam_pass for a block whose pixels share every hyperparameter and bias table (a
    start map): the same operations, the shared ones (``step_size`` = η/bc1, the tests
    on λ and √bc2) once per step instead of once per pixel."""
    for i in range(m):
        x0 = c0[i]
        x1 = c1[i]
        g0 = G0[i]
        g1 = G1[i]
        if w != 0.0:
            if decoupled:
                x0 = x0 * (1.0 - lr * w)
                x1 = x1 * (1.0 - lr * w)
            else:
                g0 = g0 + w * x0
                g1 = g1 + w * x1
        mm0 = ema(m0[i], g0, b1)
        mm1 = ema(m1[i], g1, b1)
        m0[i] = mm0
        m1[i] = mm1
        vv0 = ema_sq(v0[i], g0, b2)
        vv1 = ema_sq(v1[i], g1, b2)
        v0[i] = vv0
        v1[i] = vv1
        if amsgrad:
            h0 = a0[i]
            h1 = a1[i]
            if vv0 > h0:
                h0 = vv0
            if vv1 > h1:
                h1 = vv1
            a0[i] = h0
            a1[i] = h1
        else:
            h0 = vv0
            h1 = vv1
        r0 = math.sqrt(h0)
        r1 = math.sqrt(h1)
        if bcs != 1.0:
            r0 = r0 / bcs
            r1 = r1 / bcs
        n0[i] = x0 + (-step_size) * mm0 / (r0 + e)
        n1[i] = x1 + (-step_size) * mm1 / (r1 + e)


@jit_hot
def rmsprop_pass(
    m: int,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    alpha: np.ndarray,
    eps: np.ndarray,
    wd: np.ndarray,
    mom: np.ndarray,
    s0: np.ndarray,
    s1: np.ndarray,
    a0: np.ndarray,
    a1: np.ndarray,
    b0: np.ndarray,
    b1: np.ndarray,
    centered: bool,
) -> None:
    """opt_update's rmsprop: E[g²] (s), E[g] (a, centered), the buffer b (μ > 0)."""
    for i in range(m):
        lr = LR[i]
        w = wd[i]
        al = alpha[i]
        e = eps[i]
        mu = mom[i]
        x0 = c0[i]
        x1 = c1[i]
        g0 = G0[i]
        g1 = G1[i]
        if w != 0.0:
            g0 = g0 + w * x0
            g1 = g1 + w * x1
        sq0 = ema_sq(s0[i], g0, al)
        sq1 = ema_sq(s1[i], g1, al)
        s0[i] = sq0
        s1[i] = sq1
        if centered:
            ga0 = ema(a0[i], g0, al)
            ga1 = ema(a1[i], g1, al)
            a0[i] = ga0
            a1[i] = ga1
            avg0 = math.sqrt(sq0 + (-1.0) * ga0 * ga0)
            avg1 = math.sqrt(sq1 + (-1.0) * ga1 * ga1)
        else:
            avg0 = math.sqrt(sq0)
            avg1 = math.sqrt(sq1)
        avg0 = avg0 + e
        avg1 = avg1 + e
        bb0 = b0[i] * mu + 1.0 * g0 / avg0
        bb1 = b1[i] * mu + 1.0 * g1 / avg1
        b0[i] = bb0
        b1[i] = bb1
        if mu > 0.0:
            n0[i] = x0 + (-lr) * bb0
            n1[i] = x1 + (-lr) * bb1
        else:
            n0[i] = x0 + (-lr) * g0 / avg0
            n1[i] = x1 + (-lr) * g1 / avg1


@jit_hot
def adagrad_pass(
    m: int,
    step: float,
    c0: np.ndarray,
    c1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    G0: np.ndarray,
    G1: np.ndarray,
    LR: np.ndarray,
    lr_decay: np.ndarray,
    wd: np.ndarray,
    eps: np.ndarray,
    s0: np.ndarray,
    s1: np.ndarray,
) -> None:
    """opt_update's adagrad (``step`` = t + 1; the sums start at the initial value)."""
    for i in range(m):
        lr = LR[i]
        w = wd[i]
        e = eps[i]
        x0 = c0[i]
        x1 = c1[i]
        g0 = G0[i]
        g1 = G1[i]
        if w != 0.0:
            g0 = g0 + w * x0
            g1 = g1 + w * x1
        clr = lr / (1.0 + (step - 1.0) * lr_decay[i])
        a = s0[i] + 1.0 * g0 * g0
        b = s1[i] + 1.0 * g1 * g1
        s0[i] = a
        s1[i] = b
        n0[i] = x0 + (-clr) * g0 / (math.sqrt(a) + e)
        n1[i] = x1 + (-clr) * g1 / (math.sqrt(b) + e)
