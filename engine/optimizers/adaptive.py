"""Per-coordinate rates: AdaGrad, AdaDelta and RMSProp, as torch.optim has them."""

from __future__ import annotations

from engine.optimizers.spec import (
    EPS_IN_SQRT,
    WEIGHT_DECAY,
    Optimizer,
    eps_param,
    lr_param,
    slots,
)
from engine.params import ParamSpec

ADAGRAD = Optimizer(
    "adagrad",
    "AdaGrad (torch.optim.Adagrad)",
    (
        lr_param(0.01),
        ParamSpec("lr_decay", 0.0, "learning-rate decay", lo=0.0),
        WEIGHT_DECAY,
        ParamSpec("initial_accumulator_value", 0.0, "initial value of G", lo=0.0),
        eps_param(1e-10),
        EPS_IN_SQRT,
    ),
    "g ← ∇f(x) + λ·x\nη_t ← η / (1 + (t − 1)·lr_decay)\nG ← G + g²\nx ← x − η_t·g / (√G + ε)\n"
    "eps_in_sqrt = true:  x ← x − η_t·g / √(G + ε)",
    description="Per-coordinate rates shrink with the sum of squared gradients; "
    "eps_in_sqrt = true is the lecture notes' form (torch.optim.Adagrad has no such "
    "switch: checked against the formula).",
    torch="Adagrad",
    decay="l2",
)

ADADELTA = Optimizer(
    "adadelta",
    "AdaDelta (torch.optim.Adadelta)",
    (
        lr_param(1.0),
        ParamSpec("rho", 0.9, "decay of the running averages", lo=0.0, hi=1.0, symbol="ρ"),
        eps_param(1e-6),
        WEIGHT_DECAY,
    ),
    "g ← ∇f(x) + λ·x\nE[g²] ← ρ·E[g²] + (1 − ρ)·g²\n"
    "Δ ← √(E[Δ²] + ε) / √(E[g²] + ε) · g\nE[Δ²] ← ρ·E[Δ²] + (1 − ρ)·Δ²\nx ← x − η·Δ",
    description="Zeiler's AdaDelta: the ratio of two running RMS values sets the step.",
    torch="Adadelta",
    decay="l2",
)

RMSPROP = Optimizer(
    "rmsprop",
    "RMSProp (torch.optim.RMSprop)",
    (
        lr_param(0.01),
        ParamSpec(
            "alpha", 0.99, "decay of the squared-gradient average", lo=0.0, hi=1.0, symbol="α"
        ),
        eps_param(1e-8),
        WEIGHT_DECAY,
        ParamSpec("momentum", 0.0, "momentum μ", lo=0.0, hi=1.0, symbol="μ"),
        ParamSpec("centered", False, "divide by the centred variance", kind="bool"),
        EPS_IN_SQRT,
    ),
    "g ← ∇f(x) + λ·x\nE[g²] ← α·E[g²] + (1 − α)·g²\n"
    "D ← √E[g²] + ε   (centered: D ← √(E[g²] − E[g]²) + ε, E[g] ← α·E[g] + (1 − α)·g)\n"
    "eps_in_sqrt = true:  D ← √(E[g²] + ε)   (centered: D ← √(E[g²] − E[g]² + ε))\n"
    "μ > 0:  b ← μ·b + g/D,  x ← x − η·b;   else  x ← x − η·g/D",
    description="Hinton's RMSProp; the lectures' E[g²] ← 0.9E[g²] + 0.1g² is alpha = 0.9, "
    "and their ε under the root is eps_in_sqrt = true (torch.optim.RMSprop adds it after "
    "the root and has no such switch: checked against the formula).",
    torch="RMSprop",
    decay="l2",
    momentum_slot=2,
    velocity_sign=-1.0,
)

_, LR_DECAY, _, INITIAL, AG_EPS, AG_EPS_ROOT = slots(
    "lr lr_decay weight_decay initial_accumulator_value eps eps_in_sqrt", ADAGRAD.params
)
_, RHO, AD_EPS, _ = slots("lr rho eps weight_decay", ADADELTA.params)
_, ALPHA, RMS_EPS, _, RMS_MOMENTUM, CENTERED, RMS_EPS_ROOT = slots(
    "lr alpha eps weight_decay momentum centered eps_in_sqrt", RMSPROP.params
)
