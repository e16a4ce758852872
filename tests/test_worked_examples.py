"""Every worked example of the lecture notes runs as printed, and gives the right numbers.

The features they need (soft labels, inline data rows, Adam without bias correction,
plain Newton, a racer's initial velocity or previous point, the finite-difference rule's
sign) are each checked against an independent reference: plain Python floats written
from the equations, or finite differences for gradients. The lecture scenarios built on
them are run headless and their descriptions' numbers recomputed here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.data import DataError, load_csv, prepare
from engine.landscapes import grad, value
from engine.objective import LandscapeObjective, PerceptronObjective
from engine.race import Race, RacerConfig
from engine.scenario import (
    ScenarioError,
    build_race,
    dumps_scenario,
    load_scenario,
    loads_scenario,
)

ROOT = Path(__file__).resolve().parent.parent


def lecture(name: str) -> Race:
    r = build_race(load_scenario(ROOT / "scenarios" / f"lecture_{name}.toml"))
    with np.errstate(all="ignore"):
        r.run()
    return r


def by_label(r: Race, label: str) -> int:
    labels = [c.label for c in r.racers]
    assert label in labels, labels
    return labels.index(label)


def xs(r: Race, label: str) -> np.ndarray:
    return r.trajectory(by_label(r, label)).x


def land(name: str, racers: list[RacerConfig], steps: int, **params: float) -> Race:
    r = Race(LandscapeObjective.create(name, params or None), racers, steps=steps)
    with np.errstate(all="ignore"):
        r.advance(steps)
    return r


# ------------------------------------------------------------------ references
def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def bce(z: float, y: float) -> float:
    """−[y·log a + (1 − y)·log(1 − a)], a = σ(z), as y·softplus(−z) + (1 − y)·softplus(z)
    (log a = −softplus(−z), log(1 − a) = −softplus(z); no log of a rounded-to-0 a)."""

    def softplus(u: float) -> float:
        return max(u, 0.0) + math.log1p(math.exp(-abs(u)))

    return y * softplus(-z) + (1.0 - y) * softplus(z)


def adam_ref(g_of, x0, steps, lr, b1=0.9, b2=0.999, eps=1e-8, correct=True):
    """Adam as the notes write it, coordinate by coordinate."""
    x = list(x0)
    m = [0.0] * len(x)
    v = [0.0] * len(x)
    rows = [list(x)]
    for t in range(1, steps + 1):
        g = g_of(x)
        for i in range(len(x)):
            m[i] = b1 * m[i] + (1.0 - b1) * g[i]
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
            if correct:
                mh, vh = m[i] / (1.0 - b1**t), v[i] / (1.0 - b2**t)
            else:
                mh, vh = m[i], v[i]
            x[i] = x[i] - lr * mh / (math.sqrt(vh) + eps)
        rows.append(list(x))
    return np.array(rows)


def ravine_grad(x: list[float]) -> list[float]:
    return [2.0 * x[0], 100.0 * x[1]]


# ------------------------------------------------------------------ 1. soft labels
SOFT = np.array(
    [[3.5, 0.0, 0.5], [-1.0, 2.0, 0.25], [0.3, -0.7, 1.0], [2.0, 1.0, 0.0], [-0.4, 0.1, 0.9]]
)


def test_soft_label_bce_loss_and_gradient_against_finite_differences() -> None:
    obj = PerceptronObjective.from_rows(SOFT, batch_size="full", validation_fraction=0.0)
    assert obj.n_train == 5
    for x in ([-2.0, 0.0, -2.0], [0.3, -1.2, 0.7], [5.0, 4.0, -3.0]):
        xa = np.array(x)
        ref = np.mean([bce(x[0] * r[0] + x[1] * r[1] + x[2], r[2]) for r in SOFT])
        assert obj.loss(xa) == pytest.approx(ref, rel=1e-13)
        g = obj.gradient(xa)
        fd = []
        for i in range(3):
            h = 1e-6 * max(1.0, abs(x[i]))
            up, dn = xa.copy(), xa.copy()
            up[i] += h
            dn[i] -= h
            fd.append((obj.loss(up) - obj.loss(dn)) / (2 * h))
        assert g == pytest.approx(fd, rel=1e-7, abs=1e-9)
        # and the closed form mean((a − y)·(x1, x2, 1)) for soft y
        a = [sigmoid(x[0] * r[0] + x[1] * r[1] + x[2]) for r in SOFT]
        feats = [(r[0], r[1], 1.0) for r in SOFT]
        closed = [
            float(np.mean([(ai - r[2]) * f[i] for ai, r, f in zip(a, SOFT, feats, strict=True)]))
            for i in range(3)
        ]
        assert g == pytest.approx(closed, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("z", [-745.0, -60.0, -9.0, -1e-3, 0.0, 2.5, 40.0, 700.0])
@pytest.mark.parametrize("y", [0.0, 0.25, 0.5, 1.0])
def test_soft_label_loss_is_stable_for_large_logits(z: float, y: float) -> None:
    """No overflow or log(0) at any z; the error is a few ulp of max(|z|, ℓ)."""
    rows = np.array([[1.0, 0.0, y]])
    obj = PerceptronObjective.from_rows(rows, batch_size="full", validation_fraction=0.0)
    got = obj.loss(np.array([z, 0.0, 0.0]))
    ref = bce(z, y)
    assert math.isfinite(got)
    assert abs(got - ref) <= 8 * np.finfo(float).eps * max(abs(z), ref, 1.0)


def test_soft_label_accuracy_rule() -> None:
    """Right when (a > 0.5) == (y > 0.5): the same strict threshold on both sides."""
    rows = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, 0.75], [1.0, 0.0, 0.25], [1.0, 0.0, 1.0]])
    obj = PerceptronObjective.from_rows(rows, batch_size="full", validation_fraction=0.0)
    # z = w1 > 0: class 1 predicted for every row; y > 0.5 for rows 2 and 4
    assert obj.accuracy(np.array([1.0, 0.0, 0.0]), "train") == 0.5
    # z = −1: class 0 everywhere; rows 1 (y = 0.5 is class 0) and 3 are right
    assert obj.accuracy(np.array([-1.0, 0.0, 0.0]), "train") == 0.5
    # z = 0 exactly (a = 0.5) predicts class 0, like y = 0.5
    assert obj.accuracy(np.array([0.0, 0.0, 0.0]), "train") == 0.5
    ev = obj.evaluate(np.array([[1.0, 0.0, 0.0]]))
    assert ev[0, 3] == 0.5


def test_csv_soft_labels(tmp_path: Path) -> None:
    ok = tmp_path / "soft.csv"
    ok.write_text("x1,x2,y\n3.5,0,0.5\n1,2,0\n1,2,1\n0,0,0.125\n", encoding="utf-8")
    assert load_csv(ok)[:, 2].tolist() == [0.5, 0.0, 1.0, 0.125]
    for bad, line in (("1.5", 3), ("-0.1", 3)):
        p = tmp_path / f"bad{bad}.csv"
        p.write_text(f"x1,x2,y\n1,2,0.5\n1,2,{bad}\n", encoding="utf-8")
        with pytest.raises(DataError) as ei:
            load_csv(p)
        msg = str(ei.value)
        assert msg.startswith(f"{p}: line {line}, column y: expected a label in [0, 1]")
        assert f"got '{bad}'" in msg
    with pytest.raises(DataError, match=r"row 2: expected a label y in \[0, 1\], got 1.5"):
        prepare(np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 1.5]]))


# ------------------------------------------------------------------ 2. inline rows
NEURON = """schema = 1
name = "neuron"
[objective]
kind = "perceptron"
data = { rows = [[3.5, 0.0, 0.5]] }
batch_size = "full"
epochs = 2
validation_fraction = 0.0
start = [-2.0, 0.0, -2.0]
[[optimizers]]
name = "adam"
params = { lr = 0.1 }
"""


def test_inline_rows_run_and_round_trip() -> None:
    s = loads_scenario(NEURON, source="n.toml")
    assert s.objective.data == {"rows": [[3.5, 0.0, 0.5]]}
    text = dumps_scenario(s)
    assert "data = { rows = [[3.5, 0.0, 0.5]] }" in text
    assert loads_scenario(text) == s
    r = build_race(s)
    assert (r.objective.n_train, r.objective.n_val) == (1, 0)
    r.run()
    assert r.trajectory(0).x.shape == (3, 3)
    # the default validation fraction leaves the one row for training too
    s2 = loads_scenario(NEURON.replace("validation_fraction = 0.0\n", ""))
    assert build_race(s2).objective.n_train == 1


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ("{ rows = [] }", "objective.data.rows", ["1 to 1000 rows", "got 0 rows"]),
        ("{ rows = [[1.0, 2.0]] }", "objective.data.rows[0]", ["three finite numbers"]),
        ("{ rows = [[1.0, 2.0, 0.5], [1, 2, 1.5]] }", "objective.data.rows[1]",
         ["label y in [0, 1]", "got 1.5"]),
        ("{ rows = [[1.0, 2.0, -0.1]] }", "objective.data.rows[0]", ["got -0.1"]),
        ("{ rows = [[nan, 2.0, 0.0]] }", "objective.data.rows[0]", ["finite"]),
        ('{ rows = [[1.0, "a", 0.0]] }', "objective.data.rows[0]", ["three finite numbers"]),
        ("{ rows = [[1.0, 2.0, true]] }", "objective.data.rows[0]", ["three finite numbers"]),
        ("{ rows = 3 }", "objective.data.rows", ["an array of 1 to"]),
        ("{ rows = [[1.0, 2.0, 0.0]], n = 4 }", "objective.data.n", ["only rows"]),
    ],
)  # fmt: skip
def test_inline_rows_bad_values_are_named(data: str, key: str, words: list[str]) -> None:
    text = NEURON.replace("data = { rows = [[3.5, 0.0, 0.5]] }", f"data = {data}")
    with pytest.raises(ScenarioError) as ei:
        loads_scenario(text, source="n.toml")
    (p,) = ei.value.problems
    assert p.key == key and p.file == "n.toml" and p.line == 5
    for w in words:
        assert w in p.message


def test_inline_rows_cap() -> None:
    rows = ", ".join(["[0.0, 0.0, 1.0]"] * 10_001)
    text = NEURON.replace("[[3.5, 0.0, 0.5]]", f"[{rows}]")
    with pytest.raises(ScenarioError, match="got 10001 rows"):
        loads_scenario(text)


# ------------------------------------------------------------------ 3. Adam, no bias correction
@pytest.mark.parametrize("lr", [0.001, 0.01, 0.05])
def test_adam_without_bias_correction_matches_the_formula(lr: float) -> None:
    cfg = RacerConfig("adam", {"lr": lr, "bias_correction": False}, start=(4.0, 0.5))
    r = land("quadratic", [cfg], 300, lambda1=2.0, lambda2=100.0)
    ref = adam_ref(ravine_grad, [4.0, 0.5], 300, lr, correct=False)
    np.testing.assert_allclose(r.trajectory(0).x, ref, rtol=1e-12, atol=1e-13)
    # the default is Kingma and Ba's (and differs from the first step on)
    r2 = land("quadratic", [RacerConfig("adam", {"lr": lr}, start=(4.0, 0.5))], 300,
              lambda1=2.0, lambda2=100.0)  # fmt: skip
    ref2 = adam_ref(ravine_grad, [4.0, 0.5], 300, lr, correct=True)
    np.testing.assert_allclose(r2.trajectory(0).x, ref2, rtol=1e-12, atol=1e-13)
    assert abs(ref[1, 0] - ref2[1, 0]) > lr


def test_adam_bias_correction_true_is_the_old_default() -> None:
    """bias_correction = true packs to the same update as before the switch existed
    (the torch suites check the whole trajectories)."""
    a = land("rosenbrock", [RacerConfig("adam", {"lr": 0.01})], 200)
    b = land("rosenbrock", [RacerConfig("adam", {"lr": 0.01, "bias_correction": True})], 200)
    assert np.array_equal(a.trajectory(0).x, b.trajectory(0).x)


# ------------------------------------------------------------------ 4. plain Newton
@pytest.mark.parametrize(
    ("params", "start", "minimum"),
    [
        ({"lambda1": 2.0, "lambda2": 100.0, "angle": 30.0, "cx": 1.0, "cy": -2.0},
         (4.0, 0.5), (1.0, -2.0)),
        ({"lambda1": 0.5, "lambda2": 3.0, "angle": -70.0}, (-3.0, 2.0), (0.0, 0.0)),
    ],
)  # fmt: skip
def test_plain_newton_one_step_to_the_quadratic_minimum(params, start, minimum) -> None:
    cfg = RacerConfig("newton", {"saddle_free": False}, start=start)
    r = land("quadratic", [cfg], 1, **params)
    assert r.trajectory(0).x[1].tolist() == pytest.approx(list(minimum), abs=1e-12)


def test_plain_newton_lands_on_the_saddle_saddle_free_escapes() -> None:
    plain = RacerConfig("newton", {"saddle_free": False}, start=(2.5, 0.5))
    free = RacerConfig("newton", {"saddle_free": True}, start=(2.5, 0.5))
    r = land("saddle", [plain, free], 5)
    assert r.trajectory(0).x[1].tolist() == [0.0, 0.0]  # H⁻¹∇f = (x, y): onto the saddle
    assert r.trajectory(0).x[5].tolist() == [0.0, 0.0]
    assert r.trajectory(1).x[1].tolist() == pytest.approx([0.0, 1.0], abs=1e-15)
    assert r.trajectory(1).x[5].tolist() == pytest.approx([0.0, 16.0], abs=1e-12)


def test_plain_newton_with_a_singular_hessian_diverges_without_a_crash() -> None:
    """f = x² (λ2 = 0): H = diag(2, 0) is singular; the step is non-finite, the run is
    marked diverged at step 1 and keeps its finite start row; saddle-free is fine."""
    plain = RacerConfig("newton", {"saddle_free": False}, start=(1.0, 1.0))
    free = RacerConfig("newton", {"saddle_free": True}, start=(1.0, 1.0))
    r = land("quadratic", [plain, free], 10, lambda1=2.0, lambda2=0.0)
    assert r.diverged_step(0) == 1
    assert r.trajectory(0).x.tolist() == [[1.0, 1.0]]
    assert r.diverged_step(1) is None
    assert r.trajectory(1).x[1].tolist() == pytest.approx([0.0, 1.0], abs=1e-15)
    # and in the middle of a race: both are on the leaderboard, the plain one last
    assert r.leaderboard()[-1][0] == 0


# ------------------------------------------------------------------ 5. initial velocity
def heavy_ball(x0, dx0, lr, mu, steps, g_of):
    """The notes' w ← w − η·∇E(w) + β·Δw, Δw the previous update."""
    x, dx, rows = list(x0), list(dx0), [list(x0)]
    for _ in range(steps):
        g = g_of(x)
        new = [x[i] - lr * g[i] + mu * dx[i] for i in range(2)]
        dx = [new[i] - x[i] for i in range(2)]
        x = new
        rows.append(list(x))
    return np.array(rows)


