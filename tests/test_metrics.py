"""Run metrics that mean what their names say: settled against first within tolerance,
divergence before overflow, unbounded below, and the same figures in summary.json, the
CSV, the command line's leaderboard and the scenario file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.objective import LandscapeObjective
from engine.race import Race, RacerConfig, Tolerance
from engine.scenario import ScenarioError, dumps_scenario, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
RAVINE_START = (4.0, 0.5)
TOL = 1e-6


# ------------------------------------------------------------------ plain-Python references
def ravine(x: float, y: float) -> float:
    """The lectures' ravine x1² + 50·x2² (landscape quadratic, λ1 = 2, λ2 = 100)."""
    return x * x + 50.0 * y * y


def ravine_grad(x: float, y: float) -> tuple[float, float]:
    return 2.0 * x, 100.0 * y


def heavy_ball_losses(lr: float, rho: float, steps: int) -> list[float]:
    """torch.optim.SGD with momentum ρ: b ← g at the first step, else b ← ρ·b + g;
    x ← x − η·b."""
    x, y = RAVINE_START
    bx = by = 0.0
    out = [ravine(x, y)]
    for t in range(steps):
        gx, gy = ravine_grad(x, y)
        bx, by = (gx, gy) if t == 0 else (rho * bx + gx, rho * by + gy)
        x, y = x - lr * bx, y - lr * by
        out.append(ravine(x, y))
    return out


def nag_losses(lr: float, rho: float, steps: int) -> list[float]:
    """The lectures' NAG: v ← ρ·v − η·∇f(x + ρ·v), x ← x + v."""
    x, y = RAVINE_START
    vx = vy = 0.0
    out = [ravine(x, y)]
    for _ in range(steps):
        gx, gy = ravine_grad(x + rho * vx, y + rho * vy)
        vx, vy = rho * vx - lr * gx, rho * vy - lr * gy
        x, y = x + vx, y + vy
        out.append(ravine(x, y))
    return out


def gd_losses(lr: float, steps: int) -> list[float]:
    x, y = RAVINE_START
    out = [ravine(x, y)]
    for _ in range(steps):
        gx, gy = ravine_grad(x, y)
        x, y = x - lr * gx, y - lr * gy
        out.append(ravine(x, y))
    return out


def first_and_settled(gaps: list[float], tol: float) -> tuple[int | None, int | None]:
    """The first step with gap <= tol, and the first from which every later one is."""
    first = next((t for t, g in enumerate(gaps) if g <= tol), None)
    settled = None
    for t in range(len(gaps) - 1, -1, -1):
        if not gaps[t] <= tol:
            break
        settled = t
    return first, settled


