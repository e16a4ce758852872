"""Small inlined helpers shared by the updates, each written once.

Each reproduces torch.optim's float64 arithmetic operation by operation (the order of
the operations is part of the result: trajectories are compared bit for bit), so an
update that uses one gets torch's bits for that part. None calls another: numba's IR
inliner re-runs its passes on every inlined function and deep-copies its IR, so a
nested helper is paid for once per level (see engine.optimizers.opt_update).
"""

from __future__ import annotations

import numpy as np

from engine.jit import jit_inline

# beta**step below this: 1 − beta**step is exactly 1.0 at this step and every later one
POW_FLOOR = 2.0**-60


@jit_inline
def ema(m: float, g: float, beta: float) -> float:
    """β·m + (1 − β)·g as torch's ``m.lerp_(g, 1 − β)``, with torch.lerp's scalar formula
    (exact same rounding): the Adam family's first moment, RMSProp's centred mean."""
    w = 1.0 - beta
    if abs(w) < 0.5:
        return m + w * (g - m)
    return g - (g - m) * (1.0 - w)


@jit_inline
def mix(v: float, g: float, beta: float) -> float:
    """β·v + (1 − β)·g as ``v.mul_(β).add_(g, alpha=1 − β)`` (products commute exactly)."""
    return v * beta + (1.0 - beta) * g


@jit_inline
def ema_sq(v: float, g: float, beta: float) -> float:
    """β·v + (1 − β)·g², as torch's ``v.mul_(β).addcmul_(g, g, value=1 − β)``."""
    return v * beta + (1.0 - beta) * g * g


@jit_inline
def sign(v: float) -> float:
    """torch.sign: 1, −1 or 0, and NaN for NaN."""
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    if v != v:
        return v
    return 0.0


@jit_inline
def one_minus_pow(beta: float, step: float, sc: np.ndarray, k: int) -> float:
    """``1.0 − beta**step`` (torch's bias correction, same bits), skipping the pow() call.

    pow() costs ~20 ns, most of an Adam step. For 0 <= beta < 1, beta**step decreases
    with step: once the computed power is <= 2^-60 (with < 1 ulp of error, every later
    power is below 2^-58), 1 − power rounds to exactly 1.0 from then on. ``sc[k]`` = 1
    and ``sc[k + 1]`` = beta record that state (a racer's step only grows; a reset
    zeroes ``sc``; a changed beta no longer matches ``sc[k + 1]`` and starts over).
    """
    if sc[k] != 0.0 and sc[k + 1] == beta:
        return 1.0
    p: float = beta**step
    if p <= POW_FLOOR:
        sc[k] = 1.0
        sc[k + 1] = beta
    return 1.0 - p