def E_grad(x: list[float]) -> list[float]:
    return [float(v) for v in grad("quadratic_matrix", None, x[0], x[1])]


@pytest.mark.parametrize("how", ["x_prev", "v0"])
def test_momentum_optimizers_with_a_previous_step(how: str) -> None:
    """sgd (b = −Δ/η), momentum (v = −Δ/η) and nag (v = Δ) started with Δ = x0 − x_prev
    all continue the heavy-ball / look-ahead recurrences of the notes."""
    x0, xp, lr = (1.5, 2.0), (1.0, 1.0), 0.3
    d = (x0[0] - xp[0], x0[1] - xp[1])
    racers = []
    # the EMA form with β = 0.6 and η = 0.3/(1 − β) is heavy ball with ρ = 0.6, η = 0.3
    for name, mu, eta in (("sgd", 0.9, lr), ("momentum", 0.6, lr / (1 - 0.6)), ("nag", 0.6, lr)):
        v0 = d if name == "nag" else (-d[0] / eta, -d[1] / eta)  # units: x, or −Δ/η
        kw = {"x_prev": xp} if how == "x_prev" else {"v0": v0}
        racers.append(RacerConfig(name, {"lr": eta, "momentum": mu}, start=x0, **kw))
    r = land("quadratic_matrix", racers, 30)
    hb = heavy_ball(x0, d, lr, 0.9, 30, E_grad)
    np.testing.assert_allclose(r.trajectory(0).x, hb, rtol=1e-12)
    # EMA: v ← β·v + (1 − β)·g, x ← x − η·v is heavy ball with ρ = β and η·(1 − β)
    ema = heavy_ball(x0, d, lr, 0.6, 30, E_grad)
    np.testing.assert_allclose(r.trajectory(1).x, ema, rtol=1e-12)
    # NAG: v ← ρ·v − η·∇f(x + ρ·v), x ← x + v, with v = Δ at the start
    x, v, rows = list(x0), list(d), [list(x0)]
    for _ in range(30):
        g = E_grad([x[0] + 0.6 * v[0], x[1] + 0.6 * v[1]])
        v = [0.6 * v[i] - lr * g[i] for i in range(2)]
        x = [x[i] + v[i] for i in range(2)]
        rows.append(list(x))
    np.testing.assert_allclose(r.trajectory(2).x, np.array(rows), rtol=1e-12)


