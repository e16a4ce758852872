"""``python -m bench engine``: the race kernel against its baselines, and start-up times.

Figures (all on Rosenbrock, a = 1, b = 100, from the landscape's default start):

* ns per step of every optimizer in ``OPTIMIZERS``: one racer (``Race.advance`` of a few
  100k steps) and eight racers together (ns per racer-step);
* baselines in the same run, interleaved round by round with the engine: bare numba GD
  and Adam, the same in plain Python, torch.optim SGD and Adam;
* building a race of 2,000 racers (warm: a freed block reused; cold: fresh memory)
  against running it for 500 steps;
* warm start (spawn of ``python -c`` to the first recorded update, warm numba cache),
  cold compile (``NUMBA_CACHE_DIR`` in a fresh folder: spawn to every optimizer stepped
  on a landscape with gradient noise and on a perceptron, epoch metrics included, i.e.
  every kernel compiled; median of 3 children) and ``import gui.window``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import (
    Case,
    ChildRun,
    Stopwatch,
    Timing,
    child_env,
    emit,
    engine_source_hash,
    fmt,
    fmt_ns,
    fmt_pct,
    fmt_ratio,
    median,
    note,
    ratio,
    run_child,
    run_interleaved,
    spread,
    table,
    temp_dir,
    verdict,
)

# Learning rates that run 300k steps on Rosenbrock from (-1.5, 2) without diverging
# (the eight-racer runs use lr·2^(−k/8), k = 0..7). An optimizer added to the registry
# later runs with its default lr; a divergence is reported in the table.
LR_ROSENBROCK: dict[str, float] = {
    "sgd": 1e-3,
    "momentum": 2e-3,
    "nag": 5e-4,
    "adagrad": 0.05,
    "adadelta": 1.0,
    "rmsprop": 1e-3,
    "adam": 1e-2,
    "adamw": 1e-2,
    "nadam": 1e-2,
    "radam": 1e-2,
    "adamax": 1e-2,
    "rprop": 1e-3,
    "newton": 0.5,
    "random_search": 1e-3,
}

TARGET_RATIO_BARE = 1.5  # ours / bare numba
TARGET_GD_NS = 8.0
TARGET_ADAM_NS = 40.0
TARGET_TORCH_RATIO = 2000.0  # torch / ours
TARGET_WARM_S = 1.5
TARGET_COLD_S = 10.0
BUILD_RACERS = 2000  # the race built and run by build_cases
BUILD_STEPS = 500
TARGET_BUILD_RATIO = 0.10  # building a race / running it
# rounds of the build cases (a build takes ~2 ms: many rounds for a median that holds
# on a shared host, in ~5 s)
BUILD_ROUNDS = 25


@dataclass(frozen=True)
class Sizes:
    steps_1: int  # updates of the one-racer runs
    steps_8: int  # updates per racer of the eight-racer runs
    python_steps: int
    torch_steps: int
    repeats: int
    child_repeats: int
    cold: bool
    cold_repeats: int = 3


FULL = Sizes(300_000, 100_000, 40_000, 3_000, 7, 3, True)
QUICK = Sizes(20_000, 5_000, 3_000, 300, 3, 1, False)


# ---------------------------------------------------------------------------- engine cases


@dataclass
class RaceOutcome:
    diverged: list[int]  # racer indices that diverged in the last run


def race_case(
    objective: object, optimizer: str, lr: float, racers: int, steps: int, outcome: RaceOutcome
) -> Callable[[], Timing]:
    """A fresh Race each repeat (untimed), then one timed ``advance(steps)``.

    Units are the racer-steps actually done (a diverged racer stops early).
    """
    from engine.race import Race, RacerConfig

    def run() -> Timing:
        cfgs = [RacerConfig(optimizer, {"lr": lr * 2.0 ** (-k / 8)}) for k in range(racers)]
        race = Race(objective, cfgs, steps=steps)  # type: ignore[arg-type]
        t_before = int(race.t.sum())
        with Stopwatch() as sw:
            race.advance(steps)
        outcome.diverged = [i for i in range(racers) if race.overflow_step(i) is not None]
        return sw.wall, sw.cpu, float(int(race.t.sum()) - t_before)

    return run


@dataclass
class BuildFaults:
    faults: dict[str, list[int]]  # page faults (minor) of each timed build or run, by case
    first: float = math.nan  # CPU seconds of the first build in the process (one sample)


def _minflt() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def build_cases(objective: object, lr: float, faults: BuildFaults) -> list[Case]:
    """Building a race of BUILD_RACERS Adam racers (lr·2^(−k/64)) against running it for
    BUILD_STEPS steps, units: one race. Builds: one timed ``Race(...)`` of configs made
    untimed, warm (a race of the same size built, run and dropped before, untimed: its
    memory block, rows all written, is reused, as when a window rebuilds its race) or
    cold (engine.buffers.POOL emptied first: fresh memory, as the first race of a
    process). Run: a warm-built race's ``advance(BUILD_STEPS)``. Then the buffers alone
    (engine.buffers.make_racer_buffers, rows filled), warm and cold. ``faults`` gets the
    first build of the process, timed before the rounds, and every case's page faults."""
    from engine.buffers import POOL, make_racer_buffers
    from engine.race import Race, RacerConfig

    dim = int(objective.dim)  # type: ignore[attr-defined]

    def configs() -> list[RacerConfig]:
        return [RacerConfig("adam", {"lr": lr * 2.0 ** (-k / 64)}) for k in range(BUILD_RACERS)]

    def new_race() -> Race:
        return Race(objective, configs(), steps=BUILD_STEPS)  # type: ignore[arg-type]

    def before(warm: bool) -> None:
        if warm:  # a block freed, its rows written by a whole run
            new_race().advance(BUILD_STEPS)
        else:
            POOL.clear()

    def timed(
        key: str, warm: bool, what: Callable[[list[RacerConfig]], object]
    ) -> Callable[[], Timing]:
        def one() -> Timing:
            before(warm)
            cfgs = configs()  # made after the last run, as a window makes them
            f0 = _minflt()
            with Stopwatch() as sw:
                what(cfgs)
            faults.faults.setdefault(key, []).append(_minflt() - f0)
            return sw.wall, sw.cpu, 1.0

        return one

    def build(cfgs: list[RacerConfig]) -> object:
        return Race(objective, cfgs, steps=BUILD_STEPS)  # type: ignore[arg-type]

    def buffers(_: list[RacerConfig]) -> object:
        return make_racer_buffers(BUILD_RACERS, dim, BUILD_STEPS + 1)

    def run() -> Timing:
        race = new_race()
        f0 = _minflt()
        with Stopwatch() as sw:
            race.advance(BUILD_STEPS)
        faults.faults.setdefault("run", []).append(_minflt() - f0)
        return sw.wall, sw.cpu, 1.0

    def made(_: list[RacerConfig]) -> object:
        return configs()

    from dataclasses import replace

    from engine.scenario import build_race, loads_scenario

    one = loads_scenario(
        'schema = 1\nname = "build"\nsteps = 1\n[objective]\nname = "rosenbrock"\n'
        '[[optimizers]]\nname = "sgd"\n'
    )

    def scenario_build(cfgs: list[RacerConfig]) -> object:
        return build_race(replace(one, racers=cfgs, steps=BUILD_STEPS))

    cfgs = configs()
    with Stopwatch() as sw:
        build(cfgs)
    faults.first = sw.cpu
    n = f"{BUILD_RACERS:,} racers"
    return [
        Case(f"build {n}, warm (a freed block reused)", timed("build True", True, build)),
        Case(f"build {n}, cold (fresh memory)", timed("build False", False, build)),
        Case(f"run {n} x {BUILD_STEPS} steps", run),
        Case("  its buffers alone, warm", timed("buffers True", True, buffers)),
        Case("  its buffers alone, cold", timed("buffers False", False, buffers)),
        Case(f"  its {BUILD_RACERS:,} RacerConfigs made", timed("configs", True, made)),
        Case("  build_race of a scenario, warm", timed("scenario", True, scenario_build)),
    ]


