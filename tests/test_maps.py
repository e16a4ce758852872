"""Maps (engine.maps, ``main.py map``): every pixel is what a race of that configuration
gives (all metrics, final point bits), the classic lr map of a quadratic, bad input,
nothing half-written."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import main
from engine.maps import MapCancelled, MapResult, MapSpec, compute_map, plan
from engine.maps.command import view_of
from engine.maps.grid import MapError
from engine.objective import LandscapeObjective
from engine.optimizers import OPTIMIZERS, get_optimizer
from engine.race import RacerConfig
from engine.scenario import Scenario, build_race, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
STEPS = 150


def _bits(v: float) -> int:
    return int(np.array(v, dtype=np.float64).view(np.int64))


def _check_pixels(
    s: Scenario, racer: RacerConfig, spec: MapSpec, res: MapResult, pixels: Iterable[int]
) -> None:
    """Pixels ``pixels`` of ``res`` equal a one-racer race of the same configuration."""
    for p in pixels:
        race = build_race(replace(s, racers=[spec.racer_at(racer, p)]), steps=STEPS)
        race.run()
        m = race.run_metrics(0)
        at = np.unravel_index(p, spec.shape)
        got = {k: v[at] for k, v in res.metrics.items()}
        want = {
            "steps_to_tol": m.steps_to_tol, "first_within_tol": m.first_within_tol,
            "diverged_step": m.diverged_step, "unbounded_step": m.unbounded_step,
            "minimum": m.nearest_minimum,
        }  # fmt: skip
        for k, v in want.items():
            assert int(got[k]) == (-1 if v is None else v), (racer.optimizer, p, k)
        assert _bits(got["final_loss"]) == _bits(m.final_loss), (racer.optimizer, p)
        assert _bits(got["best_loss"]) == _bits(m.best_loss), (racer.optimizer, p)
        fp = res.final_point[at]
        assert [_bits(v) for v in fp] == [_bits(v) for v in m.final_point], (racer.optimizer, p)


def _scenarios() -> list[Scenario]:
    ros = load_scenario(SCEN / "rosenbrock_race.toml")  # f* known
    sad = load_scenario(SCEN / "lecture_saddle.toml")  # f* unknown: unbounded below
    sad = replace(sad, objective=replace(sad.objective, grad_noise=0.3))  # noise streams
    return [ros, sad]


def _second_param(name: str) -> str | None:
    nums = [p.name for p in get_optimizer(name).params if p.kind == "float" and p.name != "lr"]
    return nums[0] if nums else None


@pytest.mark.parametrize("k", range(2))
def test_random_pixels_equal_the_race_for_every_optimizer(k: int) -> None:
    s = _scenarios()[k]
    rng = np.random.default_rng(13 + k)
    schedules = ["constant", "step", "exponential", "cosine"]
    seen = {"diverged": 0, "unbounded": 0, "settled": 0}
    for j, name in enumerate(OPTIMIZERS):
        racer = RacerConfig(name, schedule=schedules[j % len(schedules)], label=name)
        x0, x1, y0, y1 = view_of(s)
        maps = [plan("start", racer, (x0, x1, y0, y1), res=(5, 4))]
        maps.append(plan("lr", racer, (0, 1, 0, 1), res=(7,)))
        second = _second_param(name)
        if second is not None:
            maps.append(plan(f"lr,{second}", racer, (0, 1, 0, 1), res=(3,)))
        for spec in maps:
            res = compute_map(spec, s, racer, STEPS, workers=2)
            pixels = rng.choice(spec.size, size=min(3, spec.size), replace=False).tolist()
            _check_pixels(s, racer, spec, res, pixels)
            m = res.metrics
            seen["diverged"] += int((m["diverged_step"] >= 0).sum())
            seen["unbounded"] += int((m["unbounded_step"] >= 0).sum())
            seen["settled"] += int((m["steps_to_tol"] >= 0).sum())
    # the maps met every kind of ending the reduction knows
    assert seen["diverged"] > 0
    assert seen["settled" if k == 0 else "unbounded"] > 0


def test_every_pixel_of_a_small_map_equals_the_race() -> None:
    s = load_scenario(SCEN / "himmelblau_four_minima.toml")
    racer = s.racers[0]
    spec = plan("start", racer, view_of(s), res=(6, 5))
    res = compute_map(spec, s, racer, STEPS, workers=2)
    _check_pixels(s, racer, spec, res, range(spec.size))
    assert len(set(res.metrics["minimum"].ravel().tolist())) == 4  # the four basins
    # indexed [y, x]: pixel (iy, ix) started at (x[ix], y[iy])
    assert spec.racer_at(racer, 1 * 6 + 2).start == (spec.axes["x"][2], spec.axes["y"][1])


def test_gd_lr_map_of_a_quadratic() -> None:
    """GD on λ1/2 x² + λ2/2 y²: diverges exactly above 2/λ_max, fastest at 2/(λ1 + λ2)."""
    s = load_scenario(SCEN / "lecture_gd_x1sq_10x2sq.toml")
    obj = build_race(s, steps=1).objective
    assert isinstance(obj, LandscapeObjective)
    l1 = 2 * obj.loss(np.array([1.0, 0.0]))
    l2 = 2 * obj.loss(np.array([0.0, 1.0]))
    racer = s.racers[0]
    spec = plan("lr", racer, view_of(s), res=(101,), ranges=[0.05, 0.15])
    res = compute_map(spec, s, racer, 1000, workers=2)
    lr = spec.axes["lr"]
    div = res.metrics["diverged_step"] >= 0
    crit = 2.0 / max(l1, l2)
    assert not div[lr <= crit].any()
    assert div[lr > crit * 1.01].all()  # (1 + 20 δ)^1000 passes the divergence rule
    settled = res.metrics["steps_to_tol"]
    steps = np.where(settled >= 0, settled, np.iinfo(np.int32).max)
    best = lr[int(np.argmin(steps))]
    ratio = lr[1] / lr[0]
    assert abs(math.log(best / (2.0 / (l1 + l2)))) <= math.log(ratio) * 1.0001


def test_cancel_between_blocks() -> None:
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    stop = threading.Event()
    stop.set()
    spec = plan("start", s.racers[0], view_of(s), res=(40,))
    with pytest.raises(MapCancelled):
        compute_map(spec, s, s.racers[0], 20000, stop=stop, workers=1)


def test_plan_bad_input() -> None:
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    r = s.racers[0]  # adam
    v = view_of(s)
    with pytest.raises(MapError, match="no parameter 'momentum'"):
        plan("momentum", r, v)
    with pytest.raises(MapError, match="beta1"):
        plan("beta1", r, v, ranges=[0.5, 1.5])
    with pytest.raises(MapError, match="at least 1 pixel"):
        plan("start", r, v, res=(0,))
    with pytest.raises(MapError, match="GB"):
        plan("start", r, v, res=(100000,))
    with pytest.raises(MapError, match="--budget"):
        plan("lr", r, v, search="random")


def _run(args: list[str]) -> int:
    return main.main(["map", *args, "--quiet"])


@pytest.mark.parametrize(
    "args",
    [
        ["--over", "nope"],
        ["--over", "lr", "--range", "-1", "1"],
        ["--over", "start", "--res", "0"],
        ["--over", "start", "--res", "90000x90000"],
        ["--over", "lr", "--racer", "nobody"],
        ["--over", "lr", "--workers", "0"],
    ],
)
def test_cli_bad_input_writes_nothing(tmp_path: Path, capsys, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    code = _run([str(SCEN / "rosenbrock_race.toml"), *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_unwritable_out_and_perceptron(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "file"
    f.write_text("x")
    assert _run([str(SCEN / "rosenbrock_race.toml"), "--over", "lr", "--out", str(f / "o")]) == 2
    # the perceptron maps hyperparameters only (tests/test_maps_perceptron.py)
    code = _run(
        [str(SCEN / "perceptron_batch.toml"), "--over", "start", "--out", str(tmp_path / "p")]
    )
    assert code == 2 and "perceptron" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_cli_failed_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import engine.maps.io as mio

    def boom(rgb: np.ndarray) -> bytes:
        raise OSError(28, "No space left on device")

    def boom_qt(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    import gui.map_picture

    monkeypatch.setattr(mio, "png_bytes", boom)
    monkeypatch.setattr(gui.map_picture, "render_map_png", boom_qt)  # main.py's painter
    out = tmp_path / "out"
    args = [str(SCEN / "rosenbrock_race.toml"), "--over", "lr", "--racer", "Adam", "--res", "4"]
    assert _run([*args, "--steps", "50", "--out", str(out)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_map(tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = [str(SCEN / "rosenbrock_race.toml"), "--over", "lr,beta1", "--racer", "Adam"]
    assert _run([*args, "--res", "5x3", "--steps", "100", "--out", str(out)]) == 0
    z = np.load(out / "map.npz")
    assert z["steps_to_tol"].shape == (3, 5) and z["steps_to_tol"].dtype == np.int32
    assert z["lr"].shape == (5,) and z["beta1"].shape == (3,) and str(z["racer"]) == "Adam"
    assert {"first_within_tol", "final_loss", "best_loss", "diverged_step", "unbounded_step",
            "minimum"} <= set(z.files)  # fmt: skip
    info = json.loads((out / "map.json").read_text())
    assert info["over"] == ["lr", "beta1"] and info["log"] == {"lr": True, "beta1": False}
    assert info["steps_per_second"] > 0 and "numba" in info["versions"]
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_random_search_and_every_racer(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = [str(SCEN / "rosenbrock_race.toml"), "--over", "lr", "--racer", "SGD"]
    assert _run([*args, "--search", "random", "--budget", "9", "--steps", "50",
                 "--out", str(out)]) == 0  # fmt: skip
    z = np.load(out / "map.npz")
    assert z["lr"].shape == (9,) and z["final_loss"].shape == (9,)
    info = json.loads((out / "map.json").read_text())
    assert info["search"] == "random" and info["grid_at_same_budget"]["shape"] == [9]
    every = tmp_path / "all"
    assert _run([str(SCEN / "rosenbrock_race.toml"), "--over", "start", "--res", "4",
                 "--steps", "30", "--out", str(every)]) == 0  # fmt: skip
    index = json.loads((every / "map.json").read_text())
    s = load_scenario(SCEN / "rosenbrock_race.toml")
    assert sorted(index["maps"]) == sorted(r.label for r in s.racers if r.enabled)
    for folder in index["maps"].values():
        assert (every / folder / "map.npz").exists()


@pytest.mark.parametrize("name", ["rosenbrock_race.toml", "lecture_saddle.toml"])
def test_overflow_stops_equal_the_race(name: str) -> None:
    """Runs the kernel stops (a non-finite loss or gradient) before the divergence rule
    fires (a rule factor of 1e308: its bound overflows to inf): diverged, or unbounded
    below where f* is unknown."""
    s = load_scenario(SCEN / name)
    s = replace(s, tolerance=replace(s.tolerance, divergence=1e308))
    racer = RacerConfig("sgd", {"lr": 0.01}, label="sgd")
    spec = plan("lr", racer, view_of(s), res=(12,), ranges=[1e-4, 10.0])
    res = compute_map(spec, s, racer, STEPS, workers=2)
    _check_pixels(s, racer, spec, res, range(spec.size))
    key = "unbounded_step" if name.startswith("lecture_saddle") else "diverged_step"
    assert (res.metrics[key] >= 0).any()


def test_log_chooses_the_scale_of_each_swept_axis() -> None:
    """``log``: the swept hyperparameters spaced (or drawn) on a log scale, the others
    linearly, whatever the registry says (None: the registry's)."""
    r = RacerConfig("sgd", {"lr": 0.01, "momentum": 0.5})
    view = (-1.0, 1.0, -1.0, 1.0)
    default = plan("lr,momentum", r, view, res=(5,), ranges=[1e-4, 1e-1, 1e-3, 0.9])
    assert default.log == (True, False)  # the registry's
    both = plan("lr,momentum", r, view, res=(5,), ranges=[1e-4, 1e-1, 1e-3, 0.9],
                log_axes=("lr", "momentum"))  # fmt: skip
    assert both.log == (True, True)
    assert np.allclose(np.diff(np.log10(both.axes["momentum"])), np.log10(900) / 4)
    linear = plan("lr", r, view, res=(5,), ranges=[0.01, 0.05], log_axes=())
    assert linear.log == (False,) and np.allclose(np.diff(linear.axes["lr"]), 0.01)
    drawn = plan("lr,momentum", r, view, ranges=[1e-6, 10.0, 1e-4, 0.5], search="random",
                 budget=400, seed=2, log_axes=("lr", "momentum"))  # fmt: skip
    u = np.log10(drawn.axes["momentum"])
    assert u.min() >= -4 and u.max() <= np.log10(0.5) and np.ptp(u) > 3  # decades, not 0.5
    with pytest.raises(MapError, match="momentum is not swept"):
        plan("lr", r, view, log_axes=("momentum",))
    with pytest.raises(MapError, match="a start map's axes are x and y"):
        plan("start", r, view, log_axes=("lr",))
    with pytest.raises(MapError, match="a log axis needs LO > 0, got 0"):
        plan("lr,momentum", r, view, ranges=[1e-4, 1e-1, 0.0, 0.9], log_axes=("momentum",))


def test_cli_log_puts_the_named_axes_on_a_log_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "l"
    args = [str(SCEN / "rosenbrock_race.toml"), "--over", "lr,beta1", "--racer", "Adam",
            "--res", "3", "--steps", "20", "--range", "1e-3", "0.1", "0.5", "0.99"]  # fmt: skip
    assert _run([*args, "--log", "lr,beta1", "--out", str(out)]) == 0
    info = json.loads((out / "map.json").read_text())
    assert info["log"] == {"lr": True, "beta1": True}
    assert _run([*args, "--log", "beta2", "--out", str(tmp_path / "x")]) == 2
    assert "--log beta2: beta2 is not swept" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