def test_velocity_survives_reset_and_restart() -> None:
    cfg = RacerConfig("sgd", {"lr": 0.3, "momentum": 0.9}, start=(1.5, 2.0), x_prev=(1.0, 1.0))
    r = land("quadratic_matrix", [cfg], 5)
    first = r.trajectory(0).x.copy()
    assert first[1].tolist() == pytest.approx([2.075, 2.0 + 0.3 * (4 / 9 - 0.25) + 0.9])
    r.reset()
    r.advance(5)
    assert np.array_equal(r.trajectory(0).x, first)
    r.set_params(0, {"lr": 0.3}, restart=True)
    r.advance(5)
    assert np.array_equal(r.trajectory(0).x, first)
    r.set_start((1.5, 2.0), racer=0)
    r.advance(5)
    assert np.array_equal(r.trajectory(0).x, first)
    # without the previous point the first step is plain GD's
    r2 = land("quadratic_matrix", [RacerConfig("sgd", {"lr": 0.3, "momentum": 0.9},
                                               start=(1.5, 2.0))], 1)  # fmt: skip
    assert r2.trajectory(0).x[1].tolist() == pytest.approx([1.625, 2.058333333333333])


VEL = """schema = 1
name = "v"
steps = 3
[objective]
name = "quadratic_matrix"
start = [1.5, 2.0]
[[optimizers]]
name = "{name}"
{extra}
"""


