"""Theory beside the race (engine.theory): the quadratic's closed forms against numbers
computed here, the predicted rates against the engine's recorded runs, the local
quadratic model and the classification of critical points."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.export import summary
from engine.landscapes import LANDSCAPES, get_landscape
from engine.objective import LandscapeObjective
from engine.race import Race
from engine.racer import RacerConfig
from engine.scenario import build_race, load_scenario
from engine.theory import (
    Method,
    agreement,
    classify_eigenvalues,
    critical_points,
    local_model,
    measured_rate,
    method_of,
    predicted_curve,
    predicted_gap,
    predicted_rate,
    quadratic_of,
    race_theory,
    scale_of,
)
from engine.theory.runs import fit_floor

ROOT = Path(__file__).resolve().parent.parent
RAVINE = {"lambda1": 2.0, "lambda2": 100.0}


def ravine_race(cfgs: list[RacerConfig], steps: int = 1000) -> Race:
    obj = LandscapeObjective.create("quadratic", RAVINE, (4.0, 0.5))
    r = Race(obj, cfgs, steps=steps)
    r.run()
    return r


def textbook_heavy_ball_rate(lr: float, rho: float, lam: float) -> float:
    """Spectral radius of [[1 + ρ − ηλ, −ρ], [1, 0]] acting on (x_t, x_{t−1})."""
    m = np.array([[1.0 + rho - lr * lam, -rho], [1.0, 0.0]])
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def rotated(l1: float, l2: float, deg: float) -> tuple[float, float, float]:
    th = math.radians(deg)
    c, s = math.cos(th), math.sin(th)
    return l1 * c * c + l2 * s * s, (l1 - l2) * c * s, l1 * s * s + l2 * c * c


# ------------------------------------------------------------------ closed forms
def test_ravine_closed_forms() -> None:
    q = quadratic_of(get_landscape("quadratic"), RAVINE)
    assert q is not None
    # the project's quadratic is f0 + ½·xᵀAx: x1² + 50·x2² has A = diag(2, 100)
    np.testing.assert_array_equal(q.lam, [2.0, 100.0])
    assert q.kappa == 50.0
    assert q.lr_max_stable == 0.02
    assert q.lr_optimal == pytest.approx(1.0 / 51.0, rel=1e-15)
    lr, rho = q.distill_optimum() or (0.0, 0.0)
    assert lr == pytest.approx(4.0 / (math.sqrt(2.0) + 10.0) ** 2, rel=1e-14)
    assert rho == pytest.approx(((math.sqrt(50) - 1) / (math.sqrt(50) + 1)) ** 2, rel=1e-14)
    x0 = np.array([4.0, 0.5])
    assert q.gap(x0) == 28.5  # ½(2·16 + 100·0.25)
    assert predicted_rate(q, Method("gd", 1.0 / 51.0), x0) == pytest.approx(49.0 / 51.0)
    assert predicted_rate(q, Method("gd", 0.021), x0) == pytest.approx(1.1)
    # on an eigenvector only that mode counts
    assert predicted_rate(q, Method("gd", 0.01), np.array([0.0, 0.5])) == pytest.approx(0.0)
    assert predicted_rate(q, Method("heavy_ball", lr, rho), x0) == pytest.approx(
        math.sqrt(rho), rel=1e-6
    )


@settings(max_examples=60, deadline=None)
@given(
    l1=st.floats(0.05, 50.0),
    ratio=st.floats(1.0, 200.0),
    deg=st.floats(-180.0, 180.0),
    cx=st.floats(-5.0, 5.0),
    cy=st.floats(-5.0, 5.0),
    f0=st.floats(-10.0, 10.0),
    frac=st.floats(0.05, 0.99),
    rho=st.floats(0.0, 0.99),
)
def test_rotated_quadratic_closed_forms(
    l1: float, ratio: float, deg: float, cx: float, cy: float, f0: float, frac: float, rho: float
) -> None:
    a11, a12, a22 = rotated(l1, l1 * ratio, deg)
    params = {"a11": a11, "a12": a12, "a22": a22, "cx": cx, "cy": cy, "f0": f0}
    q = quadratic_of(get_landscape("quadratic_matrix"), params)
    assert q is not None
    mean, half = 0.5 * (a11 + a22), math.hypot(0.5 * (a11 - a22), a12)
    lo, hi = mean - half, mean + half
    np.testing.assert_allclose(q.lam, [lo, hi], rtol=1e-9)
    for i in range(2):  # A·u = λ·u, |u| = 1
        u = q.vectors[:, i]
        np.testing.assert_allclose(q.A @ u, q.lam[i] * u, atol=1e-9 * hi)
    assert q.kappa == pytest.approx(hi / lo, rel=1e-8)
    assert q.lr_max_stable == pytest.approx(2.0 / hi, rel=1e-9)
    assert q.lr_optimal == pytest.approx(2.0 / (lo + hi), rel=1e-9)
    x0 = np.array([cx + 1.0, cy - 2.0])
    lr = frac * 2.0 / hi
    gd = predicted_rate(q, Method("gd", lr), x0)
    assert gd == pytest.approx(max(abs(1 - lr * lo), abs(1 - lr * hi)), rel=1e-9)
    hb = predicted_rate(q, Method("heavy_ball", lr, rho), x0)
    want = max(textbook_heavy_ball_rate(lr, rho, lam) for lam in (lo, hi))
    assert hb == pytest.approx(want, rel=1e-6, abs=1e-12)
    # the EMA form is heavy ball with η(1 − β): the same rate
    ema = predicted_rate(q, Method("ema", lr / (1.0 - rho) if rho < 1 else lr, rho), x0)
    assert ema == pytest.approx(hb, rel=1e-9, abs=1e-12)
    # the loss from the closed form at t = 0 is ½(x0 − c)ᵀA(x0 − c)
    d = x0 - np.array([cx, cy])
    assert predicted_gap(q, Method("gd", lr), x0, 3)[0] == pytest.approx(0.5 * d @ q.A @ d)


def test_generic_quadratics_are_recognised() -> None:
    q = quadratic_of(get_landscape("booth"), None)
    assert q is not None
    np.testing.assert_allclose(q.A, [[10.0, 8.0], [8.0, 10.0]])
    np.testing.assert_allclose(q.centre, [1.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(q.lam, [2.0, 18.0])
    assert quadratic_of(get_landscape("rosenbrock"), None) is None
    assert quadratic_of(get_landscape("himmelblau"), None) is None
    saddle = quadratic_of(get_landscape("saddle"), None)
    assert saddle is not None and not saddle.positive_definite and saddle.kappa is None


# ------------------------------------------------------------------ measured vs predicted
RAVINE_RACERS = [
    RacerConfig("sgd", {"lr": lr}, label=f"gd {lr}") for lr in (0.001, 0.01, 1 / 51, 0.019, 0.021)
] + [
    RacerConfig("sgd", {"lr": 0.030702094440873837, "momentum": 0.5658068164845661}, label="d"),
    RacerConfig("sgd", {"lr": 0.01, "momentum": 0.9}, label="hb"),
    RacerConfig("sgd", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3}, label="damp"),
    RacerConfig("momentum", {"lr": 0.1, "momentum": 0.9}, label="ema"),
    RacerConfig("nag", {"lr": 0.01, "momentum": 0.9}, label="nag"),
    RacerConfig("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True}, label="nesterov"),
]


def test_ravine_measured_within_one_percent_and_curves_match() -> None:
    r = ravine_race(
        [RacerConfig(c.optimizer, dict(c.params), label=c.label) for c in RAVINE_RACERS]
    )
    q = quadratic_of(get_landscape("quadratic"), RAVINE)
    assert q is not None
    blocks = race_theory(r)
    assert blocks is not None and len(blocks) == len(RAVINE_RACERS)
    for i, b in enumerate(blocks):
        label = r.racers[i].label
        assert b["covered"], label
        assert abs(b["measured_rate"] / b["predicted_rate"] - 1.0) < 0.01, (label, b)
        assert b["agreement"] == "agree"
        assert b["predicted_loss_rate"] == pytest.approx(b["predicted_rate"] ** 2)
        # the closed-form loss curve is the run's, row by row
        tr = r.trajectory(i)
        m = method_of(r.racers[i], tr.x[0])
        assert isinstance(m, Method)
        curve = predicted_gap(q, m, tr.x[0], r.steps)
        np.testing.assert_array_equal(predicted_curve(r, i), curve)
        n = tr.loss.shape[0]
        ok = tr.loss > 1e-250
        np.testing.assert_allclose(curve[:n][ok], tr.loss[ok], rtol=1e-7, err_msg=label)
    gd = {r.racers[i].label: b for i, b in enumerate(blocks)}
    assert gd["gd 0.021"]["predicted_rate"] == pytest.approx(1.1)
    assert gd["gd 0.021"]["measured_rate"] == pytest.approx(1.1, rel=1e-6)  # diverges so
    assert r.diverged_step(4) is not None
    assert gd["d"]["momentum_optimal"] == pytest.approx(0.5658068164845661)
    assert gd["ema"]["equivalent_heavy_ball"] == pytest.approx({"lr": 0.01, "momentum": 0.9})


@settings(max_examples=40, deadline=None)
@given(
    l1=st.floats(0.5, 5.0),
    ratio=st.floats(1.0, 10.0),
    deg=st.floats(-90.0, 90.0),
    frac=st.floats(0.1, 0.9),
    rho=st.floats(0.0, 0.9),
    sx=st.floats(-4.0, 4.0).filter(lambda v: abs(v) > 0.5),
    sy=st.floats(-4.0, 4.0).filter(lambda v: abs(v) > 0.5),
)
def test_random_quadratics_measured_within_one_percent(
    l1: float, ratio: float, deg: float, frac: float, rho: float, sx: float, sy: float
) -> None:
    """Well-conditioned (κ <= 10) rotated quadratics centred at the origin with f* = 0 (as
    the ravine: the gap can fall to 1e-280, so hundreds of rows are settled); GD at a
    fraction of 2/λmax and heavy ball at a fraction of its own limit 2(1 + ρ)/λmax. (Off
    the origin, round-off stops the fit after tens of rows: test_worked_example_agrees.)"""
    a11, a12, a22 = rotated(l1, l1 * ratio, deg)
    params = {"a11": a11, "a12": a12, "a22": a22, "cx": 0.0, "cy": 0.0, "f0": 0.0}
    hi = l1 * ratio
    cfgs = [
        RacerConfig("sgd", {"lr": frac * 2.0 / hi}, label="gd"),
        RacerConfig("sgd", {"lr": frac * 2.0 * (1 + rho) / hi, "momentum": rho}, label="hb"),
    ]
    obj = LandscapeObjective.create("quadratic_matrix", params, (sx, sy))
    r = Race(obj, cfgs, steps=2000)
    r.run()
    blocks = race_theory(r)
    assert blocks is not None
    for b in blocks:
        pred, meas = b["predicted_rate"], b["measured_rate"]
        if pred < 0.05:  # at the floor within a few steps (0 when η = 1/λ for κ = 1)
            continue
        assert meas is not None, b
        assert abs(meas / pred - 1.0) < 0.01, b
        assert b["agreement"] == "agree"


def test_worked_example_agrees() -> None:
    """E(w1, w2): minimum at (3, 4) with f* = 0.05, so the fit stops at the round-off
    floor; GD and heavy ball still agree within 1 %."""
    s = load_scenario(ROOT / "scenarios" / "lecture_worked_example_E.toml")
    r = build_race(s)
    r.run()
    blocks = race_theory(r)
    assert blocks is not None
    assert [round(v, 3) for v in blocks[0]["lambda"]] == [0.144, 0.578]
    for b in blocks:
        assert b["agreement"] == "agree", b


def test_measured_rate_rule() -> None:
    t = np.arange(400, dtype=np.float64)
    loss = 3.0 + 7.0 * 0.81**t  # gap contracts by 0.81: the error by 0.9
    fit = measured_rate(loss, 3.0, floor=1e3 * 2.2e-16 * 3.0)
    assert fit is not None
    assert fit.rate == pytest.approx(0.9, rel=1e-6)
    assert fit.loss_rate == pytest.approx(0.81, rel=1e-6)
    # usable rows end at the floor; the fit is their second half
    n = int(np.argmax(loss - 3.0 <= 1e3 * 2.2e-16 * 3.0))
    assert (fit.first, fit.last) == (n // 2, n - 1)
    assert measured_rate(np.array([1.0, 0.5, 0.0, 0.0]), 0.0) is None  # too few rows
    assert agreement(0.9, 0.9089) == "agree"
    assert agreement(0.9, 0.9091) == "disagree"
    assert agreement(None, 0.9) == "n/a"
    q = quadratic_of(get_landscape("quadratic"), {"cx": 100.0, "f0": 6.0})
    assert q is not None and fit_floor(q) > 1e3 * 2.2e-16 * 6.0


def test_not_covered_and_not_quadratic() -> None:
    cfgs = [RacerConfig("adam", {"lr": 0.1}, label="adam"),
            RacerConfig("sgd", {"lr": 0.01}, schedule="step", label="sched"),
            RacerConfig("sgd", {"lr": 0.01, "weight_decay": 0.1}, label="wd")]  # fmt: skip
    blocks = race_theory(ravine_race(cfgs, steps=50))
    assert blocks is not None
    assert predicted_curve(ravine_race(cfgs[:1], steps=5), 0) is None
    for b in blocks:
        assert b["covered"] is False and b["predicted_rate"] is None
        assert b["reason"].startswith("not covered")
        assert b["lambda"] == [2.0, 100.0]  # the landscape's figures are still there
    rosen = LandscapeObjective.create("rosenbrock")
    assert race_theory(Race(rosen, [RacerConfig("sgd", {"lr": 1e-3})], steps=5)) is None
    perc = build_race(load_scenario(ROOT / "scenarios" / "perceptron_batch.toml"), steps=2)
    assert race_theory(perc) is None


def test_summary_json_has_the_theory_block() -> None:
    s = load_scenario(ROOT / "scenarios" / "lecture_theory_ravine.toml")
    r = build_race(s)
    r.run()
    runs = summary(r, s)["runs"]
    keys = {"lambda", "kappa", "lr_max_stable", "lr_optimal", "predicted_rate", "measured_rate"}
    for run in runs:
        assert keys <= set(run["theory"])
        assert run["theory"]["agreement"] == "agree", run["run"]
    by = {run["run"]: run["theory"] for run in runs}
    d = by["heavy ball, Distill's optimum"]
    assert {"momentum_optimal", "lr_optimal_momentum"} <= set(d)
    assert "momentum_optimal" not in by["GD η* = 1/51"]
    perc = load_scenario(ROOT / "scenarios" / "perceptron_batch.toml")
    pr = build_race(perc, steps=2)
    pr.run()
    assert all("theory" not in run for run in summary(pr, perc)["runs"])


def test_lecture_theory_ravine_quotes_what_the_race_measures() -> None:
    """The figures quoted in scenarios/lecture_theory_ravine.toml's description."""
    s = load_scenario(ROOT / "scenarios" / "lecture_theory_ravine.toml")
    r = build_race(s)
    r.run()
    blocks = race_theory(r)
    assert blocks is not None
    by = {c.label: b for c, b in zip(r.racers, blocks, strict=True)}
    quoted = {"GD η = 0.001": 0.998, "GD η = 0.01": 0.98, "GD η* = 1/51": 0.9608,
              "GD η = 0.019": 0.962, "GD η = 0.021 (diverges)": 1.1}  # fmt: skip
    for label, rate in quoted.items():
        assert round(by[label]["predicted_rate"], 4) == rate
        assert by[label]["measured_rate"] == pytest.approx(by[label]["predicted_rate"], rel=1e-6)
    assert r.diverged_step(4) is not None
    d = by["heavy ball, Distill's optimum"]
    assert round(d["lr_optimal_momentum"], 4) == 0.0307 and round(d["momentum_optimal"], 3) == 0.566
    assert round(d["predicted_rate"], 4) == 0.7522 and round(d["measured_rate"], 4) == 0.7532
    hb = by["heavy ball ρ = 0.9, η = 0.01"]
    assert round(hb["predicted_rate"], 4) == 0.9487 and round(hb["measured_rate"], 4) == 0.9487
    assert "0.7522" in s.description and "0.7532" in s.description


