"""The scenario library: every file loads and runs, and the lecture scenarios show
what their descriptions say (the numbers quoted there are checked here)."""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import numpy as np
import pytest

from engine.race import Race
from engine.scenario import Scenario, build_race, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
LECTURES = sorted((ROOT / "scenarios").glob("lecture_*.toml"))
CAP = 2000  # steps per racer when running the whole library
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


@functools.cache
def scenario(name: str) -> Scenario:
    return load_scenario(ROOT / "scenarios" / f"lecture_{name}.toml")


@functools.cache
def race(name: str, steps: int | None = None) -> Race:
    """The lecture scenario ``name`` run to the end (cached: treat it as read-only)."""
    r = build_race(scenario(name), steps=steps)
    r.run()
    return r


def idx(r: Race, label: str) -> int:
    labels = [c.label for c in r.racers]
    assert label in labels, f"no racer {label!r} in {labels}"
    return labels.index(label)


def xs(r: Race, label: str) -> np.ndarray:
    return r.trajectory(idx(r, label)).x


def metrics(r: Race, label: str):
    return r.run_metrics(idx(r, label))


def first_step_over(r: Race, label: str, bound: float) -> int:
    """First step at which |x2| > bound."""
    hit = np.nonzero(np.abs(xs(r, label)[:, 1]) > bound)[0]
    assert hit.size, f"{label}: |x2| never exceeds {bound}"
    return int(hit[0])


# ------------------------------------------------------------------ the whole library
def test_lecture_library_is_complete() -> None:
    names = {p.stem for p in LECTURES}
    assert len(names) >= 15
    for must in (
        "lecture_gd_round_bowl",
        "lecture_gd_x1sq_10x2sq",
        "lecture_gd_ravine",
        "lecture_momentum_ravine_rho09",
        "lecture_momentum_ravine_rho05",
        "lecture_nag_ravine",
        "lecture_adagrad_ravine",
        "lecture_adadelta_ravine",
        "lecture_adam_ravine",
        "lecture_rosenbrock_gd",
        "lecture_rosenbrock_momentum",
        "lecture_rosenbrock_nag",
        "lecture_rosenbrock_adagrad",
        "lecture_rosenbrock_adam",
        "lecture_momentum_elongated",
        "lecture_worked_example_E",
        "lecture_optimal_lr",
        "lecture_learning_rates_too_small_too_large",
        "lecture_saddle",
        "lecture_local_minimum_trap",
        "lecture_plateau",
        "lecture_schedules_compared",
        "lecture_noisy_sgd_decay",
        "lecture_finite_differences",
        "lecture_adam_neuron",
        "lecture_momentum_previous_step",
        "lecture_adam_no_bias_correction",
        "lecture_newton_plain",
        "lecture_momentum_ema_ravine",
    ):
        assert must in names


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_file_is_documented(path: Path) -> None:
    s = load_scenario(path)
    assert s.name.strip()
    sentences = len(re.findall(r"[.!?](?=\s|$)", s.description.strip()))
    assert 2 <= sentences <= 6, f"{path.name}: {sentences} sentences"
    assert re.search(r"\d", s.description), "the description should quote the numbers"
    assert 1 <= len(s.racers) <= 8
    labels = [r.label for r in s.racers]
    assert len(set(labels)) == len(labels), "labels must tell the racers apart"
    for r in s.racers:
        assert r.label != r.optimizer, "every racer has a label of its own"
        assert r.color is not None and r.color.upper() in OKABE_ITO


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_loads_and_runs(path: Path) -> None:
    s = load_scenario(path)
    r = build_race(s, steps=min(s.steps, CAP))
    r.run()
    assert r.done
    for i, m in enumerate(r.metrics()):
        assert r.count[i] >= 1
        if m.diverged_step is None and r.racers[i].enabled:
            assert m.steps == r.steps