def test_velocity_keys_round_trip_and_validation() -> None:
    for name, extra in (
        ("sgd", "v0 = [0.5, -1.0]\nparams = { momentum = 0.9 }"),
        ("momentum", "x_prev = [1.0, 1.0]"),
        ("nag", "v0 = [0.1, 0.2]"),
    ):
        s = loads_scenario(VEL.format(name=name, extra=extra))
        assert loads_scenario(dumps_scenario(s)) == s
        build_race(s).run()
    bad = [
        ("adam", "v0 = [1.0, 2.0]", "optimizers[0].v0", "adam has no velocity"),
        ("sgd", "v0 = [1.0]", "optimizers[0].v0", "expected [v1, v2]: 2 finite numbers"),
        ("nag", "x_prev = [1.0, 2.0, 3.0]", "optimizers[0].x_prev", "got 3 entries"),
        ("nag", "x_prev = [1.0, 2.0]\nv0 = [1.0, 2.0]", "optimizers[0].x_prev", "not both"),
        ("nag", "v0 = [1.0, inf]", "optimizers[0].v0[1]", "finite"),
        ("nag", "v0 = 3", "optimizers[0].v0", "one finite number per parameter"),
    ]
    for name, extra, key, words in bad:
        with pytest.raises(ScenarioError) as ei:
            loads_scenario(VEL.format(name=name, extra=extra), source="v.toml")
        (p,) = ei.value.problems
        assert p.key == key and words in p.message, (p.key, p.message)
        assert p.line is not None