# ------------------------------------------------------------------ local model, critical points
def kinds(name: str) -> Counter[str]:
    ls = get_landscape(name)
    p = ls.pack(None)
    return Counter(c.kind for c in critical_points(ls.lid, p, ls.view))


def test_himmelblau_critical_points() -> None:
    ls = get_landscape("himmelblau")
    p = ls.pack(None)
    cps = critical_points(ls.lid, p, ls.view)
    assert Counter(c.kind for c in cps) == {"minimum": 4, "maximum": 1, "saddle": 4}
    mins = np.array([c.point for c in cps if c.kind == "minimum"])
    for m in ls.minima():
        assert np.min(np.hypot(*(mins - np.array(m)).T)) < 1e-9
    (mx,) = [c for c in cps if c.kind == "maximum"]
    assert mx.point == pytest.approx((-0.270845, -0.923039), abs=1e-6)
    assert mx.f == pytest.approx(181.617, abs=1e-3)


def test_monkey_saddle_is_degenerate_and_camel_classified() -> None:
    assert kinds("monkey_saddle") == {"degenerate": 1}
    ls = get_landscape("monkey_saddle")
    p = ls.pack(None)
    cps = critical_points(ls.lid, p, (-1.9, 2.1, -2.3, 1.7))  # the origin off the grid
    assert [c.kind for c in cps] == ["degenerate"] and max(map(abs, cps[0].point)) < 1e-6
    assert kinds("six_hump_camel") == {"minimum": 6, "maximum": 2, "saddle": 7}
    camel = get_landscape("six_hump_camel")
    cps = critical_points(camel.lid, camel.pack(None), camel.view)
    saddles = np.array([c.point for c in cps if c.kind == "saddle"])
    for s in camel.saddles():
        assert np.min(np.hypot(*(saddles - np.array(s)).T)) < 1e-9
    assert kinds("saddle") == {"saddle": 1}
    assert kinds("booth") == {"minimum": 1}


