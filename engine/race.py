"""The race: several optimizers stepping on one objective, chunk by chunk.

This is the engine's Python API, used alike by the CLI, the tests and the GUI::

    race = Race(objective, [RacerConfig("adam", {"lr": 0.01}), RacerConfig("sgd")], steps=2000)
    race.advance(500)            # numba kernel, GIL released; call from any one thread
    race.set_params(0, {"lr": 0.05})   # takes effect from the next update
    traj = race.trajectory(0)    # views of the recorded rows
    race.metrics()               # per-run metrics (engine.metrics)

Buffers: every per-racer array (:func:`racer_arrays`) is made once for all the racers
given, with room for ``steps + 1`` rows, in one block of memory (a block a race freed
before when one fits: engine.buffers.BlockPool); :meth:`Race.add_racer` doubles the racer
slots when they are full. ``race.count``, ``race.xs``... are views of the slots in use:
they show exactly ``len(race.racers)`` racers. The race has no cap on racers; one
larger than the memory available is refused (:func:`check_race_size`).

Thread model: one thread at a time calls ``advance`` (the runner in
:mod:`engine.runner` does it in a background thread); every mutation takes
``race.lock``; readers need no lock: buffers are only ever replaced, never resized in
place (a racer added in a free slot is shown once its count is 0), and ``count[i]`` is
written after the rows it covers.

Objectives with mini-batches and epochs (the perceptron): the batch size is the
objective's (``Race(batch_size=...)`` overrides it), ``steps_per_epoch`` its
``epoch_length`` of it (ceil(train rows / batch)) and :meth:`Race.epoch_metrics` gives
the full training / validation loss and accuracy at every epoch boundary, computed
lazily from the recorded parameters and cached. All racers see the same mini-batches:
one shuffle per epoch, shared, serves them all (the kernel runs the racers epoch by
epoch and keeps the orders of a few epochs).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from engine import buffers
from engine.buffers import (
    PER_RACER_ARRAYS,
    PERM_SLOTS,
    RaceTooLarge,
    check_race_size,
    fill_rows,
    make_racer_buffers,
    memory_text,
    race_nbytes,
    racer_arrays,
)
from engine.kernel import (
    CFG_BATCH,
    CFG_KIND,
    CFG_LID,
    CFG_NROWS,
    CFG_SEED,
    CFG_SIZE,
    RUNNING,
    race_chunk,
    scratch_for,
)
from engine.metrics import (
    EpochCache,
    RunMetrics,
    Scan,
    ScanCache,
    Tolerance,
    blowup,
    leaderboard,
    overflow_step,
    run_metrics,
)
from engine.optimizers import (
    BIAS_TABLE_MAX,
    bias_table,
    get_optimizer,
    set_velocity,
)
from engine.racer import Objective, RacerConfig, Trajectory, pack_configs, validated_params
from engine.rng import splitmix64
from engine.schedules import get_schedule

# engine.race is the engine's Python API: these names are re-exported from where they live
__all__ = [
    "PERM_SLOTS",
    "PER_RACER_ARRAYS",
    "Objective",
    "Race",
    "RaceTooLarge",
    "RacerConfig",
    "RunMetrics",
    "Tolerance",
    "Trajectory",
    "check_race_size",
    "race_nbytes",
    "racer_arrays",
    "validated_params",
]


class Race:
    """A race of several racers on one objective (see the module docstring)."""

    # the per-racer arrays (:func:`racer_arrays`), set by :meth:`_show`: views of the
    # slots in use, first axis the racer
    oids: npt.NDArray[np.int64]  # optimizer ids
    sids: npt.NDArray[np.int64]  # schedule ids
    hps: npt.NDArray[np.float64]  # (H_SIZE,) packed hyperparameters
    sps: npt.NDArray[np.float64]  # (SP_SIZE,) packed schedule parameters
    X: npt.NDArray[np.float64]  # (dim,) the current point
    st: npt.NDArray[np.float64]  # (K_STATE, dim) optimizer state rows
    sc: npt.NDArray[np.float64]  # (S_STATE,) optimizer scalars
    btab: npt.NDArray[np.int64]  # the racer's bias table: its row of ``bts``
    t: npt.NDArray[np.int64]  # updates taken
    count: npt.NDArray[np.int64]  # rows recorded
    status: npt.NDArray[np.int64]  # RUNNING, DIVERGED...
    active: npt.NDArray[np.int64]  # 1: enabled
    rng: npt.NDArray[np.uint64]  # (4,) random state
    run_id: npt.NDArray[np.int64]  # a new id at every (re)start
    xs: npt.NDArray[np.float64]  # (cap, dim) recorded points
    loss: npt.NDArray[np.float64]  # (cap,) recorded losses
    gnorm: npt.NDArray[np.float64]  # (cap,) recorded gradient norms
    lrs: npt.NDArray[np.float64]  # (cap,) recorded rates
    vel: npt.NDArray[np.float32]  # (cap or 0, dim) recorded momentum rows (record_momentum)

    def __init__(
        self,
        objective: Objective,
        racers: list[RacerConfig],
        steps: int = 1000,
        seed: int = 0,
        tolerance: Tolerance | None = None,
        batch_size: int = 0,
        record_momentum: bool = False,
    ) -> None:
        """``record_momentum``: record each racer's momentum row (the optimizer state the
        step arrows draw) at every step in ``vel``, for a replay; else ``vel`` has no rows."""
        if steps < 1:
            raise ValueError("steps must be >= 1")
        self.lock = threading.RLock()
        self.record_momentum = bool(record_momentum)
        self.objective = objective
        self.seed = int(seed)
        self.steps = int(steps)
        self.tolerance = tolerance or Tolerance()
        if int(batch_size) <= 0:  # the objective's (0: no mini-batches)
            batch_size = int(objective.batch_size)
        self.batch_size = int(batch_size)
        self.racers: list[RacerConfig] = list(racers)
        self._epochs = EpochCache()
        self._scans = ScanCache()
        # the perceptron's batch orders, shared by all racers: the kernel makes each
        # epoch's once, keeping PERM_SLOTS epochs (-1: empty slot); int32 halves the
        # shuffle's memory traffic. ``perm`` is slot 0 (the first epoch made).
        nrows = self.objective.data.shape[0]
        self.perm_slots = np.zeros((PERM_SLOTS, nrows), dtype=np.int32)
        self.perm = self.perm_slots[:1]
        self.perm_epoch = np.full(PERM_SLOTS, -1, dtype=np.int64)
        self._slots: dict[str, np.ndarray] = {}
        # the distinct bias tables (T, 3, min(cap, BIAS_TABLE_MAX)); racer i's is
        # bts[btab[i]] (_pack_biases); _tables: the table each row was copied from
        self.bts: npt.NDArray[np.float64] = np.full((0, 3, 0), np.nan)
        self._tables: list[np.ndarray] = []
        # parameters packed (and refused if bad) before the buffers are made
        packed = pack_configs(self.racers)
        self._realloc(len(self.racers), self.steps + 1, len(self.racers), fill=False)
        self._pack_racers(range(len(self.racers)), packed)
        self._reset_racers(range(len(self.racers)))  # fills their rows

    # ------------------------------------------------------------ buffers
    def _realloc(self, slots: int, cap: int, keep: int | list[int], fill: bool = True) -> None:
        """New per-racer buffers (:func:`racer_arrays`) of ``slots`` racer slots and ``cap``
        rows, holding the old buffers' first ``keep`` racers (or those listed); the race
        then shows the racers kept (see :meth:`_show`).

        One block of memory for any number of racers (:func:`make_racer_buffers`, reused
        from a race freed before when one of the size is free): the constructor makes as
        many slots as racers, :meth:`add_racer` doubles them when full. Buffers are filled
        as they are made (every page written now, so the kernel's first pass over the rows
        does not page-fault); ``fill=False``: nothing is filled, for a caller that packs
        and resets every racer next (the constructor: the reset fills the rows just before
        it records row 0). RaceTooLarge if they would not fit.
        """
        d = self.objective.dim
        vcap = cap if self.record_momentum else 0
        if not buffers.POOL.has_free(buffers.block_nbytes(slots, d, cap, vcap)):
            # new memory: refused if it would not fit (a free block is memory held already)
            rows_data = self.objective.data.shape[0]
            check_race_size(slots, cap - 1, d, rows_data, 1, self.record_momentum)
        rows = slice(0, keep) if isinstance(keep, int) else keep
        old, new = self._slots, make_racer_buffers(slots, d, cap, fill, vcap)
        for name, a in new.items() if old else ():
            src = old[name][rows]
            if src.shape[1:] == a.shape[1:]:
                a[: src.shape[0]] = src
            else:  # the recorded rows of a longer race
                a[: src.shape[0], : src.shape[1]] = src
        kept = keep if isinstance(keep, int) else len(keep)
        self._slots, self.cap = new, cap
        self._show(kept)
        if old and self.bts.shape[2] != min(cap, BIAS_TABLE_MAX):  # a longer race
            self._pack_biases(np.arange(0))  # every racer's tables, longer

    def _show(self, n: int) -> None:
        """Make the per-racer attributes (``race.count``, ``race.xs``...) views of the
        first ``n`` slots: every reader and the kernel see exactly the racers there are."""
        for name, a in self._slots.items():
            setattr(self, name, a[:n])

    # ------------------------------------------------------------ set-up
    def _check_config(self, cfg: RacerConfig) -> None:
        d = self.objective.dim
        for name in ("start", "v0", "x_prev"):
            v = getattr(cfg, name)
            if v is not None and len(v) != d:
                raise ValueError(f"{name}: expected {d} numbers (one per parameter), got {len(v)}")

    def _pack_bias(self, i: int) -> None:
        self._pack_biases(np.array([i], dtype=np.int64))

    def _pack_biases(self, rows: np.ndarray) -> None:
        """Racers ``rows``' bias tables (engine.optimizers.bias_table): ``bts`` holds each
        distinct table once, racer i's is ``bts[btab[i]]``. One call per optimizer and
        distinct hyperparameters but the rate (a table never depends on hp[0]); tables
        are cached, so adam and adamw racers of the same betas share one. A table no
        racer uses any more is dropped. Every racer's when the length changed."""
        length = min(self.cap, BIAS_TABLE_MAX)
        n = len(self.racers)
        if self.bts.shape[2] != length:
            rows, self._tables = np.arange(n), []
        idx = np.asarray(rows, dtype=np.int64)
        every = idx.size == n and bool((idx == np.arange(n)).all())  # views, not copies
        oids, hps = (self.oids, self.hps) if every else (self.oids[idx], self.hps[idx])
        if oids.size and oids[0] == oids[-1] and (oids == oids[0]).all():  # one optimizer
            by_oid = {int(oids[0]): np.arange(oids.size)}
        else:
            by_oid = {oid: np.flatnonzero(oids == oid) for oid in np.unique(oids).tolist()}
        groups: dict[int, tuple[np.ndarray, list[np.ndarray]]] = {}
        for oid, ks in by_oid.items():
            rest = hps[:, 1:] if ks.size == oids.size else hps[ks, 1:]
            if (rest == rest[0]).all():  # the usual case: one table for all
                alike = [ks]
            else:
                by_key: dict[tuple[float, ...], list[int]] = {}
                for k, key in zip(ks.tolist(), map(tuple, rest.tolist()), strict=True):
                    by_key.setdefault(key, []).append(k)
                alike = [np.asarray(m) for m in by_key.values()]
            for m in alike:  # positions in rows of racers with the same table
                tab = bias_table(oid, hps[m[0]], length)
                groups.setdefault(id(tab), (tab, []))[1].append(m)
        if every:  # no other racer keeps a table
            others, used = None, np.zeros(0, dtype=np.int64)
        else:
            others = np.ones(n, dtype=bool)
            others[idx] = False
            used = np.unique(self.btab[others])  # the tables the other racers keep
        tables = [self._tables[k] for k in used.tolist()]
        row_of = {id(t): j for j, t in enumerate(tables)}
        btab = np.empty(idx.size, dtype=np.int64)
        for tab, parts in groups.values():
            j = row_of.setdefault(id(tab), len(tables))
            if j == len(tables):
                tables.append(tab)
            for m in parts:
                btab[m] = j
        if [id(t) for t in tables] != [id(t) for t in self._tables] or (
            self.bts.shape[2] != length
        ):
            need = len(tables) * 3 * length * 8
            have = buffers.available_memory() if len(tables) > 1 else None
            if have is not None and need > have:
                raise RaceTooLarge(f"{len(tables)} bias tables need {memory_text(need)} of memory; "
                                   f"{memory_text(have)} is available")  # fmt: skip
            bts = np.full((len(tables), 3, length), np.nan)
            for j, t in enumerate(tables):
                bts[j, :, : t.shape[1]] = t
            self.bts, self._tables = bts, tables
        if others is not None:
            self.btab[others] = np.searchsorted(used, self.btab[others])
        self.btab[idx if others is not None else slice(None)] = btab

    def _cfg(self) -> np.ndarray:
        cfg = np.zeros(CFG_SIZE, dtype=np.int64)
        cfg[CFG_KIND] = self.objective.kind
        cfg[CFG_LID] = self.objective.lid
        cfg[CFG_BATCH] = max(self.batch_size, 1)
        cfg[CFG_NROWS] = self.objective.data.shape[0]
        cfg[CFG_SEED] = self.seed
        return cfg

    def _start_of(self, i: int) -> np.ndarray:
        s = self.racers[i].start
        return np.array(s if s is not None else self.objective.start, dtype=np.float64)

    def _reset_racers(self, which: range | list[int]) -> None:
        """Racers ``which`` back to their starts, state cleared, rows NaN (points zero),
        row 0 recorded (one kernel call for all)."""
        rows = _rows(which)
        if not rows.size:
            return
        sel = _selection(which, rows)
        cfgs = self._configs(which, rows)
        own = [  # racers with their own start or velocity, checked before anything changes
            (k, c)
            for k, c in enumerate(cfgs)
            if c.start is not None or c.v0 is not None or c.x_prev is not None
        ]
        for _, cfg in own:
            self._check_config(cfg)
        # first: readers see a reset before any row changes
        self.run_id[sel] = _new_run_ids(rows.size)
        self.X[sel] = self.objective.start
        self.st[sel] = 0.0
        self.sc[sel] = 0.0
        for k, cfg in own:
            i = int(rows[k])
            if cfg.start is not None:
                self.X[i] = cfg.start
            if cfg.v0 is not None or cfg.x_prev is not None:
                set_velocity(cfg.optimizer, validated_params(cfg), self.st[i], self.sc[i],
                             self.X[i], cfg.v0, cfg.x_prev)  # fmt: skip
        self.t[sel] = 0
        self.count[sel] = 0
        self.status[sel] = RUNNING
        w = splitmix64(self.seed * 2 + 1)
        v = splitmix64(self.seed * 2 + 2)
        self.rng[sel] = np.array([w[0], w[1], v[0], v[1]], dtype=np.uint64)
        fill_rows(self, sel)
        self._run_kernel(0, only=sel)  # record row 0 without stepping

    def _configs(self, which: range | list[int], rows: np.ndarray) -> list[RacerConfig]:
        """The configs of racers ``which`` (``rows``: the same as an array)."""
        if which == range(len(self.racers)):
            return list(self.racers)
        racers = self.racers
        return [racers[i] for i in rows.tolist()]

    def _reset_racer(self, i: int) -> None:
        self._reset_racers([i])

    def _pack_racer(self, i: int) -> None:
        self._pack_racers([i])

    def _pack_racers(
        self, which: range | list[int], packed: dict[str, np.ndarray] | None = None
    ) -> None:
        """Store racers ``which``'s optimizers, hyperparameters, schedules and bias tables
        for the kernel (``packed``: :func:`pack_configs` of their configs, made before)."""
        rows = _rows(which)
        if not rows.size:
            return
        if packed is None:
            packed = pack_configs(self._configs(which, rows))
        sel = _selection(which, rows)
        for name, a in packed.items():
            getattr(self, name)[sel] = a
        self._pack_biases(rows)

    def add_racer(self, cfg: RacerConfig) -> int:
        """Add a racer (starting from step 0); returns its index. The buffers double when
        full, so adding racers one by one costs linear time in all."""
        self._check_config(cfg)
        with self.lock:
            i = len(self.racers)
            slots = self._slots["count"].shape[0]
            if i == slots:
                self._realloc(max(2 * slots, 1), self.cap, i)
            self._slots["count"][i] = 0  # readers see the slot with no rows until reset
            self.racers.append(cfg)
            self._show(i + 1)
            self._pack_racer(i)
            self._reset_racer(i)
            return i

    def remove_racer(self, i: int) -> None:
        """Remove racer ``i`` (later racers shift down by one)."""
        with self.lock:
            keep = [k for k in range(len(self.racers)) if k != i]
            self.racers.pop(i)
            self._realloc(self._slots["count"].shape[0], self.cap, keep)

    # ------------------------------------------------------------ control
    def reset(self) -> None:
        """Every racer back to its start, state cleared."""
        with self.lock:
            self._pack_racers(range(len(self.racers)))
            self._reset_racers(range(len(self.racers)))

    def set_start(self, start: tuple[float, ...], racer: int | None = None) -> None:
        """New start point for every racer (or one) and restart."""
        with self.lock:
            pt = tuple(float(v) for v in start)
            if len(pt) != self.objective.dim:
                raise ValueError(f"start must have {self.objective.dim} coordinates")
            if racer is None:
                self.objective.start = pt
                for c in self.racers:
                    c.start = None
                self.reset()
            else:
                self.racers[racer].start = pt
                self._pack_racer(racer)
                self._reset_racer(racer)

    def set_params(self, i: int, params: dict[str, Any], restart: bool = False) -> None:
        """Change racer ``i``'s hyperparameters; they apply from its next update."""
        with self.lock:
            cfg = self.racers[i]
            merged = {**cfg.params, **params}
            cfg.params = get_optimizer(cfg.optimizer).resolve(merged)
            self.hps[i] = get_optimizer(cfg.optimizer).pack(cfg.params)
            self._pack_bias(i)
            if restart:
                self._reset_racer(i)

    def set_schedule(
        self, i: int, name: str, params: dict[str, Any] | None = None, restart: bool = False
    ) -> None:
        """Change racer ``i``'s schedule (applies from its next update)."""
        with self.lock:
            sch = get_schedule(name)
            cfg = self.racers[i]
            cfg.schedule = name
            cfg.schedule_params = sch.resolve(params or {})
            self._pack_racer(i)
            if restart:
                self._reset_racer(i)

    def set_optimizer(self, i: int, name: str, params: dict[str, Any] | None = None) -> None:
        """Replace racer ``i``'s optimizer (restarts that racer)."""
        with self.lock:
            cfg = self.racers[i]
            self.racers[i] = replace(cfg, optimizer=name, params=dict(params or {}))
            self._pack_racer(i)
            self._reset_racer(i)

    def set_enabled(self, i: int, enabled: bool) -> None:
        with self.lock:
            self.racers[i].enabled = bool(enabled)
            self.active[i] = 1 if enabled else 0

    def set_noise(self, sigma: float) -> None:
        with self.lock:
            self.objective.grad_noise = float(sigma)

    def extend(self, steps: int) -> None:
        """Make room for ``steps`` updates in total (buffers are replaced, not resized)."""
        with self.lock:
            if steps + 1 > self.cap:
                self._realloc(self._slots["count"].shape[0], steps + 1, len(self.racers))
            self.steps = steps

    # ------------------------------------------------------------ stepping
    def _run_kernel(self, n: int, only: slice | np.ndarray | None = None) -> None:
        active = self.active
        if only is not None:  # these racers only (enabled or not)
            active = np.zeros_like(self.active)
            active[only] = 1
        t_end = np.minimum(self.t + int(n), self.cap - 1)
        race_chunk(*self.kernel_args(t_end, active))

    def kernel_args(self, t_end: np.ndarray, active: np.ndarray) -> tuple[Any, ...]:
        """The arguments of :func:`engine.kernel.race_chunk` for this race (also what
        engine.warmup derives the kernels' argument types from)."""
        return (
            t_end, self._cfg(), self.objective.packed, self.objective.data,
            float(self.objective.grad_noise), self.oids, self.hps, self.sids, self.sps,
            self.X, self.st, self.sc, self.bts, self.btab, self.t, self.count, self.status,
            active, self.rng,
            self.perm_slots, self.perm_epoch, self.xs, self.loss, self.gnorm, self.lrs,
            self.vel, scratch_for(self.objective.dim),
        )  # fmt: skip

    def advance(self, n: int) -> int:
        """Run up to ``n`` updates of every enabled racer; returns the most steps any took."""
        with self.lock:
            before = self.t.copy()
            if self.racers:
                self._run_kernel(n)
            return int((self.t - before).max()) if len(self.racers) else 0

    @property
    def has_epochs(self) -> bool:
        """Whether the objective has epochs (full-set figures at their boundaries)."""
        return self.objective.has_epochs

    @property
    def is_perceptron(self) -> bool:
        """The window's name for :attr:`has_epochs` (it picks the perceptron's panel)."""
        return self.objective.has_epochs

    @property
    def steps_per_epoch(self) -> int:
        """Updates per epoch (the objective's, with this race's batch size)."""
        return self.objective.epoch_length(self.batch_size)

    @property
    def done(self) -> bool:
        """True when no enabled racer can take another step."""
        for i, c in enumerate(self.racers):
            if c.enabled and self.status[i] == RUNNING and self.t[i] < self.steps:
                return False
        return True

    def run(
        self, chunk: int = 4096, stop: threading.Event | None = None, progress: Any = None
    ) -> None:
        """Run until done (or ``stop`` is set), calling ``progress(done, total)``."""
        while not self.done:
            if stop is not None and stop.is_set():
                return
            left = self.steps - int(self.t.min()) if len(self.racers) else 0
            self.advance(min(chunk, max(left, 1)))
            if progress is not None:
                progress(int(self.t.max()), self.steps)

    # ------------------------------------------------------------ reading
    def trajectory(self, i: int) -> Trajectory:
        """Views of racer ``i``'s valid rows."""
        xs, loss, gnorm, lrs = self.xs, self.loss, self.gnorm, self.lrs
        c = int(self.count[i])
        return Trajectory(xs[i, :c], loss[i, :c], gnorm[i, :c], lrs[i, :c])

    def epoch_metrics(self, i: int) -> dict[str, np.ndarray]:
        """Full-set metrics of racer ``i`` at every epoch boundary reached so far
        (perceptron; see :class:`engine.metrics.EpochCache`)."""
        return self._epochs.metrics(self, i)

    def overflow_step(self, i: int) -> int | None:
        """The step at which the kernel stopped racer ``i`` because its loss or gradient
        was not finite (that row is not recorded), None while it runs."""
        return overflow_step(self, i)

    def blowup(self, i: int) -> tuple[str, int | None]:
        """("diverged" or "unbounded", step) of racer ``i``, or ("", None) (the rule:
        :func:`engine.metrics.blowup`): both outcomes from one scan. Cheap: the rows are
        scanned once, so calling this every frame costs only the rows recorded since."""
        return blowup(self, i)

    def diverged_step(self, i: int) -> int | None:
        """The step at which racer ``i`` diverged, None if it has not (:meth:`blowup`)."""
        kind, k = blowup(self, i)
        return k if kind == "diverged" else None

    def unbounded_step(self, i: int) -> int | None:
        """The step at which racer ``i``'s loss was found unbounded below (f* unknown;
        see :meth:`diverged_step`), None if it has not been."""
        kind, k = blowup(self, i)
        return k if kind == "unbounded" else None

    def metrics(self) -> list[RunMetrics]:
        return [run_metrics(self, i) for i in range(len(self.racers))]

    def run_metrics(self, i: int) -> RunMetrics:
        """Summary figures of racer ``i`` (see :class:`engine.metrics.RunMetrics`)."""
        return run_metrics(self, i)

    def _scan(self, i: int) -> tuple[Scan, Trajectory]:
        """What the metrics need of racer ``i``'s rows, and its rows (incremental: see
        :class:`engine.metrics.ScanCache`)."""
        return self._scans.scan(self, i)

    def leaderboard(self) -> list[tuple[int, RunMetrics]]:
        """Racer indices with metrics, best first (:func:`engine.metrics.leaderboard`)."""
        return leaderboard(self)


def _rows(which: range | list[int]) -> np.ndarray:
    """Racer indices as an int64 array (a range without a Python loop)."""
    if isinstance(which, range):
        return np.arange(which.start, which.stop, which.step, dtype=np.int64)
    return np.asarray(which, dtype=np.int64)


def _selection(which: range | list[int], rows: np.ndarray) -> slice | np.ndarray:
    """Racers ``which`` (``rows``: the same as an array) as an index: a run of racers as a
    slice (plain slicing writes faster than an index array)."""
    if isinstance(which, range) and which.step == 1:
        return slice(which.start, which.stop)
    return rows


_RUN_IDS = [1]  # the next run id (Race.run_id: a new one at every (re)start)
_RUN_IDS_LOCK = threading.Lock()


def _new_run_ids(n: int) -> np.ndarray:
    """``n`` new run ids, taken in one step."""
    with _RUN_IDS_LOCK:
        first = _RUN_IDS[0]
        _RUN_IDS[0] = first + n
    return np.arange(first, first + n, dtype=np.int64)
