"""Damped (saddle-free) Newton: a step through the eigen-decomposition of the Hessian.

Its update is made by the race kernel's ``special_step`` (engine.kernel), which
provides the Hessian at x (the spec's ``hessian``).
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit_inline
from engine.optimizers.spec import Optimizer, slots
from engine.params import ParamSpec

NEWTON = Optimizer(
    "newton",
    "Damped Newton (saddle-free)",
    (
        ParamSpec(
            "lr",
            1.0,
            "step scale η (1 = full Newton step)",
            lo=0.0,
            hi=1e6,
            lo_open=True,
            log=True,
            symbol="η",
        ),
        ParamSpec(
            "damping",
            1e-3,
            "eigenvalue floor δ (saddle-free form only)",
            lo=0.0,
            lo_open=True,
            log=True,
            symbol="δ",
        ),
        ParamSpec(
            "saddle_free",
            True,
            "use max(|λᵢ|, δ) (false: plain Newton x − η·H⁻¹·∇f, δ unused)",
            kind="bool",
        ),
    ),
    "H = V·diag(λᵢ)·Vᵀ  (analytic Hessian at x)\n"
    "H̃ = V·diag(max(|λᵢ|, δ))·Vᵀ   (positive definite even at saddles)\n"
    "x ← x − η·H̃⁻¹·∇f(x)\n"
    "saddle_free = false:  H̃ = H (δ unused),  x ← x − η·H⁻¹·∇f(x);  "
    "singular H: a non-finite step (diverged)",
    description="Second-order step; |λ| makes it move away from saddles and maxima. "
    "Plain Newton (saddle_free = false) jumps to the stationary point of the local "
    "quadratic model, a saddle or a maximum as readily as a minimum.",
    special=True,
    hessian=True,
)

_, DAMPING, SADDLE_FREE = slots("lr damping saddle_free", NEWTON.params)


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
