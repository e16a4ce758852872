"""Building a race: parameters packed once per optimizer (validated once, in RacerConfig),
bias tables made once per distinct table and shared, one allocation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import engine.race as race_mod
from engine.objective import LandscapeObjective
from engine.optimizers import OPTIMIZERS, get_optimizer
from engine.optimizers.spec import (
    EVAL_LOOKAHEAD,
    EVAL_PAIRS,
    H_SIZE,
    HP_EVALS,
    HP_EXTRA,
    HP_HESSIAN,
    HP_MOMENTUM,
    HP_PLAIN,
    HP_RHO,
    HP_ROW,
    HP_SPECIAL,
    Optimizer,
)
from engine.params import ParamError
from engine.race import Race, RacerConfig, validated_params


def variants(name: str) -> list[dict[str, Any]]:
    """Valid parameter sets of optimizer ``name``: the defaults, and each parameter moved
    to another valid value (a bool flipped), alone."""
    opt = get_optimizer(name)
    out: list[dict[str, Any]] = [{}]
    for spec in opt.params:
        d = spec.default
        if spec.kind == "bool":
            tries: list[Any] = [not d]
        elif spec.kind == "int":
            tries = [int(d) + 1, int(d) + 2]
        else:
            lo = spec.lo if math.isfinite(spec.lo) else -10.0
            hi = spec.hi if math.isfinite(spec.hi) else 10.0
            tries = [lo + (hi - lo) * f for f in (0.3, 0.71)] + [float(d) * 1.5 + 0.01]
        for v in tries:
            try:
                out.append(opt.resolve({spec.name: v}))
            except ParamError:
                continue
    return out


def old_pack(opt: Optimizer, params: dict[str, Any]) -> np.ndarray:
    """Optimizer.pack as it was, one racer at a time (the reference)."""
    p = opt.resolve(params)
    hp = np.zeros(H_SIZE)
    for i, spec in enumerate(opt.params):
        hp[i] = float(p[spec.name])
    hp[HP_EXTRA] = opt.extra_evals(p)
    if opt.lookahead:
        hp[HP_EVALS] = EVAL_LOOKAHEAD
        hp[HP_RHO] = float(p[opt.lookahead])
        hp[HP_ROW] = opt.momentum_slot
    elif opt.pairs:
        hp[HP_EVALS] = EVAL_PAIRS
    hp[HP_SPECIAL] = opt.special
    hp[HP_HESSIAN] = opt.hessian
    hp[HP_PLAIN] = opt.plain is not None and opt.plain(p)
    hp[HP_MOMENTUM] = opt.momentum_slot + 1  # the row the recorded momentum copies (0: none)
    return hp


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_packed_rows_are_the_validated_pack_of_every_optimizer(name: str) -> None:
    opt = get_optimizer(name)
    given = variants(name)
    assert len(given) > len(opt.params) // 2, "too few valid variants to compare"
    fresh = np.stack([old_pack(opt, RacerConfig(name, dict(p)).params) for p in given])
    together = opt.pack_resolved([opt.resolve(p) for p in given])
    assert together.tobytes() == fresh.tobytes()
    assert np.stack([opt.pack(p) for p in given]).tobytes() == fresh.tobytes()
    # and what a race stores for them (racers of several optimizers mixed)
    cfgs = [RacerConfig(name, dict(p)) for p in given] + [RacerConfig("sgd", {"lr": 0.01})]
    race = Race(LandscapeObjective.create("rosenbrock"), cfgs, steps=3)
    assert race.hps[: len(given)].tobytes() == fresh.tobytes()
    assert race.hps[-1].tobytes() == old_pack(get_optimizer("sgd"), {"lr": 0.01}).tobytes()


def test_a_bad_parameter_is_refused_however_it_got_there() -> None:
    obj = LandscapeObjective.create("rosenbrock")
    with pytest.raises(ParamError, match="lr"):
        RacerConfig("adam", {"lr": -1.0})
    cfg = RacerConfig("adam", {"lr": 0.01})
    cfg.params["lr"] = -1.0  # edited in place after validation
    with pytest.raises(ParamError, match="lr"):
        Race(obj, [cfg], steps=5)
    cfg.params = {"lr": 0.01, "beta1": 1.5}  # replaced
    with pytest.raises(ParamError, match="beta1"):
        Race(obj, [cfg], steps=5)
    cfg.params = {"lr": 0.02}
    assert validated_params(cfg)["lr"] == 0.02 and validated_params(cfg)["beta1"] == 0.9
    race = Race(obj, [cfg, RacerConfig("sgd")], steps=5)
    race.racers[0].params["eps"] = 0.0  # behind the race's back: refused at the next pack
    with pytest.raises(ParamError, match="eps"):
        race.reset()
    race.racers[0].params["eps"] = 1e-8
    race.racers[1].optimizer = "adam"  # sgd's parameters are not adam's
    with pytest.raises(ParamError, match="momentum"):
        race.reset()


def test_a_race_packs_the_parameters_as_they_are_when_it_is_built() -> None:
    """RacerConfigs keep their validated parameters packed; a race checks all of them at
    once and validates again, one by one, those changed since (in place, replaced, a key
    deleted, another optimizer): it never packs a stale value."""
    obj = LandscapeObjective.create("rosenbrock")
    cfgs = [RacerConfig("adam", {"lr": 0.001 * (k + 1)}) for k in range(60)]
    cfgs += [RacerConfig("nag", {"lr": 0.002 * (k + 1)}) for k in range(20)]
    cfgs[17].params["lr"] = 0.5  # edited in place, still valid
    cfgs[23].params = {"lr": 0.25, "beta1": 0.8}  # replaced by a partial dict
    del cfgs[31].params["eps"]  # a key deleted: its default again
    cfgs[70].params["momentum"] = 0.3
    cfgs[41].optimizer = "adamw"  # its parameters must be adamw's now
    cfgs[41].params = {"lr": 0.003}
    race = Race(obj, cfgs, steps=3)
    want = np.stack([get_optimizer(c.optimizer).pack(c.params) for c in cfgs])
    assert race.hps.tobytes() == want.tobytes()
    assert race.hps[17, 0] == 0.5 and race.hps[23, 1] == 0.8 and race.hps[70, 1] == 0.3
    assert race.oids[41] == get_optimizer("adamw").oid
    # a copy keeps the original's validation and packs what it holds when built
    twin = [c.copy() for c in cfgs]
    twin[5].params["lr"] = 0.125
    again = Race(obj, twin, steps=3)
    assert again.hps[5, 0] == 0.125 and race.hps[5, 0] == 0.006 and cfgs[5].params["lr"] == 0.006
    assert np.delete(again.hps, 5, axis=0).tobytes() == np.delete(want, 5, axis=0).tobytes()
    twin[6].params["lr"] = -2.0  # a bad value in a copy is refused like any other
    with pytest.raises(ParamError, match="lr"):
        Race(obj, twin, steps=3)


def test_a_copy_holds_the_same_settings_in_containers_of_its_own() -> None:
    c = RacerConfig(
        "sgd", {"lr": 0.1, "momentum": 0.5}, schedule="multistep",
        schedule_params={"milestones": [10, 20], "gamma": 0.5}, label="a", color="#123456",
        enabled=False, start=(1.0, -1.0), schedule_unit="epoch", v0=(0.5, 0.25),
    )  # fmt: skip
    d = c.copy()
    assert d == c and repr(d) == repr(c)
    assert d.params is not c.params and d.schedule_params is not c.schedule_params
    assert d.schedule_params["milestones"] is not c.schedule_params["milestones"]
    d.params["lr"] = 0.2
    d.schedule_params["milestones"].append(30)
    assert c.params["lr"] == 0.1 and c.schedule_params["milestones"] == [10.0, 20.0]
    assert validated_params(d)["lr"] == 0.2 and validated_params(c)["lr"] == 0.1


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_with_params_is_replace_with_the_merged_parameters(name: str) -> None:
    """What a map makes per pixel: the same config, parameters and packed values as
    dataclasses.replace with the merged parameters (validated in full) gives."""
    from dataclasses import replace

    base = RacerConfig(name, schedule="step", schedule_params={"step_size": 7}, label="b",
                       color="#123456", start=(0.5, -0.25))  # fmt: skip
    for p in variants(name)[1:]:
        changes = {k: v for k, v in p.items() if v != base.params[k]}
        ours = base.with_params(changes)
        ref = replace(base, params={**base.params, **changes})
        assert ours == ref and ours.params == ref.params
        assert ours._valid[3] == ref._valid[3]  # the packed hyperparameters
        assert validated_params(ours) == validated_params(ref)
    assert base.params == RacerConfig(name).params  # the base is not changed


def test_with_params_refuses_what_replace_refuses() -> None:
    base = RacerConfig("sgd", {"lr": 0.1})
    with pytest.raises(ParamError, match="lr"):
        base.with_params({"lr": -1.0})
    with pytest.raises(ParamError, match="unknown parameter"):
        base.with_params({"beta1": 0.9})
    with pytest.raises(ParamError, match="nesterov"):  # the rule across parameters
        base.with_params({"nesterov": True})
    assert base.with_params({"nesterov": True, "momentum": 0.9}).params["nesterov"] is True


def test_a_racer_with_a_start_of_the_wrong_size_is_refused_by_name() -> None:
    obj = LandscapeObjective.create("rosenbrock")
    with pytest.raises(ValueError, match=r"start: expected 2 numbers .* got 3"):
        Race(obj, [RacerConfig("sgd"), RacerConfig("sgd", start=(1.0, 2.0, 3.0))], steps=3)
    race = Race(obj, [RacerConfig("sgd")], steps=3)
    race.racers[0].v0 = (1.0,)  # changed behind the race's back: refused, nothing changed
    before = {k: np.array(getattr(race, k), copy=True) for k in race_mod.PER_RACER_ARRAYS}
    with pytest.raises(ValueError, match="v0: expected 2 numbers"):
        race.reset()
    for k, a in before.items():
        assert getattr(race, k).tobytes() == a.tobytes(), k


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, tuple[float, ...]]]:
    made: list[tuple[int, tuple[float, ...]]] = []
    from engine.optimizers import bias_table as real

    def counted(oid: int, hp: np.ndarray, length: int) -> np.ndarray:
        made.append((oid, tuple(hp[1:].tolist())))
        return real(oid, hp, length)

    monkeypatch.setattr(race_mod, "bias_table", counted)
    return made


def test_bias_tables_are_made_once_per_distinct_table_and_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _calls(monkeypatch)
    allocs: list[int] = []
    real_realloc = Race._realloc

    def realloc(self: Race, *a: Any, **kw: Any) -> None:
        allocs.append(1)
        real_realloc(self, *a, **kw)

    monkeypatch.setattr(Race, "_realloc", realloc)
    cfgs = [RacerConfig("adam", {"lr": 0.01 * 0.99**k}) for k in range(300)]
    cfgs += [RacerConfig("adam", {"lr": 0.01 * 0.99**k, "beta2": 0.99}) for k in range(50)]
    cfgs += [RacerConfig("adamw", {"lr": 0.001 * (k + 1)}) for k in range(40)]  # adam's betas
    cfgs += [RacerConfig("sgd", {"lr": 0.001 * (k + 1)}) for k in range(10)]
    race = Race(LandscapeObjective.create("rosenbrock"), cfgs, steps=40)
    assert len(allocs) == 1
    # one call per optimizer and distinct hyperparameters but the rate
    assert len(made) == len(set(made)) == 4, made
    # adam and adamw of the same betas share a table: three distinct tables
    assert race.bts.shape == (3, 3, 41)
    groups = [race.btab[:300], race.btab[300:350], race.btab[350:390], race.btab[390:]]
    assert [len(set(g.tolist())) for g in groups] == [1, 1, 1, 1]
    assert race.btab[0] == race.btab[350] and len({int(g[0]) for g in groups}) == 3
    for i in (0, 300, 350):
        b1, b2 = race.hps[i, 1], race.hps[i, 2]
        assert race.bts[race.btab[i], 0, 0] == b1 and race.bts[race.btab[i], 1, 0] == b2
    assert np.isnan(race.bts[race.btab[-1]]).all()  # sgd: no table
    # a racer given new betas gets its table; the one no racer uses any more is dropped
    for i in range(300, 350):
        race.set_params(i, {"beta2": 0.9})
    assert race.bts.shape[0] == 3 and race.bts[race.btab[300], 1, 0] == 0.9
    race.set_params(0, {"beta1": 0.5})
    assert len(race.bts) == 4
    race.extend(80)  # a longer race: every table longer
    assert race.bts.shape == (4, 3, 81)
    race.run()
    for i in (0, 1, 300, 350, 395):  # each racer as alone
        alone = Race(LandscapeObjective.create("rosenbrock"), [race.racers[i]], steps=80)
        alone.run()
        assert race.trajectory(i).x.tobytes() == alone.trajectory(0).x.tobytes(), i


def test_a_table_never_depends_on_the_rate() -> None:
    """What lets a race make one table per hyperparameters but the rate (hp[0])."""
    from engine.optimizers import bias_table

    for name, opt in OPTIMIZERS.items():
        hp = opt.pack({})
        other = hp.copy()
        other[0] *= 3.0
        assert np.array_equal(
            bias_table(opt.oid, hp, 50), bias_table(opt.oid, other, 50), equal_nan=True
        ), name


def test_run_ids_are_new_at_every_start() -> None:
    obj = LandscapeObjective.create("booth")
    a = Race(obj, [RacerConfig("sgd")] * 5, steps=4)
    b = Race(obj, [RacerConfig("sgd")] * 3, steps=4)
    ids = a.run_id.tolist() + b.run_id.tolist()
    assert len(set(ids)) == 8 and ids == sorted(ids)
    a.reset()
    assert min(a.run_id.tolist()) > max(ids)


# ---------------------------------------------------------------- memory blocks reused


def _big(n: int = 300, steps: int = 1000, lr: float = 0.01) -> Race:
    """A race large enough for its buffers to be pooled (engine.buffers.POOL_MIN_BYTES)."""
    cfgs = [RacerConfig("adam", {"lr": lr * 0.99**k}) for k in range(n)]
    return Race(LandscapeObjective.create("rosenbrock", grad_noise=0.1), cfgs, steps=steps)


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def test_a_block_is_reused_only_once_nothing_holds_any_of_its_arrays() -> None:
    from engine.buffers import POOL

    POOL.clear()
    a = _big()
    a.run()
    held, where = a.loss[3], _address(a.xs)  # a view of one row outlives the race
    del a
    b = _big()  # a's block is still in use: b's is another
    assert not np.shares_memory(held, b.loss) and not np.shares_memory(held, b.xs)
    before = held.copy()
    b.run()
    assert held.tobytes() == before.tobytes()  # nothing wrote into the view held
    del held
    c = _big()  # now a's block is free: c takes it
    assert _address(c.xs) == where
    del b, c


def test_a_race_in_a_reused_block_is_bit_identical_to_one_in_fresh_memory() -> None:
    import gc

    from engine.buffers import POOL

    gc.collect()  # races of earlier tests held in reference cycles: freed now, not midway
    POOL.clear()
    fresh = _big(lr=0.02)  # fresh memory
    names = [k for k in race_mod.PER_RACER_ARRAYS if k != "run_id"]  # new at every start
    first = {k: np.array(getattr(fresh, k), copy=True) for k in names}
    old = _big(lr=0.003)
    old.run()  # its rows all written, then freed
    del old
    reused = _big(lr=0.02)
    assert len(POOL.free) == 0  # it took the old race's block
    for k, a in first.items():  # every array as a fresh race's, NaN rows included
        assert getattr(reused, k).tobytes() == a.tobytes(), k
    fresh.run()
    reused.run()
    for k in names:
        assert getattr(reused, k).tobytes() == getattr(fresh, k).tobytes(), k


def test_a_race_stepped_in_a_thread_never_shares_its_block_with_races_built_meanwhile() -> None:
    import threading

    from engine.buffers import POOL

    POOL.clear()
    running = _big(n=200, steps=3000, lr=0.004)
    alone = _big(n=200, steps=3000, lr=0.004)
    alone.run()
    done = threading.Event()

    def runner() -> None:
        while not running.done:
            running.advance(50)
        done.set()

    thread = threading.Thread(target=runner)
    thread.start()
    built = 0
    while not done.is_set() or built < 4:
        other = _big(n=200, steps=3000, lr=0.05)  # built and dropped meanwhile
        assert not np.shares_memory(other.xs, running.xs)
        other.advance(20)
        del other
        built += 1
    thread.join()
    for k in race_mod.PER_RACER_ARRAYS:
        if k != "run_id":
            assert getattr(running, k).tobytes() == getattr(alone, k).tobytes(), k


def test_the_pool_keeps_few_blocks_and_none_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.buffers as buffers_mod

    pool = buffers_mod.BlockPool()
    leases = [pool.take(2 << 20) for _ in range(5)]
    del leases
    assert len(pool.free) == buffers_mod.POOL_FREE_BLOCKS
    assert pool.free_bytes() == buffers_mod.POOL_FREE_BLOCKS * (2 << 20)
    monkeypatch.setattr(buffers_mod, "POOL_MAX_BYTES", 3 << 20)
    big = pool.take(4 << 20)  # no free block fits: they go back, a new one is made
    assert len(pool.free) == 0
    del big  # larger than POOL_MAX_BYTES: never pooled
    small = pool.take(64)  # under POOL_MIN_BYTES: not pooled either
    del small
    assert len(pool.free) == 0
    kept = pool.take(2 << 20)
    del kept
    assert len(pool.free) == 1
    pool.clear()
    assert pool.free_bytes() == 0
