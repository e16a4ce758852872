"""Checks of the lecture notes' worked numbers that the scenario library does not already
test: the momentum example run with the notes' own EMA form, GD on the "ideal" bowl past
2/λmax, the mini-batch table of 000/001 slide 18 (9 batches of 128 from 1152 rows), the
initial loss log 2 of 002's hyper-parameter recipe, Adam's β range, the 3-D minimisation
example of 004, the weight-decay convention, 002's "∇f is orthogonal to the iso-contour"
on the contours the window draws and 002's hyper-parameter recipe; and that the README's
errata rows for them are there."""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import numpy as np
import pytest

from engine.objective import PerceptronObjective
from engine.race import Race
from engine.racer import RacerConfig
from engine.scenario import ScenarioError, build_race, load_scenario, loads_scenario
from tests.conftest import epoch_batches

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "scenarios"


@functools.cache
def run(stem: str) -> Race:
    """The scenario ``stem`` run to its end (cached: read only)."""
    r = build_race(load_scenario(SCEN / f"{stem}.toml"))
    r.run()
    return r


def xs(r: Race, label: str) -> np.ndarray:
    labels = [c.label for c in r.racers]
    return r.trajectory(labels.index(label)).x


def bce(rows: np.ndarray, x: np.ndarray) -> float:
    """The mean −[y·log a + (1 − y)·log(1 − a)] of ``rows`` at x = (w1, w2, b)."""
    z = rows[:, 0] * x[0] + rows[:, 1] * x[1] + x[2]
    return float(np.mean(np.logaddexp(0.0, z) - rows[:, 2] * z))


# ------------------------------------------------------------------ 004 momentum example
def test_momentum_example_with_the_notes_ema_form_ends_elsewhere() -> None:
    """004 "MOMENTUM METHOD EXAMPLE" (η = 0.6, β = 0.5 / 0.25): the pictures are heavy ball
    v ← βv + g; the notes' Algorithm 4 (v ← βv + (1 − β)g) is heavy ball with η(1 − β)."""
    r = run("lecture_momentum_elongated_ema")
    hb5, hb25 = "heavy ball (pictures) η = 0.6, β = 0.5", "heavy ball (pictures) η = 0.6, β = 0.25"
    ema5, ema25 = "EMA (Algorithm 4) η = 0.6, β = 0.5", "EMA (Algorithm 4) η = 0.6, β = 0.25"
    assert xs(r, hb5)[-1] == pytest.approx((0.007188, 0.002553), abs=1e-6)  # d2l's figure
    assert xs(r, hb25)[-1] == pytest.approx((-0.126340, -0.186632), abs=1e-6)
    assert xs(r, ema5)[-1] == pytest.approx((-0.289993, 0.001723), abs=1e-6)
    assert xs(r, ema25)[-1] == pytest.approx((-0.358464, -0.000003), abs=1e-6)
    # with the EMA form, β = 0.25 swings less than β = 0.5: the reverse of the notes' text
    swing = {lab: float(np.abs(xs(r, lab)[5:, 1]).max()) for lab in (ema5, ema25)}
    assert swing[ema5] == pytest.approx(0.22376, abs=1e-5)
    assert swing[ema25] == pytest.approx(0.0622775, abs=1e-6) and swing[ema25] < 0.063
    # EMA (β, η) is heavy ball (β, η·(1 − β)), step for step
    for beta in (0.5, 0.25):
        ob = r.objective
        pair = Race(ob, [RacerConfig("momentum", {"lr": 0.6, "momentum": beta}),
                         RacerConfig("sgd", {"lr": 0.6 * (1 - beta), "momentum": beta})],
                    steps=20)  # fmt: skip
        pair.run()
        np.testing.assert_allclose(pair.trajectory(0).x, pair.trajectory(1).x, atol=1e-12)


# ------------------------------------------------------------------ 002 "ideal f"
def test_ideal_bowl_diverges_above_eta_one() -> None:
    """002: on x₁² + x₂² one "can increase η_t liberally (without worrying about
    divergence)": no, each step multiplies x by 1 − 2η, so η > 1 = 2/λmax grows."""
    r = run("lecture_learning_rates_too_small_too_large")
    x = xs(r, "η = 1.1 (too large)")[:, 0]
    np.testing.assert_allclose(x[1:] / x[:-1], -1.2, rtol=1e-12)
    assert abs(x[-1]) == pytest.approx(10 * 1.2**10) and abs(x[-1]) > 6 * abs(x[0])
    assert np.abs(xs(r, "η = 1.0 (bounces)")[:, 0]) == pytest.approx(10.0)  # the boundary
    # the notes' own start (4, .5): η = 1.05 already diverges
    ob = r.objective
    race = Race(ob, [RacerConfig("sgd", {"lr": 1.05}, start=(4.0, 0.5))], steps=50)
    race.run()
    pts = race.trajectory(0).x
    assert tuple(pts[0]) == (4.0, 0.5)
    assert np.linalg.norm(pts[-1]) == pytest.approx(np.hypot(4.0, 0.5) * 1.1**50, rel=1e-9)