def build_table(cases: list[Case], faults: BuildFaults) -> str:
    """The build ÷ run lines (CPU time medians, as the other ratios), warm and cold, the
    sum, and what the build spends on its memory."""
    warm, cold, run, buf_warm, buf_cold, made, scenario = cases
    r, rc, rm, rs = (ratio(c.cpu_per_unit, run.cpu_per_unit) for c in (warm, cold, made, scenario))

    def ms(c: Case) -> list[str]:
        return [c.name, fmt(c.cpu_per_unit * 1e3, ".2f", " ms"), fmt_pct(spread(c.cpu_samples)),
                fmt(c.per_unit * 1e3, ".2f", " ms")]  # fmt: skip

    def nf(key: str) -> str:
        return f"{median([float(f) for f in faults.faults.get(key, [])]):,.0f}"

    first = ratio(faults.first, run.cpu_per_unit)
    rows = [
        [*ms(warm), "warm build ÷ run", fmt_ratio(r), f"< {TARGET_BUILD_RATIO:.2f}x",
         verdict(r < TARGET_BUILD_RATIO)],
        [*ms(cold), "cold build ÷ run", fmt_ratio(rc), "", ""],
        [*ms(run), "first build ÷ run", fmt_ratio(first), "", ""],
        [*ms(buf_warm), "page faults warm", f"build {nf('build True')}, run {nf('run')}", "", ""],
        [*ms(buf_cold), "page faults cold", f"build {nf('build False')}", "", ""],
        [*ms(made), "configs made ÷ run", fmt_ratio(rm), "", ""],
        [*ms(scenario), "scenario build ÷ run", fmt_ratio(rs), "", ""],
    ]  # fmt: skip
    return table(
        "RACE BUILD  Race(objective, racers) against its run, adam on rosenbrock; median",
        ["what", "CPU", "noise", "(wall)", "compared", "value", "target", "verdict"],
        rows,
        left=(0, 4),
        notes=[
            f"build: Race(...) of {BUILD_RACERS:,} configs made beforehand (parameters "
            "packed, one block of memory for all racers, rows filled: NaN and zero points, "
            f"each racer's start recorded); run: advance({BUILD_STEPS}) of such a race.",
            "warm: the block of a race of the same size, run and dropped before, reused "
            "(engine.buffers.POOL): what a window rebuilding its race costs, the target; "
            "cold: fresh memory (the OS maps and zeroes every page on its first touch): "
            "the first race of a process. 'first build': the first of this process, "
            "timed once before the rounds (its cold caches included).",
            "its buffers alone: engine.buffers.make_racer_buffers (the block and its "
            "fill); page faults: minor, medians.",
            "configs made: the RacerConfigs the build takes (each validated, its "
            "hyperparameters packed once for every race built from it), made before "
            "the build and not in it; scenario build: engine.scenario.build_race of a "
            "scenario of those racers (the window's and the maps' path: the race's own "
            "copies of the racers, then the build).",
        ],
    )