# ------------------------------------------------------------------ lecture 5: GD on the bowls
def test_round_bowl_and_x1sq_10x2sq_converge_at_the_pace_of_x1() -> None:
    for name in ("gd_round_bowl", "gd_x1sq_10x2sq"):
        r = race(name)
        assert all(m.diverged_step is None for m in r.metrics())
        assert metrics(r, "η = 0.02").steps_to_tol == 204
        assert metrics(r, "η = 0.001").final_point[0] == pytest.approx(0.54, abs=0.005)
    assert metrics(race("gd_round_bowl"), "η = 0.5 (extra: one step)").steps_to_tol == 1
    # no zig-zag on x1² + 10·x2²: x2 never changes sign
    r = race("gd_x1sq_10x2sq")
    for c in r.racers:
        assert (xs(r, c.label)[:, 1] >= 0).all()


def test_ravine_diverges_only_above_two_over_lambda_max() -> None:
    r = race("gd_ravine")
    assert all(r.overflow_step(i) is None for i in range(len(r.racers)))  # not in 300 steps
    m021 = metrics(r, "η = 0.021 (diverges)")
    assert m021.final_loss > 1e25 and abs(m021.final_point[1]) == pytest.approx(1.3e12, rel=0.01)
    # diverged where the loss first exceeds 1e6 x its start (28.5), long before overflow
    assert m021.diverged_step == 77 and m021.unbounded_step is None
    loss = r.trajectory(idx(r, "η = 0.021 (diverges)")).loss
    assert loss[76] <= 28.5e6 < loss[77]
    assert [m.label for m in r.metrics() if m.diverged_step is not None] == [m021.label]
    boundary = metrics(r, "η = 0.02")
    assert boundary.steps_to_tol is None and boundary.final_loss == pytest.approx(12.5)
    assert metrics(r, "η = 0.019").steps_to_tol == 215
    assert metrics(r, "η = 0.001").final_point[0] == pytest.approx(2.19, abs=0.005)
    # η = 0.015 and 0.019 flip the sign of x2 every step
    for e in ("0.015", "0.019"):
        x2 = xs(r, f"η = {e}")[:60, 1]
        assert (np.sign(x2[1:]) != np.sign(x2[:-1])).all()
    # run long enough, η > 2/λmax = 0.02 overflows and is marked diverged; η <= 0.02 never is
    long = race("gd_ravine", 4000)
    for e in ("0.001", "0.005", "0.01", "0.015", "0.019", "0.02"):
        assert metrics(long, f"η = {e}").diverged_step is None
    assert metrics(long, "η = 0.021 (diverges)").diverged_step == 77
    assert long.overflow_step(idx(long, "η = 0.021 (diverges)")) == 3683


# ------------------------------------------------------------------ momentum, NAG, adaptive
def test_momentum_rho09_converges_and_overshoots() -> None:
    r = race("momentum_ravine_rho09")
    tol = {c.label: metrics(r, c.label).steps_to_tol for c in r.racers}
    assert all(t is not None for t in tol.values())
    assert tol["η = 0.001"] == 325
    # the overshooting rates touch 1e-6 early, leave it and settle later
    first = {c.label: metrics(r, c.label).first_within_tol for c in r.racers}
    assert (first["η = 0.005"], tol["η = 0.005"]) == (95, 158)
    assert (first["η = 0.02"], tol["η = 0.02"]) == (134, 163)
    assert min(t for k, t in tol.items() if k != "η = 0.001") == 158
    assert max(t for k, t in tol.items() if k != "η = 0.001") == 164
    assert xs(r, "η = 0.005")[:, 0].min() == pytest.approx(-0.61, abs=0.01)
    assert xs(r, "η = 0.02")[:, 0].min() == pytest.approx(-1.75, abs=0.01)


def test_momentum_rho05_does_not_overshoot() -> None:
    r = race("momentum_ravine_rho05")
    for c in r.racers:
        assert xs(r, c.label)[:, 0].min() >= 0.0
    assert metrics(r, "η = 0.02").steps_to_tol == 91
    assert metrics(r, "η = 0.001").final_point[0] == pytest.approx(0.072, abs=0.001)


