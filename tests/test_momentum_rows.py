"""The momentum row recorded per step (Race(record_momentum=True), the window's races):
row t holds the optimizer's momentum state as it stood when row t was recorded, the
same values the live step arrows read; recording changes no trajectory."""

from __future__ import annotations

import numpy as np
import pytest

from engine.objective import LandscapeObjective
from engine.optimizers import get_optimizer
from engine.race import Race, RacerConfig
from engine.scenario import load_scenario

CFGS = [
    RacerConfig("sgd", {"lr": 1e-3}),
    RacerConfig("momentum", {"lr": 1e-3, "momentum": 0.9}),
    RacerConfig("nag", {"lr": 1e-3}),
    RacerConfig("adam", {"lr": 0.02}),
    RacerConfig("rmsprop", {"lr": 1e-3, "momentum": 0.5}),
    RacerConfig("lion", {"lr": 1e-3}),
    RacerConfig("newton", {"lr": 0.5}),
]


def _slot(cfg: RacerConfig) -> int:
    return get_optimizer(cfg.optimizer).momentum_slot


def test_each_row_holds_the_state_the_live_arrow_read_then() -> None:
    obj = LandscapeObjective.create("rosenbrock")
    race = Race(obj, list(CFGS), steps=60, record_momentum=True)
    seen: list[list[np.ndarray]] = []
    for _ in range(60):
        race.advance(1)
        seen.append([race.st[i, _slot(c)].copy() for i, c in enumerate(CFGS)])
    for k, states in enumerate(seen):
        for i, cfg in enumerate(CFGS):
            row = race.vel[i, k + 1]
            if _slot(cfg) < 0:
                assert np.isnan(row).all(), cfg.optimizer
            else:
                assert np.array_equal(row, states[i].astype(np.float32)), (cfg.optimizer, k)
    # not rows of zeros (plain SGD's velocity is zero, as its live arrow's is)
    moving = [i for i, c in enumerate(CFGS) if _slot(c) >= 0 and c.optimizer != "sgd"]
    assert len(moving) == 5 and all(np.abs(race.vel[i, 1:61]).max() > 0 for i in moving)


@pytest.mark.parametrize("chunks", [(60,), (1, 7, 52)])
def test_recording_changes_no_trajectory(chunks: tuple[int, ...]) -> None:
    obj = LandscapeObjective.create("himmelblau")
    plain = Race(obj, list(CFGS), steps=60)
    rec = Race(obj, list(CFGS), steps=60, record_momentum=True)
    plain.advance(60)
    for n in chunks:
        rec.advance(n)
    for name in ("xs", "loss", "gnorm", "lrs", "count", "status", "st"):
        a, b = getattr(plain, name), getattr(rec, name)
        assert a.tobytes() == b.tobytes(), name
    assert plain.vel.shape[1] == 0 and rec.vel.shape[1] == 61


def test_rows_follow_resets_extensions_and_added_racers() -> None:
    obj = LandscapeObjective.create("rosenbrock")
    race = Race(obj, [CFGS[1]], steps=20, record_momentum=True)
    race.advance(20)
    first = race.vel[0, :21].copy()
    race.extend(40)  # a longer race keeps its rows
    assert race.vel.shape[1] == 41 and np.array_equal(race.vel[0, :21], first)
    assert np.isnan(race.vel[0, 21:]).all()
    race.add_racer(CFGS[3])
    race.advance(40)
    assert not np.isnan(race.vel[1, :41]).any()
    race.set_params(0, {"lr": 2e-3}, restart=True)  # a restart clears the racer's rows
    assert np.isnan(race.vel[0, 1:]).all()


def test_a_perceptron_race_records_its_three_weights() -> None:
    from pathlib import Path

    scn = load_scenario(Path(__file__).parent.parent / "scenarios" / "perceptron_minibatch.toml")
    from engine.scenario import build_race

    race = build_race(scn, steps=30, record_momentum=True)
    race.advance(30)
    for i, cfg in enumerate(race.racers):
        if _slot(cfg) >= 0 and race.count[i] > 1:
            c = int(race.count[i])
            assert race.vel.shape[2] == 3
            assert np.array_equal(race.vel[i, c - 1], race.st[i, _slot(cfg)].astype(np.float32))
