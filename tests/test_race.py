"""The Race API: chunking, divergence, live edits, bookkeeping, metrics and threads."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.landscapes import LANDSCAPES, grad, landscape_fg, value
from engine.objective import LandscapeObjective
from engine.optimizers import OPTIMIZERS
from engine.params import ParamError, ParamSpec
from engine.race import PER_RACER_ARRAYS, Race, RacerConfig, RaceTooLarge, Tolerance, race_nbytes

NAMES = sorted(LANDSCAPES)


def make(landscape: str, racers: list[RacerConfig], steps: int, **kw: Any) -> Race:
    noise = kw.pop("noise", 0.0)
    params = kw.pop("params", None)
    start = kw.pop("start", None)
    obj = LandscapeObjective.create(landscape, params, start=start, grad_noise=noise)
    return Race(obj, racers, steps=steps, **kw)


def state(race: Race) -> dict[str, np.ndarray]:
    """Everything the kernel reads or writes, copied."""
    names = ("X", "st", "sc", "t", "count", "status", "rng", "xs", "loss", "gnorm", "lrs")
    return {k: np.array(getattr(race, k), copy=True) for k in names}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=True), k


def all_racers() -> list[RacerConfig]:
    """Every optimizer (random search with several directions), some with schedules."""
    out = []
    for name, opt in OPTIMIZERS.items():
        lr = {"adadelta": 1.0, "newton": 0.5, "nag": 0.002, "rprop": 0.01}.get(name, 0.005)
        params: dict[str, Any] = {"lr": lr}
        if name == "random_search":
            params |= {"directions": 3, "normalize": True}
        if name == "sgd":
            params |= {"momentum": 0.9, "nesterov": True}
        out.append(RacerConfig(name, params, label=name))
        assert opt.name == name
    out.append(RacerConfig("adam", {"lr": 0.05}, "cosine", {"T": 30, "warmup": 5}, label="c"))
    out.append(RacerConfig("rprop", {}, "step", {"step_size": 7, "gamma": 0.5}, label="r"))
    return out


# ------------------------------------------------------------------ chunking
@pytest.mark.parametrize("landscape", ["rosenbrock", "himmelblau", "rastrigin", "gaussian_wells"])
@pytest.mark.parametrize("noise", [0.0, 0.7])
def test_chunking_invariance(landscape: str, noise: float) -> None:
    """advance(1) × N, advance(N) and ragged chunks leave bit-identical races."""
    n = 60
    races = [make(landscape, all_racers(), n, noise=noise, seed=5) for _ in range(3)]
    for _ in range(n):
        assert races[0].advance(1) <= 1
    assert races[1].advance(n) == n or races[1].done
    left, k = n, 0
    while left > 0:
        step = [1, 7, 2, 13, 5][k % 5]
        races[2].advance(min(step, left))
        left -= step
        k += 1
    a = state(races[0])
    assert_same(a, state(races[1]))
    assert_same(a, state(races[2]))
    # and beyond the end nothing moves
    races[1].advance(10)
    assert_same(a, state(races[1]))


# ------------------------------------------------------------------ divergence
def diverging_gd_step(lr: float, start: tuple[float, float]) -> int:
    """The race's criterion by hand on x² + 50y² (loss and |∇f|² finite)."""
    x, y = start
    for t in range(10_000):
        gx, gy = 2.0 * x, 100.0 * y
        f = x * x + 50.0 * y * y
        if not (math.isfinite(f) and math.isfinite(gx * gx + gy * gy)):
            return t
        x, y = x + (-lr) * gx, y + (-lr) * gy
    raise AssertionError("no divergence")


