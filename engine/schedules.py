"""Learning-rate schedules: pure functions of the step (or epoch) index.

Every schedule maps the optimizer's base learning rate ``lr`` and the index ``t``
(0 for the first update) to the learning rate of update ``t``. A linear warm-up can be
put in front of any schedule: for ``t < W`` the rate climbs linearly from
``s·lr₀`` to ``lr₀`` (``lr₀`` = the inner schedule at 0), after that the inner schedule
runs on ``t − W``.

The numba function :func:`schedule_lr` is what the race kernel calls; the Python
function :func:`lr_at` is the same thing for one value (tests, GUI previews).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.jit import jit_hot, optimize_for_size
from engine.params import ParamError, ParamSpec, resolve

# Layout of the packed float64 parameter vector of one schedule.
SP_WARMUP = 0  # warm-up length W (0 = no warm-up)
SP_WARMUP_START = 1  # warm-up start factor s
SP_UNIT = 2  # 0: t counts optimizer steps, 1: t counts epochs (perceptron)
SP_FIRST = 3  # first schedule-specific slot
SP_SIZE = 16
MAX_MILESTONES = SP_SIZE - SP_FIRST - 2

CONSTANT, STEP, MULTISTEP, EXPONENTIAL, TIME_BASED, POLYNOMIAL = 0, 1, 2, 3, 4, 5
INVERSE_SQRT, COSINE, LINEAR, CYCLIC = 6, 7, 8, 9


@jit_hot
def schedule_lr(sid: int, sp: np.ndarray, lr: float, t: float) -> float:
    """Learning rate of update ``t`` for schedule ``sid`` with packed params ``sp``."""
    optimize_for_size()  # the kernel inlines it and optimises it for speed there
    # the warm-up in front, then the schedule on t − W; the factor 1.0 outside the
    # warm-up is exact, so the rates are the same bits as the bare schedule's. (The
    # schedules are written out here, not in an inlined helper: numba copies an
    # inlined function's IR, which costs compile time.)
    w = sp[SP_WARMUP]
    factor = 1.0
    if w > 0.0:
        if t < w:
            s = sp[SP_WARMUP_START]
            factor = s + (1.0 - s) * t / w
            t = 0.0
        else:
            t = t - w
    a = sp[SP_FIRST]
    b = sp[SP_FIRST + 1]
    c = sp[SP_FIRST + 2]
    v = lr  # CONSTANT (and an unknown id)
    if sid == STEP:  # a = step_size, b = gamma
        v = lr * b ** float(math.floor(t / a))  # C pow(), as Python's float ** int
    elif sid == MULTISTEP:  # a = gamma, b = number of milestones, then milestones
        k = 0.0
        for i in range(np.int64(b)):
            if t >= sp[SP_FIRST + 2 + i]:
                k += 1.0
        v = lr * a**k  # C pow(), as Python's float ** int
    elif sid == EXPONENTIAL:  # a = gamma
        v = lr * a**t
    elif sid == TIME_BASED:  # a = decay
        v = lr / (1.0 + a * t)
    elif sid == POLYNOMIAL:  # a = beta, b = alpha
        v = lr * (a * t + 1.0) ** (-b)
    elif sid == INVERSE_SQRT:  # a = k, b = t0
        v = lr * a / math.sqrt(t + b)
    elif sid == COSINE:  # a = T, b = eta_min
        tt = a if a < t else t  # min(t, a)
        v = b + (lr - b) * 0.5 * (1.0 + math.cos(math.pi * tt / a))
    elif sid == LINEAR:  # a = T, b = end_factor
        tt = a if a < t else t  # min(t, a)
        v = lr * (1.0 + (b - 1.0) * tt / a)
    elif sid == CYCLIC:  # a = eta_min, b = eta_max, c = step_size (half cycle)
        cycle = math.floor(1.0 + t / (2.0 * c))
        x = abs(t / c - 2.0 * cycle + 1.0)
        y = 1.0 - x
        v = a + (b - a) * (y if y > 0.0 else 0.0)  # max(0.0, 1 − x)
    return v * factor


_COMMON = (
    ParamSpec("warmup", 0, "linear warm-up length W in steps (0 = none)", kind="int", lo=0),
    ParamSpec("warmup_start", 0.0, "warm-up starts at this fraction s of the rate", lo=0.0, hi=1.0),
)


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: name, id, parameters and the formula it implements."""

    name: str
    sid: int
    title: str
    formula: str
    params: tuple[ParamSpec, ...]

    @property
    def all_params(self) -> tuple[ParamSpec, ...]:
        return (*self.params, *_COMMON)

    def resolve(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults merged with ``given`` (raises ParamError on bad or unknown keys)."""
        out = resolve(self.all_params, given)
        if self.name == "multistep":
            ms = out["milestones"]
            if any(b <= a for a, b in itertools.pairwise(ms)):
                raise ParamError("milestones: expected strictly increasing step numbers")
        if self.name == "cyclic" and out["eta_max"] < out["eta_min"]:
            raise ParamError("eta_max: expected eta_max >= eta_min")
        return out

    def pack(self, params: dict[str, Any], unit: str = "step") -> np.ndarray:
        """Packed float64 vector for :func:`schedule_lr`."""
        p = self.resolve(params)
        sp = np.zeros(SP_SIZE)
        sp[SP_WARMUP] = p["warmup"]
        sp[SP_WARMUP_START] = p["warmup_start"]
        sp[SP_UNIT] = 1.0 if unit == "epoch" else 0.0
        if self.name == "multistep":
            sp[SP_FIRST] = p["gamma"]
            sp[SP_FIRST + 1] = len(p["milestones"])
            sp[SP_FIRST + 2 : SP_FIRST + 2 + len(p["milestones"])] = p["milestones"]
        else:
            for i, spec in enumerate(self.params):
                sp[SP_FIRST + i] = float(p[spec.name])
        return sp


SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in (
        Schedule("constant", CONSTANT, "Constant", "η_t = η", ()),
        Schedule(
            "step",
            STEP,
            "Step decay",
            "η_t = η · γ^⌊t / step_size⌋",
            (
                ParamSpec("step_size", 100, "steps between decays", kind="int", lo=1),
                ParamSpec("gamma", 0.1, "decay factor γ", lo=0.0, hi=1.0, lo_open=True),
            ),
        ),
        Schedule(
            "multistep",
            MULTISTEP,
            "Multi-step decay",
            "η_t = η · γ^(number of milestones ≤ t)",
            (
                ParamSpec("gamma", 0.1, "decay factor γ", lo=0.0, hi=1.0, lo_open=True),
                ParamSpec(
                    "milestones",
                    [500.0, 1000.0],
                    "steps at which η is multiplied by γ",
                    kind="list",
                    lo=0.0,
                    max_len=MAX_MILESTONES,
                ),
            ),
        ),
        Schedule(
            "exponential",
            EXPONENTIAL,
            "Exponential decay",
            "η_t = η · γ^t",
            (ParamSpec("gamma", 0.99, "decay factor per step γ", lo=0.0, hi=1.0, lo_open=True),),
        ),
        Schedule(
            "time_based",
            TIME_BASED,
            "Time-based decay",
            "η_t = η / (1 + decay · t)",
            (ParamSpec("decay", 0.01, "decay rate", lo=0.0),),
        ),
        Schedule(
            "polynomial",
            POLYNOMIAL,
            "Polynomial decay",
            "η_t = η · (β·t + 1)^(−α)",
            (
                ParamSpec("beta", 0.1, "time scale β", lo=0.0),
                ParamSpec("alpha", 0.5, "power α", lo=0.0),
            ),
        ),
        Schedule(
            "inverse_sqrt",
            INVERSE_SQRT,
            "Inverse square root",
            "η_t = η · k / √(t + t₀)",
            (
                ParamSpec("k", 1.0, "scale k", lo=0.0, lo_open=True),
                ParamSpec("t0", 1.0, "offset t₀ (> 0 so that η₀ is finite)", lo=0.0, lo_open=True),
            ),
        ),
        Schedule(
            "cosine",
            COSINE,
            "Cosine decay",
            "η_t = η_min + ½ (η − η_min)(1 + cos(π · min(t, T) / T))",
            (
                ParamSpec("T", 1000, "length of the decay in steps", kind="int", lo=1),
                ParamSpec("eta_min", 0.0, "final learning rate η_min", lo=0.0),
            ),
        ),
        Schedule(
            "linear",
            LINEAR,
            "Linear decay",
            "η_t = η · (1 + (end_factor − 1) · min(t, T) / T)",
            (
                ParamSpec("T", 1000, "length of the decay in steps", kind="int", lo=1),
                ParamSpec("end_factor", 0.0, "final fraction of η", lo=0.0, hi=1.0),
            ),
        ),
        Schedule(
            "cyclic",
            CYCLIC,
            "Cyclical (triangular)",
            "c = ⌊1 + t/(2s)⌋, u = |t/s − 2c + 1|, η_t = η_min + (η_max − η_min)·max(0, 1 − u)"
            "  (η is not used)",
            (
                ParamSpec("eta_min", 0.001, "lowest learning rate η_min", lo=0.0),
                ParamSpec("eta_max", 0.01, "highest learning rate η_max", lo=0.0),
                ParamSpec("step_size", 100, "half cycle s in steps", kind="int", lo=1),
            ),
        ),
    )
}


def get_schedule(name: str) -> Schedule:
    """The schedule called ``name`` (KeyError naming the valid ones otherwise)."""
    try:
        return SCHEDULES[name]
    except KeyError:
        raise KeyError(
            f"unknown schedule {name!r}; expected one of {', '.join(SCHEDULES)}"
        ) from None


def lr_at(name: str, params: dict[str, Any] | None, lr: float, t: float) -> float:
    """Learning rate of update ``t`` (Python convenience wrapper around the kernel)."""
    s = get_schedule(name)
    return float(schedule_lr(s.sid, s.pack(params or {}), float(lr), float(t)))
