"""The lecture notes' finite-difference random search: no gradient, pairs of losses.

The race kernel evaluates the loss at x ± δuᵢ (the spec's ``pairs``: 2N evaluations
per update, new directions from the racer's stream 2) and sums
``acc = Σᵢ (f(x + δuᵢ) − f(x − δuᵢ))·δuᵢ``; its ``special_step`` then applies
x ← x + s·(η/N)·acc.
"""

from __future__ import annotations

from typing import Any

from engine.optimizers.spec import Optimizer, lr_param, slots
from engine.params import ParamSpec


def _rule(p: dict[str, Any]) -> str | None:
    if p["sign"] not in (-1, 1):
        return (
            f"sign: expected -1 (descend) or 1 (the notes' W + α(G⁺ − G⁻)·δW: climbs), "
            f"got {p['sign']}"
        )
    return None


RANDOM_SEARCH = Optimizer(
    "random_search",
    "Finite-difference random search (lecture notes)",
    (
        lr_param(0.01),
        ParamSpec(
            "delta", 0.01, "perturbation scale δ", lo=0.0, lo_open=True, log=True, symbol="δ"
        ),
        ParamSpec("directions", 1, "random directions per step N", kind="int", lo=1, hi=64),
        ParamSpec("normalize", False, "divide by 2δ² so that E[step] = −η·∇f", kind="bool"),
        ParamSpec(
            "sign",
            -1,
            "−1: descend; +1: the notes' W + α(G⁺ − G⁻)·δW as printed (climbs)",
            kind="int",
            lo=-1,
            hi=1,
            symbol="s",
        ),
    ),
    "δWᵢ = δ·uᵢ,  uᵢ ~ N(0, I),  i = 1..N\n"
    "G⁺ᵢ = f(x + δWᵢ),  G⁻ᵢ = f(x − δWᵢ)\n"
    "x ← x + s·(η/N)·Σᵢ (G⁺ᵢ − G⁻ᵢ)·δWᵢ   (normalize: also divided by 2δ²)\n"
    "s = −1 descends (default); s = +1 is the notes' W + α(G⁺ − G⁻)·δW, which climbs",
    description="The notes' method of finite differences; the notes print "
    "W + α(G⁺ − G⁻)·δW, which climbs the loss: sign = −1 (default) minimises.",
    rule=_rule,
    pairs="directions",
    special=True,
)

_, DELTA, DIRECTIONS, NORMALIZE, SIGN = slots(
    "lr delta directions normalize sign", RANDOM_SEARCH.params
)
