"""The maps' batch kernel (engine.maps.kernel, driven by engine.maps.fast): every pixel
equals, bit for bit, what a race of that configuration gives (final point and every
metric, against engine.maps.compute.run_block: Race + reduce_race), for every optimizer
the kernel covers, several hyperparameter settings and schedules, on a landscape where
runs diverge, one with four minima and one unbounded below; the rest falls back to
races automatically."""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.maps import MapCancelled, compute_map, plan
from engine.maps import compute as compute_mod
from engine.maps import fast as fast_mod
from engine.maps.command import view_of
from engine.maps.compute import run_block, run_range
from engine.maps.fast import FAMILIES, fast_plan, nearest_minimum, run_fast
from engine.maps.grid import MapSpec
from engine.optimizers import BIAS_TABLE_MAX
from engine.race import RacerConfig
from engine.scenario import Scenario, load_scenario

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
STEPS = 150

#: (optimizer, params, schedule): every family, its switches, several schedules
CASES = [
    ("sgd", {"lr": 1e-3}, "constant"),
    ("sgd", {"lr": 1e-3, "momentum": 0.9}, "step"),
    ("sgd", {"lr": 1e-3, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, "exponential"),
    ("sgd", {"lr": 2e-3, "momentum": 0.5, "dampening": 0.3}, "cosine"),
    ("momentum", {"lr": 0.01}, "constant"),
    ("nag", {"lr": 1e-3}, "time_based"),
    ("adam", {"lr": 0.02}, "constant"),
    ("adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1}, "cosine"),
    ("adam", {"lr": 0.02, "bias_correction": False}, "step"),
    ("adamw", {"lr": 0.02}, "exponential"),
    ("rmsprop", {"lr": 0.003}, "constant"),
    ("rmsprop", {"lr": 0.003, "centered": True, "momentum": 0.5, "weight_decay": 0.01}, "step"),
    ("adagrad", {"lr": 0.05}, "cosine"),
    ("adagrad", {"lr": 0.5, "lr_decay": 0.01, "initial_accumulator_value": 0.1,
                 "weight_decay": 0.01}, "constant"),
]  # fmt: skip


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.int64) if a.dtype == np.float64 else a


def _compare(
    s: Scenario, spec: MapSpec, racer: RacerConfig, steps: int
) -> tuple[list[str], dict[str, np.ndarray]]:
    """What differs between the kernel's pixels and the races' (empty: nothing), and
    the races' metrics."""
    fp = fast_plan(s, spec, racer, steps)
    assert fp is not None, racer
    out = run_fast(fp, 0, spec.size)
    assert out is not None
    ref = run_block(s, spec.racers(racer, 0, spec.size), steps)
    bad = [k for k in ref[0] if not np.array_equal(_bits(out[0][k]), _bits(ref[0][k]))]
    if not np.array_equal(_bits(out[1]), _bits(ref[1])):
        bad.append("final point")
    if out[2] != ref[2]:
        bad.append("updates")
    return bad, ref[0]


def _differs(s: Scenario, spec: MapSpec, racer: RacerConfig, steps: int) -> list[str]:
    return _compare(s, spec, racer, steps)[0]


def _maps(s: Scenario, racer: RacerConfig, nesterov: bool) -> list[MapSpec]:
    second = FAMILIES[racer.optimizer][1][0]
    ranges = [1e-4, 0.1, 0.1, 0.95] if nesterov else None  # nesterov needs momentum > 0
    return [
        plan("start", racer, view_of(s), res=(5, 4)),
        plan("lr", racer, view_of(s), res=(7,)),
        plan(f"lr,{second}", racer, view_of(s), res=(3, 3), ranges=ranges),
    ]


@pytest.mark.parametrize("opt", ["adagrad", "rmsprop", "adam"])
def test_eps_under_the_root_is_mapped_by_races(opt: str) -> None:
    """The batch kernel adds ε after the root only: a racer with eps_in_sqrt = true is
    mapped by races (its own update), and its map is not the one without the switch."""
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    racer = RacerConfig(opt, {"lr": 0.01, "eps": 0.5, "eps_in_sqrt": True}, label=opt)
    spec = plan("lr", racer, view_of(s), res=(4,))
    assert fast_plan(s, spec, racer, STEPS) is None
    assert fast_plan(s, spec, replace(racer, params={"lr": 0.01, "eps": 0.5}), STEPS) is not None
    ours = run_range(s, spec, racer, 0, spec.size, STEPS)
    assert np.array_equal(ours[1], run_block(s, spec.racers(racer, 0, spec.size), STEPS)[1])
    after = run_range(s, spec, replace(racer, params={"lr": 0.01, "eps": 0.5}), 0, spec.size, STEPS)
    assert not np.array_equal(ours[1], after[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["rosenbrock_race.toml", "himmelblau_four_minima.toml", "lecture_saddle.toml"]
)
def test_every_optimizer_equals_the_race(name: str) -> None:
    s = load_scenario(SCEN / name)
    seen = {"diverged": 0, "unbounded": 0, "settled": 0, "minima": 0}
    for opt, params, schedule in CASES:
        racer = RacerConfig(opt, params, schedule=schedule, label=opt)
        for spec in _maps(s, racer, bool(params.get("nesterov"))):
            bad, m = _compare(s, spec, racer, STEPS)
            assert bad == [], (name, opt, params, spec.names)
            seen["diverged"] += int((m["diverged_step"] >= 0).sum())
            seen["unbounded"] += int((m["unbounded_step"] >= 0).sum())
            seen["settled"] += int((m["steps_to_tol"] >= 0).sum())
            seen["minima"] = max(seen["minima"], len(set(m["minimum"].tolist()) - {-1}))
    # the maps met the endings and basins the reduction knows
    if name.startswith("rosenbrock"):
        assert seen["diverged"] > 0
    elif name.startswith("himmelblau"):
        assert seen["minima"] == 4 and seen["settled"] > 0
    else:
        assert seen["unbounded"] > 0


def test_a_few_configurations_equal_the_race() -> None:
    """The fast tier's check: GD and Adam start and lr maps, Rosenbrock and Himmelblau."""
    for name in ("rosenbrock_race.toml", "himmelblau_four_minima.toml"):
        s = load_scenario(SCEN / name)
        for opt, params in (("sgd", {"lr": 2e-3}), ("adam", {"lr": 0.05})):
            racer = RacerConfig(opt, params, label=opt)
            for spec in (plan("start", racer, view_of(s), res=(5, 4)),
                         plan("lr", racer, view_of(s), res=(6,))):  # fmt: skip
                assert _differs(s, spec, racer, 100) == [], (name, opt, spec.names)


def test_overflow_before_the_rule_and_unbounded_below() -> None:
    """A rule factor of 1e308 (its bound overflows): runs stop on a non-finite loss or
    gradient, classified diverged (f* known) or unbounded below (f* unknown)."""
    for name, key in (("rosenbrock_race.toml", "diverged_step"),
                      ("lecture_saddle.toml", "unbounded_step")):  # fmt: skip
        s = load_scenario(SCEN / name)
        s = replace(s, tolerance=replace(s.tolerance, divergence=1e308))
        for opt in ("sgd", "momentum"):  # steps grow with the gradient: they overflow
            racer = RacerConfig(opt, {"lr": 0.01}, label=opt)
            spec = plan("lr", racer, view_of(s), res=(10,), ranges=[1e-4, 50.0])
            assert _differs(s, spec, racer, STEPS) == [], (name, opt)
            out = run_range(s, spec, racer, 0, spec.size, STEPS)
            assert (out[0][key] >= 0).any(), (name, opt)


def test_velocities_equal_the_race() -> None:
    """v0 and x_prev (per pixel: its own start and rate) as Race's set_velocity."""
    s = load_scenario(SCEN / "lecture_momentum_ravine_rho09.toml")
    cases = [("sgd", {"v0": (1.0, -0.5)}), ("sgd", {"x_prev": (4.2, 0.4)}),
             ("momentum", {"x_prev": (4.2, 0.4)}), ("nag", {"x_prev": (4.1, 0.6)})]  # fmt: skip
    for opt, extra in cases:
        params = {"lr": 0.005, "momentum": 0.9}
        racer = RacerConfig(opt, params, label=opt, **extra)  # type: ignore[arg-type]
        for spec in (plan("start", racer, view_of(s), res=(4, 3)),
                     plan("lr", racer, view_of(s), res=(5,))):  # fmt: skip
            assert _differs(s, spec, racer, STEPS) == [], (opt, extra, spec.names)


def test_per_pixel_bias_tables() -> None:
    """An (lr, beta2) plane: a bias table per distinct beta2 (and the random search's
    every pixel its own)."""
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    for params in ({"lr": 0.02}, {"lr": 0.02, "amsgrad": True}):
        racer = RacerConfig("adam", params, label="adam")
        spec = plan("lr,beta2", racer, view_of(s), res=(3, 4), ranges=[1e-3, 0.1, 0.5, 0.9999])
        assert _differs(s, spec, racer, STEPS) == []
    racer = RacerConfig("adamw", {"lr": 0.02}, label="adamw")
    spec = plan("beta1,beta2", racer, view_of(s), search="random", budget=7, seed=3)
    assert _differs(s, spec, racer, STEPS) == []


@pytest.mark.slow
def test_past_the_bias_table() -> None:
    """Steps past BIAS_TABLE_MAX: the race's pow() per step, the same bits."""
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    racer = RacerConfig("adam", {"lr": 0.002, "beta2": 0.9999}, label="adam")
    spec = plan("lr", racer, view_of(s), res=(2,))
    assert _differs(s, spec, racer, BIAS_TABLE_MAX + 5) == []


def test_fallback_is_automatic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the kernel does not cover runs as races, chosen without being asked."""
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    v = view_of(s)
    for opt in ("newton", "random_search", "nadam", "radam", "adamax", "rprop", "lion",
                "adadelta"):  # fmt: skip
        r = RacerConfig(opt, label=opt)
        assert fast_plan(s, plan("start", r, v, res=(2,)), r, 10) is None, opt
    r = RacerConfig("sgd", {"lr": 1e-3}, label="sgd")
    noisy = replace(s, objective=replace(s.objective, grad_noise=0.1))
    assert fast_plan(noisy, plan("start", r, v, res=(2,)), r, 10) is None
    off = replace(r, enabled=False)
    assert fast_plan(s, plan("start", off, v, res=(2,)), off, 10) is None
    assert fast_plan(s, plan("start", r, v, res=(2,)), r, 10) is not None
    # bias tables past their memory bound: that range runs as races, the same figures
    racer = RacerConfig("adam", {"lr": 0.02}, label="adam")
    spec = plan("lr,beta1", racer, v, res=(3, 2))
    want = run_block(s, spec.racers(racer, 0, spec.size), 50)
    monkeypatch.setattr(fast_mod, "TABLE_BYTES", 0)
    fp = fast_plan(s, spec, racer, 50)
    assert fp is not None and run_fast(fp, 0, spec.size) is None
    got = run_range(s, spec, racer, 0, spec.size, 50)
    for k in want[0]:
        assert np.array_equal(_bits(got[0][k]), _bits(want[0][k])), k


def test_compute_map_chunks_progress_threads_and_cancel() -> None:
    s = load_scenario(SCEN / "himmelblau_four_minima.toml")
    racer = RacerConfig("sgd", {"lr": 0.01, "momentum": 0.5}, label="hb")
    spec = plan("start", racer, view_of(s), res=(64, 48))
    seen: list[tuple[int, int]] = []
    one = compute_map(spec, s, racer, 200, workers=1)
    two = compute_map(spec, s, racer, 200, progress=lambda d, t: seen.append((d, t)), workers=2)
    for k in one.metrics:
        assert np.array_equal(_bits(one.metrics[k]), _bits(two.metrics[k])), k
    assert np.array_equal(_bits(one.final_point), _bits(two.final_point))
    assert seen[-1] == (spec.size, spec.size)
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert two.steps_done == run_range(s, spec, racer, 0, spec.size, 200)[2]
    # a range of pixels equals the same pixels of the whole map
    part = run_range(s, spec, racer, 1000, 1500, 200)
    assert np.array_equal(_bits(part[0]["final_loss"]),
                          _bits(two.metrics["final_loss"].ravel()[1000:1500]))  # fmt: skip
    stop = threading.Event()

    def halt(done: int, total: int) -> None:
        stop.set()

    with pytest.raises(MapCancelled, match="stopped after"):
        compute_map(spec, s, racer, 200, progress=halt, stop=stop, workers=2)


def test_nearest_minimum_as_reduce_race() -> None:
    """Ties go to the first minimum, NaN distances to the first NaN, as np.argmin of
    reduce_race's math.hypot distances; no rows: -1."""
    minima = ((1.0, 0.0), (-1.0, 0.0), (0.0, 3.0))
    fp = np.array([[0.0, 0.0], [0.9, 0.1], [-0.2, 2.0], [math.nan, 1.0], [0.0, 1e300],
                   [5.0, 5.0]])  # fmt: skip
    has = np.array([True, True, True, True, True, False])
    got = nearest_minimum(minima, fp, has)
    ms = [np.asarray(m) for m in minima]
    for i in range(fp.shape[0]):
        want = int(np.argmin([math.hypot(*(float(v) for v in fp[i] - m)) for m in ms]))
        assert got[i] == (want if has[i] else -1), i
    assert got[0] == 0 and got[5] == -1


def test_warm_up_compiles_the_signature_maps_use() -> None:
    """engine.warmup's compile_maps compiles the one signature run_fast calls."""
    from engine.maps import kernel
    from engine.maps.fast import warm_up_map

    warm_up_map()
    before = set(kernel.map_chunk.signatures)
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    for racer in (RacerConfig("adam", {"lr": 0.01}), RacerConfig("sgd", {"lr": 0.01})):
        spec = plan("lr", racer, view_of(s), res=(3,))
        fp = fast_plan(s, spec, racer, 5)
        assert fp is not None and run_fast(fp, 0, spec.size) is not None
    assert set(kernel.map_chunk.signatures) == before and len(before) == 1


def test_many_bias_tables_run_in_smaller_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random search over beta2 (a table per pixel) past the tables' memory bound for a
    chunk: compute_map runs fewer pixels at a time, the same figures as races."""
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    racer = RacerConfig("adam", {"lr": 0.02}, label="adam")
    spec = plan("beta2", racer, view_of(s), search="random", budget=1500, seed=5)
    steps = 20
    monkeypatch.setattr(fast_mod, "TABLE_BYTES", 300 * 3 * (steps + 1) * 8)
    fp = fast_plan(s, spec, racer, steps)
    assert fp is not None and run_fast(fp, 0, 1024) is None and run_fast(fp, 0, 256) is not None
    want = run_block(s, spec.racers(racer, 0, spec.size), steps)

    def no_races(*args: object) -> None:
        raise AssertionError("the map ran as races")

    monkeypatch.setattr(compute_mod, "run_block", no_races)
    res = compute_map(spec, s, racer, steps, workers=1)
    for k, v in want[0].items():
        assert np.array_equal(_bits(res.metrics[k]), _bits(v)), k