def test_classification_rule() -> None:
    assert classify_eigenvalues(np.array([1.0, 2.0]), 1.0) == "minimum"
    assert classify_eigenvalues(np.array([-2.0, -1.0]), 1.0) == "maximum"
    assert classify_eigenvalues(np.array([-1.0, 2.0]), 1.0) == "saddle"
    assert classify_eigenvalues(np.array([0.0, 2.0]), 1.0) == "degenerate"
    # zero relative to the landscape's curvature scale, not only to the point's own
    assert classify_eigenvalues(np.array([-1e-11, 1e-11]), 10.0) == "degenerate"
    assert classify_eigenvalues(np.array([-1e-11, 1e-11]), 1e-12) == "saddle"
    assert classify_eigenvalues(np.array([math.nan, 1.0]), 1.0) == "degenerate"


@settings(max_examples=30, deadline=None)
@given(x=st.floats(-4.0, 4.0), y=st.floats(-4.0, 4.0))
def test_local_model_at_any_point(x: float, y: float) -> None:
    # on a quadratic (booth) the Taylor model is f itself and Newton lands on the minimum
    ls = get_landscape("booth")
    p = ls.pack(None)
    sc = scale_of(ls.lid, p, ls.view)
    m = local_model(ls.lid, p, x, y, sc)
    assert m.kind == "minimum"
    assert m.newton_point == pytest.approx((1.0, 3.0), abs=1e-9)
    for u, v in ((0.0, 0.0), (2.5, -1.0), (x + 1.0, y)):
        want = ls.value_at(None, u, v)
        assert m.model(u, v) == pytest.approx(want, rel=1e-9, abs=1e-9)
        c = m.coefficients()
        poly = (
            c["1"] + c["x"] * u + c["y"] * v + c["x^2"] * u * u + c["xy"] * u * v + c["y^2"] * v * v
        )
        assert poly == pytest.approx(want, rel=1e-9, abs=1e-7)
    # on Himmelblau the model agrees with f to third order: error ~ h³
    hl = get_landscape("himmelblau")
    hp = hl.pack(None)
    mh = local_model(hl.lid, hp, x, y, scale_of(hl.lid, hp, hl.view))
    errs = [abs(mh.model(x + h, y - h) - hl.value_at(None, x + h, y - h)) for h in (1e-2, 5e-3)]
    assert errs[1] <= errs[0] / 4.0 + 1e-9
    lam = np.linalg.eigvalsh(mh.hessian)
    np.testing.assert_allclose(mh.eigenvalues, lam)