def test_divergence_is_contained() -> None:
    """GD with η = 1 on the lecture ravine (y ← −99y): stopped at step k by the overflow,
    rows stop at the last finite point, the other racers are untouched; it is marked
    diverged at step 2 already, where its loss first exceeds 10⁶ × its start."""
    k = diverging_gd_step(1.0, (4.0, 0.5))
    assert 50 < k < 200
    others = [RacerConfig("adam", {"lr": 0.05}), RacerConfig("nag", {"lr": 0.005})]
    race = make("quadratic", [others[0], RacerConfig("sgd", {"lr": 1.0}), others[1]], 300)
    with np.errstate(all="raise"):  # the engine itself never computes in numpy here
        race.advance(300)
    assert race.overflow_step(1) == k and race.diverged_step(1) == 2
    assert race.count[1] == k
    tr = race.trajectory(1)
    assert tr.x.shape == (k, 2)
    assert np.all(np.isfinite(tr.x)) and np.all(np.isfinite(tr.loss))
    assert np.all(np.isfinite(tr.grad_norm)) and np.all(np.isfinite(tr.lr))
    assert tr.loss[-1] == value("quadratic", None, *tr.x[-1])
    assert race.done
    alone = make("quadratic", others, 300)
    alone.advance(300)
    for j, i in ((0, 0), (1, 2)):
        assert race.diverged_step(i) is None and race.overflow_step(i) is None
        assert np.array_equal(race.trajectory(i).x, alone.trajectory(j).x)
        assert np.array_equal(race.trajectory(i).loss, alone.trajectory(j).loss)
    m = race.run_metrics(1)
    assert m.diverged_step == 2 and m.unbounded_step is None and m.steps == k - 1
    assert m.final_point == tuple(tr.x[-1])
    assert [i for i, _ in race.leaderboard()][-1] == 1  # diverged last
    race.advance(10)  # a diverged racer stays put
    assert race.count[1] == k


