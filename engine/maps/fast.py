"""The fast path of a map: its pixels packed for the batch kernel (engine.maps.kernel)
and its output turned into the map's figures.

:func:`fast_plan` decides whether a map can take it (the optimizer's family is in the
kernel, a registered landscape without gradient noise, an enabled racer; None
otherwise: the map runs as races) and gathers what every pixel shares; :func:`run_fast`
runs flat pixels ``lo`` to ``hi``: their hyperparameters (the swept ones per pixel,
validated as a race would: each distinct value of each swept parameter, cached),
starts, initial velocities and bias tables, then the kernel (:func:`engine.maps.kernel.map_chunk`,
nogil) on this thread or, given a thread pool, on parts of the range at once (each
thread its own workspace), then the known minimum each pixel ends nearest to
(math.hypot, as reduce_race).
"""

from __future__ import annotations

import functools
import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np

from engine.maps import kernel as K
from engine.maps.grid import MapSpec
from engine.optimizers import BIAS_TABLE_MAX, bias_table, get_optimizer
from engine.race import RacerConfig
from engine.scenario.model import Scenario
from engine.schedules import CONSTANT, SP_WARMUP, get_schedule

#: pixels per block: a block's workspace (W_SIZE rows) stays in the L1/L2 cache
MAP_BLOCK = 256
#: at most this many bytes of bias tables per call (more distinct betas: races)
TABLE_BYTES = 64 * 2**20

#: optimizer -> (kernel family, the hp names of rows 1.. of P, in the kernel's order)
FAMILIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "sgd": (K.FAM_SGD, ("momentum", "dampening", "weight_decay")),
    "momentum": (K.FAM_MOMENTUM, ("momentum",)),
    "nag": (K.FAM_NAG, ("momentum",)),
    "adam": (K.FAM_ADAM, ("beta1", "beta2", "eps", "weight_decay")),
    "adamw": (K.FAM_ADAM, ("beta1", "beta2", "eps", "weight_decay")),
    "rmsprop": (K.FAM_RMSPROP, ("alpha", "eps", "weight_decay", "momentum")),
    "adagrad": (K.FAM_ADAGRAD, ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")),
}

#: a range split over threads: about this many parts per thread (uneven costs balance)
PARTS_PER_THREAD = 4

_TRANSCENDENTAL = ("math.exp", "math.cos", "math.sin", "math.log", "math.tanh", "math.atan")


@dataclass(frozen=True)
class FastPlan:
    """What every pixel of a map on the fast path shares."""

    spec: MapSpec
    racer: RacerConfig
    steps: int
    oid: int
    fam: int
    rows: tuple[int, ...]  # hp slots of P's rows (row 0: lr)
    base: np.ndarray  # the racer's packed hyperparameters
    lid: int
    lp: np.ndarray
    sid: int
    sp: np.ndarray
    const_lr: bool
    known: bool
    fstar: float
    tol: float
    factor: float
    flags: np.ndarray
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]


def _uses_vector_maths(lid: int) -> bool:
    """Whether this landscape's kernels call transcendental functions (numba with SVML
    would vectorise them with other bits than the race's scalar libm calls)."""
    import inspect

    from engine.landscapes import LANDSCAPES

    ls = next(v for v in LANDSCAPES.values() if v.lid == lid)
    module = inspect.getmodule(ls.kernels.fg.py_func)  # type: ignore[attr-defined]
    src = inspect.getsource(module) if module is not None else ""
    return any(name in src for name in _TRANSCENDENTAL)


