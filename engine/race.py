"""The race: several optimizers stepping on one objective, chunk by chunk.

This is the engine's Python API, used alike by the CLI, the tests and the GUI::

    race = Race(objective, [RacerConfig("adam", {"lr": 0.01}), RacerConfig("sgd")], steps=2000)
    race.advance(500)            # numba kernel, GIL released; call from any one thread
    race.set_params(0, {"lr": 0.05})   # takes effect from the next update
    traj = race.trajectory(0)    # views of the recorded rows
    race.metrics()               # per-run metrics

Thread model: one thread at a time calls ``advance`` (the runner in
:mod:`engine.runner` does it in a background thread); every mutation takes
``race.lock``; readers need no lock: buffers are only ever replaced, never resized in
place, and ``count[i]`` is written after the rows it covers.

Perceptron races (objective kind PERCEPTRON): the batch size is the objective's
(``Race(batch_size=...)`` overrides it), ``steps_per_epoch = ceil(train rows / batch)``
and :meth:`Race.epoch_metrics` gives the full training / validation loss and accuracy
at every epoch boundary, computed lazily from the recorded parameters and cached. All
racers see the same mini-batches: one shuffle per epoch, shared, serves them all (the
kernel runs the racers epoch by epoch and keeps the orders of a few epochs).
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from engine.kernel import (
    CFG_BATCH,
    CFG_KIND,
    CFG_LID,
    CFG_NROWS,
    CFG_SEED,
    CFG_SIZE,
    DIVERGED,
    PERCEPTRON,
    RUNNING,
    race_chunk,
    scratch_for,
)
from engine.optimizers import (
    BIAS_TABLE_MAX,
    H_SIZE,
    K_STATE,
    S_STATE,
    bias_table,
    get_optimizer,
    set_velocity,
)
from engine.rng import splitmix64
from engine.schedules import SP_SIZE, get_schedule


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

    def __post_init__(self) -> None:
        opt = get_optimizer(self.optimizer)
        self.params = opt.resolve(self.params)
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


@dataclass(frozen=True)
class Tolerance:
    """When a run counts as converged, and when as blown up.

    Within tolerance at a step: |f − f*| <= ``loss`` (if f* is known) or |∇f| <= ``grad``.
    ``divergence`` is the factor of the divergence rule (see :meth:`Race.diverged_step`):
    a run whose loss gap grows beyond ``divergence`` × its reference gap at the start has
    diverged (f* unknown: a loss that falls that far is unbounded below).
    """

    loss: float = 1e-6
    grad: float = 1e-6
    divergence: float = 1e6


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


@dataclass(frozen=True)
class RunMetrics:
    """Per-run summary figures."""

    label: str
    optimizer: str
    steps: int  # updates done
    final_loss: float
    best_loss: float
    best_step: int
    final_grad_norm: float
    # the first step from which every recorded row is within tolerance (None if the last
    # recorded row is not: the run has not settled)
    steps_to_tol: int | None
    tol_kind: str  # "loss" (|f - f*|) or "grad" (|∇f|)
    nearest_minimum: int | None  # index into objective.minima()
    distance_to_minimum: float | None
    diverged_step: int | None  # Race.diverged_step
    final_point: tuple[float, ...]
    first_within_tol: int | None = None  # the first step within tolerance, None if never
    unbounded_step: int | None = None  # Race.unbounded_step (f* unknown only)
    # perceptron only (None otherwise): full-set figures at the final point
    val_loss: float | None = None
    val_accuracy: float | None = None
    train_loss: float | None = None  # full training set (final_loss is the last mini-batch's)
    train_accuracy: float | None = None
    epochs: float | None = None  # updates done / steps per epoch

    def as_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            if isinstance(v, tuple):
                return [clean(u) for u in v]
            return v

        perceptron = self.epochs is not None
        return {
            k: clean(v) for k, v in self.__dict__.items() if perceptron or k not in _PERCEPTRON_ONLY
        }


_PERCEPTRON_ONLY = ("val_loss", "val_accuracy", "train_loss", "train_accuracy", "epochs")


# epochs whose batch order a perceptron race keeps (racers in up to this many different
# epochs share the orders without reshuffling)
PERM_SLOTS = 3

# every array with one entry per racer (allocated in Race._alloc)
PER_RACER_ARRAYS = (
    "oids", "sids", "hps", "sps", "X", "st", "sc", "bts", "t", "count", "status", "active",
    "rng", "run_id", "xs", "loss", "gnorm", "lrs",
)  # fmt: skip


class Race:
    """A race of several racers on one objective (see the module docstring)."""

    def __init__(
        self,
        objective: Objective,
        racers: list[RacerConfig],
        steps: int = 1000,
        seed: int = 0,
        tolerance: Tolerance | None = None,
        batch_size: int = 0,
    ) -> None:
        if steps < 1:
            raise ValueError("steps must be >= 1")
        self.lock = threading.RLock()
        self.objective = objective
        self.seed = int(seed)
        self.steps = int(steps)
        self.tolerance = tolerance or Tolerance()
        if int(batch_size) <= 0:  # the objective's (a perceptron's mini-batch size)
            batch_size = int(getattr(objective, "batch_size", 0) or 0)
        self.batch_size = int(batch_size)
        self.racers: list[RacerConfig] = []
        self._epoch_lock = threading.Lock()  # guards the cache only (never held by advance)
        self._epoch_cache: dict[int, _EpochCache] = {}
        self._scan_lock = threading.Lock()  # guards the metric scans (never held by advance)
        self._scans: dict[int, _Scan] = {}
        self._alloc(0, self.steps + 1)
        for cfg in racers:
            self.add_racer(cfg)

    # ------------------------------------------------------------ set-up
    def _alloc(self, n: int, cap: int) -> None:
        d = self.objective.dim
        self.cap = cap
        self.oids = np.zeros(n, dtype=np.int64)
        self.sids = np.zeros(n, dtype=np.int64)
        self.hps = np.zeros((n, H_SIZE))
        self.sps = np.zeros((n, SP_SIZE))
        self.X = np.zeros((n, d))
        self.st = np.zeros((n, K_STATE, d))
        self.sc = np.zeros((n, S_STATE))
        self.bts = np.full((n, 3, self._bias_len()), np.nan)  # filled by _pack_racer
        self.t = np.zeros(n, dtype=np.int64)
        self.count = np.zeros(n, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.int64)
        self.active = np.zeros(n, dtype=np.int64)
        self.rng = np.zeros((n, 4), dtype=np.uint64)
        self.run_id = np.zeros(n, dtype=np.int64)  # new id at every reset (epoch-metric cache)
        # the perceptron's batch orders, shared by all racers: the kernel makes each
        # epoch's once, keeping PERM_SLOTS epochs (-1: empty slot); int32 halves the
        # shuffle's memory traffic. ``perm`` is slot 0 (the first epoch made).
        nrows = self.objective.data.shape[0]
        self.perm_slots = np.zeros((PERM_SLOTS, nrows), dtype=np.int32)
        self.perm = self.perm_slots[:1]
        self.perm_epoch = np.full(PERM_SLOTS, -1, dtype=np.int64)
        # np.full, not np.zeros: writes every page now, as the NaN fills below do, so the
        # kernel's first pass over the rows does not page-fault (zeros are mapped lazily;
        # a fault costs ~2 µs here, 10 ns per recorded 2-D row)
        self.xs = np.full((n, cap, d), 0.0)
        self.loss = np.full((n, cap), np.nan)
        self.gnorm = np.full((n, cap), np.nan)
        self.lrs = np.full((n, cap), np.nan)

    def _bias_len(self) -> int:
        """Length of the racers' bias-correction tables: every update of the race, at
        most BIAS_TABLE_MAX (engine.optimizers.bias_table)."""
        return min(self.cap, BIAS_TABLE_MAX)

    def _pack_bias(self, i: int) -> None:
        tab = bias_table(int(self.oids[i]), self.hps[i], self.bts.shape[2])
        self.bts[i] = np.nan
        self.bts[i, :, : tab.shape[1]] = tab

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

    def _reset_racer(self, i: int) -> None:
        self.run_id[i] = next(_RUN_IDS)  # first: readers see a reset before any row changes
        self.X[i] = self._start_of(i)
        self.st[i] = 0.0
        self.sc[i] = 0.0
        cfg = self.racers[i]
        set_velocity(cfg.optimizer, cfg.params, self.st[i], self.sc[i], self.X[i], cfg.v0,
                     cfg.x_prev)  # fmt: skip
        self.t[i] = 0
        self.count[i] = 0
        self.status[i] = RUNNING
        w = splitmix64(self.seed * 2 + 1)
        v = splitmix64(self.seed * 2 + 2)
        self.rng[i] = np.array([w[0], w[1], v[0], v[1]], dtype=np.uint64)
        self.loss[i] = np.nan
        self.gnorm[i] = np.nan
        self.lrs[i] = np.nan
        self.xs[i] = 0.0
        # record row 0 without stepping
        self._run_kernel(0, only=i)

    def _pack_racer(self, i: int) -> None:
        cfg = self.racers[i]
        opt = get_optimizer(cfg.optimizer)
        sch = get_schedule(cfg.schedule)
        self.oids[i] = opt.oid
        self.hps[i] = opt.pack(cfg.params)
        self.sids[i] = sch.sid
        self.sps[i] = sch.pack(cfg.schedule_params, unit=cfg.schedule_unit)
        self.active[i] = 1 if cfg.enabled else 0
        self._pack_bias(i)

    def _grow_racers(self) -> None:
        n = len(self.racers)
        old = self.__dict__.copy()
        self._alloc(n, self.cap)
        m = n - 1
        for name in PER_RACER_ARRAYS:
            getattr(self, name)[:m] = old[name][:m]

    def add_racer(self, cfg: RacerConfig) -> int:
        """Add a racer (starting from step 0); returns its index."""
        d = self.objective.dim
        for name in ("v0", "x_prev"):
            v = getattr(cfg, name)
            if v is not None and len(v) != d:
                raise ValueError(f"{name}: expected {d} numbers (one per parameter), got {len(v)}")
        with self.lock:
            self.racers.append(cfg)
            self._grow_racers()
            i = len(self.racers) - 1
            self._pack_racer(i)
            self._reset_racer(i)
            return i

    def remove_racer(self, i: int) -> None:
        """Remove racer ``i`` (later racers shift down by one)."""
        with self.lock:
            keep = [k for k in range(len(self.racers)) if k != i]
            old = self.__dict__.copy()
            self.racers.pop(i)
            self._alloc(len(self.racers), self.cap)
            for name in PER_RACER_ARRAYS:
                getattr(self, name)[:] = old[name][keep]

    # ------------------------------------------------------------ control
    def reset(self) -> None:
        """Every racer back to its start, state cleared."""
        with self.lock:
            for i in range(len(self.racers)):
                self._pack_racer(i)
                self._reset_racer(i)

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
            if steps + 1 <= self.cap:
                self.steps = steps
                return
            n, d = len(self.racers), self.objective.dim
            cap = steps + 1
            xs = np.full((n, cap, d), 0.0)  # pages written now (see _alloc)
            loss = np.full((n, cap), np.nan)
            gnorm = np.full((n, cap), np.nan)
            lrs = np.full((n, cap), np.nan)
            xs[:, : self.cap] = self.xs
            loss[:, : self.cap] = self.loss
            gnorm[:, : self.cap] = self.gnorm
            lrs[:, : self.cap] = self.lrs
            self.xs, self.loss, self.gnorm, self.lrs = xs, loss, gnorm, lrs
            self.cap = cap
            self.steps = steps
            if self._bias_len() != self.bts.shape[2]:  # longer tables for the longer race
                self.bts = np.full((n, 3, self._bias_len()), np.nan)
                for i in range(n):
                    self._pack_bias(i)

    # ------------------------------------------------------------ stepping
    def _run_kernel(self, n: int, only: int | None = None) -> None:
        active = self.active
        if only is not None:
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
            self.X, self.st, self.sc, self.bts, self.t, self.count, self.status, active,
            self.rng,
            self.perm_slots, self.perm_epoch, self.xs, self.loss, self.gnorm, self.lrs,
            scratch_for(self.objective.dim),
        )  # fmt: skip

    def advance(self, n: int) -> int:
        """Run up to ``n`` updates of every enabled racer; returns the most steps any took."""
        with self.lock:
            before = self.t.copy()
            if self.racers:
                self._run_kernel(n)
            return int((self.t - before).max()) if len(self.racers) else 0

    @property
    def is_perceptron(self) -> bool:
        return int(getattr(self.objective, "kind", 0)) == PERCEPTRON

    @property
    def steps_per_epoch(self) -> int:
        """Updates per pass over the training rows (1 for a landscape)."""
        if not self.is_perceptron:
            return 1
        n = int(self.objective.data.shape[0])
        return max(-(-n // max(self.batch_size, 1)), 1)

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
        """Full-set metrics of racer ``i`` at every epoch boundary reached so far.

        Entry ``e`` is the state after ``e`` epochs (recorded row ``e × steps_per_epoch``;
        epoch 0 is the start): arrays ``epoch``, ``step``, ``train_loss``, ``val_loss``,
        ``val_accuracy`` and ``train_accuracy`` (fresh copies). Computed lazily from the
        recorded parameters and cached per run: each call evaluates only the epochs
        reached since the last call. Safe while another thread advances the race (the
        race lock is not taken; a reset between the reads is detected and retried).
        """
        if not self.is_perceptron:
            raise ValueError("epoch metrics exist only for a perceptron objective")
        spe = self.steps_per_epoch
        with self._epoch_lock:
            for _attempt in range(100):
                rid = int(self.run_id[i])
                cache = self._epoch_cache.get(rid) or _EpochCache()
                c = int(self.count[i])  # count before the buffer: rows < c are valid in it
                xs = self.xs
                n_ep = (c - 1) // spe + 1 if c > 0 else 0
                new = None
                if n_ep > cache.n:
                    new = self.objective.evaluate(xs[i, np.arange(cache.n, n_ep) * spe])
                if int(self.run_id[i]) != rid:
                    continue  # reset meanwhile: the rows read may be mixed; read again
                if new is not None:
                    cache.append(new)
                live = set(self.run_id.tolist())
                self._epoch_cache = {k: v for k, v in self._epoch_cache.items() if k in live}
                self._epoch_cache[rid] = cache
                return cache.as_dict(spe)
        raise RuntimeError("the race kept being reset")  # pragma: no cover

    def overflow_step(self, i: int) -> int | None:
        """The step at which the kernel stopped racer ``i`` because its loss or gradient
        was not finite (that row is not recorded), None while it runs."""
        return int(self.t[i]) if self.status[i] == DIVERGED else None

    def diverged_step(self, i: int) -> int | None:
        """The step at which racer ``i`` diverged, None if it has not.

        A run diverges at the first step k where its loss or gradient is not finite (the
        kernel stops it there: :meth:`overflow_step`) or where its loss has risen too far:

        * f* known: f(x_k) − f* > D · max(|f(x_0) − f*|, tol.loss, 1e-12);
        * f* unknown: f(x_k) − f(x_0) > D · max(|f(x_0)|, 1);

        D = ``tolerance.divergence`` (1e6 by default). Where f* is unknown, a run whose
        loss instead falls by more than D · max(|f(x_0)|, 1), or which the kernel stops
        while its last finite loss is below f(x_0), is unbounded below
        (:meth:`unbounded_step`), not diverged; a run is marked with the first of the two
        events it meets. The rule is checked on the recorded rows only; the kernel keeps
        stepping a run that meets it until it overflows or ends.
        Cheap: the rows are scanned once (see :meth:`_scan`), so calling this every
        frame costs only the rows recorded since the last call.
        """
        kind, k = self._blowup(i)
        return k if kind == "diverged" else None

    def unbounded_step(self, i: int) -> int | None:
        """The step at which racer ``i``'s loss was found unbounded below (f* unknown;
        see :meth:`diverged_step`), None if it has not been."""
        kind, k = self._blowup(i)
        return k if kind == "unbounded" else None

    def _blowup(self, i: int) -> tuple[str, int | None]:
        """("diverged" or "unbounded", step) of racer ``i``, or ("", None)."""
        stopped = self.overflow_step(i)  # read before the rows: then the rows are final
        scan, tr = self._scan(i)
        return _classify(scan, tr, stopped)

    def metrics(self) -> list[RunMetrics]:
        return [self.run_metrics(i) for i in range(len(self.racers))]

    def run_metrics(self, i: int) -> RunMetrics:
        """Summary figures of racer ``i`` (see RunMetrics)."""
        cfg = self.racers[i]
        stopped = self.overflow_step(i)  # read before the rows: then the rows are final
        scan, tr = self._scan(i)
        n = tr.loss.shape[0]
        fstar = self.objective.f_star()
        minima = self.objective.minima()
        kind, blowup = _classify(scan, tr, stopped)
        diverged = blowup if kind == "diverged" else None
        unbounded = blowup if kind == "unbounded" else None
        if n == 0:
            return RunMetrics(
                label=cfg.label,
                optimizer=cfg.optimizer,
                steps=0,
                final_loss=math.nan,
                best_loss=math.nan,
                best_step=0,
                final_grad_norm=math.nan,
                steps_to_tol=None,
                tol_kind="loss" if fstar is not None else "grad",
                nearest_minimum=None,
                distance_to_minimum=None,
                diverged_step=diverged,
                final_point=tuple(self._start_of(i).tolist()),
                unbounded_step=unbounded,
            )
        tol_kind = scan.key[0]
        last = tr.x[-1]
        near, dist = None, None
        if minima:
            # math.hypot scales: no overflow for points far out (e.g. 1e300 on a bounded landscape)
            ds = [math.hypot(*(float(v) for v in last - np.asarray(m))) for m in minima]
            near = int(np.argmin(ds))
            dist = ds[near]
        extra: dict[str, Any] = {}
        if self.is_perceptron:
            tl, vl, va, ta = (float(v) for v in self.objective.evaluate(last)[0])
            extra = {"val_loss": vl, "val_accuracy": va, "train_loss": tl,
                     "train_accuracy": ta, "epochs": (n - 1) / self.steps_per_epoch}  # fmt: skip
        return RunMetrics(
            label=cfg.label,
            optimizer=cfg.optimizer,
            steps=n - 1,
            final_loss=float(tr.loss[-1]),
            best_loss=scan.best,
            best_step=scan.best_step,
            final_grad_norm=float(tr.grad_norm[-1]),
            steps_to_tol=scan.last_out + 1 if scan.last_out + 1 < n else None,
            tol_kind=tol_kind,
            nearest_minimum=near,
            distance_to_minimum=dist,
            diverged_step=diverged,
            final_point=tuple(float(v) for v in last),
            first_within_tol=scan.first,
            unbounded_step=unbounded,
            **extra,
        )

    def _scan(self, i: int) -> tuple[_Scan, Trajectory]:
        """What the metrics need of racer ``i``'s rows, and its rows: the best loss, the
        first row within tolerance, the last row outside it and the first row meeting the
        divergence rule (see :meth:`diverged_step`).

        Incremental: the figures of each run are cached (by run id and tolerance) and
        only the rows recorded since the last call are scanned, so a leaderboard refresh
        during a long race costs the new rows, not all of them. Same results as a full
        scan: the earliest minimum (np.argmin's choice) and the earliest hit. Safe while
        another thread advances the race (a reset between the reads is retried).
        """
        fstar = self.objective.f_star()
        tol = self.tolerance
        key: tuple[str, float, float | None, float] = (
            ("loss", tol.loss, fstar, tol.divergence)
            if fstar is not None
            else ("grad", tol.grad, None, tol.divergence)
        )
        with self._scan_lock:
            for _attempt in range(100):
                rid = int(self.run_id[i])
                tr = self.trajectory(i)  # count read first: its rows are final
                n = tr.loss.shape[0]
                scan = self._scans.get(rid)
                if scan is None or scan.key != key or scan.n > n:
                    scan = _Scan(key)
                elif n > scan.n:
                    scan = replace(scan)  # the cached one changes only on success
                if n > scan.n:
                    scan.add(tr.loss[scan.n : n], tr.grad_norm[scan.n : n])
                if int(self.run_id[i]) != rid:
                    continue  # reset meanwhile: the rows read may be mixed; read again
                if rid not in self._scans:  # a new run: forget those reset or removed
                    live = set(self.run_id.tolist())
                    self._scans = {k: v for k, v in self._scans.items() if k in live}
                self._scans[rid] = scan
                return scan, tr
        raise RuntimeError("the race kept being reset")  # pragma: no cover

    def leaderboard(self) -> list[tuple[int, RunMetrics]]:
        """Racer indices with metrics, best first: the settled runs by steps to
        tolerance, then the others by final loss, diverged and unbounded runs last.

        Perceptron: diverged last, then by the final validation loss (the full training
        loss if there are no validation rows); the last mini-batch loss is too noisy.
        """
        ms = list(enumerate(self.metrics()))

        def key(item: tuple[int, RunMetrics]) -> tuple[int, float, float]:
            m = item[1]
            div = 1 if m.diverged_step is not None or m.unbounded_step is not None else 0
            if m.epochs is not None:
                tl = _finite_or_inf(m.train_loss)
                vl = _finite_or_inf(m.val_loss)
                return (div, vl if math.isfinite(vl) else tl, tl)
            tol = m.steps_to_tol if m.steps_to_tol is not None else math.inf
            fl = m.final_loss if math.isfinite(m.final_loss) else math.inf
            return (div, tol, fl)

        return sorted(ms, key=key)


_RUN_IDS = itertools.count(1)


def _finite_or_inf(v: float | None) -> float:
    return v if v is not None and math.isfinite(v) else math.inf


def _classify(scan: _Scan, tr: Trajectory, stopped: int | None) -> tuple[str, int | None]:
    """("diverged" or "unbounded", step) of a run, or ("", None) (see Race.diverged_step):
    the first row meeting the divergence rule, else the kernel's overflow step
    ``stopped``: unbounded below if f* is unknown and the last finite loss is below the
    start's, diverged otherwise."""
    if scan.blowup is not None:
        return scan.blowup_kind, scan.blowup
    if stopped is None:
        return "", None
    n = tr.loss.shape[0]
    if scan.key[2] is None and n > 0 and tr.loss[n - 1] < scan.f0:
        return "unbounded", stopped
    return "diverged", stopped


@dataclass
class _Scan:
    """What :meth:`Race._scan` knows of one run: rows ``[0, n)`` scanned."""

    key: tuple[str, float, float | None, float]  # tolerance kind, value, f*, divergence
    n: int = 0
    best: float = math.nan
    best_step: int = 0
    first: int | None = None  # the first row within tolerance
    last_out: int = -1  # the last row outside tolerance (-1: none)
    f0: float = math.nan  # the loss at the start (row 0)
    limit: float = math.inf  # the divergence rule's bound on the gap
    blowup: int | None = None  # the first row meeting the divergence rule
    blowup_kind: str = ""  # "diverged" or "unbounded"

    def add(self, seg: np.ndarray, gnorm: np.ndarray) -> None:
        """Take in the loss and gradient norm of rows ``[n, n + len(seg))``."""
        _, tol, fstar, factor = self.key
        s = self.n
        if s == 0:
            self.f0 = f0 = float(seg[0])
            if fstar is not None:
                self.limit = factor * max(abs(f0 - fstar), tol, 1e-12)
            else:
                self.limit = factor * max(abs(f0), 1.0)
        k = int(np.argmin(seg))
        lo = float(seg[k])
        if s == 0 or lo < self.best:  # ties keep the earlier step
            self.best, self.best_step = lo, s + k
        within = (np.abs(seg - fstar) if fstar is not None else gnorm) <= tol
        if self.first is None and within.any():
            self.first = s + int(np.argmax(within))
        if not within.all():
            self.last_out = s + seg.shape[0] - 1 - int(np.argmax(~within[::-1]))
        if self.blowup is None:
            base = fstar if fstar is not None else self.f0
            end = seg.shape[0]
            rise = fall = end
            if float(seg.max()) - base > self.limit:
                rise = int(np.argmax(seg - base > self.limit))
            if fstar is None and self.f0 - lo > self.limit:
                fall = int(np.argmax(self.f0 - seg > self.limit))
            if min(rise, fall) < end:
                self.blowup = s + min(rise, fall)
                self.blowup_kind = "diverged" if rise < fall else "unbounded"
        self.n = s + seg.shape[0]


class _EpochCache:
    """Per-epoch figures of one run: rows = epochs 0, 1, ...; columns train loss,
    validation loss, validation accuracy, training accuracy (a doubling buffer)."""

    def __init__(self) -> None:
        self.buf = np.empty((16, 4))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + rows.shape[0]
        if need > self.buf.shape[0]:
            buf = np.empty((max(need, 2 * self.buf.shape[0]), 4))
            buf[: self.n] = self.buf[: self.n]
            self.buf = buf
        self.buf[self.n : need] = rows
        self.n = need

    def as_dict(self, spe: int) -> dict[str, np.ndarray]:
        ep = np.arange(self.n, dtype=np.int64)
        t = self.buf[: self.n]
        return {
            "epoch": ep,
            "step": ep * spe,
            "train_loss": t[:, 0].copy(),
            "val_loss": t[:, 1].copy(),
            "val_accuracy": t[:, 2].copy(),
            "train_accuracy": t[:, 3].copy(),
        }
