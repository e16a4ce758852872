"""Invariants the engine's speed-ups rely on (no timings here: see ``python -m bench``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.data import Dataset, generate
from engine.kernel import race_chunk
from engine.landscapes import LANDSCAPES, landscape_f, landscape_fg
from engine.objective import LandscapeObjective, PerceptronObjective
from engine.optimizers import opt_update
from engine.perceptron_kernel import epoch_permutation, perceptron_fg
from engine.race import Race, RacerConfig
from engine.schedules import schedule_lr
from tests.conftest import epoch_batches  # the kernel's batch order, in plain numpy

#: no bias-correction table: opt_update computes them with pow() (engine.optimizers)
NO_TABLE = np.full((3, 1), np.nan)


@pytest.mark.parametrize("name", list(LANDSCAPES))
def test_loss_of_fg_is_the_loss_of_f(name: str) -> None:
    """Random search's losses come from landscape_fg (one objective call site in the
    kernel), its references from landscape_f: the two must give the same bits."""
    ls = LANDSCAPES[name]
    p = ls.pack()
    rng = np.random.default_rng(7)
    g = np.zeros(2)
    for scale in (1e-3, 0.3, 1.0, 3.0, 30.0):
        for x, y in rng.normal(0.0, scale, (40, 2)):
            f = landscape_fg(ls.lid, p, np.array([x, y]), g)
            f2 = landscape_f(ls.lid, p, float(x), float(y))
            assert f == f2 or (math.isnan(f) and math.isnan(f2)), (name, x, y, f, f2)


def test_hot_dispatchers_are_compiled_once_and_inlined_by_llvm() -> None:
    """jit_hot: no NRT (no reference counting in the inlined code) and alwaysinline."""
    for fn in (landscape_fg, opt_update, schedule_lr, perceptron_fg):
        assert fn.targetoptions.get("forceinline") is True, fn
        assert fn.targetoptions.get("_nrt") is False, fn
    assert race_chunk.targetoptions.get("_nrt") is False


def _adam_reference(x0: np.ndarray, grads: list[np.ndarray], lr: float, b1: float, b2: float,
                    eps: float) -> list[np.ndarray]:  # fmt: skip
    """torch.optim.Adam's float64 arithmetic, pow() at every step (no shortcut)."""
    x = x0.copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = []
    for t, g in enumerate(grads):
        step = float(t + 1)
        bc1 = 1.0 - b1**step
        bc2 = 1.0 - b2**step
        step_size = lr / bc1
        bc2_sqrt = math.pow(bc2, 0.5)
        for i in range(x.shape[0]):
            w = 1.0 - b1
            m[i] = m[i] + w * (g[i] - m[i]) if abs(w) < 0.5 else g[i] - (g[i] - m[i]) * (1.0 - w)
            v[i] = v[i] * b2 + (1.0 - b2) * g[i] * g[i]
            denom = math.sqrt(v[i]) / bc2_sqrt + eps
            x[i] = x[i] + (-step_size) * m[i] / denom
        out.append(x.copy())
    return out


def test_adam_bias_correction_shortcut_is_exact() -> None:
    """With small betas the powers underflow within ~100 steps; every step after must
    still be the bits of the pow() formula (and a changed beta starts over)."""
    rng = np.random.default_rng(3)
    grads = [rng.normal(0.0, 1.0, 2) for _ in range(400)]
    for b1, b2 in ((0.5, 0.6), (0.1, 0.2), (0.0, 0.0), (0.9, 0.5)):
        hp = np.zeros(8)
        hp[:4] = (0.01, b1, b2, 1e-8)
        hp[6] = 1.0  # bias_correction = true
        x = np.array([0.3, -0.7])
        st = np.zeros((4, 2))
        sc = np.zeros(4)
        ref = _adam_reference(x, grads, 0.01, b1, b2, 1e-8)
        for t, g in enumerate(grads):
            opt_update(6, hp, st, sc, NO_TABLE, x, g.copy(), 0.01, t)  # 6 = adam
            assert x.tolist() == ref[t].tolist(), (b1, b2, t)
    # the cached state belongs to one beta: after a change the powers are computed again
    hp = np.zeros(8)
    hp[:4] = (0.01, 0.5, 0.5, 1e-8)
    hp[6] = 1.0  # bias_correction = true
    x, st, sc = np.zeros(2), np.zeros((4, 2)), np.zeros(4)
    for t in range(200):
        opt_update(6, hp, st, sc, NO_TABLE, x, np.ones(2), 0.01, t)
    assert sc[0] == 1.0 and sc[1] == 0.5
    hp[1] = 0.999
    g = np.full(2, 0.3)
    xa, xb = x.copy(), x.copy()
    opt_update(
        6, hp, st.copy(), sc.copy(), NO_TABLE, xa, g.copy(), 0.01, 200
    )  # cache of beta1 = 0.5
    opt_update(6, hp, st.copy(), np.zeros(4), NO_TABLE, xb, g.copy(), 0.01, 200)
    assert xa.tolist() == xb.tolist()


