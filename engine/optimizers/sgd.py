"""SGD as torch.optim.SGD: plain, heavy-ball momentum (torch's buffer form), Nesterov."""

from __future__ import annotations

from typing import Any

from engine.optimizers.spec import WEIGHT_DECAY, Optimizer, lr_param, slots
from engine.params import ParamSpec


def _rule(p: dict[str, Any]) -> str | None:
    """torch.optim.SGD refuses Nesterov without momentum or with dampening, and so do we."""
    if p["nesterov"] and (p["momentum"] <= 0.0 or p["dampening"] != 0.0):
        return (
            f"nesterov: Nesterov momentum needs momentum > 0 and dampening = 0 "
            f"(as torch.optim.SGD); got momentum = {p['momentum']:g}, "
            f"dampening = {p['dampening']:g}"
        )
    return None


SGD = Optimizer(
    "sgd",
    "SGD (torch.optim.SGD)",
    (
        lr_param(0.01),
        ParamSpec("momentum", 0.0, "momentum factor μ", lo=0.0, hi=1.0, symbol="μ"),
        ParamSpec("dampening", 0.0, "dampening τ for momentum", lo=0.0, hi=1.0, symbol="τ"),
        ParamSpec("nesterov", False, "use Nesterov momentum", kind="bool"),
        WEIGHT_DECAY,
    ),
    "g ← ∇f(x) + λ·x\n"
    "if μ ≠ 0:  b ← g at the first step, else b ← μ·b + (1 − τ)·g\n"
    "           g ← g + μ·b  (nesterov)   or   g ← b\n"
    "x ← x − η·g",
    description="Plain gradient descent; with momentum it is the lecture's heavy ball "
    "v ← ρv − ηg, x ← x + v (b = −v/η); nesterov = true is the notes' "
    "change-of-variables NAG (x̃ = x + ρv).",
    torch="SGD",
    decay="l2",
    rule=_rule,
    momentum_slot=0,
    velocity_sign=-1.0,
    velocity="the buffer b, in gradient units (the step is −η·b; the lectures' "
    "heavy-ball velocity is v = −η·b): with v0 the first update is already "
    "b ← μ·b + (1 − τ)·g",
    velocity_units="gradient",
    velocity_flag=0,
    plain=lambda p: p["momentum"] == 0.0 and p["weight_decay"] == 0.0,
)

_, MOMENTUM, DAMPENING, NESTEROV, _ = slots(
    "lr momentum dampening nesterov weight_decay", SGD.params
)