# ------------------------------------------------------------------ 000/001 slide 18
def test_minibatch_table_all_rows_is_nine_batches_of_128() -> None:
    s = load_scenario(SCEN / "perceptron_minibatch128_all_rows.toml")
    assert s.objective.validation_fraction == 0.0 and s.objective.batch_size == 128
    r = run("perceptron_minibatch128_all_rows")
    ob = r.objective
    assert (ob.n_train, ob.n_val) == (1152, 0)
    assert r.steps_per_epoch == ob.steps_per_epoch == 9
    assert r.steps == 20 * 9
    batches = epoch_batches(s.seed, 1152, 128, r.steps + 1)
    for epoch in range(3):
        one = batches[9 * epoch : 9 * epoch + 9]
        assert [len(b) for b in one] == [128] * 9  # 0–127, 128–255, …, 1024–1151
        assert sorted(np.concatenate(one).tolist()) == list(range(1152))
    # these are the batches the race trained on: every step's loss is its batch's BCE
    for i in range(len(r.racers)):
        tr = r.trajectory(i)
        for t in range(0, 2 * 9 + 1):
            assert tr.loss[t] == pytest.approx(bce(ob.data[batches[t]], tr.x[t]), rel=1e-11)


def test_minibatch128_with_validation_is_eight_batches_the_last_of_26() -> None:
    r = run("perceptron_minibatch128")
    assert (r.objective.n_train, r.objective.n_val) == (922, 230)
    assert r.steps_per_epoch == 8
    assert [len(b) for b in epoch_batches(0, 922, 128, 8)] == [128] * 7 + [26]


# ------------------------------------------------------------------ 002 "check initial loss"
@pytest.mark.parametrize(
    "stem",
    ["perceptron_minibatch128_all_rows", "perceptron_minibatch128", "perceptron_batch",
     "perceptron_stochastic", "perceptron_minibatch"],
)  # fmt: skip
def test_initial_loss_is_log_two_from_zero_weights(stem: str) -> None:
    """002: "the loss should be approx log(C)" at initialisation; with C = 2 classes and
    w1 = w2 = b = 0, a = σ(0) = 1/2 on every row, so ℓ = log 2 for any label y. Every row's
    ℓ = softplus(0) − y·0 is the same double, and the batch mean of equal doubles is that
    double to within one rounding per addition: 1e-15 relative (on these batches exact)."""
    s = load_scenario(SCEN / f"{stem}.toml")
    assert tuple(s.objective.start) == (0.0, 0.0, 0.0)
    r = build_race(s, steps=1)
    r.run()
    for i in range(len(r.racers)):
        assert r.trajectory(i).loss[0] == pytest.approx(math.log(2), rel=1e-15)
    assert r.objective.loss(np.zeros(3)) == pytest.approx(math.log(2), rel=1e-15)


# ------------------------------------------------------------------ 001 slide 38: Adam's β
@pytest.mark.parametrize("key", ["beta1", "beta2"])
def test_adam_beta_one_is_refused(key: str) -> None:
    """001 slide 38 prints β₁, β₂ ∈ [0, 1]; the paper (and 000 slide 36) say [0, 1):
    β = 1 makes 1 − βᵗ = 0 in the bias correction. The app refuses it by name."""
    text = (
        'schema = 1\nname = "x"\n[objective]\nname = "rosenbrock"\n[[optimizers]]\n'
        f'name = "adam"\nparams = {{ {key} = %s }}\n'
    )
    loads_scenario(text % "0.999", source="ok.toml")
    with pytest.raises(ScenarioError) as e:
        loads_scenario(text % "1.0", source="b.toml")
    assert f"optimizers[0].params.{key}: expected a finite number in [0, 1), got 1.0" in str(
        e.value
    )


# ------------------------------------------------------------------ 004 3-D example
def notes_f(x: np.ndarray) -> float:
    x1, x2, x3 = x
    return x1**2 + x1 * (1 - x2) + x2**2 - x2 * x3 + x3**2 + x3


def fd_grad(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    e = np.eye(len(x)) * h
    return np.array([(f(x + e[i]) - f(x - e[i])) / (2 * h) for i in range(len(x))])


def fd_hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    e = np.eye(len(x)) * h
    n = len(x)
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            hess[i, j] = (
                f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j])
            ) / (4 * h * h)
    return hess