def fast_plan(scenario: Scenario, spec: MapSpec, racer: RacerConfig, steps: int) -> FastPlan | None:
    """The shared part of the map's pixels on the fast path, or None (races)."""
    from engine.scenario import build_race

    fam_rows = FAMILIES.get(racer.optimizer)
    if fam_rows is None or not racer.enabled or scenario.objective.kind == "perceptron":
        return None
    race = build_race(replace(scenario, racers=[]), steps=steps)  # the objective, as a race's
    obj: Any = race.objective
    if float(obj.grad_noise) > 0.0 or int(obj.dim) != 2:
        return None
    from engine.landscapes import LANDSCAPES

    registered = LANDSCAPES.get(str(getattr(obj, "name", "")))
    if registered is None or registered.lid != int(obj.lid):
        return None  # a typed formula (its interpreter): races
    opt = get_optimizer(racer.optimizer)
    fam, names = fam_rows
    pnames = [p.name for p in opt.params]
    if spec.kind != "start" and not set(spec.names) <= {"lr", *names}:
        return None  # a swept parameter the kernel does not read per pixel
    sch = get_schedule(racer.schedule)
    sp = sch.pack(racer.schedule_params, unit=racer.schedule_unit)
    const_lr = sch.sid == CONSTANT and not sp[SP_WARMUP] > 0.0
    svml = bool(getattr(numba.config, "USING_SVML", False))
    if svml and (not const_lr or _uses_vector_maths(int(obj.lid))):
        return None  # SVML's vector maths would not give the race's bits
    params = opt.resolve(racer.params)
    if params.get("eps_in_sqrt", False):
        return None  # the batch kernel's updates add ε after the root only: races
    flags = np.zeros(K.FL_SIZE, dtype=np.int64)
    flags[K.FL_NESTEROV] = bool(params.get("nesterov", False)) if racer.optimizer == "sgd" else 0
    flags[K.FL_AMSGRAD] = bool(params.get("amsgrad", False)) if fam == K.FAM_ADAM else 0
    flags[K.FL_DECOUPLED] = opt.decay == "decoupled"
    flags[K.FL_CENTERED] = bool(params.get("centered", False)) if fam == K.FAM_RMSPROP else 0
    fstar = obj.f_star()
    tol = race.tolerance
    start = racer.start if racer.start is not None else obj.start
    return FastPlan(
        spec=spec, racer=racer, steps=int(steps), oid=opt.oid, fam=fam,
        rows=(pnames.index("lr"), *(pnames.index(n) for n in names)),
        base=opt.pack(params), lid=int(obj.lid), lp=np.ascontiguousarray(obj.packed),
        sid=sch.sid, sp=sp, const_lr=bool(const_lr), known=fstar is not None,
        fstar=float(fstar) if fstar is not None else 0.0,
        tol=float(tol.loss if fstar is not None else tol.grad), factor=float(tol.divergence),
        flags=flags, start=(float(start[0]), float(start[1])),
        minima=tuple((float(m[0]), float(m[1])) for m in obj.minima()),
    )  # fmt: skip


def _pixel_values(spec: MapSpec, lo: int, hi: int) -> list[np.ndarray]:
    """The swept values of flat pixels lo..hi, one float64 array per name
    (MapSpec.values, on whole arrays)."""
    if spec.search == "random" or len(spec.names) == 1:
        vals = [np.asarray(spec.axes[n])[lo:hi] for n in spec.names]
    else:
        p = np.arange(lo, hi)
        i2, i1 = np.divmod(p, spec.shape[1])
        vals = [np.asarray(spec.axes[spec.names[0]])[i1], np.asarray(spec.axes[spec.names[1]])[i2]]
    return [np.asarray(v).astype(np.float64) for v in vals]


@functools.lru_cache(maxsize=4096)
def _resolved(optimizer: str, base: tuple[tuple[str, Any], ...], name: str, value: float) -> float:
    """``value`` of ``name`` as the optimizer validates it with the other parameters at
    ``base`` (ParamError if a race would refuse it), as packed."""
    opt = get_optimizer(optimizer)
    params = dict(base)
    spec = next(p for p in opt.params if p.name == name)
    params[name] = int(value) if spec.kind == "int" else float(value)
    return float(opt.resolve(params)[name])


def _columns(plan: FastPlan, lo: int, hi: int) -> np.ndarray:
    """P (HP_ROWS, n): each pixel's rate and family hyperparameters."""
    n = hi - lo
    P = np.zeros((K.HP_ROWS, n))
    for r, slot in enumerate(plan.rows):
        P[r] = plan.base[slot]
    if plan.spec.kind == "start":
        return P
    base = tuple(sorted(plan.racer.params.items(), key=lambda kv: kv[0]))
    pnames = [p.name for p in get_optimizer(plan.racer.optimizer).params]
    for name, vals in zip(plan.spec.names, _pixel_values(plan.spec, lo, hi), strict=True):
        uniq, inv = np.unique(vals, return_inverse=True)
        packed = np.array([_resolved(plan.racer.optimizer, base, name, float(u)) for u in uniq])
        col = packed[inv.reshape(-1)]
        slot = pnames.index(name)
        if slot in plan.rows:
            P[plan.rows.index(slot)] = col
    return P