# ---------------------------------------------------------------------------- start-up children

WARM_CODE = """
import json, os, time
m = {"start": time.time()}
from engine.objective import LandscapeObjective
from engine.race import Race, RacerConfig
m["imported"] = time.time()
race = Race(LandscapeObjective.create("rosenbrock"), [RacerConfig("adam", {"lr": 0.01})], 1000)
m["race"] = time.time()
race.advance(1)
m["first_step"] = time.time()
assert int(race.count[0]) == 2, race.count
print(json.dumps({"marks": m, "info": {"cache": os.environ.get("NUMBA_CACHE_DIR", "")}}))
"""

COLD_CODE = """
import json, os, time
m = {"start": time.time()}
from engine.objective import LandscapeObjective
from engine.race import Race, RacerConfig
from engine.warmup import compile_engine
m["imported"] = time.time()
race = Race(LandscapeObjective.create("rosenbrock"), [RacerConfig("adam", {"lr": 0.01})], 1000)
m["race"] = time.time()
race.advance(1)
m["first_step"] = time.time()
compile_engine()  # every optimizer on each objective kind, their metrics (`main.py warmup`)
m["all_kinds"] = time.time()
info = {"cache": os.environ.get("NUMBA_CACHE_DIR", ""), "cpu": time.process_time()}
print(json.dumps({"marks": m, "info": info}))
"""

WARMUP_CODE = """
import json, sys, time
m = {"start": time.time()}
from engine.warmup import warm_up
everything = sys.argv[1] == "all"  # `main.py warmup [--engine-only]`: two processes
warm_up(drawing=everything, maps=everything)
m["done"] = time.time()
print(json.dumps({"marks": m, "info": {}}))
"""

