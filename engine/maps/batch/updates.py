"""The batch kernel's update passes: opt_update's branches (engine.optimizers) on a
block in structure-of-arrays form, per-pixel hyperparameters, each element the same
operations in the same order as the race's update (the helpers of
engine.optimizers._common), so the same bits. ``c``: the point of this row, ``n``: the
next one (the other half of the double buffer), ``G``: the gradient the update sees.

Each family's arithmetic on one coordinate is a small ``jit_inline`` function (``*_coord``:
the coordinate, its gradient and state in, the next coordinate and state out), written
once and used for both coordinates by every pass of the family (per-pixel or uniform
hyperparameters); numba inlines it, so it costs nothing. The passes read and write
the rows."""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit_hot, jit_inline
from engine.optimizers._common import ema, ema_sq, mix


# ---------------------------------------------------------------- one coordinate
@jit_inline
def sgd_coord(
    x: float, g: float, b: float, lr: float, mu: float, w: float, tau: float, fresh: bool,
    nesterov: bool,
) -> tuple[float, float]:  # fmt: skip
    """opt_update's SGD: L2 decay g ← g + λ·x (λ ≠ 0); the buffer b ← g (``fresh``: the
    first update) or b·μ + (1 − τ)·g (τ: the dampening); the step g (μ = 0), b or
    g + μ·b (nesterov); x + (−η)·step. Returns (x, b)."""
    if w != 0.0:
        g = g + w * x
    bb = g if fresh else b * mu + tau * g
    u = g + mu * bb if nesterov else bb
    s = g if mu == 0.0 else u
    return x + (-lr) * s, bb


@jit_inline
def momentum_coord(x: float, g: float, v: float, lr: float, beta: float) -> tuple[float, float]:
    """opt_update's momentum: v ← mix(v, g, β), x ← x − η·v. Returns (x, v)."""
    v = mix(v, g, beta)
    return x - lr * v, v


@jit_inline
def nag_coord(x: float, g: float, v: float, lr: float, rho: float) -> tuple[float, float]:
    """opt_update's nag (g at the look-ahead point): v ← ρ·v − η·g, x ← x + v. Returns
    (x, v)."""
    v = rho * v - lr * g
    return x + v, v


@jit_inline
def adam_coord(
    x: float, g: float, m: float, v: float, a: float, lr: float, w: float, b1: float,
    b2: float, e: float, step_size: float, bcs: float, amsgrad: bool, decoupled: bool,
) -> tuple[float, float, float, float]:  # fmt: skip
    """opt_update's adam / adamw: decay (L2 or decoupled, λ ≠ 0), m ← ema, v ← ema_sq,
    v̂ (amsgrad: the running maximum ``a``, else v), x ← x + (−η/bc1)·m / (√v̂ / √bc2 + ε)
    (``step_size`` = η/bc1, ``bcs`` = √bc2: no division once it is 1). Returns
    (x, m, v, v̂)."""
    if w != 0.0:
        if decoupled:
            x = x * (1.0 - lr * w)
        else:
            g = g + w * x
    m = ema(m, g, b1)
    v = ema_sq(v, g, b2)
    h = v
    if amsgrad:
        h = a
        if v > h:
            h = v
    r = math.sqrt(h)
    if bcs != 1.0:
        r = r / bcs
    return x + (-step_size) * m / (r + e), m, v, h


@jit_inline
def rmsprop_coord(
    x: float, g: float, s: float, a: float, b: float, lr: float, w: float, al: float,
    e: float, mu: float, centered: bool,
) -> tuple[float, float, float, float]:  # fmt: skip
    """opt_update's rmsprop: L2 decay, E[g²] (s), E[g] (a, centered), the buffer b
    (the step when μ > 0, else g / (√(s − a²) + ε)). Returns (x, s, a, b)."""
    if w != 0.0:
        g = g + w * x
    s = ema_sq(s, g, al)
    if centered:
        a = ema(a, g, al)
        avg = math.sqrt(s + (-1.0) * a * a)
    else:
        avg = math.sqrt(s)
    avg = avg + e
    b = b * mu + 1.0 * g / avg
    if mu > 0.0:
        return x + (-lr) * b, s, a, b
    return x + (-lr) * g / avg, s, a, b


