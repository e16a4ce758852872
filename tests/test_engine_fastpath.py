"""The race kernel's fast path (engine.kernel.race_chunk): plain SGD at a constant rate
on a landscape runs in a tight loop of its own, and every landscape racer keeps its
point in registers. Both must give the bits of the general loop.

Two references: the same race with the racer forced into the general loop (a "step"
schedule with γ = 1: its rate is lr·1.0 = lr, the same bits, but not a constant
schedule), and a plain-Python loop over the engine's own landscape_fg, opt_update and
lr_at (the general loop's arithmetic, one step at a time). Rows, counts, divergence
and the final points must agree exactly, chunk by chunk, across hyperparameter,
schedule and optimizer changes between chunks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.landscapes import LANDSCAPES, landscape_fg, landscape_fgh, landscape_hess
from engine.objective import LandscapeObjective
from engine.optimizers import K_STATE, OPTIMIZERS, S_STATE, opt_update
from engine.race import Race, RacerConfig
from engine.schedules import lr_at

#: no bias-correction table: opt_update computes them with pow() (engine.optimizers)
NO_TABLE = np.full((3, 1), np.nan)

NAMES = sorted(LANDSCAPES)
# a rate of lr·γ^⌊t/1⌋ = lr·1.0 = lr: the general loop with the fast path's rates
GENERAL = {"schedule": "step", "schedule_params": {"step_size": 1, "gamma": 1.0}}


def _rows(race: Race, i: int) -> dict[str, Any]:
    tr = race.trajectory(i)
    return {
        "x": tr.x.tolist(),
        "loss": tr.loss.tolist(),
        "grad_norm": tr.grad_norm.tolist(),
        "lr": tr.lr.tolist(),
        "t": int(race.t[i]),
        "X": race.X[i].tolist(),
        "diverged": race.overflow_step(i),
    }


def _same(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    """Equal bit for bit (NaN equal to NaN: the last row of a diverged racer may hold one)."""
    for key in a:
        va, vb = np.asarray(a[key], dtype=float), np.asarray(b[key], dtype=float)
        assert va.shape == vb.shape, (what, key, va.shape, vb.shape)
        assert np.array_equal(va, vb, equal_nan=True), (what, key, va, vb)


def _race(name: str, cfgs: list[RacerConfig], steps: int, start: tuple[float, float]) -> Race:
    return Race(LandscapeObjective.create(name, start=start), cfgs, steps=steps)


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_is_the_general_loop(name: str) -> None:
    """Every landscape, from its start and from far out (where the larger rates
    diverge): the fast-path racers and their general-loop twins, in one race with other
    optimizers between them, advanced in uneven chunks."""
    start = LANDSCAPES[name].start
    for xy in (start, (start[0] * 7.0 + 3.0, start[1] * -5.0 - 2.0)):
        lrs = (1e-4, 1e-2, 0.3)
        cfgs = [RacerConfig("sgd", {"lr": lr}) for lr in lrs]
        cfgs += [RacerConfig("adam", {"lr": 0.05}), RacerConfig("nag", {"lr": 1e-3})]
        cfgs += [RacerConfig("sgd", {"lr": lr}, **GENERAL) for lr in lrs]  # type: ignore[arg-type]
        race = _race(name, cfgs, 300, xy)
        for n in (1, 2, 37, 100, 500):
            race.advance(n)
        whole = _race(name, cfgs, 300, xy)
        whole.advance(300)
        for k in range(len(lrs)):
            fast, general = _rows(race, k), _rows(race, 5 + k)
            _same(fast, general, f"{name} {xy} lr={lrs[k]}: fast vs general")
            _same(fast, _rows(whole, k), f"{name} {xy} lr={lrs[k]}: chunked vs whole")


def test_fast_path_divergence_is_recorded_like_the_general_loop() -> None:
    """A racer that overflows stops at its last finite point in both loops."""
    cfgs = [RacerConfig("sgd", {"lr": 0.5}), RacerConfig("sgd", {"lr": 0.5}, **GENERAL)]  # type: ignore[arg-type]
    for name in ("rosenbrock", "monkey_saddle", "three_hump_camel"):
        race = _race(name, cfgs, 200, (3.0, -4.0))
        race.advance(7)
        race.advance(200)
        assert race.overflow_step(0) is not None, name
        _same(_rows(race, 0), _rows(race, 1), name)


def _reference(
    name: str, start: tuple[float, float], segments: list[tuple[int, str, dict, str, dict]]
) -> dict[str, Any]:
    """The general loop's arithmetic in Python: row t = (x_t, f, |∇f|, lr_t), then
    opt_update with lr_t; a segment (n, optimizer, params, schedule, schedule params)
    applies from the update after the previous segment's last one."""
    ls = LANDSCAPES[name]
    p = ls.pack({})
    x = np.array(start, dtype=np.float64)
    st_, sc = np.zeros((K_STATE, 2)), np.zeros(S_STATE)
    xs: list[list[float]] = []
    loss: list[float] = []
    gn: list[float] = []
    lrs: list[float] = []
    t = 0
    diverged = None
    opt = None
    for n, oname, params, sname, sparams in segments:
        if oname != opt:  # a new optimizer starts from fresh state (Race.set_optimizer)
            opt = oname
            st_[:], sc[:] = 0.0, 0.0
        o = OPTIMIZERS[oname]
        hp = o.pack(params)
        end = t + n
        while diverged is None:
            g = np.empty(2)
            f = float(landscape_fg(ls.lid, p, x, g))
            lr = lr_at(sname, sparams, float(hp[0]), float(t))
            del xs[t:], loss[t:], gn[t:], lrs[t:]  # a row re-recorded after a change
            xs.append(x.tolist())
            loss.append(f)
            g0, g1 = float(g[0]), float(g[1])  # Python floats: overflow to inf, no warning
            gn2 = g0 * g0 + g1 * g1
            gn.append(math.sqrt(gn2))
            lrs.append(lr)
            if not (math.isfinite(f) and math.isfinite(gn2)):
                diverged = t
                break
            if t >= end:
                break
            opt_update(o.oid, hp, st_, sc, NO_TABLE, x, g, lr, t)
            t += 1
    rows = {"x": xs, "loss": loss, "grad_norm": gn, "lr": lrs, "t": t, "X": x.tolist()}
    if diverged is not None:  # the race's rows stop before the non-finite one
        for key in ("x", "loss", "grad_norm", "lr"):
            rows[key] = rows[key][:diverged]
    rows["diverged"] = diverged
    return rows