def test_notes_3d_minimisation_example() -> None:
    """004 "SOLUTION OF UNCONSTRAINED MINIMIZATION": ∇f = 0 at (−1, −1, −1), Hessian
    [[2, −1, 0], [−1, 2, −1], [0, −1, 2]] with eigenvalues 3.414, 0.586, 2 (2 ± √2, 2): all
    positive, a minimum. (The app's landscapes are 2-D; this checks the notes' numbers.)"""
    x_star = np.array([-1.0, -1.0, -1.0])
    assert np.abs(fd_grad(notes_f, x_star)).max() < 1e-9
    # the notes' gradient formula agrees with the function away from the solution too
    rng = np.random.default_rng(0)
    for x in rng.uniform(-3, 3, size=(5, 3)):
        x1, x2, x3 = x
        notes_grad = [2 * x1 + 1 - x2, -x1 + 2 * x2 - x3, -x2 + 2 * x3 + 1]
        np.testing.assert_allclose(fd_grad(notes_f, x), notes_grad, atol=1e-8)
    hess = fd_hessian(notes_f, x_star)
    np.testing.assert_allclose(hess, [[2, -1, 0], [-1, 2, -1], [0, -1, 2]], atol=1e-6)
    lam = np.linalg.eigvalsh(hess)
    np.testing.assert_allclose(lam, [2 - math.sqrt(2), 2.0, 2 + math.sqrt(2)], atol=1e-6)
    assert [round(v, 3) for v in lam] == [0.586, 2.0, 3.414]
    assert (lam > 0).all()  # eigenvalues, not "Eigen vectors", are all positive
    assert notes_f(x_star) == -1.0
    assert all(notes_f(x_star + d) > -1.0 for d in rng.normal(0, 0.1, size=(20, 3)))


# ------------------------------------------------------------------ weight decay
def test_weight_decay_is_the_notes_l2_with_lambda_half_of_it() -> None:
    """002: J + λR(Θ), R = ‖Θ‖², has gradient ∇J + 2λΘ; torch's (and the app's)
    weight_decay adds weight_decay·Θ, so the notes' λ = weight_decay/2. All three of
    (w1, w2, b) are decayed, as torch decays every parameter it is given."""
    rng = np.random.default_rng(3)
    rows = np.column_stack([rng.normal(size=(64, 2)), rng.integers(0, 2, 64)]).astype(float)
    start = (0.8, -0.6, 0.4)
    ob = PerceptronObjective.from_rows(
        rows, batch_size="full", epochs=1, start=start, validation_fraction=0.0
    )
    eta, wd = 0.5, 0.2
    race = Race(ob, [RacerConfig("sgd", {"lr": eta, "weight_decay": wd})], steps=1)
    race.run()
    x0 = np.array(start)
    lam = wd / 2  # the notes' λ

    def notes_j(x: np.ndarray) -> float:
        return bce(ob.data, x) + lam * float(np.sum(x * x))

    g_notes = fd_grad(notes_j, x0, 1e-6)
    np.testing.assert_allclose(race.trajectory(0).x[1], x0 - eta * g_notes, atol=1e-9)
    np.testing.assert_allclose(
        race.trajectory(0).x[1], x0 - eta * (ob.gradient(x0) + wd * x0), rtol=1e-12
    )


# ------------------------------------------------------------------ the README says so
NEW_ROWS = {
    "momentum-example-form": "(−0.290, 0.0017)",
    "ideal-f-divergence": "η > 1 = 2/λmax",
    "bfgs-rank": "rank-two",
    "minibatch-table": "1024–1151",
    "adam-beta-range": "β₁, β₂ ∈ [0, 1)",
    "hessian-eigenvalues": "eigenvalues",
    "rmsprop-index": "wₜ = wₜ₋₁",
    "adam-bias-power": "β₁ᵗ",
}


