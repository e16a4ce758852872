"""A racer's configuration (RacerConfig), what a race needs of an objective, and the
views of one racer's recorded rows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from engine.optimizers import H_SIZE, get_optimizer
from engine.schedules import SP_SIZE, get_schedule


class Objective(Protocol):
    """What a race, its metrics, its leaderboard and its export need of an objective
    (engine.objective: a landscape, the perceptron). Callers ask it instead of testing
    its kind: a new kind of objective is a class with these members."""

    kind: int  # the kernel's objective kind (engine.kernel LANDSCAPE, PERCEPTRON)
    dim: int
    coords: tuple[str, ...]
    packed: np.ndarray
    data: np.ndarray  # rows the kernel samples mini-batches from ((0, 3): none)
    grad_noise: float
    start: tuple[float, ...]
    # epochs: full-set figures at every epoch boundary (engine.metrics.EpochCache),
    # per-epoch export columns; its leaderboard's cells (engine.metrics.BoardRow fields)
    # and the field its window's "best" column shows
    has_epochs: ClassVar[bool]
    board_cells: ClassVar[tuple[tuple[str, str], ...]]
    board_best: ClassVar[str]

    @property
    def lid(self) -> int: ...
    @property
    def batch_size(self) -> int: ...  # rows per update, 0: no mini-batches
    def epoch_length(self, batch_size: int) -> int: ...  # updates per epoch
    def minima(self) -> list[tuple[float, ...]]: ...
    def f_star(self) -> float | None: ...
    def loss(self, x: np.ndarray) -> float: ...
    def describe(self) -> str: ...
    # (k, 4) full-set figures of k points: train loss, val loss, val / train accuracy
    def evaluate(self, points: np.ndarray) -> np.ndarray: ...
    # figures of a run at its last point x after ``updates`` updates (RunMetrics fields)
    def final_figures(self, x: np.ndarray, updates: int, batch_size: int) -> dict[str, float]: ...
    def run_heading(self, steps: int, batch_size: int) -> list[str]: ...  # the CLI's
    def export_arrays(self, batch_size: int) -> dict[str, np.ndarray]: ...  # npz extras
    def export_data(self, batch_size: int) -> dict[str, Any] | None: ...  # summary "data"


@dataclass(slots=True)  # slots: a race reads a few fields of thousands of configs
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


def pack_configs(cfgs: list[RacerConfig]) -> dict[str, np.ndarray]:
    """What the kernel reads of each of ``cfgs`` (``oids``, ``hps``, ``sids``, ``sps``,
    ``active``: arrays of the race's names): the racers of each optimizer are packed
    together (Optimizer.pack_resolved of their validated_params), a schedule once per
    distinct one. Bad parameters raise (ParamError) before anything is stored."""
    params = list(map(validated_params, cfgs))
    n = len(cfgs)
    oids, hps = np.empty(n, np.int64), np.empty((n, H_SIZE))
    for name, ks in _positions([c.optimizer for c in cfgs]).items():
        opt = get_optimizer(name)
        oids[ks] = opt.oid
        hps[ks] = opt.pack_resolved(params if ks.size == n else [params[k] for k in ks.tolist()])
    sids, sps = np.empty(n, np.int64), np.empty((n, SP_SIZE))
    names, units = [c.schedule for c in cfgs], [c.schedule_unit for c in cfgs]
    kinds = (
        {(names[0], units[0]): np.arange(n)}
        if n and names.count(names[0]) == n and units.count(units[0]) == n
        else _positions(list(zip(names, units, strict=True)))
    )
    for (name, unit), ks in kinds.items():
        sch = get_schedule(name)
        sids[ks] = sch.sid
        given = [cfgs[k].schedule_params for k in ks.tolist()]
        alike = (
            [ks]
            if given.count(given[0]) == len(given)
            else list(_positions([repr(p) for p in given], ks).values())
        )
        for m in alike:  # racers with the same schedule parameters
            sps[m] = sch.pack(cfgs[m[0]].schedule_params, unit=unit)
    active = np.fromiter([c.enabled for c in cfgs], np.int64, n)
    return {"oids": oids, "hps": hps, "sids": sids, "sps": sps, "active": active}


def _positions(keys: list[Any], of: np.ndarray | None = None) -> dict[Any, np.ndarray]:
    """The positions of each distinct key in ``keys`` (or the entries of ``of`` there),
    in order of first appearance."""
    code = {k: j for j, k in enumerate(dict.fromkeys(keys))}
    where = np.arange(len(keys)) if of is None else of
    if len(code) == 1:
        return {keys[0]: where}
    codes = np.fromiter(map(code.__getitem__, keys), np.int64, len(keys))
    return {k: where[codes == j] for k, j in code.items()}