# ------------------------------------------------------------------ 6. finite-difference sign
def test_random_search_sign_plus_one_is_the_notes_climbing_rule() -> None:
    base = {"lr": 0.1, "delta": 0.5, "directions": 2}
    down = RacerConfig("random_search", base, start=(4.0, 0.5))
    up = RacerConfig("random_search", {**base, "sign": 1}, start=(4.0, 0.5))
    r = land("quadratic", [down, up], 1, lambda1=2.0, lambda2=20.0)
    x0 = np.array([4.0, 0.5])
    step_down = r.trajectory(0).x[1] - x0
    step_up = r.trajectory(1).x[1] - x0
    assert step_up.tolist() == pytest.approx((-step_down).tolist(), rel=1e-12)  # same δW
    # on a quadratic (G⁺ − G⁻)·δW = 2δ²·(u·∇f)·u exactly: ascent for sign = +1
    g = grad("quadratic", {"lambda1": 2.0, "lambda2": 20.0}, 4.0, 0.5)
    assert float(step_up @ g) > 0 > float(step_down @ g)
    assert value("quadratic", {"lambda1": 2.0, "lambda2": 20.0}, *r.trajectory(1).x[1]) > 18.5
    with pytest.raises(ValueError, match=r"sign: expected -1 \(descend\) or 1"):
        RacerConfig("random_search", {"sign": 0})