def _blob_objective(n: int, bs: int, epochs: int) -> PerceptronObjective:
    rows = generate("blobs", {"n": n, "seed": 4, "separation": 2.0})
    return PerceptronObjective(Dataset(rows, np.empty((0, 3))), bs, epochs)


def _np_loss(rows: np.ndarray, x: np.ndarray) -> float:
    z = rows[:, 0] * x[0] + rows[:, 1] * x[1] + x[2]
    return float(np.mean(np.logaddexp(0.0, z) - rows[:, 2] * z))


def test_shared_shuffle_with_racers_in_different_epochs() -> None:
    """One permutation serves all racers, made for the earliest epoch in progress: a
    racer restarted mid-race (behind the others) and a racer added later still see
    epoch e's batches at every step of epoch e."""
    ob = _blob_objective(90, 16, 6)  # 6 steps per epoch
    race = Race(ob, [RacerConfig("sgd", {"lr": 0.4}), RacerConfig("adam", {"lr": 0.05})],
                steps=ob.total_steps, seed=5)  # fmt: skip
    race.advance(14)
    race.set_params(1, {"lr": 0.07}, restart=True)  # racer 1 back to epoch 0
    race.add_racer(RacerConfig("rmsprop", {"lr": 0.02}))
    for chunk in (3, 5, 1, 7, 100):
        race.advance(chunk)
    # every kept slot holds its epoch's order; racers in 2 epochs kept 2 slots busy
    kept = [int(e) for e in race.perm_epoch if e >= 0]
    assert len(kept) >= 2
    for slot, e in enumerate(race.perm_epoch):
        if e >= 0:
            want = np.empty(90, dtype=np.int32)
            epoch_permutation(5, int(e), want)
            assert race.perm_slots[slot].tolist() == want.tolist()
    batches = epoch_batches(5, 90, 16, ob.total_steps + 1)
    for i in range(3):
        tr = race.trajectory(i)
        assert tr.loss.shape[0] == ob.total_steps + 1
        for t in range(tr.loss.shape[0]):
            want = _np_loss(ob.data[batches[t]], tr.x[t])
            assert tr.loss[t] == pytest.approx(want, rel=1e-11, abs=1e-14), (i, t)


def test_shuffle_is_a_uniform_permutation() -> None:
    """epoch_permutation: a permutation, the same for any integer dtype, and uniform: every
    order of 3, 4 and 5 rows about equally often over many epochs (chi-square far below
    its 1e-6 quantile), every row about equally often at every position. Deterministic
    (a pure function of (seed, epoch)): no flaky statistics. The sizes cover the paired
    draws (steps 1-2, 3-4) and a single last draw (even n)."""
    for n in (1, 2, 3, 4, 5, 17, 1000, 100_001):
        p = np.empty(n, dtype=np.int32)
        epoch_permutation(11, 2, p)
        assert sorted(p.tolist()) == list(range(n))
        q = np.empty(n, dtype=np.int64)
        epoch_permutation(11, 2, q)
        assert p.tolist() == q.tolist(), "the order does not depend on the dtype"
    # chi-square 0.999999 quantiles for 5, 23 and 119 degrees of freedom
    for n, epochs, limit in ((3, 6000, 35.9), (4, 24_000, 70.5), (5, 60_000, 207.2)):
        counts: dict[tuple[int, ...], int] = {}
        p = np.empty(n, dtype=np.int32)
        for e in range(epochs):
            epoch_permutation(1, e, p)
            key = tuple(p.tolist())
            counts[key] = counts.get(key, 0) + 1
        k = math.factorial(n)
        assert len(counts) == k
        expected = epochs / k
        chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
        assert chi2 < limit, (n, chi2)
    # position of every row of 10 over 20000 epochs: 2000 expected per cell
    pos = np.zeros((10, 10), dtype=np.int64)
    p = np.empty(10, dtype=np.int32)
    for e in range(20_000):
        epoch_permutation(5, e, p)
        pos[p, np.arange(10)] += 1
    chi2 = float(((pos - 2000.0) ** 2 / 2000.0).sum())
    assert chi2 < 156.4, chi2  # (10 − 1)² = 81 degrees of freedom: 0.999999 quantile