def _starts(plan: FastPlan, lo: int, hi: int) -> np.ndarray:
    X = np.empty((2, hi - lo))
    if plan.spec.kind == "start":
        X[0], X[1] = _pixel_values(plan.spec, lo, hi)
    else:
        X[0] = plan.start[0]
        X[1] = plan.start[1]
    return X


def _velocity(plan: FastPlan, X: np.ndarray, lr: np.ndarray) -> np.ndarray:
    """ST0 (ST_ROWS, n): engine.optimizers.set_velocity of every pixel (its start, its
    rate), on whole arrays: row 0-1 the velocity, row 2 sgd's "the buffer exists"."""
    ST0 = np.zeros((K.ST_ROWS, X.shape[1]))
    opt = get_optimizer(plan.racer.optimizer)
    v0, x_prev = plan.racer.v0, plan.racer.x_prev
    if not opt.velocity or (v0 is None and x_prev is None):
        return ST0
    if v0 is not None:
        v = np.asarray(v0, dtype=np.float64)[:, None] * np.ones(X.shape[1])
    else:
        dx = X - np.asarray(x_prev, dtype=np.float64)[:, None]
        v = dx if opt.velocity_units == "x" else -dx / lr
    ST0[0:2] = v
    if opt.velocity_flag >= 0:
        ST0[2] = 1.0
    return ST0