# ------------------------------------------------------------------ 7. the lecture scenarios
def test_lecture_adam_neuron() -> None:
    """Notes 004: one row x = 3.5, y = 0.5, w = b = −2, η = 0.1, β1 = 0.9, ε = 1e-8."""
    x, y, w, b, lr = 3.5, 0.5, -2.0, -2.0, 0.1
    a = sigmoid(w * x + b)
    loss = bce(w * x + b, y)
    gw, gb = (a - y) * x, a - y
    assert a == pytest.approx(1.2339e-4, rel=1e-4)
    assert round(loss, 4) == 4.5001 and round(gw, 4) == -1.7496 and round(gb, 5) == -0.49988
    sw, sb = 0.1 * gw, 0.1 * gb
    assert (round(sw, 5), round(sb, 6)) == (-0.17496, -0.049988)
    for beta2, rw_txt, rb_txt in ((0.999, 0.0030610, 0.00024988), (0.99, 0.030610, 0.0024988)):
        rw, rb = (1 - beta2) * gw * gw, (1 - beta2) * gb * gb
        assert rw == pytest.approx(rw_txt, rel=2e-5) and rb == pytest.approx(rb_txt, rel=2e-5)
        w1 = w - lr * (sw / 0.1) / (math.sqrt(rw / (1 - beta2)) + 1e-8)
        b1 = b - lr * (sb / 0.1) / (math.sqrt(rb / (1 - beta2)) + 1e-8)
        assert (round(w1, 6), round(b1, 6)) == (-1.9, -1.9)
    r = lecture("adam_neuron")
    for label, beta2 in (("Adam β2 = 0.999 (as computed)", 0.999),
                         ("Adam β2 = 0.99 (as stated)", 0.99)):  # fmt: skip
        tr = r.trajectory(by_label(r, label))
        assert tr.loss[0] == pytest.approx(loss, rel=1e-13)
        assert tr.grad_norm[0] == pytest.approx(math.hypot(gw, gb), rel=1e-13)

        def g_of(p: list[float]) -> list[float]:
            ai = sigmoid(p[0] * x + p[2])
            return [(ai - y) * x, 0.0, ai - y]

        ref = adam_ref(g_of, [w, 0.0, b], 200, lr, 0.9, beta2, 1e-8)
        np.testing.assert_allclose(tr.x, ref, rtol=1e-9, atol=1e-12)
        assert tr.x[1].tolist() == pytest.approx([-1.9, 0.0, -1.9], abs=1e-8)
        assert tr.x[1, 0] > w  # the notes' −2.081 went uphill
        assert 0.0 < tr.loss[-1] - math.log(2) < 1e-6
    tr = r.trajectory(by_label(r, "Adam β2 = 0.999 (as computed)"))
    close = np.flatnonzero(tr.loss - math.log(2) < 1e-3)
    assert close[0] == 40 and np.all(close[close >= 82] == np.arange(82, 201))
    assert 81 not in close


