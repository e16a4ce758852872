"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of
an interpolation of momentum and gradient, with decoupled weight decay."""

from __future__ import annotations

from engine.optimizers.spec import Optimizer, lr_param, slots
from engine.params import ParamSpec

LION = Optimizer(
    "lion",
    "Lion (evolved sign momentum)",
    (
        lr_param(1e-4),
        ParamSpec(
            "beta1", 0.9, "interpolation of m and g", lo=0.0, hi=1.0, hi_open=True, symbol="β₁"
        ),
        ParamSpec(
            "beta2", 0.99, "decay of the momentum m", lo=0.0, hi=1.0, hi_open=True, symbol="β₂"
        ),
        ParamSpec("weight_decay", 0.0, "decoupled weight decay λ", lo=0.0, symbol="λ"),
    ),
    "c ← β₁·m + (1 − β₁)·g\nx ← x·(1 − η·λ) − η·sign(c)\nm ← β₂·m + (1 − β₂)·g",
    description="Chen et al.'s Lion: every coordinate moves by ±η, the sign of a mix "
    "of the momentum and the gradient; the momentum decays more slowly (β₂ > β₁).",
    reference="the paper's formula",
    decay="decoupled",
    momentum_slot=0,
    velocity_sign=-1.0,
)

_, BETA1, BETA2, _ = slots("lr beta1 beta2 weight_decay", LION.params)