def test_momentum_overshoot_and_nag_brakes() -> None:
    r = race("momentum_overshoot")
    assert r.steps == 95
    assert xs(r, "GD + momentum (ρ = 0.9, η = 0.01)")[:, 0].min() == pytest.approx(-1.18, abs=0.01)
    assert xs(r, "NAG (ρ = 0.9, η = 0.01)")[:, 0].min() == pytest.approx(-0.90, abs=0.01)
    nag = metrics(r, "NAG (ρ = 0.9, η = 0.01)")
    assert nag.first_within_tol == 86 and nag.steps_to_tol is None  # it leaves 1e-6 again
    assert nag.final_loss == pytest.approx(1.0e-4, rel=0.05)
    assert metrics(r, "GD + momentum (ρ = 0.9, η = 0.01)").steps_to_tol is None
    assert xs(r, "GD (η = 0.01)")[:, 0].min() == pytest.approx(0.59, abs=0.005)


def test_nag_ravine() -> None:
    r = race("nag_ravine")
    for e in ("0.0001", "0.0005", "0.001"):
        assert xs(r, f"η = {e}")[:, 0].min() >= 0.0
    assert xs(r, "η = 0.01")[:, 0].min() == pytest.approx(-0.90, abs=0.01)
    m = metrics(r, "η = 0.01")
    assert (m.first_within_tol, m.steps_to_tol) == (86, 128)
    assert metrics(r, "η = 0.005").steps_to_tol == 131
    assert [m.label for _, m in r.leaderboard()][:2] == ["η = 0.01", "η = 0.005"]
    assert metrics(r, "η = 0.0001").final_point[0] == pytest.approx(0.53, abs=0.005)


def test_adagrad_ravine_shrinking_steps() -> None:
    r = race("adagrad_ravine")
    for c in r.racers:
        x = xs(r, c.label)
        assert (x[:, 1] >= 0).all()  # no zig-zag
        eta = c.params["lr"]
        assert x[1] - x[0] == pytest.approx([-eta, -eta])  # first step: η in each coordinate
    converged = [c.label for c in r.racers if metrics(r, c.label).steps_to_tol is not None]
    assert converged == ["η = 0.5"]
    assert metrics(r, "η = 0.001").final_point[0] == pytest.approx(3.94, abs=0.005)


def test_adadelta_ravine_is_the_notes_update() -> None:
    """u = √(U + ε)/√(G + ε)·g, x ← x − u (lecture 5), bit for bit; the description's
    numbers."""
    r = race("adadelta_ravine")
    for c in r.racers:
        if c.optimizer != "adadelta":
            continue
        rho, eps = c.params["rho"], c.params["eps"]
        x, big_g, big_u = [4.0, 0.5], [0.0, 0.0], [0.0, 0.0]
        rows = [list(x)]
        for _ in range(r.steps):
            g = [2.0 * x[0], 100.0 * x[1]]
            for i in range(2):
                big_g[i] = rho * big_g[i] + (1 - rho) * g[i] * g[i]
                u = math.sqrt(big_u[i] + eps) / math.sqrt(big_g[i] + eps) * g[i]
                big_u[i] = rho * big_u[i] + (1 - rho) * u * u
                x[i] = x[i] - u
            rows.append(list(x))
        assert xs(r, c.label).tolist() == rows, c.label
    first = xs(r, "AdaDelta ρ = 0.9, ε = 1e-6")
    assert first[1] - first[0] == pytest.approx([-math.sqrt(1e-6 / 0.1)] * 2, rel=1e-6)
    assert int(np.argmax(first[:, 0] < 0.5)) == 774
    assert int(np.argmax(xs(r, "AdaGrad η = 0.1")[:, 0] < 0.5)) == 693
    swing = {c.label: np.ptp(xs(r, c.label)[-100:, 1]) / 2 for c in r.racers}
    assert swing["AdaDelta ρ = 0.9, ε = 1e-6"] == pytest.approx(0.013, abs=0.001)
    assert swing["AdaDelta ρ = 0.9, ε = 1e-4"] == pytest.approx(0.15, abs=0.005)
    assert all(metrics(r, c.label).steps_to_tol is None for c in r.racers)
    assert metrics(r, "AdaDelta ρ = 0.99, ε = 1e-6").final_point[0] == pytest.approx(
        0.20, abs=0.005
    )