IMPORT_GUI_CODE = """
import json, time
m = {"start": time.time()}
import gui.window
m["imported"] = time.time()
print(json.dumps({"marks": m}))
"""


def _child_median(runs: list[ChildRun], a: str, b: str | None = None) -> float:
    if b is None:
        return median([r.marks[a] for r in runs])
    return median([r.marks[b] - r.marks[a] for r in runs])


def startup_figures(sizes: Sizes) -> tuple[list[list[str]], dict[str, float]]:
    """Rows of the start-up table and the figures checked against targets."""
    env = child_env()
    rows: list[list[str]] = []
    figs: dict[str, float] = {}
    n = sizes.child_repeats

    note(f"warm start: one unmeasured child to warm the numba cache, then {n} measured")
    run_child(WARM_CODE, env)
    warm = [run_child(WARM_CODE, env) for _ in range(n)]
    figs["warm"] = _child_median(warm, "first_step")
    rows += [
        ["warm start: spawn → first recorded update", fmt(figs["warm"], ".3f", " s"), str(n),
         f"< {TARGET_WARM_S} s", verdict(figs["warm"] < TARGET_WARM_S)],
        ["  spawn → interpreter ready", fmt(_child_median(warm, "start"), ".3f", " s"), "", "", ""],
        ["  import engine (objective, race)", fmt(_child_median(warm, "start", "imported"), ".3f",
                                                  " s"), "", "", ""],
        ["  Race(...) incl. loading cached kernels", fmt(_child_median(warm, "imported", "race"),
                                                         ".3f", " s"), "", "", ""],
        ["  advance(1)", fmt(_child_median(warm, "race", "first_step"), ".4f", " s"), "", "", ""],
    ]  # fmt: skip

    if sizes.cold:
        note(
            f"cold compile: {sizes.cold_repeats} children, each with NUMBA_CACHE_DIR in a fresh "
            "temp folder (~10-30 s each)"
        )
        colds = []
        for _ in range(sizes.cold_repeats):
            with temp_dir("bench-numba-cold-") as d:
                colds.append(run_child(COLD_CODE, child_env(NUMBA_CACHE_DIR=str(d)), timeout=900))
        nc = len(colds)
        figs["cold_wall"] = _child_median(colds, "all_kinds")
        figs["cold"] = median([float(str(r.info["cpu"])) for r in colds])
        warms: dict[str, list[ChildRun]] = {"engine": [], "all": []}
        for _ in range(sizes.cold_repeats):
            for what, runs in warms.items():
                with temp_dir("bench-numba-cold-") as d:
                    env_d = child_env(NUMBA_CACHE_DIR=str(d))
                    runs.append(run_child(WARMUP_CODE, env_d, timeout=900, args=[what]))
        figs["cold_warmup"] = _child_median(warms["engine"], "done")
        figs["cold_warmup_all"] = _child_median(warms["all"], "done")
        rows += [
            ["cold compile of the engine's kernels: `main.py warmup --engine-only` "
             "(two processes), spawn → done",
             fmt(figs["cold_warmup"], ".1f", " s"), str(nc), f"< {TARGET_COLD_S:g} s",
             verdict(figs["cold_warmup"] < TARGET_COLD_S)],
            ["  and the window's drawing kernels: `main.py warmup`",
             fmt(figs["cold_warmup_all"], ".1f", " s"), str(nc), "", ""],
            ["  one process: CPU time to every optimizer × objective kind",
             fmt(figs["cold"], ".1f", " s"), str(nc), "", ""],
            ["  (wall: spawn → every optimizer × objective kind stepped)",
             fmt(figs["cold_wall"], ".1f", " s"), "", "", ""],
            ["  spawn → first recorded update (adam, rosenbrock)",
             fmt(_child_median(colds, "first_step"), ".1f", " s"), "", "", ""],
            ["  Race(...) incl. compiling race_chunk", fmt(_child_median(colds, "imported", "race"),
                                                          ".1f", " s"), "", "", ""],
        ]  # fmt: skip
    else:
        rows.append(["cold compile", "skipped (--quick)", "", f"< {TARGET_COLD_S:g} s", "—"])

    note(f"import gui.window: {n} children")
    run_child(IMPORT_GUI_CODE, env)
    imp = [run_child(IMPORT_GUI_CODE, env) for _ in range(n)]
    figs["import_gui"] = _child_median(imp, "start", "imported")
    rows += [
        ["import gui.window (in the child)", fmt(figs["import_gui"], ".3f", " s"), str(n), "", ""],
        ["  spawn → gui.window imported", fmt(_child_median(imp, "imported"), ".3f", " s"), "",
         "", ""],
    ]  # fmt: skip
    return rows, figs