SEGMENTS = st.lists(
    st.tuples(
        st.integers(1, 60),
        st.sampled_from(["sgd", "sgd", "sgd", "adam"]),
        st.fixed_dictionaries(
            {
                "lr": st.sampled_from([1e-4, 3e-3, 0.02, 0.2]),
                "momentum": st.sampled_from([0.0, 0.0, 0.9]),
                "weight_decay": st.sampled_from([0.0, 0.0, 0.1]),
            }
        ),
        st.sampled_from(["constant", "constant", "cosine", "step"]),
    ),
    min_size=1,
    max_size=6,
)


@settings(deadline=None, max_examples=60, database=None)
@given(st.sampled_from(NAMES), SEGMENTS)
def test_changes_between_chunks(name: str, segments: list[tuple[int, str, dict, str]]) -> None:
    """Rate, momentum, weight decay, schedule and optimizer changed between chunks move a
    racer in and out of the fast path; every row is the general loop's."""
    start = LANDSCAPES[name].start
    race = _race(name, [RacerConfig("sgd", {"lr": segments[0][2]["lr"]})], 400, start)
    full: list[tuple[int, str, dict, str, dict]] = []
    opt = "sgd"
    for n, oname, params, sname in segments:
        p = params if oname == "sgd" else {"lr": params["lr"], "weight_decay": 0.0}
        sp = {"T": 50} if sname == "cosine" else {}
        if oname != opt:
            race.set_optimizer(0, oname, p)  # restarts the racer
            full = []
            opt = oname
        else:
            race.set_params(0, p)
        race.set_schedule(0, sname, sp)
        full.append((n, oname, p, sname, sp))
        race.advance(n)
    _same(_rows(race, 0), _reference(name, start, full), f"{name} {full}")


def test_landscape_fgh_is_landscape_fg_and_hess() -> None:
    """The kernel's one dispatcher and the array forms give the same bits."""
    rng = np.random.default_rng(5)
    for name in NAMES:
        ls = LANDSCAPES[name]
        p = ls.pack({})
        for x, y in rng.normal(0.0, 2.0, (20, 2)):
            xv = np.array([x, y])
            g, h = np.empty(2), np.empty((2, 2))
            f = landscape_fg(ls.lid, p, xv, g)
            landscape_hess(ls.lid, p, xv, h)
            got = landscape_fgh(ls.lid, p, float(x), float(y), np.bool_(True))
            want = (f, g[0], g[1], h[0, 0], h[0, 1], h[1, 1])
            assert np.array_equal(np.array(got), np.array(want), equal_nan=True), name
            no_h = landscape_fgh(ls.lid, p, float(x), float(y), np.bool_(False))
            assert np.array_equal(np.array(no_h[:3]), np.array(got[:3]), equal_nan=True)
            assert no_h[3:] == (0.0, 0.0, 0.0)


TYPED = {
    "rosenbrock": "(1 - x)**2 + 100*(y - x**2)**2",
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "kink": "abs(x) + y**2 + log(2 + x)",  # leaves its domain (x < -2): NaN, diverged
}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_typed_formula_fast_path_is_the_general_loop(name: str) -> None:
    """A typed formula's plain-SGD loop (engine.kernel.formula_sgd_loop: the interpreter
    set up once and inlined) gives the general loop's bits, counts and divergence step,
    chunked or whole, converging, overflowing or leaving the formula's domain."""
    from engine.landscapes.typed import formula_landscape

    obj = LandscapeObjective(formula_landscape(TYPED[name], {}), {}, start=(-2.5, 2.0))
    lrs = (1e-4, 1e-2, 0.3)
    cfgs = [RacerConfig("sgd", {"lr": lr}) for lr in lrs]
    cfgs += [RacerConfig("adam", {"lr": 0.05})]
    cfgs += [RacerConfig("sgd", {"lr": lr}, **GENERAL) for lr in lrs]  # type: ignore[arg-type]
    race = Race(obj, cfgs, steps=300)
    for n in (1, 2, 37, 100, 500):
        race.advance(n)
    whole = Race(obj, cfgs, steps=300)
    whole.advance(300)
    for k in range(len(lrs)):
        fast, general = _rows(race, k), _rows(race, 4 + k)
        _same(fast, general, f"{name} lr={lrs[k]}: fast vs general")
        _same(fast, _rows(whole, k), f"{name} lr={lrs[k]}: chunked vs whole")
        assert race.count[k] == race.count[4 + k] and race.status[k] == race.status[4 + k]
    assert race.overflow_step(2) is not None, "lr 0.3 from (-2.5, 2) must leave the finite"
