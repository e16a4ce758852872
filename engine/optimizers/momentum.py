"""The lectures' momentum forms: the EMA form (momentum) and look-ahead NAG (nag)."""

from __future__ import annotations

from engine.optimizers.spec import Optimizer, lr_param, slots
from engine.params import ParamSpec

MOMENTUM = Optimizer(
    "momentum",
    "Momentum (EMA form of the lectures)",
    (
        lr_param(0.01),
        ParamSpec("momentum", 0.9, "EMA factor β", lo=0.0, hi=1.0, hi_open=True, symbol="β"),
    ),
    "v ← β·v + (1 − β)·∇f(x)\nx ← x − η·v",
    description="Gradient descent on an exponential moving average of the gradients; "
    "the same path as heavy ball (sgd) with μ = β and η·(1 − β).",
    momentum_slot=0,
    velocity_sign=-1.0,
    velocity="v, in gradient units (the step is −η·v)",
    velocity_units="gradient",
)

NAG = Optimizer(
    "nag",
    "Nesterov accelerated gradient (look-ahead form)",
    (
        lr_param(0.001),
        ParamSpec("momentum", 0.9, "momentum ρ", lo=0.0, hi=1.0, hi_open=True, symbol="ρ"),
    ),
    "v ← ρ·v − η·∇f(x + ρ·v)\nx ← x + v",
    description="Lecture 5's NAG: the gradient is measured at the look-ahead point.",
    momentum_slot=0,
    velocity_sign=1.0,
    velocity="v, in units of x (the step itself: x ← x + v)",
    velocity_units="x",
    lookahead="momentum",
)

_, BETA = slots("lr momentum", MOMENTUM.params, NAG.params)