def test_local_model_at_critical_points() -> None:
    ls = get_landscape("himmelblau")
    p = ls.pack(None)
    sc = scale_of(ls.lid, p, ls.view)
    m = local_model(ls.lid, p, 3.0, 2.0, sc)
    assert m.critical and m.kind == "minimum" and m.f == 0.0
    assert m.newton_point == pytest.approx((3.0, 2.0), abs=1e-12)
    mk = get_landscape("monkey_saddle")
    z = local_model(mk.lid, mk.pack(None), 0.0, 0.0, scale_of(mk.lid, mk.pack(None), mk.view))
    assert z.critical and z.kind == "degenerate" and z.newton_step is None
    d = z.as_dict()
    assert d["kind"] == "degenerate" and d["newton_point"] is None


def test_every_landscape_scans() -> None:
    """The scan runs on every registered landscape and classifies what it finds."""
    for name, ls in LANDSCAPES.items():
        p = ls.pack(None)
        for c in critical_points(ls.lid, p, ls.view):
            assert c.kind in ("minimum", "maximum", "saddle", "degenerate"), name
            x0, x1, y0, y1 = ls.view
            assert x0 - 1e-6 <= c.point[0] <= x1 + 1e-6 and y0 - 1e-6 <= c.point[1] <= y1 + 1e-6