def make(landscape: str, racers: list[RacerConfig], steps: int, **kw: object) -> Race:
    start = kw.pop("start", None)
    obj = LandscapeObjective.create(landscape, start=start)  # type: ignore[arg-type]
    return Race(obj, racers, steps=steps, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ settled vs first
OVERSHOOTERS = [
    # label, config, plain-Python losses, (first, settled) measured on the ravine
    ("heavy ball ρ = 0.9, η = 0.005", RacerConfig("sgd", {"lr": 0.005, "momentum": 0.9}),
     lambda n: heavy_ball_losses(0.005, 0.9, n), (95, 158)),
    ("heavy ball ρ = 0.9, η = 0.02", RacerConfig("sgd", {"lr": 0.02, "momentum": 0.9}),
     lambda n: heavy_ball_losses(0.02, 0.9, n), (134, 163)),
    ("NAG ρ = 0.9, η = 0.01", RacerConfig("nag", {"lr": 0.01, "momentum": 0.9}),
     lambda n: nag_losses(0.01, 0.9, n), (86, 128)),
]  # fmt: skip


@pytest.mark.parametrize(("cfg", "ref", "expect"), [o[1:] for o in OVERSHOOTERS],
                         ids=[o[0] for o in OVERSHOOTERS])  # fmt: skip
def test_overshooting_runs_settle_after_their_first_crossing(cfg, ref, expect) -> None:
    """Momentum and NAG cross the tolerance, leave it and come back: steps_to_tol is
    where they stay, first_within_tol where they first arrive (the plain-Python update
    rules give both; the engine must agree)."""
    steps = 1000
    race = make("quadratic", [cfg], steps)
    race.run()
    m = race.run_metrics(0)
    assert first_and_settled(ref(steps), TOL) == expect
    assert (m.first_within_tol, m.steps_to_tol) == expect
    assert m.tol_kind == "loss" and m.diverged_step is None and m.unbounded_step is None


def test_a_run_that_ends_outside_tolerance_has_not_settled() -> None:
    """NAG at step 95 is back at loss 1e-4 after touching 1e-6 at step 86."""
    race = make("quadratic", [RacerConfig("nag", {"lr": 0.01, "momentum": 0.9})], 95)
    race.run()
    m = race.run_metrics(0)
    assert m.first_within_tol == 86 and m.steps_to_tol is None
    assert nag_losses(0.01, 0.9, 95)[-1] == pytest.approx(m.final_loss, rel=1e-9)
    assert m.final_loss > 1e-4


def test_a_run_started_within_tolerance_settles_at_zero() -> None:
    race = make("quadratic", [RacerConfig("sgd", {"lr": 0.001})], 20, start=(0.0, 0.0))
    race.run()
    m = race.run_metrics(0)
    assert (m.first_within_tol, m.steps_to_tol) == (0, 0)


def test_leaderboard_ranks_by_the_settled_step() -> None:
    """Heavy ball (η = 0.005) first touches 1e-6 at step 95, NAG (η = 0.005) at 98, but
    NAG stays from step 131 and heavy ball only from 158: NAG ranks first. Then the
    unsettled by final loss, the diverged last."""
    cfgs = [
        RacerConfig("sgd", {"lr": 0.021}, label="GD 0.021"),
        RacerConfig("sgd", {"lr": 0.001}, label="GD 0.001"),
        RacerConfig("sgd", {"lr": 0.005, "momentum": 0.9}, label="heavy ball"),
        RacerConfig("sgd", {"lr": 0.01}, label="GD 0.01"),
        RacerConfig("nag", {"lr": 0.005, "momentum": 0.9}, label="NAG"),
    ]
    race = make("quadratic", cfgs, 300)
    race.run()
    ms = {m.label: m for m in race.metrics()}
    assert (ms["heavy ball"].first_within_tol, ms["heavy ball"].steps_to_tol) == (95, 158)
    assert (ms["NAG"].first_within_tol, ms["NAG"].steps_to_tol) == (98, 131)
    assert ms["GD 0.01"].final_loss < ms["GD 0.001"].final_loss
    order = [m.label for _, m in race.leaderboard()]
    assert order == ["NAG", "heavy ball", "GD 0.01", "GD 0.001", "GD 0.021"]


# ------------------------------------------------------------------ divergence
def test_gd_above_two_over_lambda_max_diverges_long_before_it_overflows() -> None:
    """GD with η = 0.021 on the ravine grows ×1.1 per step: diverged where its loss first
    exceeds 10⁶ × its start (the plain-Python loss says where), not at the overflow."""
    race = make("quadratic", [RacerConfig("sgd", {"lr": 0.021})], 300)
    race.run()
    losses = gd_losses(0.021, 300)
    k = next(t for t, f in enumerate(losses) if f - 0.0 > 1e6 * max(losses[0], TOL))
    assert race.diverged_step(0) == k == 77
    assert race.overflow_step(0) is None and race.count[0] == 301  # the kernel goes on
    m = race.run_metrics(0)
    assert m.diverged_step == 77 and m.unbounded_step is None
    assert race.unbounded_step(0) is None


def test_gd_below_two_over_lambda_max_never_diverges() -> None:
    cfgs = [RacerConfig("sgd", {"lr": lr}) for lr in (0.019, 0.02)]
    race = make("quadratic", cfgs, 2000)
    race.run()
    for i in range(2):
        assert race.diverged_step(i) is None and race.unbounded_step(i) is None


def test_the_factor_decides_and_the_start_gap_is_floored() -> None:
    """divergence = 10 flags GD η = 0.021 at the first loss above 10 × 28.5; a run
    started at the minimum is measured against tolerance.loss, not against 0."""
    race = make("quadratic", [RacerConfig("sgd", {"lr": 0.021})], 300,
                tolerance=Tolerance(divergence=10.0))  # fmt: skip
    race.run()
    losses = gd_losses(0.021, 300)
    assert race.diverged_step(0) == next(t for t, f in enumerate(losses) if f > 285.0)
    still = make("quadratic", [RacerConfig("sgd", {"lr": 0.01})], 50, start=(0.0, 0.0),
                 tolerance=Tolerance(loss=1e-6, divergence=10.0))  # fmt: skip
    still.run()
    assert still.diverged_step(0) is None
    # from (0, 1e-5) (gap 5e-9, below the tolerance) GD η = 0.021 must pass 10 × 1e-6
    tiny = make("quadratic", [RacerConfig("sgd", {"lr": 0.021})], 200, start=(0.0, 1e-5),
                tolerance=Tolerance(loss=1e-6, divergence=10.0))  # fmt: skip
    tiny.run()
    loss = tiny.trajectory(0).loss
    k = tiny.diverged_step(0)
    assert k is not None and loss[k] > 1e-5 >= loss[k - 1]


def test_overflow_is_divergence_where_f_star_is_known() -> None:
    """With a factor too large for the rule, the kernel's overflow is what marks it."""
    race = make("quadratic", [RacerConfig("sgd", {"lr": 1.0})], 300,
                tolerance=Tolerance(divergence=1e308))  # fmt: skip
    race.run()
    k = race.overflow_step(0)
    assert k is not None and race.diverged_step(0) == k and race.unbounded_step(0) is None


# ------------------------------------------------------------------ unbounded below
@pytest.mark.parametrize(
    ("landscape", "cfg", "start"),
    [
        ("saddle", RacerConfig("sgd", {"lr": 0.05, "momentum": 0.9}), (2.5, 0.001)),
        ("saddle", RacerConfig("newton", {"lr": 1.0}), (2.5, 0.001)),
        ("monkey_saddle", RacerConfig("sgd", {"lr": 0.05}), (1.5, 0.3)),
        ("monkey_saddle", RacerConfig("adam", {"lr": 0.5}), (1.5, 0.3)),
    ],
    ids=["saddle-momentum", "saddle-newton", "monkey-gd", "monkey-adam"],
)
def test_escaping_downhill_is_unbounded_below_not_divergence(landscape, cfg, start) -> None:
    race = make(landscape, [cfg], 400, start=start)
    race.run()
    assert race.objective.f_star() is None
    k = race.unbounded_step(0)
    assert k is not None and race.diverged_step(0) is None
    m = race.run_metrics(0)
    assert (m.unbounded_step, m.diverged_step) == (k, None)
    loss = race.trajectory(0).loss
    if k < race.count[0]:  # by the rule: the first fall beyond 10⁶ × max(|f(x0)|, 1)
        limit = 1e6 * max(abs(loss[0]), 1.0)
        assert loss[0] - loss[k] > limit >= max(loss[0] - loss[:k])
    else:  # stopped by the overflow while falling
        assert k == race.overflow_step(0) and loss[-1] < loss[0]


def test_unbounded_runs_rank_last_whatever_their_loss() -> None:
    cfgs = [RacerConfig("newton", {"lr": 1.0}, label="newton"),
            RacerConfig("sgd", {"lr": 0.05}, label="gd")]  # fmt: skip
    race = make("saddle", cfgs, 150, start=(2.5, 0.001))
    race.run()
    newton, gd = race.metrics()
    assert newton.unbounded_step is not None and gd.unbounded_step is None
    assert newton.final_loss < gd.final_loss
    assert [m.label for _, m in race.leaderboard()] == ["gd", "newton"]


def test_overflow_while_falling_is_unbounded_below() -> None:
    """Newton on the saddle doubles y each step until f = x² − y² overflows to −inf; with
    the rule out of reach, the overflow decides: the last finite loss fell."""
    race = make("saddle", [RacerConfig("newton", {"lr": 1.0})], 2000, start=(2.5, 0.001),
                tolerance=Tolerance(divergence=1e308))  # fmt: skip
    race.run()
    k = race.overflow_step(0)
    assert k is not None and race.unbounded_step(0) == k and race.diverged_step(0) is None


def test_rising_on_an_unbounded_landscape_is_divergence() -> None:
    """f* unknown and the loss RISES beyond 10⁶ × max(|f(x0)|, 1): diverged."""
    race = make("saddle", [RacerConfig("sgd", {"lr": 1.5})], 100, start=(1.0, 0.0))
    race.run()  # x ← (1 − 2η)·x = −2x: f = x² grows ×4 per step
    loss = race.trajectory(0).loss
    k = race.diverged_step(0)
    assert k == next(t for t, f in enumerate(loss) if f - loss[0] > 1e6)
    assert race.unbounded_step(0) is None


# ------------------------------------------------------------------ incremental = full
def test_incremental_scans_across_chunks_equal_one_scan() -> None:
    """Metrics read after every ragged chunk end as those of a race read only once."""
    ravine_cfgs = [
        RacerConfig("sgd", {"lr": 0.005, "momentum": 0.9}),
        RacerConfig("nag", {"lr": 0.01, "momentum": 0.9}),
        RacerConfig("sgd", {"lr": 0.021}),
        RacerConfig("sgd", {"lr": 1.0}),
        RacerConfig("sgd", {"lr": 0.01}),
    ]
    saddle_cfgs = [
        RacerConfig("sgd", {"lr": 0.05, "momentum": 0.9}),
        RacerConfig("newton", {"lr": 1.0}),
        RacerConfig("adam", {"lr": 0.05}),
    ]
    for landscape, cfgs, start in (("quadratic", ravine_cfgs, None),
                                   ("saddle", saddle_cfgs, (2.5, 0.001))):  # fmt: skip
        chunked = make(landscape, cfgs, 600, start=start)
        sizes = [1, 2, 3, 50, 7, 90, 1, 150, 13, 300]
        for n in sizes:
            chunked.advance(n)
            chunked.metrics()
            for i in range(len(cfgs)):
                chunked.diverged_step(i)
        once = make(landscape, cfgs, 600, start=start)
        once.advance(600)
        assert [asdict(m) for m in chunked.metrics()] == [asdict(m) for m in once.metrics()]
        for i in range(len(cfgs)):
            assert chunked.diverged_step(i) == once.diverged_step(i)
            assert chunked.unbounded_step(i) == once.unbounded_step(i)


# ------------------------------------------------------------------ scenario key
SCENARIO = """\
name = "overshoot, settle, blow up"
steps = 300
tolerance = {{ loss = 1e-6, grad = 1e-6, divergence = {factor} }}
[objective]
name = "quadratic"
params = {{ lambda1 = 2.0, lambda2 = 100.0 }}
start = [4.0, 0.5]
[[optimizers]]
name = "sgd"
label = "heavy ball"
params = {{ lr = 0.005, momentum = 0.9 }}
[[optimizers]]
name = "nag"
label = "NAG"
params = {{ lr = 0.01, momentum = 0.9 }}
[[optimizers]]
name = "sgd"
label = "GD 0.021"
params = {{ lr = 0.021 }}
[[optimizers]]
name = "sgd"
label = "GD 0.01"
params = {{ lr = 0.01 }}
"""


def test_divergence_factor_round_trips_through_the_scenario_file() -> None:
    s = loads_scenario(SCENARIO.format(factor="50.0"), source="f.toml")
    assert s.tolerance == Tolerance(loss=1e-6, grad=1e-6, divergence=50.0)
    text = dumps_scenario(s)
    assert "divergence = 50.0" in text
    assert loads_scenario(text) == s
    default = loads_scenario(SCENARIO.format(factor="1e6").replace(", divergence = 1e6", ""))
    assert default.tolerance.divergence == 1e6
    from engine.scenario import build_race

    assert build_race(s).tolerance.divergence == 50.0


@pytest.mark.parametrize("bad", ["0.5", "1.0", "inf", "nan", '"x"', "-3"])
def test_bad_divergence_factor_is_refused_with_file_key_and_line(bad: str) -> None:
    with pytest.raises(ScenarioError) as e:
        loads_scenario(SCENARIO.format(factor=bad), source="f.toml")
    (p,) = e.value.problems
    assert p.key == "tolerance.divergence" and p.line == 3
    assert str(p) == (
        "f.toml: tolerance.divergence: expected a finite number > 1 (the factor of the "
        f"divergence rule), got {bad} (line 3)"
    )


# ------------------------------------------------------------------ summary.json and CSV
def recompute(rows: list[dict[str, str]], f_star: float | None, tol: dict[str, float]) -> dict:
    """Every tolerance and divergence figure of one run, from its CSV rows alone."""
    loss = [float(r["loss"]) for r in rows]
    gn = [float(r["grad_norm"]) for r in rows]
    gaps = [abs(f - f_star) for f in loss] if f_star is not None else gn
    bound = tol["loss"] if f_star is not None else tol["grad"]
    first, settled = first_and_settled(gaps, bound)
    diverged = unbounded = None
    if f_star is not None:
        limit = tol["divergence"] * max(abs(loss[0] - f_star), tol["loss"], 1e-12)
        diverged = next((t for t, f in enumerate(loss) if f - f_star > limit), None)
    else:
        limit = tol["divergence"] * max(abs(loss[0]), 1.0)
        for t, f in enumerate(loss):
            if f - loss[0] > limit or loss[0] - f > limit:
                diverged, unbounded = (t, None) if f > loss[0] else (None, t)
                break
    return {"first_within_tol": first, "steps_to_tol": settled, "diverged_step": diverged,
            "unbounded_step": unbounded, "final_loss": loss[-1], "best_loss": min(loss),
            "steps": len(rows) - 1}  # fmt: skip


@pytest.mark.parametrize("landscape", ["ravine", "saddle"])
def test_summary_metrics_are_what_the_csv_says(tmp_path: Path, landscape: str) -> None:
    from engine.export import write_results
    from engine.scenario import build_race

    text = SCENARIO.format(factor="1e6")
    if landscape == "saddle":
        text = text.replace('name = "quadratic"', 'name = "saddle"')
        text = text.replace("params = { lambda1 = 2.0, lambda2 = 100.0 }", "")
        text = text.replace("start = [4.0, 0.5]", "start = [2.5, 0.001]")
    s = loads_scenario(text)
    race = build_race(s)
    race.run()
    write_results(race, s, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["tolerance"] == {"loss": 1e-6, "grad": 1e-6, "divergence": 1e6}
    with (tmp_path / "out" / "trajectories.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    f_star = race.objective.f_star()
    assert (f_star is None) == (landscape == "saddle")
    seen = set()
    for run in summary["runs"]:
        mine = [r for r in rows if r["run"] == run["run"]]
        again = recompute(mine, f_star, summary["tolerance"])
        assert {k: run[k] for k in again} == again, run["run"]
        assert run["diverged"] == (run["diverged_step"] is not None)
        assert run["unbounded"] == (run["unbounded_step"] is not None)
        seen |= {k for k in ("diverged", "unbounded") if run[k]}
        if run["steps_to_tol"] is not None:
            seen.add("settled")
            if run["first_within_tol"] != run["steps_to_tol"]:
                seen.add("settled late")
    # the cases this test is about do occur
    assert seen >= ({"diverged", "settled late"} if f_star is not None else {"unbounded"})


# ------------------------------------------------------------------ the command line
def table(stdout: str) -> list[dict[str, str]]:
    """The rows of the leaderboard printed by `main.py run`, by column (the dashes under
    the header give each column's span)."""
    lines = stdout.splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("----"))
    spans, pos = [], 0
    for dashes in lines[k].split("  "):
        spans.append((pos, pos + len(dashes)))
        pos += len(dashes) + 2
    spans[-1] = (spans[-1][0], 10_000)  # the last column is not padded
    cut = lambda ln: [ln[a:b].strip() for a, b in spans]  # noqa: E731
    head = cut(lines[k - 1])
    return [dict(zip(head, cut(ln), strict=True)) for ln in lines[k + 1 :] if ln.strip()]


def run_cli(path: Path) -> list[dict[str, str]]:
    r = subprocess.run([sys.executable, "main.py", "run", str(path)], cwd=ROOT,
                       capture_output=True, text=True, encoding="utf-8", timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return table(r.stdout)


@pytest.mark.slow
def test_cli_leaderboard_shows_settled_first_and_status(tmp_path: Path) -> None:
    sc = tmp_path / "s.toml"
    sc.write_text(SCENARIO.format(factor="1e6"), encoding="utf-8")
    rows = run_cli(sc)
    head = ["rank", "label", "optimizer", "final loss", "best loss", "steps to tol",
            "first within tol", "dist to min", "status"]  # fmt: skip
    assert list(rows[0]) == head
    by = {r["label"]: r for r in rows}
    tol = {k: (r["steps to tol"], r["first within tol"]) for k, r in by.items()}
    assert tol["heavy ball"] == ("158", "95") and tol["NAG"] == ("128", "86")
    assert tol["GD 0.01"] == ("—", "—")
    assert by["GD 0.021"]["status"] == "diverged @ 77" and by["NAG"]["status"] == "done"
    assert [r["label"] for r in rows] == ["NAG", "heavy ball", "GD 0.01", "GD 0.021"]
    saddle = tmp_path / "saddle.toml"
    saddle.write_text(
        SCENARIO.format(factor="1e6")
        .replace('name = "quadratic"', 'name = "saddle"')
        .replace("params = { lambda1 = 2.0, lambda2 = 100.0 }", "")
        .replace("start = [4.0, 0.5]", "start = [2.5, 0.001]"),
        encoding="utf-8",
    )
    by = {r["label"]: r for r in run_cli(saddle)}
    from engine.scenario import build_race, load_scenario

    race = build_race(load_scenario(saddle))
    race.run()
    k = race.unbounded_step(0)
    assert k is not None and by["heavy ball"]["status"] == f"unbounded below @ {k}"
    assert not any(r["status"].startswith("diverged") for r in by.values())


# ------------------------------------------------------------------ the board's rows
def test_board_rows_are_the_cli_table_cell_for_cell() -> None:
    """One formatting for the command line and the window: leaderboard_text prints the
    cells of board_rows; the disabled racer comes last, unranked."""
    import main
    from engine.metrics import LANDSCAPE_CELLS, MISSING, board_rows

    cfgs = [
        RacerConfig("sgd", {"lr": 0.021}, label="GD 0.021"),
        RacerConfig("sgd", {"lr": 0.01}, label="GD off", enabled=False),
        RacerConfig("sgd", {"lr": 0.005, "momentum": 0.9}, label="heavy ball"),
        RacerConfig("nag", {"lr": 0.01, "momentum": 0.9}, label="NAG"),
    ]
    race = make("quadratic", cfgs, 300, start=RAVINE_START)
    race.run()
    rows = board_rows(race)
    assert [r.label for r in rows] == ["NAG", "heavy ball", "GD 0.021", "GD off"]
    assert [r.index for r in rows] == [3, 2, 0, 1]
    assert [r.rank for r in rows] == ["1", "2", "3", MISSING]
    assert [r.status for r in rows] == ["done", "done", "diverged @ 77", "disabled"]
    hb = rows[1]
    assert (hb.steps_to_tol, hb.first_within_tol) == ("158", "95")
    assert hb.metrics == race.run_metrics(2) and not hb.blown and rows[2].blown
    assert rows[2].steps_to_tol == MISSING and rows[0].val_accuracy == MISSING
    printed = table(main.leaderboard_text(race))
    assert printed == [{h: getattr(r, f) for h, f in LANDSCAPE_CELLS} for r in rows]
    # a board computed elsewhere (the window's worker thread) gives the same rows
    assert board_rows(race, ranked=race.leaderboard()) == rows


def test_board_rows_of_a_perceptron_show_the_epoch() -> None:
    from engine.data import generate
    from engine.metrics import PERCEPTRON_CELLS, board_rows
    from engine.objective import PerceptronObjective

    ob = PerceptronObjective.from_rows(generate("blobs", {"n": 400, "seed": 3}), batch_size=32,
                                       epochs=3, seed=1)  # fmt: skip
    race = Race(ob, [RacerConfig("adam", {"lr": 0.05}), RacerConfig("sgd", {"lr": 0.1})],
                steps=3 * 10 + 4)  # fmt: skip
    spe = race.steps_per_epoch
    race.advance(2 * spe + 3)  # mid-epoch
    rows = board_rows(race)
    assert {r.status for r in rows} == {"epoch 2"}
    assert [f for _, f in PERCEPTRON_CELLS][3:7] == ["val_accuracy", "val_loss", "train_loss",
                                                     "epochs"]  # fmt: skip
    m = race.run_metrics(rows[0].index)
    assert rows[0].val_accuracy == f"{100 * m.val_accuracy:.2f} %"  # the final point's
    # with the epoch figures (the window's cache): those of the last epoch boundary
    by_epoch = board_rows(race, perceptron_epochs=race.epoch_metrics)
    em = race.epoch_metrics(by_epoch[0].index)
    assert by_epoch[0].val_accuracy == f"{100 * em['val_accuracy'][-1]:.2f} %"
    assert by_epoch[0].epochs == "2" and by_epoch[0].status == "epoch 2"


def test_metrics_names_keep_working_from_engine_race() -> None:
    import engine.metrics
    import engine.race

    assert engine.race.RunMetrics is engine.metrics.RunMetrics
    race = make("quadratic", [RacerConfig("sgd", {"lr": 0.01})], 50)
    race.run()
    assert race.leaderboard() == engine.metrics.leaderboard(race)
    assert race.metrics() == [engine.metrics.run_metrics(race, 0)]


def test_blowup_gives_both_outcomes_of_one_scan() -> None:
    """Race.blowup (what the window reads every frame) agrees with diverged_step and
    unbounded_step: a diverging ravine racer, a settling one, and saddle escapes."""
    ravine_obj = LandscapeObjective.create(
        "quadratic", {"lambda1": 2.0, "lambda2": 100.0}, start=(4.0, 0.5)
    )
    cases = [
        (ravine_obj, [RacerConfig("sgd", {"lr": 0.021}), RacerConfig("sgd", {"lr": 0.005})]),
        (LandscapeObjective.create("saddle", start=(1.0, 0.01)),
         [RacerConfig("sgd", {"lr": 0.1}), RacerConfig("newton")]),
    ]  # fmt: skip
    kinds = set()
    for obj, racers in cases:
        race = Race(obj, racers, steps=400)
        race.run()
        for i in range(len(racers)):
            kind, k = race.blowup(i)
            kinds.add(kind)
            assert race.diverged_step(i) == (k if kind == "diverged" else None)
            assert race.unbounded_step(i) == (k if kind == "unbounded" else None)
    assert {"diverged", "unbounded", ""} <= kinds