def _spec_value(spec: ParamSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        return st.integers(int(spec.lo), int(min(spec.hi, 8)))
    lo = spec.lo if math.isfinite(spec.lo) else -1e3
    hi = spec.hi if math.isfinite(spec.hi) else 1e6
    return st.floats(lo, hi, exclude_min=spec.lo_open, exclude_max=spec.hi_open)


@st.composite
def any_racer(draw: st.DrawFn) -> RacerConfig:
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    specs = OPTIMIZERS[name].params
    params = draw(st.fixed_dictionaries({s.name: _spec_value(s) for s in specs}))
    if name == "sgd" and params["nesterov"]:  # a rule across parameters (as torch)
        params |= {"momentum": max(params["momentum"], 0.5), "dampening": 0.0}
    if name == "random_search" and params["sign"] == 0:  # sign is -1 or +1
        params["sign"] = 1
    return RacerConfig(name, params)


weird = st.sampled_from([0.0, 1.0, -1e300, 1e300, 1e154, 5e-324, math.nan, math.inf, -math.inf])


@settings(deadline=None, max_examples=60, database=None)
@given(
    landscape=st.sampled_from(NAMES),
    racers=st.lists(any_racer(), min_size=1, max_size=4),
    start=st.tuples(st.one_of(st.floats(-10, 10), weird), st.one_of(st.floats(-10, 10), weird)),
    noise=st.sampled_from([0.0, 1.0, 1e300]),
)
def test_nan_and_inf_never_raise(
    landscape: str, racers: list[RacerConfig], start: tuple[float, float], noise: float
) -> None:
    """Any valid hyperparameters from any start (NaN, ±inf, 1e300 included): no exception
    and no warning (pytest turns warnings into errors); every recorded row is finite."""
    race = make(landscape, racers, 25, noise=noise, start=start)
    race.run(chunk=10)
    assert race.done
    for i in range(len(racers)):
        tr = race.trajectory(i)
        div = race.overflow_step(i)
        n = tr.x.shape[0]
        assert n == race.count[i] <= 26
        assert (div is None and n == 26) or div == n
        blown = (race.diverged_step(i), race.unbounded_step(i))
        assert div is None or blown.count(None) == 1, "an overflow is one or the other"
        assert None in blown
        for arr in (tr.x, tr.loss, tr.grad_norm):
            assert np.all(np.isfinite(arr))
    for _, m in race.leaderboard():
        m.as_dict()


def test_metrics_far_out_on_a_bounded_landscape() -> None:
    """Ackley is bounded, so a racer at (1e300, 1e300) is alive (finite loss and
    gradient); its distance to the minimum is 1.41e300, not an overflow warning."""
    race = make("ackley", [RacerConfig("sgd")], 5, start=(1e300, 1e300))
    race.advance(5)
    assert race.count[0] == 6
    m = race.metrics()[0]
    assert m.distance_to_minimum == pytest.approx(math.sqrt(2.0) * 1e300)


# ------------------------------------------------------------------ live edits
def test_set_params_takes_effect_at_the_next_step_only() -> None:
    obj = "quadratic_matrix"
    race = make(obj, [RacerConfig("sgd", {"lr": 0.1}), RacerConfig("momentum")], 40)
    race.advance(10)
    before = state(race)
    race.set_params(0, {"lr": 0.3})
    assert race.racers[0].params["lr"] == 0.3
    assert race.racers[0].params["momentum"] == 0.0  # the rest kept
    after = state(race)
    assert_same(before, after)  # nothing recomputed, nothing moved yet
    race.advance(5)
    tr = race.trajectory(0)
    assert np.array_equal(tr.x[:11], before["xs"][0, :11])
    assert list(tr.lr) == [0.1] * 10 + [0.3] * 6
    for t in range(10, 15):
        assert np.array_equal(tr.x[t + 1], tr.x[t] + (-0.3) * grad(obj, None, *tr.x[t]))
    with pytest.raises(ParamError):
        race.set_params(0, {"lr": -1.0})
    with pytest.raises(ParamError):
        race.set_params(0, {"warp": 1.0})
    assert race.racers[0].params["lr"] == 0.3


def test_set_params_keeps_optimizer_state() -> None:
    """Adam with η 0.5 → 0.25 after 10 steps via set_params is bit for bit Adam with a
    multistep schedule (milestone 10, γ = 0.5): same rates, state carried through."""
    a = make("booth", [RacerConfig("adam", {"lr": 0.5})], 30)
    a.advance(10)
    a.set_params(0, {"lr": 0.25})
    a.advance(20)
    b = make("booth", [RacerConfig("adam", {"lr": 0.5}, "multistep",
                                   {"milestones": [10.0], "gamma": 0.5})], 30)  # fmt: skip
    b.advance(30)
    assert np.array_equal(a.trajectory(0).x, b.trajectory(0).x)
    assert np.array_equal(a.trajectory(0).lr, b.trajectory(0).lr)


def test_set_params_restart() -> None:
    race = make("booth", [RacerConfig("adam", {"lr": 0.5})], 30)
    race.advance(10)
    race.set_params(0, {"lr": 0.1}, restart=True)
    assert race.count[0] == 1
    race.advance(30)
    fresh = make("booth", [RacerConfig("adam", {"lr": 0.1})], 30)
    fresh.advance(30)
    assert_same(state(race), state(fresh))


def test_reset_is_a_fresh_race() -> None:
    racers = all_racers()
    race = make("himmelblau", racers, 40, noise=0.5, seed=3)
    race.advance(40)
    race.reset()
    assert list(race.count) == [1] * len(racers)
    assert list(race.t) == [0] * len(racers)
    for i in range(len(racers)):
        assert race.trajectory(i).x.tolist() == [list(LANDSCAPES["himmelblau"].start)]
    race.advance(40)
    fresh = make("himmelblau", all_racers(), 40, noise=0.5, seed=3)
    fresh.advance(40)
    assert_same(state(race), state(fresh))


def test_set_start() -> None:
    racers = [RacerConfig("sgd", {"lr": 0.01}), RacerConfig("adam", {"lr": 0.05})]
    race = make("himmelblau", racers, 30)
    race.advance(30)
    race.set_start((-1.0, 2.0))
    assert race.objective.start == (-1.0, 2.0)
    for i in range(2):
        assert race.trajectory(i).x.tolist() == [[-1.0, 2.0]]
    race.advance(12)
    # one racer only: it restarts there, the other goes on
    race.set_start((3.5, -1.0), racer=1)
    assert race.trajectory(1).x.tolist() == [[3.5, -1.0]]
    assert race.count[0] == 13
    race.advance(30)
    fresh0 = make("himmelblau", [RacerConfig("sgd", {"lr": 0.01})], 30, start=(-1.0, 2.0))
    fresh1 = make("himmelblau", [RacerConfig("adam", {"lr": 0.05})], 30, start=(3.5, -1.0))
    fresh0.advance(30)
    fresh1.advance(30)
    assert np.array_equal(race.trajectory(0).x, fresh0.trajectory(0).x)
    assert np.array_equal(race.trajectory(1).x, fresh1.trajectory(0).x)
    with pytest.raises(ValueError):
        race.set_start((1.0, 2.0, 3.0))


def test_add_and_remove_racers_mid_race() -> None:
    base = [RacerConfig("sgd", {"lr": 0.0005}), RacerConfig("adam", {"lr": 0.05})]
    race = make("rosenbrock", base, 50, noise=0.2, seed=9)
    race.advance(20)
    keep = state(race)
    i = race.add_racer(RacerConfig("nag", {"lr": 0.0005}))
    assert i == 2 and race.count[2] == 1 and race.t[2] == 0
    for k in ("xs", "loss", "count", "t", "st", "rng"):
        assert np.array_equal(getattr(race, k)[:2], keep[k], equal_nan=True), k
    race.advance(30)
    assert list(race.count) == [51, 51, 31]
    alone = make("rosenbrock", [RacerConfig("nag", {"lr": 0.0005})], 50, noise=0.2, seed=9)
    alone.advance(30)
    assert np.array_equal(race.trajectory(2).x, alone.trajectory(0).x)
    # remove the first: the others shift down, their rows intact
    before = [race.trajectory(j).x.copy() for j in (1, 2)]
    race.remove_racer(0)
    assert [c.optimizer for c in race.racers] == ["adam", "nag"]
    assert np.array_equal(race.trajectory(0).x, before[0])
    assert np.array_equal(race.trajectory(1).x, before[1])
    race.advance(20)
    assert list(race.count) == [51, 51]
    ref = make("rosenbrock", [RacerConfig("adam", {"lr": 0.05})], 50, noise=0.2, seed=9)
    ref.advance(50)
    assert np.array_equal(race.trajectory(0).x, ref.trajectory(0).x)


def test_disabled_racer_waits() -> None:
    race = make("booth", [RacerConfig("sgd"), RacerConfig("sgd", enabled=False)], 20)
    race.advance(20)
    assert list(race.count) == [21, 1]
    assert race.done  # the disabled one does not hold the race
    race.set_enabled(1, True)
    assert not race.done
    race.run()
    assert np.array_equal(race.trajectory(0).x, race.trajectory(1).x)


def test_extend() -> None:
    racers = all_racers()
    race = make("six_hump_camel", racers, 20, noise=0.3, seed=2)
    race.run()
    assert race.done and set(race.count.tolist()) <= {21}
    view = race.trajectory(0)
    race.extend(55)
    assert not race.done
    assert view.x.shape[0] == 21  # old views stay valid
    race.run(chunk=8)
    full = make("six_hump_camel", all_racers(), 55, noise=0.3, seed=2)
    full.run()
    assert_same(state(race), state(full))
    race.extend(30)  # shrinking the goal keeps the rows
    assert race.count[0] == 56


def test_run_stop_and_progress() -> None:
    race = make("rosenbrock", [RacerConfig("adam", {"lr": 0.01})], 1000)
    seen: list[tuple[int, int]] = []
    race.run(chunk=100, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (1000, 1000) and len(seen) == 10
    stop = threading.Event()
    stop.set()
    fresh = make("rosenbrock", [RacerConfig("adam", {"lr": 0.01})], 1000)
    fresh.run(stop=stop)
    assert fresh.count[0] == 1


# ------------------------------------------------------------------ metrics
def test_metrics_steps_to_tol_and_best() -> None:
    race = make("quadratic", [RacerConfig("sgd", {"lr": 0.009}), RacerConfig("sgd",
                {"lr": 0.0001})], 400, tolerance=Tolerance(loss=1e-4))  # fmt: skip
    race.advance(400)
    fast, slow = race.metrics()
    tr = race.trajectory(0)
    losses = [value("quadratic", None, *x) for x in tr.x]
    assert losses == tr.loss.tolist()
    first = next(t for t, f in enumerate(losses) if abs(f - 0.0) <= 1e-4)
    assert fast.steps_to_tol == first and fast.tol_kind == "loss"
    assert slow.steps_to_tol is None
    assert fast.best_loss == min(losses) and fast.best_step == losses.index(min(losses))
    assert fast.final_loss == losses[-1] and fast.steps == 400
    g = grad("quadratic", None, *tr.x[-1])
    assert fast.final_grad_norm == math.sqrt(g[0] * g[0] + g[1] * g[1])
    assert fast.final_point == tuple(tr.x[-1])
    assert fast.nearest_minimum == 0 and fast.distance_to_minimum == pytest.approx(
        math.hypot(*tr.x[-1])
    )
    assert [i for i, _ in race.leaderboard()] == [0, 1]


def test_metrics_grad_tolerance_without_f_star() -> None:
    race = make("monkey_saddle", [RacerConfig("adam", {"lr": 0.05})], 100,
                tolerance=Tolerance(grad=1e-2))  # fmt: skip
    race.advance(100)
    m = race.metrics()[0]
    assert race.objective.f_star() is None and m.tol_kind == "grad"
    gn = race.trajectory(0).grad_norm
    hits = [t for t, v in enumerate(gn) if v <= 1e-2]
    assert m.first_within_tol == (hits[0] if hits else None)
    assert m.nearest_minimum is None and m.distance_to_minimum is None


def full_scan(race: Race, i: int) -> tuple[float, int, int | None, int | None, int | None]:
    """Best loss, its first step, the settled and the first step within tolerance and
    the first step meeting the divergence rule, from all rows."""
    tr = race.trajectory(i)
    fstar = race.objective.f_star()
    tol = race.tolerance
    if fstar is not None:
        within = np.abs(tr.loss - fstar) <= tol.loss
        limit = tol.divergence * max(abs(tr.loss[0] - fstar), tol.loss, 1e-12)
        blown = tr.loss - fstar > limit
    else:
        within = tr.grad_norm <= tol.grad
        limit = tol.divergence * max(abs(tr.loss[0]), 1.0)
        blown = np.abs(tr.loss - tr.loss[0]) > limit
    hit, out, rule = np.flatnonzero(within), np.flatnonzero(~within), np.flatnonzero(blown)
    settled = (int(out[-1]) + 1 if out.size else 0) if within[-1] else None
    best = int(np.argmin(tr.loss))
    first = int(hit[0]) if hit.size else None
    return float(tr.loss[best]), best, settled, first, int(rule[0]) if rule.size else None


def scanned(race: Race, i: int) -> tuple[float, int, int | None, int | None, int | None]:
    """What the race's incremental scan says of ``full_scan``'s figures."""
    m = race.run_metrics(i)
    blown = [k for k in (m.diverged_step, m.unbounded_step) if k is not None]
    rule = blown[0] if blown and blown[0] < race.count[i] else None  # (not an overflow)
    return m.best_loss, m.best_step, m.steps_to_tol, m.first_within_tol, rule


@pytest.mark.parametrize("landscape", ["rosenbrock", "monkey_saddle", "rastrigin"])
def test_metrics_scan_new_rows_only_and_equal_a_full_scan(landscape: str) -> None:
    """The leaderboard scans only the rows recorded since its last call; the figures
    equal a scan of all rows after every chunk, a tolerance change, a reset, a restart
    with new hyperparameters and a divergence."""
    cfgs = [RacerConfig("sgd", {"lr": 1e-3}), RacerConfig("adam", {"lr": 0.05}),
            RacerConfig("momentum", {"lr": 0.5}), RacerConfig("rprop")]  # fmt: skip
    race = make(landscape, cfgs, 3000, tolerance=Tolerance(loss=1e-2, grad=1e-1))

    def check() -> None:
        for i in range(len(race.racers)):
            assert scanned(race, i) == full_scan(race, i), i

    for n in (0, 1, 7, 200, 1000, 2000):
        race.advance(n)
        check()
    race.tolerance = Tolerance(loss=1e-6, grad=1e-4, divergence=10.0)  # scanned again
    check()
    race.set_params(1, {"lr": 0.001}, restart=True)
    check()
    race.advance(500)
    check()
    race.reset()
    check()
    race.advance(3000)
    check()
    assert race._scan(0)[0].n == race.count[0]


def test_metrics_scan_ties_keep_the_first_best() -> None:
    """A run that sits at its minimum repeats the same loss: best_step is the first."""
    race = make("booth", [RacerConfig("newton", {"lr": 1.0})], 50)
    race.advance(10)
    race.metrics()
    race.advance(40)
    m = race.metrics()[0]
    tr = race.trajectory(0)
    assert tr.loss[m.best_step + 1] == tr.loss[m.best_step], "the run repeats its best"
    assert scanned(race, 0) == full_scan(race, 0)


@pytest.mark.parametrize("k", range(4))
def test_metrics_nearest_minimum(k: int) -> None:
    """Himmelblau's four minima: GD started next to minimum k ends nearest to it."""
    minima = LANDSCAPES["himmelblau"].minima()
    mx, my = minima[k]
    race = make("himmelblau", [RacerConfig("sgd", {"lr": 0.005})], 300, start=(mx + 0.3, my - 0.2))
    race.advance(300)
    m = race.metrics()[0]
    assert m.nearest_minimum == k
    assert m.distance_to_minimum < 1e-6
    assert m.steps_to_tol is not None


def test_metrics_of_an_empty_run() -> None:
    race = make("booth", [RacerConfig("sgd")], 10, start=(math.nan, 0.0))
    race.run()
    assert race.count[0] == 0 and race.diverged_step(0) == 0
    m = race.metrics()[0]
    assert m.steps == 0 and math.isnan(m.final_loss) and m.diverged_step == 0
    m.as_dict()


# ------------------------------------------------------------------ threads
STEPS_THREADED = 100_000


def test_reader_thread_while_running() -> None:
    """race.run() in one thread, trajectory()/metrics() in another: no exceptions, counts
    never go back, every row read is complete (its loss is f at its point)."""
    racers = all_racers()
    race = make("rastrigin", racers, STEPS_THREADED, noise=0.1)
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            race.run(chunk=97)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=runner)
    th.start()
    last = [0] * len(racers)
    reads = 0
    lid, packed, g = LANDSCAPES["rastrigin"].lid, race.objective.packed, np.empty(2)
    while th.is_alive() or reads == 0:
        for i in range(len(racers)):
            tr = race.trajectory(i)
            n = tr.x.shape[0]
            assert n >= last[i]
            assert tr.loss.shape[0] == tr.grad_norm.shape[0] == tr.lr.shape[0] == n
            last[i] = n
            if n:
                f = landscape_fg(lid, packed, tr.x[-1].copy(), g)
                assert tr.loss[-1] == f and np.isfinite(tr.x[-1]).all()
        if reads % 25 == 0:
            race.metrics()
        reads += 1
    th.join()
    assert not errors, errors
    assert race.done and reads > 10, reads
    assert all(
        c == STEPS_THREADED + 1 or race.overflow_step(i) is not None
        for i, c in enumerate(race.count)
    )


# ------------------------------------------------------------------ buffers: one allocation
def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count calls of Race.<name> (a list that grows by one per call)."""
    calls: list[int] = []
    real = getattr(Race, name)

    def counted(self: Race, *a: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(self, *a, **kw)

    monkeypatch.setattr(Race, name, counted)
    return calls


def sweep(n: int) -> list[RacerConfig]:
    return [RacerConfig("sgd", {"lr": 0.002 * 0.99**k}, label=f"{k}") for k in range(n)]


@pytest.mark.parametrize("n", [1, 40, 300])
def test_a_race_of_n_racers_allocates_once_and_steps_row_zero_once(
    monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    """Building is linear: one set of buffers for all racers and one kernel call to
    record their starts, however many racers (adding them one by one was quadratic)."""
    allocs = count_calls(monkeypatch, "_realloc")
    kernel = count_calls(monkeypatch, "_run_kernel")
    race = make("quadratic", sweep(n), 30)
    assert (len(allocs), len(kernel)) == (1, 1)
    assert race.count.shape[0] == race.xs.shape[0] == len(race.racers) == n
    assert list(race.count) == [1] * n


def test_add_racer_doubles_the_slots_and_keeps_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    race = make("rosenbrock", [RacerConfig("adam", {"lr": 0.05})], 40, noise=0.3, seed=4)
    race.advance(10)
    allocs = count_calls(monkeypatch, "_realloc")
    added = sweep(20)
    for k, cfg in enumerate(added):
        before = state(race)
        i = race.add_racer(cfg)
        assert i == k + 1 and race.count[i] == 1 and race.t[i] == 0
        for name, a in before.items():  # the racers there were keep their rows, bit for bit
            assert np.array_equal(getattr(race, name)[:i], a, equal_nan=True), (k, name)
        # every per-racer array shows exactly the racers there are
        assert all(getattr(race, a).shape[0] == i + 1 for a in PER_RACER_ARRAYS)
        race.advance(1)
    assert len(allocs) == 5  # slots 1 -> 2 -> 4 -> 8 -> 16 -> 32 for 21 racers
    # removing makes one new set of buffers (readers keep the old); adding fills a free slot
    race.remove_racer(3)
    n = len(race.racers)
    i = race.add_racer(RacerConfig("nag", {"lr": 0.0005}))
    assert i == n and race.count[i] == 1 and len(allocs) == 6
    assert np.isnan(race.loss[i, 1:]).all() and not race.xs[i, 1:].any()
    race.run()
    for k, cfg in enumerate(added):  # each ran as it would alone
        alone = make("rosenbrock", [cfg], 40, noise=0.3, seed=4)
        alone.run()
        j = k + 1 if k + 1 < 3 else k  # racer 3 was removed
        if k + 1 != 3:
            assert np.array_equal(race.trajectory(j).x, alone.trajectory(0).x), k


def test_an_empty_race_grows_from_nothing() -> None:
    race = make("booth", [], 10)
    assert race.count.shape == (0,) and race.xs.shape == (0, 11, 2) and race.done
    race.add_racer(RacerConfig("sgd"))
    race.run()
    assert list(race.count) == [11]


def test_a_headless_race_takes_more_racers_than_the_window() -> None:
    """No cap on racers in the Race (the window shows 64): 300 racers, each as alone."""
    cfgs = sweep(300)
    race = make("quadratic", cfgs, 50, start=(4.0, 0.5))
    race.run()
    assert list(race.count) == [51] * 300
    assert len(race.leaderboard()) == 300
    for k in (0, 150, 299):
        alone = make("quadratic", [cfgs[k]], 50, start=(4.0, 0.5))
        alone.run()
        assert np.array_equal(race.trajectory(k).x, alone.trajectory(0).x), k


@pytest.mark.parametrize(("landscape", "perceptron"), [("booth", False), ("", True)])
def test_race_nbytes_is_what_the_buffers_take(landscape: str, perceptron: bool) -> None:
    if perceptron:
        from engine.data import generate
        from engine.objective import PerceptronObjective

        rows = generate("blobs", {"n": 300, "seed": 1})
        obj: Any = PerceptronObjective.from_rows(rows, batch_size=16, epochs=2, seed=1)
    else:
        obj = LandscapeObjective.create(landscape)
    race = Race(obj, sweep(7), steps=123)
    held = [getattr(race, a) for a in PER_RACER_ARRAYS] + [
        race.perm_slots,
        race.perm_epoch,
        race.bts,
    ]
    rows = obj.data.shape[0]
    assert race_nbytes(7, 123, obj.dim, rows) == sum(a.nbytes for a in held)


def test_a_race_too_large_is_refused_with_the_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    obj = LandscapeObjective.create("booth")
    with pytest.raises(RaceTooLarge, match=r"needs [\d,.]+ [MGT]B of memory; .* available"):
        Race(obj, [RacerConfig("sgd")], steps=10**13)
    import engine.buffers as buffers_mod

    monkeypatch.setattr(buffers_mod, "available_memory", lambda: 2_000_000)
    need = race_nbytes(100, 1000, 2)
    assert need > 2_000_000
    with pytest.raises(RaceTooLarge) as e:
        Race(obj, sweep(100), steps=1000)
    assert f"{need / 1e6:,.1f} MB" in str(e.value) and "2.0 MB is available" in str(e.value)
    assert "100 racers x 1,000 steps x 2 parameters" in str(e.value)
    assert isinstance(e.value, ValueError)
    race = Race(obj, sweep(2), steps=1000)  # fits
    with pytest.raises(RaceTooLarge):
        race.extend(100_000)
    assert race.cap == 1001 and race.steps == 1000  # unchanged
    for cfg in sweep(40):  # growing: refused once the doubled slots would not fit
        try:
            race.add_racer(cfg)
        except RaceTooLarge:
            break
    else:
        pytest.fail("add_racer never refused")
    n = len(race.racers)
    assert race.count.shape[0] == n and list(race.count) == [1] * n
