"""Learning-rate schedules against their formulas, written here independently.

Every schedule in SCHEDULES is checked at random parameters and steps against a
plain-Python formula (the cyclic one as a triangle wave on t mod 2s rather than the
CLR expression the engine uses), with and without a warm-up in front, against the
lecture notes' examples and torch.optim.lr_scheduler where torch has the same schedule;
then the parameter validation, and that a race records and uses exactly these rates.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.landscapes import grad
from engine.objective import LandscapeObjective
from engine.params import ParamError, ParamSpec
from engine.race import Race, RacerConfig
from engine.schedules import (
    MAX_MILESTONES,
    SCHEDULES,
    SP_UNIT,
    get_schedule,
    lr_at,
    schedule_lr,
)

NAMES = sorted(SCHEDULES)
SETTINGS = settings(deadline=None, max_examples=60, database=None)


# ------------------------------------------------------------------ the formulas
def inner(name: str, p: dict[str, Any], lr: float, t: float) -> float:
    """η_t of each schedule without warm-up, from the lecture notes / the usual papers."""
    if name == "constant":
        return lr
    if name == "step":  # η·γ^⌊t/step_size⌋ (notes 002: "after every n-th epoch η = αη")
        return lr * p["gamma"] ** math.floor(t / p["step_size"])
    if name == "multistep":  # η·γ^(milestones passed)
        return lr * p["gamma"] ** sum(1 for m in p["milestones"] if t >= m)
    if name == "exponential":  # η·γ^t (notes 004: η₀·e^(−λt) with γ = e^(−λ))
        return lr * p["gamma"] ** t
    if name == "time_based":  # notes 000/003: η₀ / (1 + decay·epoch)
        return lr / (1.0 + p["decay"] * t)
    if name == "polynomial":  # notes 004: η₀·(βt + 1)^(−α)
        return lr * (p["beta"] * t + 1.0) ** (-p["alpha"])
    if name == "inverse_sqrt":
        return lr * p["k"] / math.sqrt(t + p["t0"])
    if name == "cosine":  # notes 002: ½η₀(1 + cos(tπ/T)), here floored at η_min, held after T
        tt = min(t, p["T"])
        return p["eta_min"] + 0.5 * (lr - p["eta_min"]) * (1.0 + math.cos(math.pi * tt / p["T"]))
    if name == "linear":
        return lr * (1.0 + (p["end_factor"] - 1.0) * min(t, p["T"]) / p["T"])
    if name == "cyclic":  # triangle: up from η_min to η_max in s steps, down in s steps
        s = p["step_size"]
        pos = math.fmod(t, 2.0 * s)
        frac = pos / s if pos <= s else (2.0 * s - pos) / s
        return p["eta_min"] + (p["eta_max"] - p["eta_min"]) * frac
    raise AssertionError(f"no formula for {name}")  # a new schedule needs one here


def expected(name: str, p: dict[str, Any], lr: float, t: float) -> float:
    w, s = p.get("warmup", 0), p.get("warmup_start", 0.0)
    if w > 0 and t < w:  # linear from s·η₀ to η₀, η₀ = the schedule at its start
        return inner(name, p, lr, 0.0) * (s + (1.0 - s) * t / w)
    return inner(name, p, lr, t - w)


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300


# ------------------------------------------------------------------ strategies
def values(spec: ParamSpec, horizon: int = 2000) -> st.SearchStrategy[Any]:
    """Valid values of a schedule parameter (infinite ranges capped at useful sizes)."""
    if spec.kind == "int":
        hi = int(spec.hi) if math.isfinite(spec.hi) else horizon
        return st.integers(int(spec.lo), hi)
    if spec.kind == "list":
        return st.lists(
            st.integers(0, horizon), min_size=1, max_size=spec.max_len, unique=True
        ).map(lambda v: [float(u) for u in sorted(v)])
    hi = spec.hi if math.isfinite(spec.hi) else 10.0
    return st.floats(spec.lo, hi, exclude_min=spec.lo_open, exclude_max=spec.hi_open)


@st.composite
def schedule_params(draw: st.DrawFn, name: str, warmup: bool = True) -> dict[str, Any]:
    sch = SCHEDULES[name]
    specs = sch.all_params if warmup else sch.params
    p = draw(st.fixed_dictionaries({s.name: values(s) for s in specs}))
    if name == "cyclic" and p["eta_max"] < p["eta_min"]:
        p["eta_min"], p["eta_max"] = p["eta_max"], p["eta_min"]
    return p


lrs = st.floats(math.log(1e-6), math.log(1e6)).map(math.exp)
steps = st.integers(0, 100_000)


# ------------------------------------------------------------------ formulas
def test_every_schedule_has_a_formula_here() -> None:
    for name in NAMES:
        inner(name, SCHEDULES[name].resolve({}), 1.0, 3.0)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data(), lr=lrs, t=steps)
def test_schedule_formula(name: str, data: st.DataObject, lr: float, t: int) -> None:
    p = data.draw(schedule_params(name, warmup=False))
    got = lr_at(name, p, lr, t)
    want = expected(name, p, lr, float(t))
    assert close_sched(name, p, got, want), f"{name} {p} lr={lr} t={t}: {got} != {want}"


def close_sched(name: str, p: dict[str, Any], got: float, want: float) -> bool:
    """Relative 1e-12, except that the cyclic triangle's two formulas (CLR's and
    t mod 2s) round differently near η_min: compare it at the scale of η_max."""
    if name == "cyclic":
        return abs(got - want) <= 1e-12 * max(p["eta_max"], 1e-300)
    return close(got, want)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data(), lr=lrs, t=steps)
def test_schedule_with_warmup(name: str, data: st.DataObject, lr: float, t: int) -> None:
    p = data.draw(schedule_params(name))
    got = lr_at(name, p, lr, t)
    want = expected(name, p, lr, float(t))
    assert close_sched(name, p, got, want), f"{name} {p} lr={lr} t={t}: {got} != {want}"


@pytest.mark.parametrize("name", ["constant", "step", "exponential", "cosine", "linear",
                                  "inverse_sqrt", "cyclic"])  # fmt: skip
@settings(deadline=None, max_examples=30, database=None)
@given(data=st.data(), lr=lrs, w=st.integers(1, 500), s=st.floats(0, 1))
def test_warmup_ramp(name: str, data: st.DataObject, lr: float, w: int, s: float) -> None:
    """Notes 002 "Linear Warmup": from s·η₀ at t = 0 linearly up to η₀ at t = W, then the
    schedule from its own start (η₀ is the schedule's rate at its step 0)."""
    p = {**data.draw(schedule_params(name, warmup=False)), "warmup": w, "warmup_start": s}
    eta0 = lr_at(name, {k: v for k, v in p.items() if k not in ("warmup", "warmup_start")},
                 lr, 0)  # fmt: skip
    assert close(lr_at(name, p, lr, 0), s * eta0)
    assert close(lr_at(name, p, lr, w), eta0)
    ramp = [lr_at(name, p, lr, t) for t in range(w + 1)]
    assert all(b >= a * (1 - 1e-12) for a, b in itertools.pairwise(ramp))
    for t in (0, w // 3, w // 2, w - 1):
        assert close(ramp[t], eta0 * (s + (1 - s) * t / w))
    for t in (w, w + 1, w + 17, 3 * w + 5):
        plain = {k: v for k, v in p.items() if k not in ("warmup", "warmup_start")}
        assert close(lr_at(name, p, lr, t), lr_at(name, plain, lr, t - w))


def test_lecture_examples() -> None:
    # notes 000/003: α = α₀/(1 + decay_rate·epoch_num)
    for epoch in range(5):
        assert close(lr_at("time_based", {"decay": 1.0}, 0.2, epoch), 0.2 / (1 + epoch))
    # notes 004: polynomial_lr() = (1 + 0.1·t)^(−0.5) (the defaults), exponential e^(−0.1t)
    for t in range(1, 50):
        assert close(lr_at("polynomial", {}, 1.0, t), (1 + 0.1 * t) ** (-0.5))
        assert close(lr_at("exponential", {"gamma": math.exp(-0.1)}, 1.0, t),
                     math.exp(-0.1 * t), 1e-13)  # fmt: skip
    # notes 002: cosine ½η₀(1 + cos(tπ/T)), T the total
    for t in range(0, 101, 5):
        assert close(lr_at("cosine", {"T": 100}, 0.1, t),
                     0.5 * 0.1 * (1 + math.cos(t * math.pi / 100)))  # fmt: skip
    assert lr_at("cosine", {"T": 100}, 0.1, 100) == pytest.approx(0.0, abs=1e-18)
    assert lr_at("cosine", {"T": 100}, 0.1, 1000) == lr_at("cosine", {"T": 100}, 0.1, 100)
    # step decay: every 100 steps η ← 0.1·η
    assert lr_at("step", {}, 1.0, 99) == 1.0
    assert close(lr_at("step", {}, 1.0, 100), 0.1)
    assert close(lr_at("step", {}, 1.0, 250), 0.01)
    # cyclic: η_min → η_max → η_min, independent of η
    p = {"eta_min": 0.001, "eta_max": 0.01, "step_size": 100}
    assert [round(lr_at("cyclic", p, 123.0, t), 12) for t in (0, 50, 100, 150, 200, 300)] == [
        0.001, 0.0055, 0.01, 0.0055, 0.001, 0.01]  # fmt: skip


def _torch_lrs(make, n: int, lr: float) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@settings(deadline=None, max_examples=25, database=None)
@given(
    lr=st.floats(1e-4, 10.0),
    gamma=st.floats(0.05, 1.0),
    size=st.integers(1, 40),
    ms=st.lists(st.integers(1, 150), min_size=1, max_size=MAX_MILESTONES, unique=True),
    end=st.floats(0.0, 1.0),
    T=st.integers(1, 150),
    lo_hi=st.tuples(st.floats(1e-4, 1.0), st.floats(1e-4, 1.0)).map(sorted),
)
def test_agrees_with_torch_schedulers(
    lr: float, gamma: float, size: int, ms: list[int], end: float, T: int, lo_hi: list[float]
) -> None:
    L = torch.optim.lr_scheduler
    n = 160
    cases = {
        "step": ({"step_size": size, "gamma": gamma}, lambda o: L.StepLR(o, size, gamma)),
        "multistep": ({"milestones": [float(m) for m in sorted(ms)], "gamma": gamma},
                      lambda o: L.MultiStepLR(o, sorted(ms), gamma)),
        "exponential": ({"gamma": gamma}, lambda o: L.ExponentialLR(o, gamma)),
        "linear": ({"T": T, "end_factor": end},
                   lambda o: L.LinearLR(o, 1.0, end, total_iters=T)),
        "cosine": ({"T": T, "eta_min": lr * end},
                   lambda o: L.CosineAnnealingLR(o, T, eta_min=lr * end)),
        "cyclic": ({"eta_min": lo_hi[0], "eta_max": lo_hi[1], "step_size": size},
                   lambda o: L.CyclicLR(o, lo_hi[0], lo_hi[1], step_size_up=size,
                                        cycle_momentum=False)),
    }  # fmt: skip
    for name, (p, make) in cases.items():
        theirs = _torch_lrs(make, n, lr)
        upto = T + 1 if name == "cosine" else n  # torch's cosine goes back up after T
        for t in range(upto):
            ours = lr_at(name, p, lr, t)
            assert abs(ours - theirs[t]) <= 1e-9 * max(lr, lo_hi[1]), (name, p, t)


# ------------------------------------------------------------------ validation
def _bad_values(spec: ParamSpec) -> list[Any]:
    bad: list[Any] = [math.nan, math.inf, -math.inf, "1", None, True]
    if spec.kind == "list":
        return [[], [math.nan], [-1.0], "x", [1.0] * (spec.max_len + 1)]
    if math.isfinite(spec.lo):
        bad.append(spec.lo - 1.0 if spec.kind == "int" else math.nextafter(spec.lo, -math.inf))
        if spec.lo_open:
            bad.append(spec.lo)
    if math.isfinite(spec.hi):
        bad.append(spec.hi + 1.0 if spec.kind == "int" else math.nextafter(spec.hi, math.inf))
        if spec.hi_open:
            bad.append(spec.hi)
    if spec.kind == "int":
        bad.append(1.5)
    return bad


@pytest.mark.parametrize("name", NAMES)
def test_validation(name: str) -> None:
    sch = get_schedule(name)
    for spec in sch.all_params:
        for v in _bad_values(spec):
            with pytest.raises(ParamError, match=spec.name):
                sch.resolve({spec.name: v})
            with pytest.raises(ParamError):
                RacerConfig("sgd", schedule=name, schedule_params={spec.name: v})
    with pytest.raises(ParamError, match="nonsense"):
        sch.resolve({"nonsense": 1.0})
    assert sch.resolve({}) == {s.name: s.default for s in sch.all_params}


@pytest.mark.parametrize("milestones", [[5.0, 5.0], [10.0, 5.0], [1.0, 3.0, 2.0], [0.0, 0.0, 1.0]])
def test_milestones_strictly_increasing(milestones: list[float]) -> None:
    with pytest.raises(ParamError, match="milestones"):
        get_schedule("multistep").resolve({"milestones": milestones})


def test_milestone_limits() -> None:
    sch = get_schedule("multistep")
    full = [float(10 * k) for k in range(MAX_MILESTONES)]
    sp = sch.pack({"milestones": full})
    assert sp.shape == (16,)
    assert lr_at("multistep", {"milestones": full, "gamma": 0.5}, 1.0, 10 * MAX_MILESTONES) == (
        0.5**MAX_MILESTONES
    )
    with pytest.raises(ParamError):
        sch.resolve({"milestones": [*full, 1e9]})


def test_cyclic_needs_max_above_min() -> None:
    with pytest.raises(ParamError, match="eta_max"):
        get_schedule("cyclic").resolve({"eta_min": 0.1, "eta_max": 0.01})
    get_schedule("cyclic").resolve({"eta_min": 0.1, "eta_max": 0.1})


def test_unknown_schedule() -> None:
    with pytest.raises(KeyError, match="constant"):
        get_schedule("warp_speed")
    with pytest.raises(KeyError):
        RacerConfig("sgd", schedule="warp_speed")


def test_pack_unit() -> None:
    sch = get_schedule("step")
    assert sch.pack({}, unit="epoch")[SP_UNIT] == 1.0
    assert sch.pack({})[SP_UNIT] == 0.0
    # the unit only changes what t counts, not the function of t
    a = sch.pack({"step_size": 3}, unit="epoch")
    b = sch.pack({"step_size": 3})
    for t in range(10):
        assert schedule_lr(sch.sid, a, 0.5, float(t)) == schedule_lr(sch.sid, b, 0.5, float(t))


# ------------------------------------------------------------------ in a race
@pytest.mark.parametrize("name", NAMES)
@settings(deadline=None, max_examples=15, database=None)
@given(data=st.data(), lr=st.floats(math.log(1e-4), math.log(0.02)).map(math.exp))
def test_race_records_and_uses_the_schedule(name: str, data: st.DataObject, lr: float) -> None:
    """Row t records η_t, the rate of the update x_t → x_{t+1}; with SGD on the lecture
    quadratic x_{t+1} = x_t − η_t·∇f(x_t) exactly."""
    n = 80
    p = data.draw(schedule_params(name))
    if name == "cyclic":
        p["eta_min"], p["eta_max"] = min(p["eta_min"], 0.02), min(p["eta_max"], 0.02)
    obj = LandscapeObjective.create("quadratic_matrix")
    race = Race(obj, [RacerConfig("sgd", {"lr": lr}, name, p)], steps=n)
    with np.errstate(all="ignore"):
        race.advance(n)
    tr = race.trajectory(0)  # all n + 1 rows unless a huge rate (tiny t₀) blew it up
    assert tr.lr.shape[0] == n + 1 or race.overflow_step(0) == tr.lr.shape[0]
    for t in range(tr.lr.shape[0]):
        assert tr.lr[t] == lr_at(name, p, lr, t)
    for t in range(tr.lr.shape[0] - 1):
        g = grad("quadratic_matrix", None, *tr.x[t])
        assert np.array_equal(tr.x[t + 1], tr.x[t] + (-tr.lr[t]) * g)


def test_set_schedule_mid_race() -> None:
    obj = LandscapeObjective.create("quadratic_matrix")
    race = Race(obj, [RacerConfig("sgd", {"lr": 0.1})], steps=40)
    race.advance(20)
    before = race.trajectory(0).x.copy()
    race.set_schedule(0, "exponential", {"gamma": 0.9})
    race.advance(20)
    tr = race.trajectory(0)
    assert np.array_equal(tr.x[:21], before)
    assert list(tr.lr[:20]) == [0.1] * 20
    for t in range(20, 41):
        assert tr.lr[t] == lr_at("exponential", {"gamma": 0.9}, 0.1, t)