@jit_inline
def adagrad_coord(
    x: float, g: float, s: float, clr: float, w: float, e: float
) -> tuple[float, float]:
    """opt_update's adagrad at the decayed rate ``clr``: L2 decay, s ← s + g², x ←
    x + (−clr)·g / (√s + ε). Returns (x, s)."""
    if w != 0.0:
        g = g + w * x
    s = s + 1.0 * g * g
    return x + (-clr) * g / (math.sqrt(s) + e), s


# ---------------------------------------------------------------- the update passes
@jit_hot
def sgd_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray, mom: np.ndarray, damp: np.ndarray, wd: np.ndarray,
    b0: np.ndarray, b1: np.ndarray, hb: np.ndarray, nesterov: bool,
) -> None:  # fmt: skip
    """sgd_coord on every pixel; ``hb``: its buffer exists (set by the first update
    with μ ≠ 0)."""
    for i in range(m):
        lr = LR[i]
        mu = mom[i]
        w = wd[i]
        fresh = hb[i] == 0.0
        tau = 1.0 - damp[i]
        n0[i], b0[i] = sgd_coord(c0[i], G0[i], b0[i], lr, mu, w, tau, fresh, nesterov)
        n1[i], b1[i] = sgd_coord(c1[i], G1[i], b1[i], lr, mu, w, tau, fresh, nesterov)
        hb[i] = 1.0 if mu != 0.0 else hb[i]


@jit_hot
def heavy_ball_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray, mom: np.ndarray, damp: np.ndarray, b0: np.ndarray,
    b1: np.ndarray, nesterov: bool,
) -> None:  # fmt: skip
    """sgd_pass after the first update of a block without weight decay: every pixel with
    μ ≠ 0 has its buffer (sgd_pass made it), so b ← b·μ + (1 − τ)·g, the same bits
    without the flag; a pixel with μ = 0 steps by g (its buffer is never read)."""
    for i in range(m):
        lr = LR[i]
        mu = mom[i]
        tau = 1.0 - damp[i]
        n0[i], b0[i] = sgd_coord(c0[i], G0[i], b0[i], lr, mu, 0.0, tau, False, nesterov)
        n1[i], b1[i] = sgd_coord(c1[i], G1[i], b1[i], lr, mu, 0.0, tau, False, nesterov)


@jit_hot
def gd_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray,
) -> None:  # fmt: skip
    """Plain SGD (μ = 0, λ = 0 for the whole block: sgd_coord's x + (−η)·g)."""
    for i in range(m):
        lr = LR[i]
        n0[i] = sgd_coord(c0[i], G0[i], 0.0, lr, 0.0, 0.0, 1.0, True, False)[0]
        n1[i] = sgd_coord(c1[i], G1[i], 0.0, lr, 0.0, 0.0, 1.0, True, False)[0]


@jit_hot
def momentum_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray, beta: np.ndarray, v0: np.ndarray, v1: np.ndarray,
) -> None:  # fmt: skip
    """momentum_coord on every pixel."""
    for i in range(m):
        lr = LR[i]
        bt = beta[i]
        n0[i], v0[i] = momentum_coord(c0[i], G0[i], v0[i], lr, bt)
        n1[i], v1[i] = momentum_coord(c1[i], G1[i], v1[i], lr, bt)


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
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray, rho: np.ndarray, v0: np.ndarray, v1: np.ndarray,
) -> None:  # fmt: skip
    """nag_coord on every pixel (G: the gradient at the look-ahead point)."""
    for i in range(m):
        lr = LR[i]
        r = rho[i]
        n0[i], v0[i] = nag_coord(c0[i], G0[i], v0[i], lr, r)
        n1[i], v1[i] = nag_coord(c1[i], G1[i], v1[i], lr, r)