def _errata_rows() -> dict[str, list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where the notes are wrong\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z0-9-]+)` \|", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in line.strip().strip("|").split(" | ")]
    return rows


def test_readme_has_the_new_errata_rows() -> None:
    rows = _errata_rows()
    for eid, correct in NEW_ROWS.items():
        assert eid in rows, eid
        cells = rows[eid]
        assert len(cells) == 5, eid
        assert re.search(r"\b00[0-4]\b", cells[1]), eid
        assert correct in cells[3], (eid, correct)
        for rel in re.findall(r"scenarios/\w+\.toml", cells[4]):
            load_scenario(ROOT / rel)
    assert "lecture_momentum_elongated.toml" in rows["momentum-example-form"][4]
    assert "perceptron_minibatch128_all_rows.toml" in rows["minibatch-table"][4]
    assert re.search(r"001 slides? 30\b", rows["eps-placement"][1])


def test_readme_lecture_library_mentions_these_checks() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lib = readme.split("## The lecture library\n", 1)[1].split("\n## ", 1)[0]
    assert "log 2" in lib and "tests/test_lecture_notes_checks.py" in lib
    assert "perceptron_minibatch128_all_rows.toml" in lib and "2-D" in lib
    opt = readme.split("## Optimizers\n", 1)[1].split("\n## ", 1)[0]
    assert "weight_decay/2" in opt and "dropout" in opt.lower()


# ------------------------------------------------------------------ 002 "Important property"
@pytest.mark.parametrize(
    ("name", "params"),
    [("quadratic", {"lambda1": 2.0, "lambda2": 100.0}), ("rosenbrock", None), ("himmelblau", None)],
)
def test_the_gradient_crosses_the_drawn_contours_at_right_angles(
    name: str, params: dict[str, float] | None
) -> None:
    """002: "Gradient vector ∇f(x) is always orthogonal to the iso-contour curve of f at
    x" — on the contours the window draws (engine.display.contour_segments of the map's
    grid): the cosine between each segment and the gradient at its midpoint is ~0."""
    from engine.display import contour_segments, nice_levels
    from engine.landscapes import get_landscape, grad, landscape_grid

    ls = get_landscape(name)
    x0, x1, y0, y1 = ls.view
    n = 401
    z = np.empty((n, n))
    landscape_grid(ls.lid, ls.pack(params), x0, x1, n, y0, y1, n, z)
    xs, ys, _ = contour_segments(z, x0, x1, y0, y1, nice_levels(z, 15))
    dx, dy = xs[1::2] - xs[0::2], ys[1::2] - ys[0::2]
    keep = np.hypot(dx, dy) > 1e-9 * (x1 - x0)  # zero-length segments have no direction
    mx, my = 0.5 * (xs[0::2] + xs[1::2])[keep], 0.5 * (ys[0::2] + ys[1::2])[keep]
    g = np.array([grad(name, params, float(a), float(b)) for a, b in zip(mx, my, strict=True)])
    t = np.column_stack([dx[keep], dy[keep]])
    norm = np.linalg.norm(t, axis=1) * np.linalg.norm(g, axis=1)
    cos = np.abs((t * g).sum(axis=1))[norm > 0] / norm[norm > 0]
    assert cos.size > 1000
    assert np.median(cos) < 0.01 and np.percentile(cos, 99) < 0.1, (np.median(cos), cos.max())


# ------------------------------------------------------------------ 002 hyper-parameter recipe
def test_the_notes_recipe_on_the_perceptron(tmp_path: Path) -> None:
    """lecture_map_perceptron_recipe's numbers: step 3's learning rates over ~100 updates,
    and its [map], the log-uniform random search of step 4, against the grid."""
    import json

    import main

    r = run("lecture_map_perceptron_recipe")
    assert r.loss[0, 0] == pytest.approx(math.log(2.0), rel=1e-15)
    assert r.steps == 104  # 13 epochs of 8 updates: "~100 iterations"
    val = {c.label: r.run_metrics(i).val_loss for i, c in enumerate(r.racers)}
    want = {"η = 1e-1": 0.2039, "η = 1e-2": 0.4006, "η = 1e-3": 0.6393, "η = 1e-4": 0.6873}
    assert val == pytest.approx(want, abs=6e-4)
    out = tmp_path / "recipe"
    args = ["map", str(SCEN / "lecture_map_perceptron_recipe.toml"), "--out", str(out), "--quiet"]
    assert main.main(args) == 0
    info = json.loads((out / "map.json").read_text())
    assert info["search"] == "random" and info["shape"] == [64] and info["steps"] == 40
    assert info["log"] == {
        "lr": True,
        "weight_decay": True,
    }  # both on a log scale, as the notes say
    best, grid = info["best"], info["grid_at_same_budget"]["best"]
    assert best["lr"] == pytest.approx(1.68, abs=0.005)
    assert best["weight_decay"] == pytest.approx(5.0e-6, abs=5e-8)
    assert best["val_loss"] == pytest.approx(0.1785, abs=5e-5)
    assert best["val_accuracy"] == pytest.approx(0.926, abs=5e-4)
    assert grid["lr"] == pytest.approx(1.0) and grid["val_loss"] == pytest.approx(0.1799, abs=5e-5)
    drawn = np.load(out / "map.npz")
    lr, wd = drawn["lr"], drawn["weight_decay"]
    assert lr.min() >= 1e-6 and lr.max() <= 10.0 and np.ptp(np.log10(lr)) > 5  # 10^U(-6, 1)
    assert wd.min() >= 1e-6 and wd.max() <= 1e-3 and np.ptp(np.log10(wd)) > 2  # 10^U(-6, -3)