def test_adam_ravine() -> None:
    r = race("adam_ravine")
    for c in r.racers:
        x = xs(r, c.label)
        eta = c.params["lr"]
        assert x[1] - x[0] == pytest.approx([-eta, -eta])  # diagonal first step
        assert metrics(r, c.label).diverged_step is None
    assert metrics(r, "η = 0.015").steps_to_tol == 901
    assert metrics(r, "η = 0.02").steps_to_tol == 669
    assert metrics(r, "η = 0.01").steps_to_tol is None


# ------------------------------------------------------------------ Rosenbrock
def test_rosenbrock_gd_and_momentum_equivalence() -> None:
    gd = race("rosenbrock_gd")
    assert gd.steps == 5000
    assert metrics(gd, "100η0 = 1e-3").final_point == pytest.approx((0.92, 0.845), abs=0.005)
    mom = race("rosenbrock_momentum")
    # ρ = 0.9 with η behaves like GD with 10η on the valley floor
    assert metrics(mom, "ρ = 0.9, η0").final_point == pytest.approx(
        metrics(gd, "10η0 = 1e-4").final_point, abs=0.01
    )
    assert metrics(mom, "ρ = 0.9, 10η0").final_point == pytest.approx(
        metrics(gd, "100η0 = 1e-3").final_point, abs=0.01
    )
    assert metrics(mom, "ρ = 0.9, 100η0").steps_to_tol == 1484
    nag = race("rosenbrock_nag")
    assert metrics(nag, "100η0 = 1e-3").steps_to_tol == 1380


def test_rosenbrock_adagrad_and_adam() -> None:
    ag = race("rosenbrock_adagrad")
    assert xs(ag, "100η0 = 1")[1] == pytest.approx([-0.5, 3.0])
    assert all(m.steps_to_tol is None for m in ag.metrics())
    ad = race("rosenbrock_adam")
    assert metrics(ad, "10η0 = 0.01").steps_to_tol == 3344
    m = metrics(ad, "100η0 = 0.1")
    assert m.first_within_tol == 983 and m.best_loss < 1e-25
    assert m.steps_to_tol == 4902  # kicked out again and again before it settles
    loss = ad.trajectory(idx(ad, "100η0 = 0.1")).loss
    assert loss[2000:3000].max() > 0.5  # kicked out of the minimum again


# ------------------------------------------------------------------ module 3 pictures
def test_momentum_elongated_reproduces_d2l() -> None:
    r = race("momentum_elongated")
    d2l = {
        "GD η = 0.4": (-0.943467, -0.000073),
        "GD η = 0.6 (diverges)": (-0.387814, -1673.365109),
        "momentum η = 0.6, β = 0.5": (0.007188, 0.002553),
        "momentum η = 0.6, β = 0.25": (-0.126340, -0.186632),
    }
    for label, point in d2l.items():
        assert metrics(r, label).final_point == pytest.approx(point, abs=1e-6)
    rms = race("rmsprop_elongated")
    # d2l's rmsprop_2d (ε under the root), as written there
    x1, x2, s1, s2, eta, gamma, eps = -5.0, -2.0, 0.0, 0.0, 0.4, 0.9, 1e-6
    for _ in range(20):
        g1, g2 = 0.2 * x1, 4 * x2
        s1 = gamma * s1 + (1 - gamma) * g1**2
        s2 = gamma * s2 + (1 - gamma) * g2**2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
    end = metrics(rms, "RMSProp η = 0.4, γ = 0.9").final_point
    assert end == pytest.approx((x1, x2), rel=1e-12, abs=1e-15)
    assert (round(x1, 6), round(x2, 6)) == (-0.010599, 0.0)  # d2l's printout


