"""A racer's configuration (RacerConfig), what a race needs of an objective, and the
views of one racer's recorded rows."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from engine.optimizers import H_SIZE, Optimizer, get_optimizer
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
    # validated_params' record of the last validation: the optimizer, a copy of the
    # parameters then (``optimizer`` or ``params`` changed since are validated again),
    # the validated parameters and their packed values (Optimizer.hyper_bytes: what a
    # race packs, made once for every race built from the config)
    _valid: tuple[str, dict[str, Any], dict[str, Any], bytes] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        opt = get_optimizer(self.optimizer)
        self.params = opt.resolve(self.params)
        valid = dict(self.params)
        self._valid = (self.optimizer, dict(valid), valid, opt.hyper_bytes(valid))
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

    def copy(self) -> RacerConfig:
        """A copy with dicts of its own (containers in them copied too), valid as the
        original was: not validated again (``validated_params`` checks the copy's
        parameters against the original's validation, as the original's)."""
        new = object.__new__(RacerConfig)
        new.optimizer = self.optimizer
        new.params = _own(self.params)
        new.schedule = self.schedule
        new.schedule_params = _own(self.schedule_params)
        new.label = self.label
        new.color = self.color
        new.enabled = self.enabled
        new.start = self.start
        new.schedule_unit = self.schedule_unit
        new.v0 = self.v0
        new.x_prev = self.x_prev
        new._valid = self._valid  # a tuple of dicts nothing writes to
        return new

    def with_params(self, changes: dict[str, Any]) -> RacerConfig:
        """A copy (:meth:`copy`) with ``changes`` to its hyperparameters, validated: the
        changed values and the optimizer's rule across them (ParamError if bad); the
        rest as validated before. What ``dataclasses.replace`` with the merged parameters
        gives, without validating every field again (a map makes one per pixel)."""
        opt = get_optimizer(self.optimizer)
        valid = opt.updated(_validated(self)[2], changes)
        new = self.copy()
        new.params = dict(valid)
        new._valid = (self.optimizer, dict(valid), valid, opt.hyper_bytes(valid))
        return new


_SCALARS = frozenset({float, int, bool, str, type(None)})


def _own(d: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``d`` whose values that are not scalars are copies (deep) too."""
    if _SCALARS.issuperset(map(type, d.values())):  # the usual case: a C loop
        return dict(d)
    return {k: v if type(v) in _SCALARS else copy.deepcopy(v) for k, v in d.items()}


def validated_params(cfg: RacerConfig) -> dict[str, Any]:
    """``cfg``'s parameters as its optimizer validated them: what a race packs without
    checking them again (Optimizer.pack_rows). RacerConfig validates them when made;
    ``optimizer`` or ``params`` changed since (replaced or edited in place) are
    validated again here (ParamError, KeyError if bad), so no unchecked value is packed."""
    return _validated(cfg)[2]


def _validated(cfg: RacerConfig) -> tuple[str, dict[str, Any], dict[str, Any], bytes]:
    """``cfg._valid``, made again first if ``cfg`` changed since (see validated_params)."""
    name, given, _, _ = snap = cfg._valid
    if name != cfg.optimizer or given != cfg.params:
        opt = get_optimizer(cfg.optimizer)
        valid = opt.resolve(cfg.params)
        snap = cfg._valid = (cfg.optimizer, dict(cfg.params), valid, opt.hyper_bytes(valid))
    return snap


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
    together (Optimizer.pack_rows of their validated parameters), a schedule once per
    distinct one. Bad parameters raise (ParamError) before anything is stored."""
    n = len(cfgs)
    oids, hps = np.empty(n, np.int64), np.empty((n, H_SIZE))
    for name, ks in _positions([c.optimizer for c in cfgs]).items():
        opt = get_optimizer(name)
        group = cfgs if ks.size == n else [cfgs[k] for k in ks.tolist()]
        rows, valid = _validated_rows(opt, group)
        oids[ks] = opt.oid
        hps[ks if ks.size < n else slice(None)] = opt.pack_rows(rows, valid)
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
        given = (
            [c.schedule_params for c in cfgs]
            if ks.size == n
            else [cfgs[k].schedule_params for k in ks.tolist()]
        )
        alike = (
            [ks]
            if given.count(given[0]) == len(given)
            else list(_positions([repr(p) for p in given], ks).values())
        )
        for m in alike:  # racers with the same schedule parameters
            sps[m if m.size < n else slice(None)] = sch.pack(cfgs[m[0]].schedule_params, unit=unit)
    enabled = [c.enabled for c in cfgs]
    active = np.ones(n, np.int64) if all(enabled) else np.fromiter(map(bool, enabled), np.int64, n)
    return {"oids": oids, "hps": hps, "sids": sids, "sps": sps, "active": active}


def _validated_rows(
    opt: Optimizer, cfgs: list[RacerConfig]
) -> tuple[list[bytes], list[dict[str, Any]]]:
    """The packed values (Optimizer.hyper_bytes) and the validated parameters of ``cfgs``, racers of
    ``opt``: validated_params of each, its test made for all at once (C loops over the
    racers); if any changed since its validation, each is validated again as needed."""
    snaps = [c._valid for c in cfgs]
    if [s[0] for s in snaps].count(opt.name) != len(cfgs) or [c.params for c in cfgs] != [
        s[1] for s in snaps
    ]:
        snaps = list(map(_validated, cfgs))
    return [s[3] for s in snaps], [s[2] for s in snaps]


def _positions(keys: list[Any], of: np.ndarray | None = None) -> dict[Any, np.ndarray]:
    """The positions of each distinct key in ``keys`` (or the entries of ``of`` there),
    in order of first appearance."""
    where = np.arange(len(keys)) if of is None else of
    if keys and keys.count(keys[0]) == len(keys):  # one key (the usual case)
        return {keys[0]: where}
    code = {k: j for j, k in enumerate(dict.fromkeys(keys))}
    codes = np.fromiter(map(code.__getitem__, keys), np.int64, len(keys))
    return {k: where[codes == j] for k, j in code.items()}