def test_landscape_race_unchanged_by_epoch_passes() -> None:
    """Landscapes run in one pass (no epochs): chunked and whole runs are identical."""
    ob = LandscapeObjective.create("rosenbrock")
    cfgs = [RacerConfig("nag", {"lr": 5e-4}), RacerConfig("random_search", {"lr": 1e-3})]
    a = Race(ob, cfgs, steps=300)
    a.advance(300)
    b = Race(ob, cfgs, steps=300)
    for n in (1, 7, 50, 300):
        b.advance(n)
    for i in range(2):
        assert a.trajectory(i).x.tolist() == b.trajectory(i).x.tolist()


def _adam_family_race(steps: int) -> Any:
    from engine.objective import LandscapeObjective
    from engine.race import Race, RacerConfig

    cfgs = [
        RacerConfig("adam", {"lr": 0.01}),
        RacerConfig("adam", {"lr": 0.01, "beta1": 0.5, "beta2": 0.6, "amsgrad": True}),
        RacerConfig("adamw", {"lr": 0.02, "beta1": 0.0, "beta2": 0.0, "weight_decay": 0.1}),
        RacerConfig("nadam", {"lr": 0.01, "beta2": 0.99}),
        RacerConfig("adamax", {"lr": 0.01, "beta1": 0.8}),
        RacerConfig("radam", {"lr": 0.01}),
    ]
    return Race(LandscapeObjective.create("rosenbrock"), cfgs, steps=steps)


