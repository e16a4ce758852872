"""A racer's configuration (RacerConfig), what a race needs of an objective, and the
views of one racer's recorded rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.optimizers import get_optimizer
from engine.schedules import get_schedule


class Objective(Protocol):
    """What a race needs of an objective (see engine.objective)."""

    kind: int
    dim: int
    coords: tuple[str, ...]
    packed: np.ndarray
    data: np.ndarray
    grad_noise: float
    start: tuple[float, ...]

    @property
    def lid(self) -> int: ...
    def minima(self) -> list[tuple[float, ...]]: ...
    def f_star(self) -> float | None: ...


@dataclass
class RacerConfig:
    """One racer: optimizer, hyperparameters, schedule and how it is shown."""

    optimizer: str
    params: dict[str, Any] = field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    color: str | None = None
    enabled: bool = True
    start: tuple[float, ...] | None = None
    schedule_unit: str = "step"  # "step" or "epoch" (perceptron): what t counts
    # the velocity at the start, in the optimizer's units (Optimizer.velocity), or the
    # point before the start (the previous update x_prev → start); at most one is set.
    # Applied at every (re)start by optimizers with a velocity (sgd, momentum, nag).
    v0: tuple[float, ...] | None = None
    x_prev: tuple[float, ...] | None = None
    # the optimizer and a copy of the parameters as validated: what a race packs
    # (validated_params; ``params`` changed since are validated again)
    _valid: tuple[str, dict[str, Any], dict[str, Any]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        opt = get_optimizer(self.optimizer)
        self.params = opt.resolve(self.params)
        valid = dict(self.params)
        self._valid = (self.optimizer, valid, valid)
        for name in ("v0", "x_prev"):
            v = getattr(self, name)
            if v is not None:
                v = tuple(float(u) for u in v)
                if not v or not all(math.isfinite(u) for u in v):
                    raise ValueError(f"{name}: expected finite numbers, got {v}")
                setattr(self, name, v)
        if self.v0 is not None and self.x_prev is not None:
            raise ValueError("v0 and x_prev: expected at most one of them")
        self.schedule_params = get_schedule(self.schedule).resolve(self.schedule_params)
        if not self.label:
            self.label = self.optimizer


def validated_params(cfg: RacerConfig) -> dict[str, Any]:
    """``cfg``'s parameters as its optimizer validated them: what a race packs without
    checking them again (Optimizer.pack_resolved). RacerConfig validates them when
    made; ``optimizer`` or ``params`` changed since (replaced or edited in place) are
    validated again here (ParamError, KeyError if bad), so no unchecked value is packed."""
    name, given, valid = cfg._valid
    if name != cfg.optimizer or given != cfg.params:
        valid = get_optimizer(cfg.optimizer).resolve(cfg.params)
        cfg._valid = (cfg.optimizer, dict(cfg.params), valid)
    return valid


@dataclass(frozen=True)
class Trajectory:
    """Views of one racer's recorded rows (do not write into them)."""

    x: np.ndarray  # (n, d)
    loss: np.ndarray  # (n,)
    grad_norm: np.ndarray  # (n,)
    lr: np.ndarray  # (n,)

    @property
    def steps(self) -> np.ndarray:
        return np.arange(self.loss.shape[0])