def _tables(plan: FastPlan, P: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The Adam family's bias tables (NT, 3, steps + 1) and each pixel's; None if they
    would take more than TABLE_BYTES."""
    n = P.shape[1]
    length = plan.steps + 1
    if plan.fam != K.FAM_ADAM:
        return np.zeros((1, 3, 1)), np.zeros(n, dtype=np.int64)
    bc = plan.racer.optimizer != "adam" or bool(plan.racer.params.get("bias_correction", True))
    if not bc:  # x ← x − η·m/(√v̂ + ε): corrections of 1 (opt_update's bc1 = bc2_sqrt = 1)
        return np.ones((1, 3, length)), np.zeros(n, dtype=np.int64)
    pairs = np.stack([P[1], P[2]], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    if uniq.shape[0] * 3 * length * 8 > TABLE_BYTES:
        return None
    from engine.optimizers import adam

    BT = np.empty((uniq.shape[0], 3, length))
    hp = plan.base.copy()
    for k, (b1, b2) in enumerate(uniq.tolist()):
        hp[adam.BETA_1] = b1
        hp[adam.BETA_2] = b2
        # the race's table (a shorter one past BIAS_TABLE_MAX: opt_update's pow(), the same bits)
        tab = bias_table(plan.oid, hp, min(length, BIAS_TABLE_MAX))
        BT[k, :, : tab.shape[1]] = tab
        if tab.shape[1] < length:
            _extend(BT[k], tab.shape[1], b1, b2)
    return BT, inv.reshape(-1).astype(np.int64)


def _extend(bt: np.ndarray, start: int, beta1: float, beta2: float) -> None:
    """Entries ``start`` on of a bias table, as opt_update computes them without one
    (one_minus_pow: 1 − βᵗ with C pow(), then ``1.0 if bc == 1 else bc ** 0.5``)."""
    for s in range(start, bt.shape[1]):
        step = float(s)
        bc1 = 1.0 - beta1**step
        bc2 = 1.0 - beta2**step
        bt[0, s] = bc1
        bt[1, s] = bc2
        bt[2, s] = 1.0 if bc2 == 1.0 else bc2**0.5


def nearest_minimum(
    minima: tuple[tuple[float, float], ...], fp: np.ndarray, has: np.ndarray
) -> np.ndarray:
    """The index of the known minimum each final point is nearest to (reduce_race's
    math.hypot distances, first of ties; -1 without rows or minima). Distances by
    np.hypot first; a pixel whose two nearest are within 1e-9 relative (or not finite)
    is decided again by math.hypot exactly as reduce_race."""
    n = fp.shape[0]
    out = np.full(n, -1, dtype=np.int32)
    if not minima or n == 0:
        return out
    ms = np.asarray(minima, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        ds = np.stack([np.hypot(fp[:, 0] - m[0], fp[:, 1] - m[1]) for m in ms], axis=1)
        near = np.argmin(ds, axis=1)
        if ms.shape[0] > 1:
            part = np.sort(ds, axis=1)
            close = ~(part[:, 1] - part[:, 0] > 1e-9 * part[:, 0])
        else:
            close = np.zeros(n, dtype=bool)
        close |= ~np.isfinite(ds).all(axis=1)
    out[has] = near[has].astype(np.int32)
    mlist = [np.asarray(m, dtype=np.float64) for m in minima]
    for i in np.flatnonzero(close & has).tolist():
        p = fp[i]
        d = [math.hypot(*(float(v) for v in p - m)) for m in mlist]
        out[i] = int(np.argmin(d))
    return out


def _kernel(plan: FastPlan, arrays: tuple[np.ndarray, ...], lo: int, hi: int) -> None:
    """The kernel on pixels lo..hi of the packed ``arrays`` (a workspace of its own)."""
    X, P, ST0, BT, btab, OI, OF = arrays
    W = np.empty((K.W_SIZE, MAP_BLOCK))
    K.map_chunk(plan.fam, plan.lid, plan.lp, plan.steps, plan.sid, plan.sp, plan.const_lr,
                plan.known, plan.fstar, plan.tol, plan.factor, plan.flags, X, P, ST0, BT, btab,
                OI, OF, MAP_BLOCK, lo, hi, W)  # fmt: skip


def run_fast(
    plan: FastPlan, lo: int, hi: int, pool: ThreadPoolExecutor | None = None, threads: int = 1
) -> tuple[dict[str, np.ndarray], np.ndarray, int] | None:
    """Flat pixels ``lo`` to ``hi`` on the fast path: (metrics, final points (n, 2),
    updates taken), or None when their bias tables would be too big (races then).
    ``pool`` (of ``threads`` threads): the range runs in parts on them at once."""
    n = hi - lo
    P = _columns(plan, lo, hi)
    tabs = _tables(plan, P)
    if tabs is None:
        return None
    BT, btab = tabs
    X = _starts(plan, lo, hi)
    ST0 = _velocity(plan, X, P[0])
    OI = np.empty((K.OI_SIZE, n), dtype=np.int32)
    OF = np.empty((K.OF_SIZE, n))
    arrays = (X, P, ST0, BT, btab, OI, OF)
    blocks = -(-n // MAP_BLOCK)
    parts = min(blocks, max(1, threads) * PARTS_PER_THREAD) if pool is not None else 1
    if parts <= 1:
        if n:
            _kernel(plan, arrays, 0, n)
    else:  # contiguous runs of whole blocks, as even as they come
        edges = [min(n, (blocks * k // parts) * MAP_BLOCK) for k in range(parts + 1)]
        assert pool is not None
        futures = [pool.submit(_kernel, plan, arrays, a, b)
                   for a, b in itertools.pairwise(edges) if b > a]  # fmt: skip
        for f in futures:
            f.result()
    final = np.ascontiguousarray(OF[K.OF_X : K.OF_Y + 1].T)
    has = np.isfinite(OF[K.OF_FINAL_LOSS])
    metrics = {
        "steps_to_tol": OI[K.OI_STEPS_TO_TOL].copy(),
        "first_within_tol": OI[K.OI_FIRST].copy(),
        "final_loss": OF[K.OF_FINAL_LOSS].copy(),
        "best_loss": OF[K.OF_BEST_LOSS].copy(),
        "diverged_step": OI[K.OI_DIVERGED].copy(),
        "unbounded_step": OI[K.OI_UNBOUNDED].copy(),
        "minimum": nearest_minimum(plan.minima, final, has),
    }
    return metrics, final, int(OI[K.OI_UPDATES].astype(np.int64).sum())


def warm_up_map() -> None:
    """Compile (or load from the disk cache) the batch kernel: a map of two pixels with
    arguments of the types :func:`run_fast` passes (one signature serves every map)."""
    n = 2
    X = np.zeros((2, n))
    P = np.zeros((K.HP_ROWS, n))
    P[0] = 1e-3
    OI = np.empty((K.OI_SIZE, n), dtype=np.int32)
    OF = np.empty((K.OF_SIZE, n))
    flags = np.zeros(K.FL_SIZE, dtype=np.int64)
    sp = get_schedule("constant").pack({})
    lp = np.ascontiguousarray(np.zeros(16))
    W = np.empty((K.W_SIZE, MAP_BLOCK))
    K.map_chunk(K.FAM_SGD, -1, lp, 2, CONSTANT, sp, True, True, 0.0, 1e-6, 1e6, flags, X, P,
                np.zeros((K.ST_ROWS, n)), np.zeros((1, 3, 1)), np.zeros(n, dtype=np.int64),
                OI, OF, MAP_BLOCK, 0, n, W)  # fmt: skip