def test_worked_example_first_step() -> None:
    r = race("worked_example_E")
    for label in ("GD η = 0.3", "momentum β = 0.6, η = 0.3"):
        x = xs(r, label)
        assert tuple(x[0]) == (1.5, 2.0)
        assert x[1] == pytest.approx([1.625, 2.0 + 0.3 * 7 / 36], abs=1e-12)  # (1.625, 2.0583)
    assert metrics(r, "GD η* = 36/13").steps_to_tol == 13
    assert metrics(r, "momentum β = 0.6, η = 0.3").steps_to_tol == 45
    assert metrics(r, "GD η = 0.3").final_point == pytest.approx((2.99, 3.97), abs=0.005)


def test_optimal_lr_beats_its_neighbours() -> None:
    r = race("optimal_lr")
    t = {c.label: metrics(r, c.label).steps_to_tol for c in r.racers}
    assert (t["η* = 1/51"], t["0.9η* = 0.0176"], t["0.8η* = 0.0157"]) == (157, 167, 188)
    assert t["2/λmax = 0.02"] is None
    assert metrics(r, "2/λmax = 0.02").final_loss == pytest.approx(12.5)
    assert metrics(r, "1.2η* = 0.0235 (diverges)").final_loss > 1e50
    assert metrics(r, "1.2η* = 0.0235 (diverges)").diverged_step == 25
    ex = race("optimal_lr_exercise")
    t = {c.label: metrics(ex, c.label).steps_to_tol for c in ex.racers}
    assert t["η* = 1/6"] == 8 and t["η = 1/8 (the notes)"] == 13
    assert metrics(ex, "η = 0.25 = 2/λmax").final_loss == pytest.approx(7.0)
    assert metrics(ex, "η = 0.26 (diverges)").final_loss > 1e10


def test_learning_rates_too_small_too_large_match_d2l() -> None:
    r = race("learning_rates_too_small_too_large")
    assert xs(r, "η = 0.05 (too small)")[-1, 0] == pytest.approx(3.486784401)
    assert xs(r, "η = 0.2")[-1, 0] == pytest.approx(0.060466176)
    assert xs(r, "η = 0.5 (one step)")[1, 0] == 0.0
    assert np.abs(xs(r, "η = 1.0 (bounces)")[:, 0]) == pytest.approx(10.0)
    assert xs(r, "η = 1.1 (too large)")[-1, 0] == pytest.approx(61.917364224)
    # as its description says: not diverged in 10 steps (loss 38x), diverged at step 38
    assert metrics(r, "η = 1.1 (too large)").diverged_step is None
    longer = race("learning_rates_too_small_too_large", steps=60)
    assert metrics(longer, "η = 1.1 (too large)").diverged_step == 38


# ------------------------------------------------------------------ challenges
def test_saddle_newton_escapes_first() -> None:
    r = race("saddle")
    newton = "Newton (|λ|, η = 1)"
    assert xs(r, newton)[1, 0] == 0.0
    esc = {c.label: first_step_over(r, c.label, 1.0) for c in r.racers}
    assert esc == {
        "GD η = 0.05": 73,
        "momentum ρ = 0.9, η = 0.05": 27,
        "Adam η = 0.05": 20,
        newton: 10,
    }
    gd = xs(r, "GD η = 0.05")
    near = np.nonzero(np.hypot(gd[:, 0], gd[:, 1]) < 0.1)[0]
    assert (near[0], near[-1]) == (31, 48)
    assert abs(xs(r, newton)[-1, 1]) > 1e30
    # f* is unknown (unbounded below): escaping downhill is not diverging
    ms = {c.label: metrics(r, c.label) for c in r.racers}
    assert all(m.diverged_step is None for m in ms.values())
    assert {k: m.unbounded_step for k, m in ms.items()} == {
        "GD η = 0.05": None,
        "momentum ρ = 0.9, η = 0.05": 56,
        "Adam η = 0.05": None,
        newton: 22,
    }


