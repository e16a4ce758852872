"""Plain-Python references for the optimizers torch.optim does not have, the kernel's
extras (Newton, random search, gradient noise) and the lecture notes' worked examples.

Each reference is written from the optimizer's ``equations`` text and the lecture
notes, one coordinate at a time in plain Python floats; the loss, gradient and Hessian
come from engine.landscapes (tested on their own in test_landscapes.py). Where the
reference performs the very operations the equations spell out in their natural order
the race must agree bit for bit (so chaotic landscapes need no tolerance); where the
lecture's form differs algebraically from the engine's (GD+mom vs torch's SGD buffer,
closed-form vs Jacobi eigenvectors) a tight tolerance on a stable problem is used.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.landscapes import LANDSCAPES, grad, hessian, landscape_fg, value
from engine.objective import LandscapeObjective
from engine.optimizers import K_STATE, OPTIMIZERS, S_STATE, opt_update
from engine.race import Race, RacerConfig
from engine.rng import rng_normal, splitmix64
from engine.schedules import SCHEDULES, lr_at

#: no bias-correction table: opt_update computes them with pow() (engine.optimizers)
NO_TABLE = np.full((3, 1), np.nan)

EPS = float(np.finfo(np.float64).eps)
NAMES = sorted(LANDSCAPES)
SETTINGS = settings(deadline=None, max_examples=40, database=None)


# ------------------------------------------------------------------ helpers
@cache
def _packed(name: str) -> np.ndarray:
    return LANDSCAPES[name].pack({})


def fg(name: str, x: list[float]) -> tuple[float, list[float]]:
    """Loss and gradient (the kernel's own evaluation, so divergence matches)."""
    g = np.empty(2)
    f = landscape_fg(LANDSCAPES[name].lid, _packed(name), np.array(x, dtype=np.float64), g)
    return float(f), [float(g[0]), float(g[1])]


def finite(f: float, g: list[float]) -> bool:
    """The race's criterion: loss and squared gradient norm finite."""
    return math.isfinite(f) and math.isfinite(g[0] * g[0] + g[1] * g[1])


def make(
    landscape: str,
    racers: list[RacerConfig],
    steps: int,
    seed: int = 0,
    noise: float = 0.0,
    params: dict[str, Any] | None = None,
) -> Race:
    obj = LandscapeObjective.create(landscape, params, grad_noise=noise)
    return Race(obj, racers, steps=steps, seed=seed)


def run(landscape: str, racers: list[RacerConfig], steps: int, **kw: Any) -> Race:
    race = make(landscape, racers, steps, **kw)
    with np.errstate(all="ignore"):
        race.advance(steps)
    return race


def reference(landscape: str, start: tuple[float, float], steps: int, update) -> list:
    """Rows x_0.. until ``steps`` updates or the first non-finite loss/gradient.

    ``update(t, x, g) -> new x`` is the optimizer under test (state in a closure).
    """
    x = [float(start[0]), float(start[1])]
    rows = []
    for t in range(steps + 1):
        f, g = fg(landscape, x)
        if not finite(f, g):
            break
        rows.append(list(x))
        if t == steps:
            break
        x = update(t, x, g)
    return rows


def start_in(name: str, u: float, v: float) -> tuple[float, float]:
    x0, x1, y0, y1 = LANDSCAPES[name].view
    return (x0 + u * (x1 - x0), y0 + v * (y1 - y0))


def assert_rows(race: Race, i: int, rows: list, what: str, rtol: float = 0.0) -> None:
    ours = race.trajectory(i).x
    assert ours.shape[0] == len(rows), f"{what}: {ours.shape[0]} rows, reference {len(rows)}"
    if not rows:
        return
    ref = np.array(rows)
    if rtol == 0.0:
        diff = np.nonzero(np.any(ours != ref, axis=1))[0]
        assert diff.size == 0, (
            f"{what}: step {diff[0]}: {ours[diff[0]].tolist()} != {ref[diff[0]].tolist()}"
        )
    else:
        err = np.max(np.abs(ours - ref) / np.maximum(1.0, np.abs(ref)), axis=1)
        assert err.max() <= rtol, f"{what}: step {int(err.argmax())} off by {err.max():.3g}"


landscapes = st.sampled_from(NAMES)
unit = st.floats(0, 1)
log_lr = st.floats(math.log(1e-6), math.log(1e2)).map(math.exp)


# ------------------------------------------------------------------ momentum (EMA form)
@SETTINGS
@given(landscapes, unit, unit, log_lr, st.floats(0, 1, exclude_max=True))
def test_momentum_ema(landscape: str, u: float, v: float, lr: float, beta: float) -> None:
    """v ← βv + (1 − β)∇f(x), x ← x − ηv (lecture notes 000/001/004)."""
    start = start_in(landscape, u, v)
    vel = [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        for i in range(2):
            vel[i] = beta * vel[i] + (1.0 - beta) * g[i]
        return [x[i] - lr * vel[i] for i in range(2)]

    cfg = RacerConfig("momentum", {"lr": lr, "momentum": beta}, start=start)
    race = run(landscape, [cfg], 60)
    assert_rows(race, 0, reference(landscape, start, 60, update), "momentum")


# ------------------------------------------------------------------ ε under the root
# The notes write AdaGrad, RMSProp and (004) Adam with ε under the square root,
# η·g/√(G + ε); torch adds it after the root. eps_in_sqrt = true is the notes' form.
eps_values = st.sampled_from([1e-8, 1e-6, 1e-3, 0.1, 1.0])


@SETTINGS
@given(landscapes, unit, unit, log_lr, eps_values)
def test_adagrad_eps_under_the_root(
    landscape: str, u: float, v: float, lr: float, eps: float
) -> None:
    """G ← G + g², x ← x − η·g/√(G + ε) (000 slide 29, 002, 004), bit for bit."""
    start = start_in(landscape, u, v)
    acc = [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        for i in range(2):
            acc[i] = acc[i] + g[i] * g[i]
        return [x[i] - lr * g[i] / math.sqrt(acc[i] + eps) for i in range(2)]

    cfg = RacerConfig("adagrad", {"lr": lr, "eps": eps, "eps_in_sqrt": True}, start=start)
    race = run(landscape, [cfg], 60)
    assert_rows(race, 0, reference(landscape, start, 60, update), "adagrad, ε under the root")


@SETTINGS
@given(landscapes, unit, unit, log_lr, st.floats(0.0, 0.999), eps_values)
def test_rmsprop_eps_under_the_root(
    landscape: str, u: float, v: float, lr: float, alpha: float, eps: float
) -> None:
    """E ← α·E + (1 − α)·g², x ← x − η·g/√(E + ε) (000 slide 33, 002, 004), bit for bit."""
    start = start_in(landscape, u, v)
    avg = [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        for i in range(2):
            avg[i] = alpha * avg[i] + (1.0 - alpha) * g[i] * g[i]
        return [x[i] - lr * g[i] / math.sqrt(avg[i] + eps) for i in range(2)]

    params = {"lr": lr, "alpha": alpha, "eps": eps, "eps_in_sqrt": True}
    race = run(landscape, [RacerConfig("rmsprop", params, start=start)], 60)
    assert_rows(race, 0, reference(landscape, start, 60, update), "rmsprop, ε under the root")


@pytest.mark.parametrize("correct", [True, False])
@pytest.mark.parametrize("eps", [1e-7, 1e-2, 1.0])
def test_adam_eps_under_the_root(correct: bool, eps: float) -> None:
    """004's Algorithm 6: v̂ = v/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ), θ ← θ − η·v̂/√(ŝ + ε); without
    bias correction v̂ = v, ŝ = s. Its moments are torch's lerp, the reference's the
    plain formula: equal to rounding on a stable problem."""
    lr, b1, b2, start, steps = 0.05, 0.9, 0.999, (-3.0, 2.5), 300
    m, s = [0.0, 0.0], [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        k = t + 1
        out = []
        for i in range(2):
            m[i] = b1 * m[i] + (1.0 - b1) * g[i]
            s[i] = b2 * s[i] + (1.0 - b2) * g[i] * g[i]
            mh = m[i] / (1.0 - b1**k) if correct else m[i]
            sh = s[i] / (1.0 - b2**k) if correct else s[i]
            out.append(x[i] - lr * mh / math.sqrt(sh + eps))
        return out

    params = {"lr": lr, "eps": eps, "bias_correction": correct, "eps_in_sqrt": True}
    race = run("booth", [RacerConfig("adam", params, start=start)], steps)
    assert_rows(race, 0, reference("booth", start, steps, update), "adam", rtol=1e-12)
    # and it is not torch's form (ε after the root), which the same race gives without it
    torch_form = run(
        "booth", [RacerConfig("adam", {**params, "eps_in_sqrt": False}, start=start)], 5
    )
    assert torch_form.trajectory(0).x[1].tolist() != race.trajectory(0).x[1].tolist()


def test_eps_under_the_root_changes_nothing_else() -> None:
    """The default (ε after the root) is torch's: the switch off packs the same update as
    before it existed, and it is refused for torch.optim."""
    for name in ("adagrad", "rmsprop", "adam"):
        opt = OPTIMIZERS[name]
        assert opt.resolve({})["eps_in_sqrt"] is False
        with pytest.raises(ValueError, match="eps_in_sqrt"):
            opt.torch_kwargs({"eps_in_sqrt": True})


# ------------------------------------------------------------------ NAG (look-ahead form)
@SETTINGS
@given(landscapes, unit, unit, log_lr, st.floats(0, 1, exclude_max=True))
def test_nag_lookahead(landscape: str, u: float, v: float, lr: float, rho: float) -> None:
    """v ← ρv − η∇f(x + ρv), x ← x + v (lecture 002, "Solution: NAG")."""
    start = start_in(landscape, u, v)
    vel = [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        ahead = [x[i] + rho * vel[i] for i in range(2)]
        _, ga = fg(landscape, ahead)
        for i in range(2):
            vel[i] = rho * vel[i] - lr * ga[i]
        return [x[i] + vel[i] for i in range(2)]

    cfg = RacerConfig("nag", {"lr": lr, "momentum": rho}, start=start)
    race = run(landscape, [cfg], 60)
    assert_rows(race, 0, reference(landscape, start, 60, update), "nag")


# ------------------------------------------------------------------ Lion
@SETTINGS
@given(
    landscapes,
    unit,
    unit,
    log_lr,
    st.floats(0, 1, exclude_max=True),
    st.floats(0, 1, exclude_max=True),
    st.sampled_from([0.0, 1e-3, 0.1, 2.0]),
)
def test_lion(
    landscape: str, u: float, v: float, lr: float, beta1: float, beta2: float, wd: float
) -> None:
    """Chen et al. 2023: c = β₁·m + (1 − β₁)·g, x ← x(1 − ηλ) − η·sign(c),
    m ← β₂·m + (1 − β₂)·g (m = 0 at the start)."""
    start = start_in(landscape, u, v)
    m = [0.0, 0.0]

    def sign(c: float) -> float:
        return c if c != c else (c > 0) - (c < 0)

    def update(t: int, x: list, g: list) -> list:
        out = []
        for i in range(2):
            c = beta1 * m[i] + (1.0 - beta1) * g[i]
            xi = x[i] * (1.0 - lr * wd) if wd != 0.0 else x[i]
            out.append(xi - lr * sign(c))
            m[i] = beta2 * m[i] + (1.0 - beta2) * g[i]
        return out

    params = {"lr": lr, "beta1": beta1, "beta2": beta2, "weight_decay": wd}
    race = run(landscape, [RacerConfig("lion", params, start=start)], 60)
    assert_rows(race, 0, reference(landscape, start, 60, update), "lion")


def test_lion_defaults_and_sign_steps() -> None:
    """The paper's defaults; without decay every coordinate moves by exactly ±η (or 0)."""
    assert OPTIMIZERS["lion"].resolve({}) == {
        "lr": 1e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0,
    }  # fmt: skip
    race = run("rosenbrock", [RacerConfig("lion", {"lr": 0.01})], 50)
    steps = np.abs(np.diff(race.trajectory(0).x, axis=0))
    assert np.all((np.abs(steps - 0.01) < 1e-12) | (steps == 0.0))


def test_nag_lecture_ravine_converges() -> None:
    """Lecture 002: NAG with ρ = .9 on x² + 50y² from (4, .5) for η up to .01."""
    start = LANDSCAPES["quadratic"].start
    assert start == (4.0, 0.5)
    assert value("quadratic", None, 1.0, 1.0) == 51.0  # = x² + 50y²
    for lr in (1e-4, 5e-4, 1e-3, 5e-3, 1e-2):
        race = run("quadratic", [RacerConfig("nag", {"lr": lr, "momentum": 0.9})], 200)
        loss = race.trajectory(0).loss
        assert race.diverged_step(0) is None
        assert loss[-1] < loss[0]


# ------------------------------------------------------------------ SGD = lecture GD+mom
@settings(deadline=None, max_examples=60, database=None)
@given(st.floats(0, 0.99), st.floats(0.05, 0.95))
def test_sgd_momentum_is_lecture_heavy_ball(rho: float, frac: float) -> None:
    """torch's SGD buffer b ← ρb + g, x ← x − ηb is lecture 5's v ← ρv − ηg, x ← x + v
    with v = −ηb. On the ravine x² + 50y² with a stable η (below 2(1 + ρ)/λ_max)."""
    lr = frac * 2.0 * (1.0 + rho) / 100.0
    start = (4.0, 0.5)
    vel = [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        for i in range(2):
            vel[i] = rho * vel[i] - lr * g[i]
        return [x[i] + vel[i] for i in range(2)]

    cfg = RacerConfig("sgd", {"lr": lr, "momentum": rho}, start=start)
    race = run("quadratic", [cfg], 95)
    assert_rows(race, 0, reference("quadratic", start, 95, update), "sgd", rtol=1e-11)


def test_lecture_gd_one_step() -> None:
    """Notes 004: E = 0.05 + (w₁−3)²/4 + (w₂−4)²/9 − (w₁−3)(w₂−4)/6, η = 0.3, (1.5, 2)."""
    race = run("quadratic_matrix", [RacerConfig("sgd", {"lr": 0.3}, start=(1.5, 2.0))], 1)
    x1 = race.trajectory(0).x[1]
    assert x1[0] == pytest.approx(1.625, rel=1e-15, abs=0)
    assert x1[1] == pytest.approx(2.0 + 0.3 * (4.0 / 9.0 - 0.25), rel=1e-15, abs=0)
    assert x1[1] == pytest.approx(2.058333333333333, rel=1e-15)


def test_lecture_momentum_example() -> None:
    """Notes 004, numerical example: w ← w − η∂E/∂w + βΔw from w_{t−1} = (1, 1),
    w_t = (1.5, 2.0), η = 0.3; the worked numbers use β = 0.9 (the text states 0.6 but
    computes with 0.9): (2.075, 2.958…). torch's SGD buffer after a step is b = −Δw/η."""
    opt = OPTIMIZERS["sgd"]
    lr, beta = 0.3, 0.9
    x = np.array([1.5, 2.0])
    dw = x - np.array([1.0, 1.0])
    st_ = np.zeros((K_STATE, 2))
    sc = np.zeros(S_STATE)
    st_[0] = -dw / lr
    sc[0] = 1.0  # the buffer exists (not the first step)
    g = grad("quadratic_matrix", None, 1.5, 2.0)
    opt_update(
        opt.oid, opt.pack({"lr": lr, "momentum": beta}), st_, sc, NO_TABLE, x, g.copy(), lr, 1
    )
    assert x[0] == pytest.approx(2.075, rel=1e-14)
    assert x[1] == pytest.approx(2.0 + 0.3 * (4.0 / 9.0 - 0.25) + 0.9, rel=1e-14)
    assert round(x[1], 3) == 2.958


# ------------------------------------------------------------------ Newton (saddle-free)
def newton_step(landscape: str, params: dict | None, x: list, lr: float, damping: float):
    """x − η·V·diag(1/max(|λᵢ|, δ))·Vᵀ·∇f with the closed-form 2×2 eigen-decomposition."""
    g = grad(landscape, params, x[0], x[1])
    h = hessian(landscape, params, x[0], x[1])
    a, b, c = float(h[0, 0]), float(h[0, 1]), float(h[1, 1])
    # [[a, b], [b, c]] = R(θ)·diag(m + r, m − r)·R(θ)ᵀ with θ = ½·atan2(2b, a − c)
    theta = 0.5 * math.atan2(2.0 * b, a - c)
    mean, rad = 0.5 * (a + c), math.hypot(0.5 * (a - c), b)
    lams = [mean + rad, mean - rad]
    vecs = [[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]]
    step = [0.0, 0.0]
    for lam, vec in zip(lams, vecs, strict=True):
        coef = (vec[0] * g[0] + vec[1] * g[1]) / max(abs(lam), damping)
        step[0] += coef * vec[0]
        step[1] += coef * vec[1]
    # how far rounding in the eigenvalues (ε·|H|) can move the step: ∂(1/λ)/∂λ = 1/λ²
    floor = max(min(abs(lam) for lam in lams), damping)
    sens = lr * math.hypot(g[0], g[1]) * EPS * max(abs(a), abs(b), abs(c)) / floor**2
    return [x[0] - lr * step[0], x[1] - lr * step[1]], step, sens


@settings(deadline=None, max_examples=80, database=None)
@given(
    st.floats(1e-2, 1e3),
    st.floats(1e-2, 1e3),
    st.floats(-360, 360),
    st.floats(-3, 3),
    st.floats(-1, 1),
    unit,
    unit,
)
def test_newton_one_step_to_quadratic_minimum(
    l1: float, l2: float, angle: float, cx: float, cy: float, u: float, v: float
) -> None:
    params = {"lambda1": l1, "lambda2": l2, "angle": angle, "cx": cx, "cy": cy}
    start = start_in("quadratic", u, v)
    race = run("quadratic", [RacerConfig("newton", {"lr": 1.0}, start=start)], 1, params=params)
    x1 = race.trajectory(0).x[1]
    kappa = max(l1, l2) / min(l1, l2)
    scale = 1.0 + abs(start[0] - cx) + abs(start[1] - cy)
    assert abs(x1[0] - cx) <= 16 * EPS * kappa * scale
    assert abs(x1[1] - cy) <= 16 * EPS * kappa * scale


def test_newton_one_step_lecture_quadratic() -> None:
    """The lecture's E(w₁, w₂) has its minimum at (3, 4): one full Newton step gets there."""
    for start in [(1.5, 2.0), (0.0, 8.0), (6.0, 0.0)]:
        race = run("quadratic_matrix", [RacerConfig("newton", start=start)], 1)
        assert race.trajectory(0).x[1].tolist() == pytest.approx([3.0, 4.0], abs=1e-14)


@given(st.floats(-2.5, 2.5), st.floats(-2.5, 2.5).filter(lambda y: abs(y) > 1e-3))
@settings(deadline=None, max_examples=40, database=None)
def test_newton_escapes_the_saddle(x0: float, y0: float) -> None:
    """f = x² − y²: plain Newton jumps onto the saddle (0, 0); the |λ| form goes to
    (0, 2y₀), away from it, and the loss drops."""
    race = run("saddle", [RacerConfig("newton", {"lr": 1.0}, start=(x0, y0))], 1)
    x1 = race.trajectory(0).x[1]
    assert x1[0] == pytest.approx(0.0, abs=1e-14 * (1 + abs(x0)))
    assert x1[1] == pytest.approx(2.0 * y0, rel=1e-14)
    assert abs(x1[1]) > abs(y0)
    assert race.trajectory(0).loss[1] < race.trajectory(0).loss[0]


@SETTINGS
@given(
    landscapes,
    unit,
    unit,
    st.floats(math.log(1e-3), math.log(10.0)).map(math.exp),
    st.floats(math.log(1e-6), math.log(1.0)).map(math.exp),
)
def test_newton_matches_closed_form(
    landscape: str, u: float, v: float, lr: float, damping: float
) -> None:
    """One step from anywhere: the kernel's Jacobi eigenvectors vs the 2×2 closed form."""
    start = start_in(landscape, u, v)
    cfg = RacerConfig("newton", {"lr": lr, "damping": damping}, start=start)
    race = run(landscape, [cfg], 1)
    expect, step, sens = newton_step(landscape, None, list(start), lr, damping)
    ours = race.trajectory(0).x
    assert ours.shape[0] == 2
    scale = max(1.0, abs(expect[0]), abs(expect[1]), lr * math.hypot(*step))
    tol = 1e-12 * scale + 64 * sens
    assert abs(ours[1][0] - expect[0]) <= tol
    assert abs(ours[1][1] - expect[1]) <= tol


def test_newton_damping_floors_small_eigenvalues() -> None:
    """λ₁ = 1e-6 < δ: along that axis the step is g/δ, not g/λ₁ (a 1000× smaller jump)."""
    params = {"lambda1": 1e-6, "lambda2": 4.0}
    race = run(
        "quadratic", [RacerConfig("newton", {"damping": 1e-3}, start=(2.0, 1.0))], 1, params=params
    )
    x1 = race.trajectory(0).x[1]
    assert x1[0] == pytest.approx(2.0 - 1e-6 * 2.0 / 1e-3, rel=1e-12)
    assert x1[1] == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------------------ random search
@settings(deadline=None, max_examples=40, database=None)
@given(
    landscapes,
    unit,
    unit,
    log_lr,
    st.floats(math.log(1e-6), math.log(1.0)).map(math.exp),
    st.integers(1, 8),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_random_search_reference(
    landscape: str,
    u: float,
    v: float,
    lr: float,
    delta: float,
    ndir: int,
    normalize: bool,
    seed: int,
) -> None:
    """Notes 000/001 "Method of finite difference", minimising: δWᵢ = δ·uᵢ,
    x ← x − (η/N)·Σ (f(x + δWᵢ) − f(x − δWᵢ))·δWᵢ (÷ 2δ² if normalised); the uᵢ are
    the kernel's own normal draws (RNG words 2–3 of the racer, replayed on a copy)."""
    start = start_in(landscape, u, v)
    params = {"lr": lr, "delta": delta, "directions": ndir, "normalize": normalize}
    steps = 25
    race = make(landscape, [RacerConfig("random_search", params, start=start)], steps, seed=seed)
    rng = race.rng[0].copy()  # state before any update
    with np.errstate(all="ignore"):
        race.advance(steps)

    def update(t: int, x: list, g: list) -> list:
        acc = [0.0, 0.0]
        for _ in range(ndir):
            dw = [delta * rng_normal(rng, 2) for _ in range(2)]
            gp = value(landscape, None, x[0] + dw[0], x[1] + dw[1])
            gm = value(landscape, None, x[0] - dw[0], x[1] - dw[1])
            for i in range(2):
                acc[i] += (gp - gm) * dw[i]
        scale = lr / ndir
        if normalize:
            scale = scale / (2.0 * delta * delta)
        return [x[i] - scale * acc[i] for i in range(2)]

    assert_rows(race, 0, reference(landscape, start, steps, update), "random_search")


def test_random_search_normalized_approximates_gd() -> None:
    """normalize=True: E[(f(x+δu) − f(x−δu))·δu / 2δ²] = ∇f for u ~ N(0, I) and small δ,
    so with many directions (64 per step, averaged over 40 seeds) the step is −η∇f."""
    start = (1.0, -0.5)
    lr = 1e-3
    params = {"lr": lr, "delta": 1e-5, "directions": 64, "normalize": True}
    steps = []
    for seed in range(40):
        race = run("booth", [RacerConfig("random_search", params, start=start)], 1, seed=seed)
        steps.append(race.trajectory(0).x[1] - np.array(start))
    mean = np.mean(steps, axis=0)
    gd = -lr * grad("booth", None, *start)
    # per direction the estimate u·uᵀ·g has covariance |g|²·I + g·gᵀ: σ ≈ |g|·√3/√2560
    assert np.linalg.norm(mean - gd) <= 0.15 * np.linalg.norm(gd)
    assert mean @ gd / (np.linalg.norm(mean) * np.linalg.norm(gd)) > 0.98
    # a single step with 64 directions already points downhill
    assert all(s @ gd > 0 for s in steps)


def test_random_search_ignores_gradient_noise() -> None:
    cfg = RacerConfig("random_search", {"lr": 0.01, "directions": 3}, start=(1.0, 1.0))
    a = run("himmelblau", [cfg], 30, seed=3)
    b = run("himmelblau", [cfg], 30, seed=3, noise=5.0)
    assert np.array_equal(a.trajectory(0).x, b.trajectory(0).x)


# ------------------------------------------------------------------ gradient noise
NOISY = [
    RacerConfig("sgd", {"lr": 0.01}),
    RacerConfig("momentum", {"lr": 0.02, "momentum": 0.8}),
    RacerConfig("nag", {"lr": 0.005, "momentum": 0.9}),
]


def noisy_references(landscape: str, start, steps: int, sigma: float, rng0: np.ndarray):
    """The three NOISY racers by hand, each fed the same noise sequence from ``rng0``."""
    refs = []
    for cfg in NOISY:
        rng = rng0.copy()
        p = cfg.params
        vel = [0.0, 0.0]

        def noisy(g: list, rng=rng) -> list:
            return [g[i] + sigma * rng_normal(rng, 0) for i in range(2)] if sigma > 0 else g

        if cfg.optimizer == "sgd":

            def update(t, x, g, p=p, noisy=noisy):
                g = noisy(g)
                return [x[i] + (-p["lr"]) * g[i] for i in range(2)]

        elif cfg.optimizer == "momentum":

            def update(t, x, g, p=p, noisy=noisy, vel=vel):
                g = noisy(g)
                for i in range(2):
                    vel[i] = p["momentum"] * vel[i] + (1.0 - p["momentum"]) * g[i]
                return [x[i] - p["lr"] * vel[i] for i in range(2)]

        else:

            def update(t, x, g, p=p, noisy=noisy, vel=vel):
                _, ga = fg(landscape, [x[i] + p["momentum"] * vel[i] for i in range(2)])
                ga = noisy(ga)
                for i in range(2):
                    vel[i] = p["momentum"] * vel[i] - p["lr"] * ga[i]
                return [x[i] + vel[i] for i in range(2)]

        refs.append(reference(landscape, start, steps, update))
    return refs


@settings(deadline=None, max_examples=25, database=None)
@given(landscapes, unit, unit, st.floats(0.01, 10.0), st.integers(0, 2**40))
def test_gradient_noise_same_for_every_racer(
    landscape: str, u: float, v: float, sigma: float, seed: int
) -> None:
    """With σ > 0 every racer adds σ·n_t to its gradient, n_t from the seed only: the
    same sequence for all racers (the hand-written runs replay one copy per racer)."""
    start = start_in(landscape, u, v)
    steps = 40
    racers = [RacerConfig(c.optimizer, dict(c.params), start=start) for c in NOISY]
    race = make(landscape, racers, steps, seed=seed, noise=sigma)
    rng0 = race.rng[0].copy()
    for i in range(len(NOISY)):
        assert race.rng[i].tolist() == rng0.tolist()
    w = splitmix64(seed * 2 + 1)
    assert rng0[:2].tolist() == w  # words 0-1 come from the seed alone
    with np.errstate(all="ignore"):
        race.advance(steps)
    for i, rows in enumerate(noisy_references(landscape, start, steps, sigma, rng0)):
        assert_rows(race, i, rows, NOISY[i].optimizer)
        # the recorded gradient norm is the noise-free one
        tr = race.trajectory(i)
        for t in range(0, tr.x.shape[0], 7):
            _, g = fg(landscape, list(tr.x[t]))
            assert tr.grad_norm[t] == math.sqrt(g[0] * g[0] + g[1] * g[1])


def test_gradient_noise_reproducible_and_seeded() -> None:
    racers = [RacerConfig(c.optimizer, dict(c.params), start=(0.5, 0.5)) for c in NOISY]
    a = run("himmelblau", racers, 50, seed=7, noise=1.0)
    b = run("himmelblau", racers, 50, seed=7, noise=1.0)
    c = run("himmelblau", racers, 50, seed=8, noise=1.0)
    for i in range(len(racers)):
        assert np.array_equal(a.trajectory(i).x, b.trajectory(i).x)
        assert not np.array_equal(a.trajectory(i).x, c.trajectory(i).x)


def test_zero_noise_is_the_noiseless_path() -> None:
    start = (-1.0, 2.5)
    racers = [RacerConfig(c.optimizer, dict(c.params), start=start) for c in NOISY]
    race = run("rosenbrock", racers, 60, seed=11, noise=0.0)
    for i, rows in enumerate(noisy_references("rosenbrock", start, 60, 0.0, race.rng[0])):
        assert_rows(race, i, rows, NOISY[i].optimizer)
    # noise switched off mid-race: from then on exactly the noiseless updates
    cfg = RacerConfig("sgd", {"lr": 0.1}, start=(1.0, 1.0))
    noisy = run("quadratic_matrix", [cfg], 10, seed=11, noise=1.0)
    noisy.set_noise(0.0)
    noisy.extend(40)
    noisy.advance(30)
    tr = noisy.trajectory(0)
    assert tr.x.shape[0] == 41
    cont = run("quadratic_matrix", [RacerConfig("sgd", {"lr": 0.1}, start=tuple(tr.x[10]))], 30)
    assert np.array_equal(cont.trajectory(0).x, tr.x[10:])  # SGD is stateless


# ------------------------------------------------------------------ Rprop with a schedule
@settings(deadline=None, max_examples=40, database=None)
@given(
    landscapes,
    unit,
    unit,
    st.floats(math.log(1e-4), math.log(1.0)).map(math.exp),
    st.sampled_from(sorted(SCHEDULES)),
    st.floats(0.1, 0.9),
    st.floats(1.05, 2.0),
)
def test_rprop_schedule_scales_steps(
    landscape: str, u: float, v: float, lr: float, sname: str, eta_minus: float, eta_plus: float
) -> None:
    """Rprop's lr is the initial step size Δ₀; a schedule multiplies the steps by η_t/η
    (torch's Rprop ignores later lr changes, so this is our documented extension)."""
    start = start_in(landscape, u, v)
    sparams = {"warmup": 3} if sname != "cyclic" else {"eta_min": lr / 10, "eta_max": lr}
    p = {"lr": lr, "eta_minus": eta_minus, "eta_plus": eta_plus, "step_min": 1e-6,
         "step_max": 50.0}  # fmt: skip
    size = [lr, lr]
    prev = [0.0, 0.0]

    def update(t: int, x: list, g: list) -> list:
        out = list(x)
        for i in range(2):
            s = g[i] * prev[i]
            factor = eta_plus if s > 0 else eta_minus if s < 0 else 1.0
            size[i] = min(max(size[i] * factor, p["step_min"]), p["step_max"])
            gi = 0.0 if s < 0 else g[i]
            sign = 1.0 if gi > 0 else -1.0 if gi < 0 else 0.0
            out[i] = x[i] - sign * (size[i] * (lr_at(sname, sparams, lr, t) / lr))
            prev[i] = gi
        return out

    race = run(landscape, [RacerConfig("rprop", p, sname, sparams, start=start)], 50)
    assert_rows(race, 0, reference(landscape, start, 50, update), f"rprop + {sname}")