@jit_hot
def adam_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray, beta1: np.ndarray, beta2: np.ndarray, eps: np.ndarray,
    wd: np.ndarray, m0: np.ndarray, m1: np.ndarray, v0: np.ndarray, v1: np.ndarray,
    a0: np.ndarray, a1: np.ndarray, BC1: np.ndarray, BCS: np.ndarray, amsgrad: bool,
    decoupled: bool,
) -> None:  # fmt: skip
    """adam_coord on every pixel, its own hyperparameters; ``BC1``, ``BCS``: this
    update's 1 − β₁ᵗ and √(1 − β₂ᵗ) from the racer's bias table (ones:
    bias_correction = false); ``a``: amsgrad's running maxima (not touched otherwise)."""
    for i in range(m):
        lr = LR[i]
        w = wd[i]
        b1 = beta1[i]
        b2 = beta2[i]
        e = eps[i]
        bcs = BCS[i]
        step_size = lr / BC1[i]
        n0[i], m0[i], v0[i], h0 = adam_coord(c0[i], G0[i], m0[i], v0[i], a0[i], lr, w, b1, b2,
                                             e, step_size, bcs, amsgrad, decoupled)  # fmt: skip
        n1[i], m1[i], v1[i], h1 = adam_coord(c1[i], G1[i], m1[i], v1[i], a1[i], lr, w, b1, b2,
                                             e, step_size, bcs, amsgrad, decoupled)  # fmt: skip
        if amsgrad:
            a0[i] = h0
            a1[i] = h1


@jit_hot
def adam_uniform_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, lr: float, b1: float, b2: float, e: float, w: float, step_size: float,
    bcs: float, m0: np.ndarray, m1: np.ndarray, v0: np.ndarray, v1: np.ndarray,
    a0: np.ndarray, a1: np.ndarray, amsgrad: bool, decoupled: bool,
) -> None:  # fmt: skip
    """adam_pass for a block whose pixels share every hyperparameter and bias table (a
    start map): the shared values (``step_size`` = η/bc1, ``bcs``) computed once per
    step instead of once per pixel."""
    for i in range(m):
        n0[i], m0[i], v0[i], h0 = adam_coord(c0[i], G0[i], m0[i], v0[i], a0[i], lr, w, b1, b2,
                                             e, step_size, bcs, amsgrad, decoupled)  # fmt: skip
        n1[i], m1[i], v1[i], h1 = adam_coord(c1[i], G1[i], m1[i], v1[i], a1[i], lr, w, b1, b2,
                                             e, step_size, bcs, amsgrad, decoupled)  # fmt: skip
        if amsgrad:
            a0[i] = h0
            a1[i] = h1


@jit_hot
def rmsprop_pass(
    m: int, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray, G0: np.ndarray,
    G1: np.ndarray, LR: np.ndarray, alpha: np.ndarray, eps: np.ndarray, wd: np.ndarray,
    mom: np.ndarray, s0: np.ndarray, s1: np.ndarray, a0: np.ndarray, a1: np.ndarray,
    b0: np.ndarray, b1: np.ndarray, centered: bool,
) -> None:  # fmt: skip
    """rmsprop_coord on every pixel: E[g²] (s), E[g] (a: centered only), the buffer b."""
    for i in range(m):
        lr = LR[i]
        w = wd[i]
        al = alpha[i]
        e = eps[i]
        mu = mom[i]
        n0[i], s0[i], ga0, b0[i] = rmsprop_coord(c0[i], G0[i], s0[i], a0[i], b0[i], lr, w, al,
                                                 e, mu, centered)  # fmt: skip
        n1[i], s1[i], ga1, b1[i] = rmsprop_coord(c1[i], G1[i], s1[i], a1[i], b1[i], lr, w, al,
                                                 e, mu, centered)  # fmt: skip
        if centered:
            a0[i] = ga0
            a1[i] = ga1


@jit_hot
def adagrad_pass(
    m: int, step: float, c0: np.ndarray, c1: np.ndarray, n0: np.ndarray, n1: np.ndarray,
    G0: np.ndarray, G1: np.ndarray, LR: np.ndarray, lr_decay: np.ndarray, wd: np.ndarray,
    eps: np.ndarray, s0: np.ndarray, s1: np.ndarray,
) -> None:  # fmt: skip
    """adagrad_coord on every pixel (``step`` = t + 1; the sums start at the initial
    value), the rate η / (1 + (step − 1)·decay)."""
    for i in range(m):
        w = wd[i]
        e = eps[i]
        clr = LR[i] / (1.0 + (step - 1.0) * lr_decay[i])
        n0[i], s0[i] = adagrad_coord(c0[i], G0[i], s0[i], clr, w, e)
        n1[i], s1[i] = adagrad_coord(c1[i], G1[i], s1[i], clr, w, e)