def test_bias_tables_give_the_bits_of_pow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Adam family reads 1 − βᵗ (and its square root) from tables made ahead
    (engine.optimizers.bias_table) instead of calling pow(): every step must have the
    bits of the pow() path, also past a table's end, after a change of beta (a new
    table) and with a table left from other betas (ignored)."""
    import engine.race as race_mod

    def run(race: Any, change: str | None = None) -> np.ndarray:
        race.advance(150)
        if change == "set_params":
            race.set_params(0, {"beta2": 0.95, "beta1": 0.7})
            race.set_params(3, {"beta1": 0.8, "momentum_decay": 0.01})  # nadam
        elif change == "stale":  # new betas behind the race's back: the table must not be used
            race.hps[0, 1], race.hps[0, 2] = 0.7, 0.95
            race.hps[3, 1], race.hps[3, 5] = 0.8, 0.01
        race.advance(150)
        return np.concatenate([race.xs.ravel(), race.loss.ravel()])

    tabled = run(_adam_family_race(300))
    short = 120
    monkeypatch.setattr(race_mod, "BIAS_TABLE_MAX", short)  # tables end at step 119
    ends = run(_adam_family_race(300))
    assert _adam_family_race(300).bts.shape[2] == short
    monkeypatch.setattr(race_mod, "bias_table", lambda oid, hp, n: np.full((3, 1), np.nan))
    plain = run(_adam_family_race(300))  # every bias correction by pow()
    assert tabled.tobytes() == plain.tobytes()
    assert ends.tobytes() == plain.tobytes()
    monkeypatch.undo()
    changed = run(_adam_family_race(300), "set_params")
    stale = run(_adam_family_race(300), "stale")
    assert changed.tobytes() == stale.tobytes()
    assert changed.tobytes() != tabled.tobytes()

    # the kernel does read the tables: a wrong entry changes that racer's path from there
    ref = _adam_family_race(300)
    ref.advance(300)
    bt = ref.bts[ref.btab[0]]  # racer 0's table (racers share tables: _pack_biases)
    assert bt[0, 0] == 0.9 and bt[0, 10] == 1.0 - 0.9**10.0
    assert bt[2, 0] == 0.999 and bt[2, 10] == (1.0 - 0.999**10.0) ** 0.5
    # (racer, row): Adam's 1 − β₁ᵗ and (1 − β₂ᵗ)^0.5 (it uses the root only); NAdam's μ
    # (read at two steps: μₜ and μₜ₊₁) and 1 − β₂ᵗ
    for i, row in ((0, 0), (0, 2), (3, 0), (3, 1)):
        race = _adam_family_race(300)
        assert (race.btab == race.btab[i]).sum() == 1  # racer i's table is its own
        race.bts[race.btab[i], row, 10] = 0.5
        race.advance(300)
        first = 9 if (i, row) == (3, 0) else 10  # μ₁₀ is μ_next of update 9 already
        assert race.xs[i, :first].tobytes() == ref.xs[i, :first].tobytes()
        assert race.xs[i, first:].tobytes() != ref.xs[i, first:].tobytes(), (i, row)
        others = [k for k in range(race.xs.shape[0]) if k != i]
        assert race.xs[others].tobytes() == ref.xs[others].tobytes()


def test_bias_tables_have_the_bits_of_python_pow() -> None:
    """The tables are filled by a compiled loop; each entry must be the bits of the
    Python (C pow) expression torch.optim evaluates: 1 - beta ** step, (...) ** 0.5."""
    from engine.optimizers.adam import _bias_table

    for beta in (0.9, 0.999, 0.99, 0.95, 0.5, 0.0, 0.9999, 0.123456789):
        tab = _bias_table(beta, beta, 50_000)
        assert tab[0, 0] == beta and tab[1, 0] == beta and tab[2, 0] == beta
        for s in range(1, 50_000):
            bc = 1.0 - beta ** float(s)
            assert tab[0, s] == bc and tab[1, s] == bc, (beta, s)
            assert tab[2, s] == bc**0.5, (beta, s)
    assert np.isnan(_bias_table(float("nan"), 0.9, 10)[0]).all()
    from engine.optimizers.adam import _nadam_table

    for b1, md in ((0.9, 0.004), (0.5, 0.1), (0.0, 0.0), (0.99, 0.0123)):
        tab = _nadam_table(b1, 0.999, md, 20_000)
        assert tab[0, 0] == b1 and tab[2, 0] == md and tab[1, 0] == 0.999
        for s in range(1, 20_000):
            step = float(s)
            assert tab[0, s] == b1 * (1.0 - 0.5 * (0.96 ** (step * md))), (b1, md, s)
            if s > 1:  # the kernel's mu_next at step s - 1: (step + 1.0) * md
                prev = float(s - 1)
                assert tab[0, s] == b1 * (1.0 - 0.5 * (0.96 ** ((prev + 1.0) * md)))
            assert tab[1, s] == 1.0 - 0.999 ** float(s)


def _nadam_reference(x: np.ndarray, grads: list[np.ndarray], hp: dict[str, float]) -> list:
    """torch.optim.NAdam's single-tensor arithmetic in plain Python floats (as opt_update
    mirrors it; its μ-product is multiplied on however small it gets)."""
    lr, b1, b2, eps = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"]
    wd, md, dec = hp["weight_decay"], hp["momentum_decay"], hp["decoupled_weight_decay"]
    x = x.copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    mu_product = 1.0
    out = []
    for t, g in enumerate(grads):
        step = float(t + 1)
        bc2 = 1.0 - b2**step
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1.0) * md)))
        mu_product = mu_product * mu
        c1 = -lr * (1.0 - mu) / (1.0 - mu_product)
        c2 = (-lr * mu_next) / (1.0 - mu_product * mu_next)
        for i in range(x.shape[0]):
            gi = g[i]
            if wd != 0.0:
                if dec:
                    x[i] = x[i] * (1.0 - lr * wd)
                else:
                    gi = gi + wd * x[i]
            w = 1.0 - b1
            m[i] = m[i] + w * (gi - m[i]) if abs(w) < 0.5 else gi - (gi - m[i]) * (1.0 - w)
            v[i] = v[i] * b2 + (1.0 - b2) * gi * gi
            denom = math.sqrt(v[i] / bc2) + eps
            xi = x[i] + c1 * gi / denom
            x[i] = xi + c2 * m[i] / denom
        out.append(x.copy())
    return out


def test_nadam_mu_product_shortcut_is_exact() -> None:
    """NAdam stops multiplying its μ-product once 1 − μ-product is exactly 1.0 (before it
    turns subnormal); every step must still be the bits of the full product, with and
    without the μ table (steps past the table's end use pow())."""
    from engine.optimizers import bias_table, get_optimizer

    rng = np.random.default_rng(5)
    grads = [rng.normal(0.0, 1.0, 2) for _ in range(3000)]
    opt = get_optimizer("nadam")
    for params in (
        {"lr": 0.01},
        {"lr": 0.02, "beta1": 0.5, "momentum_decay": 0.1, "weight_decay": 0.01},
        {"lr": 0.01, "beta1": 0.0, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ):
        full = opt.resolve(params)
        hp = opt.pack(full)
        ref = _nadam_reference(np.array([0.3, -0.7]), grads, full)
        for table in (NO_TABLE, bias_table(opt.oid, hp, 1000)):
            x, st, sc = np.array([0.3, -0.7]), np.zeros((4, 2)), np.zeros(4)
            for t, g in enumerate(grads):
                opt_update(opt.oid, hp, st, sc, table, x, g.copy(), full["lr"], t)
                assert x.tolist() == ref[t].tolist(), (params, t, table.shape)
            assert sc[1] == 0.0  # the product was cut to zero (0.9^3000 is subnormal)