def test_lecture_momentum_previous_step() -> None:
    """Notes 004: (1, 1) → (1.5, 2.0), η = 0.3; β = 0.9 as computed, 0.6 as stated."""
    r = lecture("momentum_previous_step")
    g = E_grad([1.5, 2.0])
    assert g == pytest.approx([-5 / 12, -7 / 36])
    expect = {
        "momentum β = 0.9 (as computed), from (1, 1)": (2.075, 2.0 + 0.3 * 7 / 36 + 0.9),
        "momentum β = 0.6 (as stated), from (1, 1)": (1.925, 2.0 + 0.3 * 7 / 36 + 0.6),
        "GD η = 0.3": (1.625, 2.0 + 0.3 * 7 / 36),
    }
    for label, pt in expect.items():
        assert xs(r, label)[1].tolist() == pytest.approx(pt, rel=1e-14)
    assert [round(v, 4) for v in expect["momentum β = 0.9 (as computed), from (1, 1)"]] == [
        2.075, 2.9583]  # fmt: skip
    assert [round(v, 4) for v in expect["momentum β = 0.6 (as stated), from (1, 1)"]] == [
        1.925, 2.6583]  # fmt: skip
    look = [1.5 + 0.6 * 0.5, 2.0 + 0.6 * 1.0]
    gl = E_grad(look)
    nag = (1.5 + 0.6 * 0.5 - 0.3 * gl[0], 2.0 + 0.6 * 1.0 - 0.3 * gl[1])
    assert nag == pytest.approx((1.91, 2.6333333333333333))
    assert xs(r, "NAG β = 0.6, from (1, 1)")[1].tolist() == pytest.approx(nag, rel=1e-14)
    hb = heavy_ball((1.5, 2.0), (0.5, 1.0), 0.3, 0.9, 300, E_grad)
    np.testing.assert_allclose(xs(r, "momentum β = 0.9 (as computed), from (1, 1)"), hb,
                               rtol=1e-10)  # fmt: skip
    assert round(float(hb[:, 0].max()), 2) == 4.66
    tol = {c.label: m.steps_to_tol for c, m in zip(r.racers, r.metrics(), strict=True)}
    assert tol == {
        "momentum β = 0.9 (as computed), from (1, 1)": 135,
        "momentum β = 0.6 (as stated), from (1, 1)": 28,
        "NAG β = 0.6, from (1, 1)": 36,
        "GD η = 0.3": 147,
    }


def test_lecture_adam_no_bias_correction() -> None:
    r = lecture("adam_no_bias_correction")
    off = xs(r, "without bias correction, η = 0.01")
    on = xs(r, "with bias correction, η = 0.01")
    ref_off = adam_ref(ravine_grad, [4.0, 0.5], 1000, 0.01, correct=False)
    ref_on = adam_ref(ravine_grad, [4.0, 0.5], 1000, 0.01, correct=True)
    np.testing.assert_allclose(off, ref_off, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on, ref_on, rtol=1e-9, atol=1e-12)
    first = 0.01 * 0.1 / math.sqrt(0.001)
    assert round(first / 0.01, 2) == 3.16
    assert ref_off[1].tolist() == pytest.approx([4.0 - first, 0.5 - first], rel=1e-9)
    assert [round(v, 4) for v in ref_off[1]] == [3.9684, 0.4684]
    assert [round(v, 2) for v in ref_on[1]] == [3.99, 0.49]
    steps = np.abs(np.diff(ref_off[:, 0]))
    assert (round(steps.max() / 0.01, 2), int(steps.argmax()) + 1) == (6.45, 11)
    assert (round(ref_off[100, 0], 3), round(ref_on[100, 0], 3)) == (0.579, 3.046)
    m = {c.label: m for c, m in zip(r.racers, r.metrics(), strict=True)}
    assert m["without bias correction, η = 0.01"].steps_to_tol == 404
    assert m["with bias correction, η = 0.01"].steps_to_tol is None
    assert round(ref_on[-1, 0], 4) == 0.0245