def test_local_minimum_trap() -> None:
    r = race("local_minimum_trap")
    for label in ("GD η = 0.1", "GD η = 0.5", "Adam η = 0.1", "momentum ρ = 0.9, η = 0.1"):
        m = metrics(r, label)
        assert m.nearest_minimum == 1 and m.final_loss == pytest.approx(-0.765, abs=1e-3)
    for label, first, settled in (("momentum ρ = 0.95, η = 0.1", 266, 319),
                                  ("momentum ρ = 0.97, η = 0.05", 363, 511)):  # fmt: skip
        m = metrics(r, label)
        assert m.nearest_minimum == 0
        assert (m.first_within_tol, m.steps_to_tol) == (first, settled)


def test_plateau_gd_stalls_adaptive_methods_cross() -> None:
    r = race("plateau")
    for label, moved in (("GD η = 0.1", 0.004), ("GD η = 1", 0.046)):
        x = xs(r, label)
        assert np.linalg.norm(x[-1] - x[0]) == pytest.approx(moved, abs=0.001)
    for label in ("Adam η = 0.01", "Adam η = 0.05", "RMSProp η = 0.01", "AdaGrad η = 0.1"):
        assert metrics(r, label).steps_to_tol <= 210


# ------------------------------------------------------------------ schedules and noise
def test_schedules_decay_below_the_noise_floor() -> None:
    r = race("schedules_compared")
    late = {c.label: float(r.trajectory(i).loss[-20:].mean()) for i, c in enumerate(r.racers)}
    const = late.pop("constant")
    cyc = late.pop("cyclical 0.005–0.1")
    assert 0.03 < const < 0.06
    assert max(late.values()) < 0.0075 and const > 5 * max(late.values())
    assert 0.01 < cyc < const
    lr = r.trajectory(idx(r, "warm-up 20 + cosine")).lr
    assert lr[0] == 0.0 and lr[20] == pytest.approx(0.1)


def test_noisy_sgd_decay_matches_d2l_schedules() -> None:
    r = race("noisy_sgd_decay")
    t = np.arange(r.steps + 1) + 1.0  # d2l counts from 1
    exp_lr = r.trajectory(idx(r, "exponential 0.1·e^(−0.1t)")).lr
    poly_lr = r.trajectory(idx(r, "polynomial 0.1·(1 + 0.1t)^(−0.5)")).lr
    np.testing.assert_allclose(exp_lr, 0.1 * np.exp(-0.1 * t), rtol=1e-12)
    np.testing.assert_allclose(poly_lr, 0.1 * (1 + 0.1 * t) ** -0.5, rtol=1e-12)
    # the exponential decay stops short of the minimum, even after 1000 steps
    x50 = xs(r, "exponential 0.1·e^(−0.1t)")[-1]
    assert -0.8 < x50[0] < -0.4
    long = race("noisy_sgd_decay", 1000)
    x1000 = xs(long, "exponential 0.1·e^(−0.1t)")[-1]
    assert np.linalg.norm(x1000 - x50) < 0.01
    assert metrics(long, "polynomial 0.1·(1 + 0.1t)^(−0.5)").final_loss < 0.02


def test_finite_differences() -> None:
    r = race("finite_differences")
    assert metrics(r, "GD η = 0.05").steps_to_tol == 79
    one = "finite differences, 1 direction, η = 0.05"
    assert metrics(r, one).steps_to_tol == 107
    assert np.abs(xs(r, one)).max() > 20  # noisy single-direction estimates fly out
    assert metrics(r, "finite differences, 8 directions, η = 0.05").steps_to_tol == 71
    raw = metrics(r, "unnormalised, descending, α = 0.01, δ = 0.01").final_point
    assert raw == pytest.approx((3.995, 0.494), abs=0.002)
    assert math.isfinite(metrics(r, one).final_loss)
    # the notes' sign as printed, W + α(G⁺ − G⁻)·δW, climbs (sign = +1)
    up = r.trajectory(idx(r, "as printed: climbs (diverges)")).loss
    assert up[0] == 18.5
    assert round(float(up[1]), 1) == 47.2
    assert 3.45e8 <= up[10] < 3.55e8
    assert np.all(np.diff(up[:11]) > 0)
