"""Maps of the perceptron (``main.py map PERCEPTRON.toml --over lr[,weight_decay]``):
every pixel is what a race of that configuration gives (metrics, the bits of the final
weights), f* unknown (settled = the gradient tolerance, no known minimum), the best
pixel ranked as the leaderboard ranks perceptron runs; a start map is refused."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import main
from engine.maps import MapResult, MapSpec, compute_map, plan
from engine.maps.command import MapRequest, perceptron_best, plans, resolve, view_of
from engine.maps.grid import MapError, grid_at_budget
from engine.metrics import rank_key
from engine.objective import PerceptronObjective
from engine.race import RacerConfig
from engine.scenario import Scenario, build_race, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


def _bits(v: float) -> int:
    return int(np.array(v, dtype=np.float64).view(np.int64))


def _check_pixels(
    s: Scenario, racer: RacerConfig, spec: MapSpec, res: MapResult, pixels: list[int], steps: int
) -> None:
    """Pixels ``pixels`` of ``res`` equal a one-racer race of the same configuration."""
    for p in pixels:
        race = build_race(replace(s, racers=[spec.racer_at(racer, p)]), steps=steps)
        race.run()
        m = race.run_metrics(0)
        at = np.unravel_index(p, spec.shape)
        got = {k: v[at] for k, v in res.metrics.items()}
        assert m.tol_kind == "grad"  # f* unknown: settled by the gradient norm
        want = {
            "steps_to_tol": m.steps_to_tol, "first_within_tol": m.first_within_tol,
            "diverged_step": m.diverged_step, "unbounded_step": m.unbounded_step,
            "minimum": m.nearest_minimum,
        }  # fmt: skip
        for k, v in want.items():
            assert int(got[k]) == (-1 if v is None else v), (racer.optimizer, p, k)
        assert int(got["minimum"]) == -1  # no known minimum
        assert _bits(got["final_loss"]) == _bits(m.final_loss), (racer.optimizer, p)
        assert _bits(got["best_loss"]) == _bits(m.best_loss), (racer.optimizer, p)
        fp = res.final_point[at]
        assert fp.shape == (3,)  # (w1, w2, b)
        assert [_bits(v) for v in fp] == [_bits(v) for v in m.final_point], (racer.optimizer, p)


def _loose(s: Scenario) -> Scenario:
    """``s`` with a gradient tolerance some runs meet and a divergence rule some break."""
    return replace(s, tolerance=replace(s.tolerance, grad=0.05, divergence=10.0))


@pytest.mark.parametrize(
    ("name", "label", "over", "search"),
    [
        ("perceptron_minibatch128.toml", "SGD (η = 0.5)", "lr", "grid"),
        ("perceptron_minibatch.toml", "Adam (η = 0.05)", "lr,weight_decay", "grid"),
        ("perceptron_minibatch.toml", "Momentum (β = 0.9)", "lr,momentum", "random"),
        ("perceptron_batch.toml", "SGD (η = 0.5 / (1 + epoch))", "lr,weight_decay", "random"),
    ],
)
def test_pixels_equal_the_race(name: str, label: str, over: str, search: str) -> None:
    s = _loose(load_scenario(SCEN / name))
    racer = next(r for r in s.racers if r.label == label)
    ranges = [1e-3, 1e4] + ([0.0, 0.3] if over.endswith("weight_decay") else [])
    if over.endswith("momentum"):
        ranges += [0.0, 0.99]
    spec = plan(over, racer, view_of(s), res=(10, 3) if "," in over else (14,), ranges=ranges,
                search=search, budget=16, seed=s.seed)  # fmt: skip
    res = compute_map(spec, s, racer, s.steps, workers=2)
    assert res.final_point.shape == (*spec.shape, 3)
    rng = np.random.default_rng(len(over))
    pixels = rng.choice(spec.size, size=min(6, spec.size), replace=False).tolist()
    _check_pixels(s, racer, spec, res, pixels, s.steps)
    m = res.metrics
    # the sweep met runs that settle (by the gradient) and runs that diverge
    assert (m["steps_to_tol"] >= 0).any() and (m["diverged_step"] >= 0).any()
    assert (m["minimum"] == -1).all()


def test_every_pixel_of_a_small_map_equals_the_race() -> None:
    s = _loose(load_scenario(SCEN / "perceptron_minibatch128.toml"))
    racer = s.racers[1]  # a schedule by epoch
    spec = plan("lr,weight_decay", racer, view_of(s), res=(4, 3), ranges=[0.01, 50.0, 0, 0.1])
    res = compute_map(spec, s, racer, s.steps, workers=2)
    _check_pixels(s, racer, spec, res, list(range(spec.size)), s.steps)


def test_start_map_refused_and_hyperparameter_maps_planned() -> None:
    s = load_scenario(SCEN / "perceptron_batch.toml")
    with pytest.raises(MapError, match="3-D"):
        plans(s, MapRequest("start"))
    got = plans(s, MapRequest("lr,weight_decay", res=(5, 4)))
    assert [sp.shape for _, sp in got] == [(4, 5), (4, 5)]  # both racers
    assert view_of(s) == (0.0, 1.0, 0.0, 1.0)  # no landscape, and no error


def test_cli_random_search_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = SCEN / "perceptron_minibatch.toml"
    out = tmp_path / "m"
    args = ["map", str(path), "--over", "lr,weight_decay", "--racer", "Adam (η = 0.05)",
            "--range", "0.001", "10", "0", "0.1", "--search", "random", "--budget", "12",
            "--out", str(out)]  # fmt: skip
    assert main.main(args) == 0
    assert "best" in capsys.readouterr().out
    z = np.load(out / "map.npz")
    assert z["final_point"].shape == (12, 3) and z["lr"].shape == (12,)
    assert z["weight_decay"].shape == (12,) and (z["minimum"] == -1).all()
    info = json.loads((out / "map.json").read_text())
    assert info["objective_kind"] == "perceptron" and info["kind"] == "params"
    assert info["perceptron"]["batch_size"] == 128 and info["perceptron"]["epochs"] == 20
    assert info["grid_at_same_budget"]["shape"] == [3, 3]
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the best pixel is the leaderboard's best of a race of all twelve configurations
    s = load_scenario(path)
    racer = next(r for r in s.racers if r.label == "Adam (η = 0.05)")
    lr, wd = z["lr"], z["weight_decay"]
    racers = [
        replace(racer, label=f"p{k}", params={**racer.params, "lr": float(lr[k]),
                                              "weight_decay": float(wd[k])})
        for k in range(12)
    ]  # fmt: skip
    race = build_race(replace(s, racers=racers))
    race.run()
    ms = race.metrics()
    k = min(range(12), key=lambda i: rank_key(ms[i]))
    best = info["best"]
    assert (best["lr"], best["weight_decay"]) == (float(lr[k]), float(wd[k]))
    assert best["val_loss"] == ms[k].val_loss
    assert best["val_accuracy"] == ms[k].val_accuracy


def test_cli_start_map_of_the_perceptron_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    code = main.main(["map", str(SCEN / "perceptron_batch.toml"), "--over", "start",
                      "--quiet", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "(w1, w2, b)" in err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the [map] table
def test_request_falls_back_to_the_map_table() -> None:
    s = load_scenario(SCEN / "lecture_map_perceptron_search.toml")
    assert s.map is not None
    r = resolve(s, MapRequest())
    assert (r.over, r.search, r.budget, r.racer) == ("lr,weight_decay", "random", 64, s.map.racer)
    assert r.ranges == [0.01, 30.0, 0.0, 0.05]
    r = resolve(s, MapRequest(budget=16, steps=40))  # the options given win
    assert (r.over, r.search, r.budget, r.steps) == ("lr,weight_decay", "random", 16, 40)
    # another sweep: only the table's racer (and steps) carry over
    r = resolve(s, MapRequest(over="lr"))
    assert (r.over, r.search, r.budget, r.ranges, r.racer) == ("lr", "grid", None, None,
                                                               s.map.racer)  # fmt: skip
    [(racer, spec)] = plans(s, MapRequest(over="lr"))
    assert racer.label == s.map.racer and spec.shape == (64,)
    plain = load_scenario(SCEN / "perceptron_batch.toml")  # no [map] table
    with pytest.raises(MapError, match="--over"):
        plans(plain, MapRequest())


@functools.cache
def _lecture() -> tuple[Scenario, dict[str, MapResult]]:
    s = load_scenario(SCEN / "lecture_map_perceptron_search.toml")
    [(racer, spec)] = plans(s, MapRequest())  # everything from the [map] table
    return s, {
        "random": compute_map(spec, s, racer, s.steps, workers=2),
        "grid": compute_map(grid_at_budget(spec), s, racer, s.steps, workers=2),
    }


def test_lecture_search_figures() -> None:
    """The numbers lecture_map_perceptron_search.toml's description quotes."""
    s, maps = _lecture()
    obj = build_race(s, steps=1).objective
    assert isinstance(obj, PerceptronObjective)
    rnd, grid = maps["random"], maps["grid"]
    assert len(np.unique(rnd.spec.axes["lr"])) == 64 and grid.spec.shape == (8, 8)
    assert len(grid.spec.axes["lr"]) == 8
    b = perceptron_best(obj, rnd)
    assert (round(b["val_loss"], 4), round(b["lr"], 1), round(b["weight_decay"], 4)) == (
        0.1747, 14.9, 0.0053)  # fmt: skip
    g = perceptron_best(obj, grid)
    assert (round(g["val_loss"], 4), round(g["lr"], 2), round(g["weight_decay"], 4)) == (
        0.1763, 9.56, 0.0071)  # fmt: skip
    assert round(b["val_accuracy"], 3) == round(g["val_accuracy"], 3) == 0.917
    val = obj.evaluate(grid.final_point.reshape(-1, 3))[:, 1].reshape(8, 8)  # [decay, lr]
    wd, lr = grid.spec.axes["weight_decay"], grid.spec.axes["lr"]
    assert round(val[0, 0], 3) == 0.345 and round(val[0, 6], 3) == 0.177
    assert wd[0] == 0.0 and round(lr[0], 2) == 0.01 and round(lr[6], 2) == 9.56
    heavy = wd >= 0.014
    for j in range(7):  # below η = 30: more decay (from 0.014) only adds to the loss
        col = val[heavy, j]
        assert (np.diff(col) > 0).all() and col.min() > val[~heavy, j].min()
    blown = val[:, 7][wd >= 0.035]
    assert round(blown.min(), 1) == 5.3 and round(blown.max(), 1) == 48.5
    assert (val[:, 7][wd < 0.035] < 1.0).all()
    for res in (rnd, grid):  # f* unknown: nothing meets the gradient tolerance, no minimum
        assert (res.metrics["steps_to_tol"] < 0).all() and (res.metrics["minimum"] == -1).all()


def test_cli_lecture_search_from_its_table(tmp_path: Path) -> None:
    out = tmp_path / "s"
    path = SCEN / "lecture_map_perceptron_search.toml"
    assert main.main(["map", str(path), "--quiet", "--out", str(out)]) == 0
    info = json.loads((out / "map.json").read_text())
    assert info["search"] == "random" and info["pixels"] == 64
    assert info["over"] == ["lr", "weight_decay"]
    assert round(info["best"]["val_loss"], 4) == 0.1747
    assert round(info["grid_at_same_budget"]["best"]["val_loss"], 4) == 0.1763


def test_cli_without_over_and_without_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    code = main.main(["map", str(SCEN / "perceptron_batch.toml"), "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--over" in err and "[map]" in err
    assert list(tmp_path.iterdir()) == []
