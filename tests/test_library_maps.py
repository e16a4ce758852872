"""The lecture map scenarios: their ``[map]`` tables compute the maps their
descriptions quote (every number quoted there is checked here)."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest

from engine.maps.command import view_of
from engine.maps.compute import MapResult, compute_map
from engine.maps.grid import plan
from engine.scenario import Scenario, build_race, load_scenario

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def scenario(name: str) -> Scenario:
    return load_scenario(ROOT / "scenarios" / f"lecture_map_{name}.toml")


@functools.cache
def the_map(name: str, label: str) -> MapResult:
    s = scenario(name)
    assert s.map is not None
    r = next(r for r in s.racers if r.label == label)
    m = s.map
    ranges = list(m.ranges) if m.ranges is not None else None
    spec = plan(m.over, r, view_of(s), m.res, ranges, m.box, m.search, m.budget, s.seed)
    return compute_map(spec, s, r, m.steps or s.steps)


def shares(res: MapResult) -> list[float]:
    mins = res.metrics["minimum"]
    return [round(100 * float((mins == k).mean()), 1) for k in range(int(mins.max()) + 1)]


def racer_metrics(name: str) -> dict[str, object]:
    s = scenario(name)
    race = build_race(s)
    race.run()
    return {r.label: race.run_metrics(i) for i, r in enumerate(s.racers)}


def test_ravine_lr_curve() -> None:
    res = the_map("ravine_lr", "GD η = 0.01")
    lr = res.spec.axes["lr"]
    st = res.metrics["steps_to_tol"]
    dv = res.metrics["diverged_step"]
    ok = st >= 0
    assert lr.size == 400 and lr[0] == pytest.approx(1e-4) and lr[-1] == pytest.approx(0.03)
    assert round(float(lr[ok].min()), 4) == 0.003
    best = int(np.argmin(np.where(ok, st, 10**9)))
    assert (round(float(lr[best]), 4), int(st[best])) == (0.0195, 152)
    # the pixel next to eta* = 1/51: one grid step away
    assert abs(math.log(lr[best]) - math.log(1 / 51)) < math.log(lr[1] / lr[0])
    last = int(np.flatnonzero(ok)[-1])
    assert (round(float(lr[last]), 4), int(st[last])) == (0.0198, 322)
    assert np.all(dv[lr > 0.02] >= 0) and np.all(dv[lr < 0.02] < 0)  # 2/lambda_max exactly
    first_div = int(np.flatnonzero(lr > 0.02)[0])
    assert (round(float(lr[first_div]), 4), int(dv[first_div])) == (0.0201, 706)
    near = int(np.argmin(np.abs(lr - 0.021)))
    assert int(dv[near]) == 78
    m = racer_metrics("ravine_lr")
    assert m["η* = 1/51"].steps_to_tol == 157  # type: ignore[attr-defined]
    assert m["GD η = 0.021 (diverges)"].diverged_step is not None  # type: ignore[attr-defined]


@pytest.mark.slow
def test_ravine_momentum_plane() -> None:
    res = the_map("ravine_momentum_plane", "heavy ball, Distill's optimum")
    lr, rho = res.spec.axes["lr"], res.spec.axes["momentum"]
    st, dv = res.metrics["steps_to_tol"], res.metrics["diverged_step"]
    assert st.shape == (256, 256)
    step = math.log(lr[1] / lr[0])
    for j in (0, 250):  # the stable region ends at 2(1 + rho)/lambda_max, to a grid step
        edge = float(lr[dv[j] < 0].max())
        assert 0 <= math.log(2 * (1 + rho[j]) / 100) - math.log(edge) < step
    assert round(2 * (1 + rho[250]) / 100, 3) == 0.039
    j, i = np.unravel_index(np.argmin(np.where(st >= 0, st, 10**9)), st.shape)
    assert (round(float(lr[i]), 4), round(float(rho[j]), 3), int(st[j, i])) == (0.0296, 0.586, 33)
    l1, l2 = 2.0, 100.0
    kappa = l2 / l1
    assert round(4 / (math.sqrt(l1) + math.sqrt(l2)) ** 2, 4) == 0.0307
    assert round(((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2, 3) == 0.566
    m = racer_metrics("ravine_momentum_plane")
    assert m["heavy ball, Distill's optimum"].steps_to_tol == 45  # type: ignore[attr-defined]
    assert m["GD η* = 1/51"].steps_to_tol == 215  # type: ignore[attr-defined]


def test_himmelblau_basins() -> None:
    gd = the_map("basins_himmelblau", "GD")
    assert gd.spec.shape == (128, 128)
    assert shares(gd) == [25.7, 24.7, 26.0, 23.6]
    assert (gd.metrics["steps_to_tol"] >= 0).all()
    mom = the_map("basins_himmelblau", "Momentum (ρ = 0.9)")
    assert shares(mom)[0] == 29.3
    adam = the_map("basins_himmelblau", "Adam")
    for res in (mom, adam):
        assert (res.metrics["diverged_step"] < 0).all()
        assert (res.metrics["minimum"] >= 0).all()


def test_local_minimum_trap_basins() -> None:
    gd = the_map("basins_trap", "GD η = 0.1")
    assert shares(gd) == [37.7, 46.4, 15.9]
    assert shares(the_map("basins_trap", "Adam η = 0.1"))[0] == 44.5
    assert shares(the_map("basins_trap", "momentum ρ = 0.95, η = 0.1"))[0] == 32.7