def test_lecture_newton_plain() -> None:
    r = lecture("newton_plain")
    assert xs(r, "plain Newton η = 1")[1:].tolist() == [[0.0, 0.0]] * 100
    half = xs(r, "plain Newton η = 0.5")
    assert np.array_equal(half, np.array([[2.5, 0.5]]) * 0.5 ** np.arange(101)[:, None])
    m = {c.label: m for c, m in zip(r.racers, r.metrics(), strict=True)}
    assert m["plain Newton η = 1"].steps_to_tol == 1
    assert m["plain Newton η = 0.5"].steps_to_tol == 23
    free = r.trajectory(by_label(r, "saddle-free Newton η = 1"))
    assert free.x[1].tolist() == pytest.approx([0.0, 1.0], abs=1e-15)
    assert free.loss[2] == pytest.approx(-4.0)
    assert int(np.argmax(free.loss < -1e10)) == 18


def test_lecture_momentum_ema_ravine() -> None:
    r = lecture("momentum_ema_ravine")
    ema = xs(r, "EMA β = 0.9, η = 0.1")
    hb = xs(r, "heavy ball ρ = 0.9, η = 0.01")
    # the EMA recurrence in plain Python
    x, v, rows = [4.0, 0.5], [0.0, 0.0], [[4.0, 0.5]]
    for _ in range(300):
        g = ravine_grad(x)
        v = [0.9 * v[i] + 0.1 * g[i] for i in range(2)]
        x = [x[i] - 0.1 * v[i] for i in range(2)]
        rows.append(list(x))
    np.testing.assert_allclose(ema, np.array(rows), rtol=1e-12, atol=1e-15)
    assert np.abs(ema - hb).max() < 1e-15
    assert ema[1].tolist() == pytest.approx([3.92, 0.0], abs=1e-15)
    nag = xs(r, "NAG look-ahead ρ = 0.9, η = 0.01")
    nest = xs(r, "sgd nesterov μ = 0.9, η = 0.01")
    look = nag[1:] + 0.9 * np.diff(nag, axis=0)  # x + ρ·v, v the last update
    assert np.abs(look - nest[1:]).max() < 1e-14
    assert nest[1].tolist() == pytest.approx([4.0 - 1.9 * 0.01 * 8.0, 0.5 - 1.9 * 0.01 * 50.0])
    assert nest[1].tolist() == pytest.approx([3.848, -0.45])
    m = {c.label: m.steps_to_tol for c, m in zip(r.racers, r.metrics(), strict=True)}
    assert m == {
        "EMA β = 0.9, η = 0.1": 164,
        "heavy ball ρ = 0.9, η = 0.01": 164,
        "NAG look-ahead ρ = 0.9, η = 0.01": 128,
        "sgd nesterov μ = 0.9, η = 0.01": 128,
    }


# ------------------------------------------------------------------ the window
def test_window_shows_inline_rows_and_keeps_the_velocity(qtbot, tmp_path, monkeypatch) -> None:
    """The window opens a scenario with data rows and x_prev, shows the data as "rows in
    the file", switches to a generator and back by undo, and saves what it opened."""
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from gui.window import MainWindow

    s = load_scenario(ROOT / "scenarios" / "lecture_adam_neuron.toml")
    w = MainWindow(s)
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())
    f = w.fields
    assert f.data_kind.currentData() == "rows"
    assert w.race.objective.n_train == 1
    f.data_kind.setCurrentIndex(f.data_kind.findData("xor"))
    f.data_kind.activated.emit(f.data_kind.currentIndex())
    assert w.scenario.objective.data["kind"] == "xor"
    w.undo_action.trigger()
    assert w.scenario.objective.data == {"rows": [[3.5, 0.0, 0.5]]}
    assert f.data_kind.currentData() == "rows"
    assert w.current_scenario() == s
    w.document.forget_changes()
    m = load_scenario(ROOT / "scenarios" / "lecture_momentum_previous_step.toml")
    w.load(m)
    assert w.current_scenario().racers[0].x_prev == (1.0, 1.0)
    assert w.race.trajectory(0).x[0].tolist() == [1.5, 2.0]
    w.race.advance(1)
    assert w.race.trajectory(0).x[1].tolist() == pytest.approx([2.075, 2.9583333333333335])
    w.document.forget_changes()
