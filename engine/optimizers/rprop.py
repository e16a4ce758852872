"""Rprop as torch.optim.Rprop: only the sign of the gradient is used."""

from __future__ import annotations

from engine.optimizers.spec import Optimizer, lr_param, slots
from engine.params import ParamSpec

RPROP = Optimizer(
    "rprop",
    "Rprop (torch.optim.Rprop)",
    (
        lr_param(0.01, "initial step size Δ₀", "Δ₀"),
        ParamSpec(
            "eta_minus", 0.5, "step shrink factor η⁻", lo=0.0, hi=1.0, lo_open=True, hi_open=True
        ),
        ParamSpec("eta_plus", 1.2, "step growth factor η⁺", lo=1.0, lo_open=True),
        ParamSpec("step_min", 1e-6, "smallest step", lo=0.0, log=True),
        ParamSpec("step_max", 50.0, "largest step", lo=0.0, lo_open=True, log=True),
    ),
    "s ← sign(g·g_prev)\nΔ ← clip(Δ·η⁺ if s > 0, Δ·η⁻ if s < 0, Δ if s = 0; step_min,"
    " step_max)\ng ← 0 where s < 0\nx ← x − sign(g)·Δ·(η_t/η),  g_prev ← g",
    description="Resilient backpropagation: only the sign of the gradient is used.",
    torch="Rprop",
    torch_pairs=(("etas", ("eta_minus", "eta_plus")), ("step_sizes", ("step_min", "step_max"))),
)

LR, ETA_MINUS, ETA_PLUS, STEP_MIN, STEP_MAX = slots(
    "lr eta_minus eta_plus step_min step_max", RPROP.params
)
