"""The Adam family as torch.optim has it: Adam, AdamW, NAdam, RAdam, Adamax, and the
tables of bias corrections they read instead of calling pow().

State: ``st[0]`` the first moment m, ``st[1]`` the second v (Adamax: the norm u),
``st[2]`` AMSGrad's maximum of v. Scalars: ``sc[0:2]`` and ``sc[2:4]`` record that
1 − β₁ᵗ and 1 − β₂ᵗ have become exactly 1 (``one_minus_pow``); NAdam keeps its
μ-product in ``sc[1]``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from engine.jit import jit
from engine.optimizers._common import (
    POW_FLOOR,
)
from engine.optimizers.spec import (
    BETA1,
    BETA2,
    DECOUPLED_WEIGHT_DECAY,
    EPS_IN_SQRT,
    WEIGHT_DECAY,
    Optimizer,
    eps_param,
    lr_param,
    slots,
)
from engine.params import ParamSpec

#: steps a bias-correction table covers at most (later steps call pow(), as before):
#: all of them for β₂ = 0.999 (1 − β₂ᵗ is exactly 1 from t ≈ 41,400), 1.5 MB per racer
BIAS_TABLE_MAX = 1 << 16

_BETAS = (("betas", ("beta1", "beta2")),)
_AMSGRAD = ParamSpec("amsgrad", False, "use the AMSGrad maximum of v", kind="bool")
_DECOUPLED = ParamSpec("decoupled_weight_decay", False, "decay weights as in AdamW", kind="bool")
_ADAM_STEP = "x ← x − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)"


# ---------------------------------------------------------------- bias tables
@functools.lru_cache(maxsize=64)
def _bias_table(beta1: float, beta2: float, length: int) -> np.ndarray:
    """A (3, length) array: row 0 = [β₁, 1 − β₁¹, 1 − β₁², ...], row 1 = [β₂, 1 − β₂¹, ...],
    row 2 = [β₂, (1 − β₂¹)^0.5, ...], with C pow() as torch.optim computes them in Python
    (a compiled loop: the same libm pow(), tested bit for bit against Python's). A NaN
    β leaves its rows NaN (unused). The updates use a row only when its first entry
    equals the racer's β (a table left from other betas is never used) and the step
    is within it. Tables are shared (cached, read-only)."""
    out = np.full((3, length), np.nan)
    for row, beta in ((0, beta1), (1, beta2)):
        if beta == beta:  # NaN: a row this optimizer does not use
            _fill_bias_rows(beta, out, row, 2 if row == 1 else -1)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _nadam_table(beta1: float, beta2: float, momentum_decay: float, length: int) -> np.ndarray:
    """NAdam's: row 0 = [β₁, μ₁, μ₂, ...] with μₛ = β₁·(1 − 0.5·0.96^(s·ψ)), ψ the momentum
    decay (its μₜ₊₁ is row 0's next entry: (s + 1.0)·ψ is float(s + 1)·ψ, the same bits);
    row 1 = [β₂, 1 − β₂¹, ...]; row 2 = [ψ, unused...]."""
    out = np.full((3, length), np.nan)
    _fill_bias_rows(beta2, out, 1, -1)
    _fill_mu_row(beta1, momentum_decay, out)
    out.flags.writeable = False
    return out


@jit
def _fill_mu_row(beta1: float, momentum_decay: float, out: np.ndarray) -> None:
    out[0, 0] = beta1
    out[2, 0] = momentum_decay
    for s in range(1, out.shape[1]):
        out[0, s] = beta1 * (1.0 - 0.5 * (0.96 ** (float(s) * momentum_decay)))


@jit
def _fill_bias_rows(beta: float, out: np.ndarray, row: int, sqrt_row: int) -> None:
    """out[row] = [β, 1 − β¹, 1 − β², ...] and, if sqrt_row >= 0, out[sqrt_row] = [β,
    (1 − β¹)^0.5, ...]: C pow() as in the updates and as Python/torch compute them (no
    vector maths library here: LLVM keeps each pow() a libm call; `** half` with a
    non-constant half, so LLVM cannot turn it into sqrt(), which rounds differently)."""
    n = out.shape[1]
    out[row, 0] = beta
    if sqrt_row >= 0:
        out[sqrt_row, 0] = beta
    done = False
    for s in range(1, n):
        step = float(s)
        half = step * 0.0 + 0.5
        bc = 1.0
        if not done:
            p = beta**step
            bc = 1.0 - p
            done = p <= POW_FLOOR  # 1 − β^s is exactly 1.0 from here (one_minus_pow)
        out[row, s] = bc
        if sqrt_row >= 0:
            out[sqrt_row, s] = 1.0 if bc == 1.0 else bc**half


# ---------------------------------------------------------------- specs
# hp slots, set from the specs below (slots()); the bias_table lambdas read them
BETA_1: int
BETA_2: int
MOMENTUM_DECAY: int

ADAM = Optimizer(
    "adam",
    "Adam (torch.optim.Adam)",
    (
        lr_param(0.001),
        BETA1,
        BETA2,
        eps_param(1e-8),
        WEIGHT_DECAY,
        _AMSGRAD,
        ParamSpec(
            "bias_correction",
            True,
            "divide m by 1 − β₁ᵗ and v by 1 − β₂ᵗ (false: the 003 notes' form)",
            kind="bool",
        ),
        EPS_IN_SQRT,
    ),
    "g ← ∇f(x) + λ·x\nm ← β₁·m + (1 − β₁)·g\nv ← β₂·v + (1 − β₂)·g²\n"
    f"v̂ ← max(v̂, v) (amsgrad) or v\n{_ADAM_STEP}\n"
    "bias_correction = false:  x ← x − η·m / (√v̂ + ε)\n"
    "eps_in_sqrt = true:  x ← x − η/(1 − β₁ᵗ) · m / √(v̂ / (1 − β₂ᵗ) + ε)   (or √(v̂ + ε))",
    description="Kingma & Ba's Adam with bias correction (Algorithm 1 of the paper); "
    "bias_correction = false is the 003 notes' Adam and eps_in_sqrt = true the 004 notes' "
    "(torch.optim.Adam has neither switch: checked against the formulas).",
    torch="Adam",
    decay="l2",
    torch_pairs=_BETAS,
    momentum_slot=0,
    velocity_sign=-1.0,
    bias_table=lambda hp, n: _bias_table(float(hp[BETA_1]), float(hp[BETA_2]), n),
)

ADAMW = Optimizer(
    "adamw",
    "AdamW (torch.optim.AdamW)",
    (lr_param(0.001), BETA1, BETA2, eps_param(1e-8), DECOUPLED_WEIGHT_DECAY, _AMSGRAD),
    f"x ← x·(1 − η·λ)\nm ← β₁·m + (1 − β₁)·g\nv ← β₂·v + (1 − β₂)·g²\n{_ADAM_STEP}",
    description="Adam with decoupled weight decay.",
    torch="AdamW",
    decay="decoupled",
    torch_pairs=_BETAS,
    momentum_slot=0,
    velocity_sign=-1.0,
    bias_table=lambda hp, n: _bias_table(float(hp[BETA_1]), float(hp[BETA_2]), n),
)

NADAM = Optimizer(
    "nadam",
    "NAdam (torch.optim.NAdam)",
    (
        lr_param(0.002),
        BETA1,
        BETA2,
        eps_param(1e-8),
        WEIGHT_DECAY,
        ParamSpec("momentum_decay", 0.004, "momentum decay ψ", lo=0.0, symbol="ψ"),
        _DECOUPLED,
    ),
    "μ_t ← β₁(1 − ½·0.96^(t·ψ)),  Π_t ← Π_{t−1}·μ_t\n"
    "m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  D ← √(v/(1 − β₂ᵗ)) + ε\n"
    "x ← x − η(1 − μ_t)/(1 − Π_t)·g/D − η·μ_{t+1}/(1 − Π_t·μ_{t+1})·m/D",
    description="Adam with Nesterov momentum (Dozat).",
    torch="NAdam",
    decay="l2",
    decay_switch="decoupled_weight_decay",
    torch_pairs=_BETAS,
    momentum_slot=0,
    velocity_sign=-1.0,
    bias_table=lambda hp, n: _nadam_table(
        float(hp[BETA_1]), float(hp[BETA_2]), float(hp[MOMENTUM_DECAY]), n
    ),
)

RADAM = Optimizer(
    "radam",
    "RAdam (torch.optim.RAdam)",
    (lr_param(0.001), BETA1, BETA2, eps_param(1e-8), WEIGHT_DECAY, _DECOUPLED),
    "m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  m̂ ← m/(1 − β₁ᵗ)\n"
    "ρ∞ = 2/(1 − β₂) − 1,  ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)\n"
    "ρ_t > 5:  r = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)),"
    "  x ← x − η·m̂·r·√(1 − β₂ᵗ)/(√v + ε)\n"
    "else:     x ← x − η·m̂",
    description="Rectified Adam: no adaptive step until the variance estimate is reliable.",
    torch="RAdam",
    decay="l2",
    decay_switch="decoupled_weight_decay",
    torch_pairs=_BETAS,
    momentum_slot=0,
    velocity_sign=-1.0,
)

ADAMAX = Optimizer(
    "adamax",
    "Adamax (torch.optim.Adamax)",
    (lr_param(0.002), BETA1, BETA2, eps_param(1e-8), WEIGHT_DECAY),
    "m ← β₁·m + (1 − β₁)·g\nu ← max(β₂·u, |g| + ε)\nx ← x − η/(1 − β₁ᵗ) · m/u",
    description="Adam with the infinity norm.",
    torch="Adamax",
    decay="l2",
    torch_pairs=_BETAS,
    momentum_slot=0,
    velocity_sign=-1.0,
    bias_table=lambda hp, n: _bias_table(float(hp[BETA_1]), math.nan, n),
)

_FAMILY = (ADAM.params, ADAMW.params, NADAM.params, RADAM.params, ADAMAX.params)
_, BETA_1, BETA_2, EPS, _ = slots("lr beta1 beta2 eps weight_decay", *_FAMILY)
AMSGRAD = slots("_ _ _ _ _ amsgrad", ADAM.params, ADAMW.params)[-1]
BIAS_CORRECTION, EPS_ROOT = slots("_ _ _ _ _ _ bias_correction eps_in_sqrt", ADAM.params)[-2:]
MOMENTUM_DECAY = slots("_ _ _ _ _ momentum_decay decoupled_weight_decay", NADAM.params)[-2]
slots("_ _ _ _ _ decoupled_weight_decay", RADAM.params)  # its decay_switch