def startup_table(rows: list[list[str]]) -> str:
    return table(
        "START-UP  fresh `python -c` children, warm numba cache unless stated; median",
        ["what", "median", "runs", "target", "verdict"],
        rows,
        notes=[
            "times are from just before the spawn (they include interpreter start-up).",
            "cold compile: numba compiles one function at a time; the warm-up "
            "(engine/warmup.py) runs the race kernel in one process while a second one "
            "compiles the callees it meets last, sharing the disk cache: the wall time is "
            "what a user waits on a two-core machine; the one-process CPU time is the total "
            "work (a busy host inflates both).",
        ],
    )


# ---------------------------------------------------------------------------- the report


def bench_engine(
    quick: bool = False,
    startup: bool = True,
    optimizers: list[str] | None = None,
    steps: bool = True,
    build_only: bool = False,
) -> int:
    """Run the engine benchmark and print its tables; returns a process exit code.

    ``optimizers``: time only these (default: every one in the registry; sgd and adam
    are always timed, the baselines compare against them); ``steps=False``: only the
    start-up table; ``build_only``: only the RACE BUILD table.
    """
    sizes = QUICK if quick else FULL
    if not steps:
        if startup:
            srows, _ = startup_figures(sizes)
            emit(startup_table(srows))
        return 0
    src_hash = engine_source_hash()
    note("importing the engine (compiles race_chunk if its numba cache is cold)")
    t0 = time.perf_counter()
    from bench import baselines, formula_bench
    from engine.objective import LandscapeObjective
    from engine.optimizers import OPTIMIZERS
    from engine.race import Race, RacerConfig

    obj = LandscapeObjective.create("rosenbrock")
    # one tiny race: loads (or compiles) the kernel outside every timing
    Race(obj, [RacerConfig("sgd", {"lr": 1e-3})], steps=4).advance(4)
    note(f"engine ready in {time.perf_counter() - t0:.1f} s")
    faults = BuildFaults({})
    builds = build_cases(obj, LR_ROSENBROCK["adam"], faults)  # the adam runs' lr
    note(f"timing the race build, {BUILD_ROUNDS} interleaved rounds")
    run_interleaved(builds, BUILD_ROUNDS)
    if build_only:
        emit(build_table(builds, faults))
        return 0
    a, b = float(obj.params["a"]), float(obj.params["b"])
    start = (float(obj.start[0]), float(obj.start[1]))

    # ---- cases
    names = list(OPTIMIZERS)
    if optimizers:
        unknown = sorted(set(optimizers) - set(names))
        if unknown:
            raise SystemExit(f"unknown optimizers: {', '.join(unknown)}")
        names = [n for n in names if n in {"sgd", "adam", *optimizers}]
    lr_of = {n: LR_ROSENBROCK.get(n, float(OPTIMIZERS[n].resolve({})["lr"])) for n in names}
    one: dict[str, Case] = {}
    eight: dict[str, Case] = {}
    outcomes: dict[tuple[str, int], RaceOutcome] = {}
    for name in names:
        o1, o8 = RaceOutcome([]), RaceOutcome([])
        outcomes[(name, 1)], outcomes[(name, 8)] = o1, o8
        one[name] = Case(f"{name} x1", race_case(obj, name, lr_of[name], 1, sizes.steps_1, o1))
        eight[name] = Case(f"{name} x8", race_case(obj, name, lr_of[name], 8, sizes.steps_8, o8))
    n1 = sizes.steps_1
    bare_gd = Case("bare numba GD", baselines.bare_gd_case(n1, a, b, lr_of["sgd"], start))
    bare_rows = Case(
        "bare GD + engine rows", baselines.bare_gd_rows_case(n1, a, b, lr_of["sgd"], start)
    )
    bare_adam = Case("bare numba Adam", baselines.bare_adam_case(n1, a, b, lr_of["adam"], start))
    npy = sizes.python_steps
    py_gd = Case("plain Python GD", baselines.python_case("gd", npy, a, b, lr_of["sgd"], start))
    py_adam = Case(
        "plain Python Adam", baselines.python_case("adam", npy, a, b, lr_of["adam"], start)
    )
    nt = sizes.torch_steps
    torch_cases: list[Case] = []
    for which, label, lr in (("gd", "torch.optim.SGD", lr_of["sgd"]),
                             ("adam", "torch.optim.Adam", lr_of["adam"])):  # fmt: skip
        fn = baselines.torch_case(which, nt, a, b, lr, start)
        if fn is not None:
            torch_cases.append(Case(label, fn))
    base_cases = [bare_gd, bare_rows, bare_adam, py_gd, py_adam, *torch_cases]
    typed_obj = formula_bench.typed_objective(obj)
    typed = [(n, one[n], Case(f"{n} x1 typed", race_case(typed_obj, n, lr_of[n], 1,
                                                         sizes.steps_1, RaceOutcome([]))))
             for n in ("sgd", "adam")]  # fmt: skip
    cases = [*base_cases, *one.values(), *eight.values(), *(t for _, _, t in typed)]
    note(
        f"timing {len(names)} optimizers x (1 racer x {sizes.steps_1:,} steps, 8 racers x "
        f"{sizes.steps_8:,} steps) and {len(base_cases)} baselines, {sizes.repeats} "
        "interleaved rounds"
    )
    t_cases = time.perf_counter()
    run_interleaved(cases, sizes.repeats)
    t_cases = time.perf_counter() - t_cases

    # ---- sanity: the engine's sgd does the bare loop's arithmetic
    r = Race(obj, [RacerConfig("sgd", {"lr": lr_of["sgd"]})], steps=n1)
    r.advance(n1)
    xs, ys, fs = baselines._buffers(n1 + 1)
    bx, by = baselines.bare_gd(n1, a, b, lr_of["sgd"], start[0], start[1], xs, ys, fs)
    same = math.isclose(float(r.X[0, 0]), bx, rel_tol=1e-9) and math.isclose(
        float(r.X[0, 1]), by, rel_tol=1e-9
    )

    # ---- table 1: every optimizer (ratios and verdicts from CPU time, see the notes)
    gd, adam = bare_gd.cpu_per_unit, bare_adam.cpu_per_unit
    rows = []
    for name in names:
        c1, c8 = one[name], eight[name]
        div = sorted(set(outcomes[(name, 1)].diverged) | set(outcomes[(name, 8)].diverged))
        rows.append(
            [
                name,
                fmt(lr_of[name], ".3g"),
                fmt_ns(c1.cpu_per_unit),
                fmt_pct(spread(c1.cpu_samples)),
                fmt_ns(c1.per_unit),
                fmt_ns(c8.cpu_per_unit),
                fmt_pct(spread(c8.cpu_samples)),
                fmt_ns(c8.per_unit),
                fmt_ratio(ratio(c8.cpu_per_unit, c1.cpu_per_unit)),
                fmt_ratio(ratio(c1.cpu_per_unit, gd)),
                fmt_ratio(ratio(c1.cpu_per_unit, adam)),
                f"diverged: racers {div}" if div else "",
            ]
        )
    emit(
        table(
            f"ENGINE  ns/step on rosenbrock (a={a:g}, b={b:g}) from {start}; median of "
            f"{sizes.repeats} interleaved rounds",
            ["optimizer", "lr", "1 racer", "noise", "(wall)", "8 racers", "noise", "(wall)",
             "8÷1", "÷bare GD", "÷bare Adam", ""],
            rows,
            left=(0, 11),
            notes=[
                f"1 racer: Race.advance({sizes.steps_1:,}), ns per step; 8 racers: "
                f"advance({sizes.steps_8:,}) of 8 racers (lr·2^(−k/8)), ns per racer-step.",
                "figures are the median of the timed thread's CPU time per step (the kernel "
                "runs in the calling thread), so time the thread spent descheduled on a busy "
                "host does not count; (wall): the wall-clock median, equal on a quiet host.",
                "noise: half the interquartile range of the repeats, relative to the median.",
                f"÷bare: ours (1 racer) / the bare numba loop; target ≤ {TARGET_RATIO_BARE}x "
                "for sgd ÷ bare GD and adam ÷ bare Adam.",
                "sanity: engine sgd and the bare GD loop end at "
                + ("the same point (same arithmetic)." if same else f"different points "
                   f"({r.X[0].tolist()} vs {(bx, by)}): the baseline may not do the same work."),
            ],
        )
    )  # fmt: skip

    # ---- table 2: baselines
    sgd1, adam1 = one["sgd"], one["adam"]

    def brow(c: Case, what: str, r: float, target: str, ok: bool | None) -> list[str]:
        return [c.name, fmt_ns(c.cpu_per_unit), fmt_pct(spread(c.cpu_samples)),
                fmt_ns(c.per_unit), what, fmt_ratio(r), target, verdict(ok)]  # fmt: skip

    def cpu_ratio(x: Case, y: Case) -> float:
        return ratio(x.cpu_per_unit, y.cpu_per_unit)

    r_gd, r_adam = cpu_ratio(sgd1, bare_gd), cpu_ratio(adam1, bare_adam)
    rows2 = [
        brow(bare_gd, "sgd ÷ bare", r_gd, f"≤ {TARGET_RATIO_BARE}x", r_gd <= TARGET_RATIO_BARE),
        brow(bare_rows, "sgd ÷ this", cpu_ratio(sgd1, bare_rows), "", None),
        brow(bare_adam, "adam ÷ bare", r_adam, f"≤ {TARGET_RATIO_BARE}x",
             r_adam <= TARGET_RATIO_BARE),
        brow(py_gd, "python ÷ sgd", cpu_ratio(py_gd, sgd1), "", None),
        brow(py_adam, "python ÷ adam", cpu_ratio(py_adam, adam1), "", None),
    ]  # fmt: skip
    for c in torch_cases:
        ours = sgd1 if c.name.endswith("SGD") else adam1
        r_t = cpu_ratio(c, ours)
        rows2.append(brow(c, f"torch ÷ {ours.name.split()[0]}", r_t,
                          f"≥ {TARGET_TORCH_RATIO:,.0f}x", r_t >= TARGET_TORCH_RATIO))  # fmt: skip
    if not torch_cases:
        rows2.append(["torch.optim", "not installed", "", "", "", "", "", "—"])
    for c, target in ((sgd1, TARGET_GD_NS), (adam1, TARGET_ADAM_NS)):
        row = brow(c, "ns/step", math.nan, f"≤ {target:g} ns", c.cpu_per_unit * 1e9 <= target)
        row[0] = f"ours: {c.name.split()[0]}, 1 racer"
        row[5] = fmt_ns(c.cpu_per_unit)
        rows2.append(row)
    emit(
        table(
            "BASELINES  same landscape, same lr and start; measured in the same rounds",
            ["baseline", "ns/step", "noise", "(wall)", "compared", "value", "target", "verdict"],
            rows2,
            left=(0, 4),
            notes=[
                f"steps per repeat: bare numba {sizes.steps_1:,}, Python {sizes.python_steps:,}, "
                f"torch {sizes.torch_steps:,} (gradient computed in Python, copied into p.grad).",
                "ns/step and ratios: medians of CPU time per step, as in the table above.",
                "bare GD + engine rows: the GD loop also writing |∇f|, lr, the row count and "
                "checking divergence, into an (n, 2) x buffer, as the engine does.",
                f"engine + baselines timing took {t_cases:.1f} s.",
            ],
        )
    )

    emit(build_table(builds, faults))
    emit(formula_bench.typed_race_table(typed))

    # ---- table 4: start-up
    if startup:
        srows, _ = startup_figures(sizes)
        emit(startup_table(srows))
    if engine_source_hash() != src_hash:
        emit(
            "WARNING: engine sources changed while the benchmark ran (another edit); the "
            "figures may mix two versions and include recompilation."
        )
    return 0
