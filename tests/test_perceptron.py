"""The mini-batch perceptron: maths, batches, data sets, scenarios, export, the notes' example."""

from __future__ import annotations

import csv
import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import (
    GENERATORS,
    DataError,
    Dataset,
    generate,
    load_csv,
    prepare,
    split,
    split_sizes,
)
from engine.export import PERCEPTRON_HEADER, write_results
from engine.objective import LandscapeObjective, PerceptronObjective, accuracy, full_loss
from engine.race import Race, RacerConfig
from engine.scenario import (
    Problem,
    ScenarioError,
    build_race,
    dumps_scenario,
    load_scenario,
    loads_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_to_dict,
)
from tests.conftest import epoch_batches

ROOT = Path(__file__).resolve().parent.parent
MINIBATCH = ROOT / "scenarios" / "perceptron_minibatch.toml"
LN2 = math.log(2.0)
MATHS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def objective(rows: np.ndarray, batch_size: int | str = 128, epochs: int = 3,
              start: tuple[float, ...] = (0.0, 0.0, 0.0), val: np.ndarray | None = None,
              ) -> PerceptronObjective:  # fmt: skip
    """An objective on exactly ``rows`` (no shuffle, no split)."""
    v = np.empty((0, 3)) if val is None else val
    bs = 0 if batch_size == "full" else int(batch_size)
    return PerceptronObjective(Dataset(np.asarray(rows, dtype=np.float64), v), bs, epochs, start)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def np_loss_grad(rows: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean BCE and its gradient in plain numpy (the lecture notes' formulas)."""
    z = rows[:, 0] * x[0] + rows[:, 1] * x[1] + x[2]
    a = sigmoid(z)
    y = rows[:, 2]
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    r = a - y  # dL/dz
    return loss, np.array([np.mean(r * rows[:, 0]), np.mean(r * rows[:, 1]), np.mean(r)])


row_st = st.tuples(
    st.floats(-3, 3, allow_nan=False),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from([0.0, 1.0]),
)
rows_st = st.lists(row_st, min_size=1, max_size=25).map(lambda r: np.array(r, dtype=np.float64))
weights_st = st.tuples(*[st.floats(-4, 4, allow_nan=False)] * 3).map(np.array)


# ---------------------------------------------------------------- the maths
@MATHS
@given(rows_st, weights_st)
def test_bce_gradient_matches_central_differences(rows: np.ndarray, x: np.ndarray) -> None:
    ob = objective(rows)
    g = ob.gradient(x)
    h = 1e-5
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (ob.loss(x + e) - ob.loss(x - e)) / (2 * h)
        assert g[i] == pytest.approx(fd, abs=1e-7, rel=1e-6)
    loss, gnp = np_loss_grad(rows, x)
    assert ob.loss(x) == pytest.approx(loss, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(g, gnp, rtol=1e-10, atol=1e-15)


@MATHS
@given(st.floats(-8, 8, allow_nan=False), st.floats(0, 1), st.floats(-3, 3, allow_nan=False))
def test_dl_dz_is_a_minus_y(z: float, y: float, x1: float) -> None:
    """The notes' derivation: ℓ = −y·log a − (1 − y)·log(1 − a), a = σ(z) ⇒ dℓ/dz = a − y,
    and by the chain rule dℓ/dw1 = x1·(a − y), dℓ/db = a − y."""
    a = 1.0 / (1.0 + math.exp(-z))

    def ell(zz: float) -> float:  # the notes' formula, literally (1 − a cancels for |z| > 8)
        aa = 1.0 / (1.0 + math.exp(-zz))
        return -y * math.log(aa) - (1.0 - y) * math.log(1.0 - aa)

    h = 1e-6
    assert (ell(z + h) - ell(z - h)) / (2 * h) == pytest.approx(a - y, abs=1e-6)
    # the engine: one row (x1, 0, y) at w1 = 0, b = z, so z = b
    ob = objective(np.array([[x1, 0.0, y]]))
    g = ob.gradient(np.array([0.0, 0.0, z]))
    assert g[2] == pytest.approx(a - y, rel=1e-12, abs=1e-15)
    assert g[0] == pytest.approx(x1 * (a - y), rel=1e-12, abs=1e-15)
    assert g[1] == 0.0
    assert ob.loss(np.array([0.0, 0.0, z])) == pytest.approx(ell(z), rel=1e-9, abs=1e-12)


@MATHS
@given(rows_st, st.sampled_from([1, 2, 3, 7, 128]))
def test_loss_at_the_origin_is_ln2(rows: np.ndarray, bs: int) -> None:
    """At w = b = 0, a = 1/2 for every row and ℓ = ln 2 whatever y is.

    Exactly per row (softplus(0) = log1p(1) = ln 2 in floating point); the mean of m
    copies accumulates at most a few ulps of summation rounding, hence the 1e-14.
    """
    assert math.log1p(math.exp(-0.0)) == LN2
    ob = objective(rows, batch_size=bs)
    race = Race(ob, [RacerConfig("sgd")], steps=1, seed=3)
    assert race.trajectory(0).loss[0] == pytest.approx(LN2, rel=1e-14)
    assert full_loss(ob.data, np.zeros(3)) == pytest.approx(LN2, rel=1e-14)
    assert race.trajectory(0).grad_norm[0] == pytest.approx(
        np.linalg.norm(np_loss_grad(rows[race.perm[0][: min(bs, len(rows))]], np.zeros(3))[1]),
        abs=1e-15,
    )


def blob_rows(n: int = 300, seed: int = 1) -> np.ndarray:
    return generate("blobs", {"n": n, "seed": seed, "separation": 3.0})


def test_batch_mode_equals_full_batch_gd_in_numpy() -> None:
    rows = blob_rows(257)
    ob = objective(rows, batch_size="full", epochs=40, start=(0.3, -0.2, 0.1))
    assert ob.batch_size == 257 and ob.steps_per_epoch == 1 and ob.mode == "batch"
    race = Race(ob, [RacerConfig("sgd", {"lr": 0.7})], steps=ob.total_steps, seed=5)
    race.run()
    x = np.array([0.3, -0.2, 0.1])
    tr = race.trajectory(0)
    assert tr.loss.shape[0] == 41
    for t in range(41):
        loss, g = np_loss_grad(rows, x)
        np.testing.assert_allclose(tr.x[t], x, rtol=1e-11, atol=1e-13)
        assert tr.loss[t] == pytest.approx(loss, rel=1e-11)
        assert tr.grad_norm[t] == pytest.approx(np.linalg.norm(g), rel=1e-9, abs=1e-14)
        x = x - 0.7 * g


def test_minibatch_run_equals_numpy_with_the_same_batch_order() -> None:
    rows = blob_rows(300)
    ob = objective(rows, batch_size=64, epochs=6)  # 5 batches: 4 × 64 + 44
    steps = ob.total_steps
    racers = [RacerConfig("sgd", {"lr": 0.3}), RacerConfig("adam", {"lr": 0.05, "beta2": 0.99})]
    race = Race(ob, racers, steps=steps, seed=11)
    race.run()
    batches = epoch_batches(11, 300, 64, steps + 1)
    assert sorted(np.concatenate(batches[:5]).tolist()) == list(range(300)), "an epoch = all rows"
    assert not np.array_equal(batches[0], batches[5]), "a fresh shuffle every epoch"
    # SGD
    x = np.zeros(3)
    for t in range(steps + 1):
        loss, g = np_loss_grad(rows[batches[t]], x)
        np.testing.assert_allclose(race.trajectory(0).x[t], x, rtol=1e-10, atol=1e-13)
        assert race.trajectory(0).loss[t] == pytest.approx(loss, rel=1e-11)
        x = x - 0.3 * g
    # Adam (torch's arithmetic)
    x = np.zeros(3)
    m = np.zeros(3)
    v = np.zeros(3)
    for t in range(steps + 1):
        loss, g = np_loss_grad(rows[batches[t]], x)
        np.testing.assert_allclose(race.trajectory(1).x[t], x, rtol=1e-9, atol=1e-12)
        assert race.trajectory(1).loss[t] == pytest.approx(loss, rel=1e-10)
        k = t + 1
        m = m + (g - m) * 0.1
        v = 0.99 * v + 0.01 * g * g
        x = x - (0.05 / (1 - 0.9**k)) * m / (np.sqrt(v) / math.sqrt(1 - 0.99**k) + 1e-8)


def test_all_racers_see_the_sameepoch_batches() -> None:
    rows = blob_rows(200)
    ob = objective(rows, batch_size=16, epochs=3)
    racers = [RacerConfig("sgd", {"lr": 0.5}), RacerConfig("adam", {"lr": 0.1}),
              RacerConfig("rmsprop"), RacerConfig("nag", {"lr": 0.1})]  # fmt: skip
    race = Race(ob, racers, steps=ob.total_steps, seed=7)
    race.run()
    batches = epoch_batches(7, 200, 16, ob.total_steps + 1)
    for i in range(len(racers)):
        tr = race.trajectory(i)
        for t in range(0, ob.total_steps + 1, 5):  # the loss of row t = batch t at x_t
            assert tr.loss[t] == pytest.approx(np_loss_grad(rows[batches[t]], tr.x[t])[0],
                                               rel=1e-11)  # fmt: skip
    assert (race.perm == race.perm[0]).all(), "every racer ends on the same shuffle"
    # another seed shuffles differently
    race2 = Race(ob, [RacerConfig("sgd", {"lr": 0.5})], steps=ob.total_steps, seed=8)
    race2.run()
    assert not np.array_equal(race2.trajectory(0).x, race.trajectory(0).x)


def test_stochastic_mode_is_one_row_per_update() -> None:
    rows = blob_rows(50)
    ob = objective(rows, batch_size=1, epochs=2)
    assert ob.steps_per_epoch == 50 and ob.total_steps == 100 and ob.mode == "stochastic"
    race = Race(ob, [RacerConfig("sgd", {"lr": 0.1})], steps=ob.total_steps, seed=2)
    race.run()
    tr = race.trajectory(0)
    batches = epoch_batches(2, 50, 1, 101)
    for t in range(101):
        assert batches[t].shape == (1,)
        assert tr.loss[t] == pytest.approx(np_loss_grad(rows[batches[t]], tr.x[t])[0], rel=1e-12)


def test_schedule_counts_epochs_with_unit_epoch() -> None:
    rows = blob_rows(100)
    ob = objective(rows, batch_size=32, epochs=5)  # 4 updates per epoch
    cfg = [
        RacerConfig("sgd", {"lr": 0.4}, "time_based", {"decay": 1.0}, schedule_unit="epoch"),
        RacerConfig("sgd", {"lr": 0.4}, "time_based", {"decay": 1.0}),
    ]
    race = Race(ob, cfg, steps=ob.total_steps)
    race.run()
    t = np.arange(ob.total_steps + 1)
    np.testing.assert_allclose(race.trajectory(0).lr, 0.4 / (1 + t // 4))
    np.testing.assert_allclose(race.trajectory(1).lr, 0.4 / (1 + t))


def test_helpers_full_loss_and_accuracy() -> None:
    rows = np.array([[1.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    x = np.array([1.0, 0.0, 0.0])  # z = x1: predicts 1, 0, 1, 0 (z = 0 counts as class 0)
    assert accuracy(rows, x) == 0.5
    assert full_loss(rows, x) == pytest.approx(np_loss_grad(rows, x)[0], rel=1e-14)
    assert math.isnan(full_loss(np.empty((0, 3)), x)) and math.isnan(accuracy(np.empty((0, 3)), x))
    ob = objective(rows, val=rows[:2])
    out = ob.evaluate(np.array([x, 2 * x]))
    assert out.shape == (2, 4)
    assert out[0].tolist() == [full_loss(rows, x), full_loss(rows[:2], x), 1.0, 0.5]


# ---------------------------------------------------------------- the notes' Adam example
def test_adam_worked_example_of_the_notes() -> None:
    """Lecture notes (seed 004): one sigmoid neuron, (x, y) = (3.5, 0.5), w = b = −2,
    η = 0.1, β1 = 0.9, β2 = 0.99, ε = 1e-8, BCE, one Adam step with bias correction.

    The notes' arithmetic slips: σ(−9) is 1.234e-4, not 0.0180; ∇w = (ŷ − y)·x = −1.7496,
    not −0.493; the first moments are 0.1·∇ (negative), not +0.0444; the second-moment
    correction divides by 1 − 0.99, not 1 − 0.999; and the update moves w and b UP (the
    gradients are negative), to about −1.9, not down to −2.08. Correct values by hand:
    """
    z = -2.0 * 3.5 - 2.0  # −9
    a = 1.0 / (1.0 + math.exp(9.0))  # ŷ = σ(−9) ≈ 1.2339e-4
    loss = -(0.5 * math.log(a) + 0.5 * math.log(1.0 - a))  # ≈ 4.500123
    gw = (a - 0.5) * 3.5  # ≈ −1.749568
    gb = a - 0.5  # ≈ −0.499877
    sw, sb = 0.1 * gw, 0.1 * gb  # first moments (1 − β1)·g ≈ −0.174957, −0.049988
    rw, rb = 0.01 * gw**2, 0.01 * gb**2  # second moments (1 − β2)·g² ≈ 0.030610, 0.002499
    sw_hat, sb_hat = sw / (1 - 0.9), sb / (1 - 0.9)  # = g
    rw_hat, rb_hat = rw / (1 - 0.99), rb / (1 - 0.99)  # = g²
    w1 = -2.0 - 0.1 * sw_hat / (math.sqrt(rw_hat) + 1e-8)  # ≈ −1.9 (+ 0.1·1e-8/|g|)
    b1 = -2.0 - 0.1 * sb_hat / (math.sqrt(rb_hat) + 1e-8)
    assert z == -9.0 and a == pytest.approx(1.2339457598623172e-4, rel=1e-12)
    assert loss == pytest.approx(4.500123, abs=1e-6)
    assert w1 == pytest.approx(-1.9, abs=1e-8) and b1 == pytest.approx(-1.9, abs=1e-8)
    assert w1 > -2.0 and b1 > -2.0, "the corrected step goes up, not to −2.081 / −2.079"

    # our race: the row (x1, x2, y) = (3.5, 0, 0.5); w2 has zero gradient and stays 0
    ob = objective(np.array([[3.5, 0.0, 0.5]]), batch_size=1, epochs=1, start=(-2.0, 0.0, -2.0))
    race = Race(ob, [RacerConfig("adam", {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8})],
                steps=1)  # fmt: skip
    race.run()
    tr = race.trajectory(0)
    assert tr.loss[0] == pytest.approx(loss, rel=1e-12)
    assert tr.grad_norm[0] == pytest.approx(math.hypot(gw, gb), rel=1e-12)
    np.testing.assert_allclose(tr.x[1], [w1, 0.0, b1], rtol=1e-12, atol=0)
    np.testing.assert_allclose(race.st[0, 0], [sw, 0.0, sb], rtol=1e-12)  # first moment
    np.testing.assert_allclose(race.st[0, 1], [rw, 0.0, rb], rtol=1e-12)  # second moment


# ---------------------------------------------------------------- data sets
@pytest.mark.parametrize("kind", list(GENERATORS))
def test_generators_are_reproducible_from_the_seed(kind: str) -> None:
    a = generate(kind, {"n": 400, "seed": 3})
    b = generate(kind, {"n": 400, "seed": 3})
    c = generate(kind, {"n": 400, "seed": 4})
    assert a.shape == (400, 3) and a.dtype == np.float64 and a.flags.c_contiguous
    assert np.array_equal(a, b), "same seed, same rows"
    assert not np.array_equal(a, c), "another seed, other rows"
    assert set(np.unique(a[:, 2]).tolist()) <= {0.0, 1.0} and np.isfinite(a).all()
    assert generate(kind).shape == (1152, 3), "the notes' 1152 rows by default"


def test_generator_parameters() -> None:
    rows = generate("blobs", {"n": 1000, "balance": 0.3, "separation": 8.0, "spread": 0.5})
    assert rows[:, 2].sum() == 300
    x = np.array([1.0, 1.0, 0.0])  # the true boundary x1 + x2 = 0
    assert accuracy(rows, x) > 0.999, "well separated blobs are separable"
    flipped = generate("blobs", {"n": 1000, "separation": 8.0, "spread": 0.5, "noise": 0.1})
    assert accuracy(flipped, x) == pytest.approx(0.9, abs=0.002), "exactly 10 % flipped"
    lin = generate("linear", {"n": 2000, "w1": 1.0, "w2": 2.0, "b": -0.5, "noise": 0.0})
    assert accuracy(lin, np.array([1.0, 2.0, -0.5])) == 1.0
    xor_rows = generate("xor", {"n": 1000})
    assert xor_rows[:, 2].mean() == 0.5
    with pytest.raises(DataError, match="separation"):
        generate("blobs", {"separation": -1.0})
    with pytest.raises(DataError, match="expected one of"):
        generate("blob")


def test_split_and_standardisation_use_training_statistics_only() -> None:
    rows = generate("blobs", {"n": 1152, "seed": 1})
    rows[:, 0] = rows[:, 0] * 10 + 50  # far from standard
    assert split_sizes(1152, 0.2) == (922, 230)
    assert split_sizes(3, 0.9) == (1, 2) and split_sizes(5, 0.0) == (5, 0)
    tr, va = split(rows, 0.2, seed=4)
    tr2, va2 = split(rows, 0.2, seed=4)
    assert np.array_equal(tr, tr2) and np.array_equal(va, va2)
    assert tr.shape == (922, 3) and va.shape == (230, 3)
    both = np.concatenate([tr, va])
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, rows.tolist())), "a partition"
    ds = prepare(rows, 0.2, True, seed=4, source="blobs")
    assert ds.standardized
    mean = tr[:, :2].mean(axis=0)
    std = tr[:, :2].std(axis=0)
    assert ds.mean == pytest.approx(tuple(mean)) and ds.std == pytest.approx(tuple(std))
    np.testing.assert_allclose(ds.train[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.train[:, :2].std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ds.val[:, :2], (va[:, :2] - mean) / std, rtol=1e-12)
    assert not np.allclose(ds.val[:, :2].mean(axis=0), 0.0, atol=1e-12), "val stats unused"
    assert np.array_equal(ds.val[:, 2], va[:, 2])
    assert "standardised with the training mean" in ds.describe()
    assert f"{mean[0]:.4g}" in ds.describe() and f"{std[1]:.4g}" in ds.describe()  # shown
    assert not prepare(rows, 0.2, False).standardized


def _write(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_load_csv_good(tmp_path: Path) -> None:
    p = _write(
        tmp_path, "good.csv", '\ufeffid, y ,x2,x1,note\n1,0,0.5,1.5,"a, b"\n\n2,1,-1e3,2,x\n'
    )
    rows = load_csv(p)
    assert rows.tolist() == [[1.5, 0.5, 0.0], [2.0, -1000.0, 1.0]]
    assert rows.dtype == np.float64 and rows.flags.c_contiguous
    q = _write(tmp_path, "q.csv", 'x1,x2,y\n"1.0",2,1.0\n')
    assert load_csv(q).tolist() == [[1.0, 2.0, 1.0]]


BAD_CSV = [
    # (id, content, words in the message)
    ("missing columns", "a,b,y\n1,2,0\n", ["line 1", "no column x1, x2"]),
    ("text in a number", "x1,x2,y\n1,2,0\n3,abc,1\n", ["line 3, column x2", "expected a number",
                                                        "'abc'"]),
    ("label 2", "x1,x2,y\n1,2,0\n1,2,2\n", ["line 3, column y", "expected a label in [0, 1]",
                                            "'2'"]),
    ("label 1.5", "x1,x2,y\n1,2,0.5\n1,2,1.5\n", ["line 3, column y", "[0, 1]", "'1.5'"]),
    ("label -0.1", "x1,x2,y\n1,2,-0.1\n", ["line 2, column y", "[0, 1]", "'-0.1'"]),
    ("empty", "", ["empty"]),
    ("blank", "\n \n", ["empty"]),
    ("header only", "x1,x2,y\n", ["no data rows"]),
    ("nan", "x1,x2,y\n1,nan,0\n", ["line 2, column x2", "finite"]),
    ("inf", "x1,x2,y\n1,2,0\n\n-inf,2,0\n", ["line 4, column x1", "finite"]),
    ("short row", "x1,x2,y\n1,2,0\n1,2\n", ["line 3", "at least 3"]),
    ("duplicate column", "x1,x2,y,x1\n1,2,0,3\n", ["line 1", "twice"]),
    ("not utf-8", b"x1,x2,y\n1,\xff,0\n", ["line 2", "UTF-8"]),
    ("empty field", "x1,x2,y\n1,,0\n", ["line 2, column x2", "expected a number"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "words"), [b[1:] for b in BAD_CSV], ids=[b[0] for b in BAD_CSV]
)
def test_load_csv_bad_files_raise_data_error_naming_the_file(
    tmp_path: Path, content: str | bytes, words: list[str]
) -> None:
    p = _write(tmp_path, "bad data.csv", content)
    with pytest.raises(DataError) as ei:
        load_csv(p)
    msg = str(ei.value)
    assert msg.startswith(str(p) + ": "), msg
    for w in words:
        assert w in msg, (w, msg)


def test_load_csv_missing_folder_and_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="got a folder"):
        load_csv(tmp_path)
    many = _write(tmp_path, "many.csv", "x1,x2,y\n" + "1,2,0\n" * 12)
    monkeypatch.setattr("engine.data.MAX_ROWS", 10)
    with pytest.raises(DataError, match=r"many\.csv: expected at most 10 data rows"):
        load_csv(many)
    monkeypatch.setattr("engine.data.MAX_CSV_BYTES", 50)
    with pytest.raises(DataError, match=r"many\.csv: expected a file of at most 5e-05 MB"):
        load_csv(many)
    with pytest.raises(DataError, match="file not found"):
        load_csv("a\x00b.csv")


# ---------------------------------------------------------------- race: epochs
def test_race_length_and_epoch_metrics_are_incremental() -> None:
    ob = PerceptronObjective.from_rows(blob_rows(1000), batch_size=100, epochs=6, seed=1)
    assert (ob.n_train, ob.n_val, ob.steps_per_epoch, ob.total_steps) == (800, 200, 8, 48)
    race = Race(ob, [RacerConfig("sgd", {"lr": 0.2}), RacerConfig("adam", {"lr": 0.05})],
                steps=ob.total_steps)  # fmt: skip
    assert race.batch_size == 100 and race.steps_per_epoch == 8
    calls: list[int] = []
    real = ob.evaluate
    ob.evaluate = lambda pts: (calls.append(len(pts)), real(pts))[1]  # type: ignore[method-assign]
    em = race.epoch_metrics(0)
    assert em["epoch"].tolist() == [0] and calls == [1]
    race.advance(20)  # epochs 1 and 2 done (rows 8, 16)
    em = race.epoch_metrics(0)
    assert em["epoch"].tolist() == [0, 1, 2] and em["step"].tolist() == [0, 8, 16]
    assert calls == [1, 2], "only the new epochs are evaluated"
    race.epoch_metrics(0)
    assert calls == [1, 2], "nothing new, nothing evaluated"
    race.run()
    em = race.epoch_metrics(0)
    assert em["epoch"].tolist() == list(range(7)) and calls == [1, 2, 4]
    full = real(race.trajectory(0).x[::8])
    for k, name in enumerate(("train_loss", "val_loss", "val_accuracy", "train_accuracy")):
        np.testing.assert_array_equal(em[name], full[:, k])
    assert em["val_loss"][0] == pytest.approx(LN2) and em["val_loss"][-1] < 0.5
    m = race.run_metrics(0)  # the final figures are those of the last epoch boundary
    assert m.epochs == 6 and m.val_accuracy == em["val_accuracy"][-1]
    assert m.val_loss == em["val_loss"][-1] and m.train_loss == em["train_loss"][-1]
    em_adam = race.epoch_metrics(1)
    n_calls = len(calls)
    # a reset starts a fresh run (the cache does not leak into it)
    race.set_params(0, {"lr": 0.01}, restart=True)
    assert race.epoch_metrics(0)["epoch"].tolist() == [0]
    race.remove_racer(0)
    again = race.epoch_metrics(0)
    assert len(calls) == n_calls + 1, "adam (now racer 0) keeps its cache: nothing recomputed"
    for k in em_adam:
        np.testing.assert_array_equal(again[k], em_adam[k])
    land = Race(LandscapeObjective.create("booth"), [RacerConfig("sgd")], steps=3)
    with pytest.raises(ValueError, match="perceptron"):
        land.epoch_metrics(0)


def test_epoch_metrics_while_another_thread_advances() -> None:
    ob = PerceptronObjective.from_rows(generate("blobs", {"n": 20000, "seed": 2}), batch_size=16,
                                       epochs=30)  # fmt: skip
    race = Race(ob, [RacerConfig("sgd", {"lr": 0.05}), RacerConfig("adam", {"lr": 0.01})],
                steps=ob.total_steps)  # fmt: skip
    stop = threading.Event()
    errors: list[BaseException] = []

    def advance() -> None:
        try:
            while not race.done and not stop.is_set():
                race.advance(200)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=advance)
    th.start()
    seen = 0
    try:
        while th.is_alive():
            em = race.epoch_metrics(1)
            n = em["epoch"].shape[0]
            assert n >= seen and np.isfinite(em["val_loss"]).all()
            seen = n
    finally:
        stop.set()
        th.join(60)
    assert not errors
    em = race.epoch_metrics(1)
    assert em["epoch"].shape[0] == 31
    fresh = ob.evaluate(race.trajectory(1).x[:: ob.steps_per_epoch])
    np.testing.assert_array_equal(em["val_accuracy"], fresh[:, 2])


def test_minibatch_scenario_every_optimizer_reaches_95_percent() -> None:
    s = load_scenario(MINIBATCH)
    race = build_race(s)
    assert race.steps == s.steps == 20 * 8
    race.run()
    names = set()
    for i, m in enumerate(race.metrics()):
        names.add(m.optimizer)
        em = race.epoch_metrics(i)
        assert m.val_accuracy is not None and m.val_accuracy >= 0.95, m
        assert em["val_accuracy"][-1] >= 0.95
        assert m.diverged_step is None
    assert names == {"sgd", "momentum", "adam", "rmsprop"}


# ---------------------------------------------------------------- scenarios
PERC = """\
name = "perceptron"
seed = 3

[objective]
kind = "perceptron"
data = { kind = "blobs", n = 600, separation = 3.0 }
batch_size = 32
epochs = 4
standardize = true
validation_fraction = 0.25
start = [0.1, 0.2, 0.3]

[[optimizers]]
name = "adam"
params = { lr = 0.05 }
schedule = { name = "time_based", decay = 0.5, unit = "epoch" }

[[optimizers]]
name = "sgd"
start = [0.0, 0.0, 1.0]
"""


def test_perceptron_scenario_fields_steps_and_round_trip(tmp_path: Path) -> None:
    s = loads_scenario(PERC)
    o = s.objective
    assert (o.kind, o.batch_size, o.epochs, o.standardize, o.validation_fraction) == (
        "perceptron", 32, 4, True, 0.25)  # fmt: skip
    assert o.data is not None and o.data["seed"] == 3, "the data seed defaults to the scenario's"
    assert o.data["spread"] == 1.0, "generator defaults filled in"
    assert o.start == (0.1, 0.2, 0.3) and s.racers[1].start == (0.0, 0.0, 1.0)
    assert s.racers[0].schedule_unit == "epoch" and s.racers[1].schedule_unit == "step"
    assert s.steps == 4 * 15  # 450 training rows / 32 → 15 updates per epoch
    text = dumps_scenario(s)
    assert "steps" not in text.split("[objective]")[0], "a perceptron's length is its epochs"
    assert loads_scenario(text) == s
    assert scenario_from_dict(scenario_to_dict(s)) == s
    save_scenario(s, tmp_path / "p.toml")
    assert load_scenario(tmp_path / "p.toml") == s
    race = build_race(s)
    assert race.steps == 60 and race.steps_per_epoch == 15 and race.batch_size == 32
    assert race.objective.dataset.standardized and race.objective.n_val == 150
    race.run()
    assert race.trajectory(1).x[0].tolist() == [0.0, 0.0, 1.0]
    assert race.trajectory(0).lr[15] == pytest.approx(0.05 / 1.5)
    assert build_race(s, steps=7).steps == 7, "--steps still overrides"
    minimal = loads_scenario('name = "m"\n[objective]\nkind = "perceptron"\n'
                             '[[optimizers]]\nname = "sgd"\n')  # fmt: skip
    assert minimal.objective.data["kind"] == "blobs" and minimal.objective.batch_size == 128
    assert minimal.steps == 20 * 8 and minimal.objective.start == (0.0, 0.0, 0.0)
    full = loads_scenario(PERC.replace("batch_size = 32", 'batch_size = "full"'))
    assert full.steps == 4 and loads_scenario(dumps_scenario(full)) == full


def test_csv_scenario_path_is_relative_to_the_scenario(tmp_path: Path) -> None:
    rows = generate("blobs", {"n": 100, "seed": 9})
    sub = tmp_path / "sc"
    sub.mkdir()
    with (sub / "pts.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "y", "extra"])
        for r in rows.tolist():
            w.writerow([repr(r[0]), repr(r[1]), int(r[2]), "z"])
    text = PERC.replace('{ kind = "blobs", n = 600, separation = 3.0 }', '{ csv = "pts.csv" }')
    (sub / "c.toml").write_text(text, encoding="utf-8")
    s = load_scenario(sub / "c.toml")
    assert s.objective.data == {"csv": "pts.csv"} and s.steps == 4 * 3  # 75 rows / 32
    race = build_race(s)
    assert race.objective.n_train + race.objective.n_val == 100
    race.run()
    save_scenario(s, sub / "copy.toml")
    assert load_scenario(sub / "copy.toml") == s
    with pytest.raises(ScenarioError) as ei:
        loads_scenario(text, source="c.toml", base_dir=tmp_path)  # wrong folder
    (p,) = ei.value.problems
    assert p.key == "objective.data.csv" and "pts.csv: file not found" in p.message
    (sub / "pts.csv").write_text("x1,x2,y\n1,2,0\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as ei:
        load_scenario(sub / "c.toml")
    assert "c.toml: objective.data.csv: cannot use the data: " in str(ei.value)
    assert "pts.csv: line 3, column y: expected a label in [0, 1]" in str(ei.value)
    assert "got '3'" in str(ei.value)


def _set(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD = [
    ("kind typo", _set(PERC, 'kind = "perceptron"', 'kind = "perceptrn"'), "objective.kind",
     "did you mean 'perceptron'"),
    ("landscape keys", _set(PERC, "epochs = 4", 'epochs = 4\nname = "rosenbrock"'),
     "objective.kind", "expected 'landscape' for an objective with name"),
    ("perceptron keys", _set(PERC, 'kind = "perceptron"\n', ""), "objective.kind",
     "expected 'perceptron' for an objective with data, batch_size, epochs"),
    ("batch 0", _set(PERC, "batch_size = 32", "batch_size = 0"), "objective.batch_size",
     "or 'full' (the whole training set: batch gradient descent), got 0"),
    ("batch float", _set(PERC, "batch_size = 32", "batch_size = 2.5"), "objective.batch_size",
     "got 2.5"),
    ("batch ful", _set(PERC, "batch_size = 32", 'batch_size = "ful"'), "objective.batch_size",
     "did you mean 'full'"),
    ("epochs 0", _set(PERC, "epochs = 4", "epochs = 0"), "objective.epochs", "got 0"),
    ("epochs too many", _set(_set(PERC, "epochs = 4", "epochs = 100000"), "batch_size = 32",
                             "batch_size = 1"), "objective.epochs", "100000 × 450 = 45000000"),
    ("vf 0.95", _set(PERC, "validation_fraction = 0.25", "validation_fraction = 0.95"),
     "objective.validation_fraction", "expected a finite number in [0, 0.9], got 0.95"),
    ("standardize str", _set(PERC, "standardize = true", 'standardize = "yes"'),
     "objective.standardize", "true or false"),
    ("start length", _set(PERC, "start = [0.1, 0.2, 0.3]", "start = [0.1, 0.2]"),
     "objective.start", "expected [w1, w2, b]: three finite numbers, got 2 entries"),
    ("racer start length", _set(PERC, "start = [0.0, 0.0, 1.0]", "start = [0.0, 0.0]"),
     "optimizers[1].start", "three finite numbers, got 2 entries"),
    ("data kind typo", _set(PERC, 'kind = "blobs"', 'kind = "blob"'), "objective.data.kind",
     "did you mean 'blobs'"),
    ("data param typo", _set(PERC, "separation = 3.0", "seperation = 3.0"),
     "objective.data.seperation", "did you mean 'separation'"),
    ("data param range", _set(PERC, "separation = 3.0", "separation = -1.0"),
     "objective.data.separation", "got -1.0"),
    ("data n", _set(PERC, "n = 600", "n = 1"), "objective.data.n", "[2, 5e+06]"),
    ("data no kind", _set(PERC, 'kind = "blobs", ', ""), "objective.data.kind",
     "missing; expected a data set, one of: blobs, xor, moons, circles, linear"),
    ("data not table", _set(PERC, '{ kind = "blobs", n = 600, separation = 3.0 }', "3"),
     "objective.data", "expected a table"),
    ("csv and n", _set(PERC, '{ kind = "blobs", n = 600, separation = 3.0 }',
                       '{ csv = "x.csv", n = 3 }'), "objective.data.n", "next to csv"),
    ("csv missing", _set(PERC, '{ kind = "blobs", n = 600, separation = 3.0 }',
                         '{ csv = "no_such_file.csv" }'), "objective.data.csv",
     "no_such_file.csv: file not found"),
    ("steps", _set(PERC, "seed = 3", "seed = 3\nsteps = 100"), "steps", "remove steps"),
    ("unit typo", _set(PERC, 'unit = "epoch"', 'unit = "epochs"'), "optimizers[0].schedule.unit",
     "did you mean 'epoch'"),
    ("unknown objective key", _set(PERC, "epochs = 4", "epoch = 4"), "objective.epoch",
     "did you mean 'epochs'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_perceptron_keys_name_file_key_and_expectation(text: str, key: str, words: str) -> None:
    with pytest.raises(ScenarioError) as ei:
        loads_scenario(text, source="perc.toml")
    probs: list[Problem] = ei.value.problems
    keys = [p.key for p in probs]
    assert key in keys, f"{key} not in {keys}: {ei.value}"
    p = probs[keys.index(key)]
    assert words in p.message, p.message
    assert str(p).startswith(f"perc.toml: {key}: ")
    assert p.line is not None


def test_unit_epoch_needs_a_perceptron() -> None:
    text = ('name = "l"\nsteps = 5\n[objective]\nname = "booth"\n[[optimizers]]\nname = "sgd"\n'
            'schedule = { name = "exponential", unit = "epoch" }\n')  # fmt: skip
    with pytest.raises(ScenarioError, match=r"optimizers\[0\]\.schedule\.unit: expected 'step'"):
        loads_scenario(text)
    ok = loads_scenario(text.replace('"epoch"', '"step"'))
    assert ok.racers[0].schedule_unit == "step"


# ---------------------------------------------------------------- export
def test_export_columns_and_epoch_rows(tmp_path: Path) -> None:
    s = loads_scenario(PERC)
    race = build_race(s, steps=40)  # 2 epochs and 10 updates of 15 per epoch
    race.run()
    paths = write_results(race, s, tmp_path / "out")
    with paths[0].open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = "run,optimizer,step,epoch,w1,w2,b,loss,grad_norm,lr,val_loss,accuracy"
    assert rows[0] == list(PERCEPTRON_HEADER) == header.split(",")
    adam = [r for r in rows[1:] if r[1] == "adam"]
    assert [int(r[2]) for r in adam] == list(range(41))
    em = race.epoch_metrics(0)
    for r in adam:
        step = int(r[2])
        assert int(r[3]) == step // 15
        if step % 15 == 0:
            e = step // 15
            assert float(r[10]) == em["val_loss"][e] and float(r[11]) == em["val_accuracy"][e]
        else:
            assert r[10] == "" and r[11] == ""
    tr = race.trajectory(0)
    assert [float(v) for v in adam[7][4:10]] == [*tr.x[7], tr.loss[7], tr.grad_norm[7], tr.lr[7]]
    npz = np.load(paths[1])
    assert npz["epoch_0"].tolist() == [0, 1, 2] and npz["epoch_step_0"].tolist() == [0, 15, 30]
    assert npz["val_accuracy_1"].shape == (3,) and int(npz["steps_per_epoch"]) == 15
    assert np.isfinite(npz["feature_mean"]).all() and npz["coords"].tolist() == ["w1", "w2", "b"]
    summary = json.loads(paths[2].read_text(encoding="utf-8"))
    run = summary["runs"][0]
    assert run["per_epoch"]["epoch"] == [0, 1, 2]
    assert run["val_accuracy"] == race.run_metrics(0).val_accuracy
    assert summary["data"]["train_rows"] == 450 and summary["data"]["standardized"] is True
    assert summary["scenario"]["objective"]["kind"] == "perceptron"


def test_export_without_validation_rows_writes_nan(tmp_path: Path) -> None:
    s = loads_scenario(PERC.replace("validation_fraction = 0.25", "validation_fraction = 0.0"))
    race = build_race(s, steps=3)
    race.run()
    write_results(race, s, tmp_path / "o")
    lines = (tmp_path / "o" / "trajectories.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].endswith(",nan,nan") and lines[2].endswith(",,")
