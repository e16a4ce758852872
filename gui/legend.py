"""A racer's hyperparameters as text: the legend's ``[view] legend_params`` entries and
the titles of ``main.py render --each``.

Each hyperparameter is written with its symbol from the equations where it has one
(``η = 0.01, β₁ = 0.8``), numbers to 4 significant digits, booleans as true/false. A
schedule other than constant follows with its parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.optimizers import get_optimizer
from engine.racer import RacerConfig
from engine.schedules import get_schedule


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return format(float(v), ".4g")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(u) for u in v) + "]"
    return str(v)


def params_text(cfg: RacerConfig, every: bool = False) -> str:
    """``cfg``'s optimizer and hyperparameters, e.g. ``adam: η = 0.01, β₁ = 0.8``.

    ``every`` False (the legend): all but those left at a default that switches something
    off (0 or false) and ε at its default; True (a title): all of them.
    """
    opt = get_optimizer(cfg.optimizer)
    parts = []
    for spec in opt.params:
        v = cfg.params.get(spec.name, spec.default)
        idle = isinstance(spec.default, bool) or spec.default == 0 or spec.name == "eps"
        if every or v != spec.default or not idle:
            parts.append(f"{spec.symbol or spec.name} = {_value(v)}")
    text = f"{cfg.optimizer}: " + ", ".join(parts)
    if cfg.schedule != "constant":
        sched = get_schedule(cfg.schedule)
        sp = ", ".join(
            f"{s.symbol or s.name} = {_value(cfg.schedule_params.get(s.name, s.default))}"
            for s in sched.params
        )
        text += f"; {cfg.schedule} schedule" + (f" ({sp})" if sp else "")
    return text


def legend_labels(racers: Sequence[RacerConfig], with_params: bool | None) -> list[str]:
    """The legend's entry of each racer: its label, and with ``with_params`` its
    hyperparameters after it (``label — sgd: η = 0.01``)."""
    if not with_params:
        return [c.label for c in racers]
    return [f"{c.label} — {params_text(c)}" for c in racers]


def racer_title(cfg: RacerConfig) -> str:
    """A one-racer picture's title: the label and every hyperparameter."""
    return f"{cfg.label} — {params_text(cfg, every=True)}"
