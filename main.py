"""Gradient Arena command line: ``python main.py {run,list,validate} ...``.

Kept thin and import-light: engine modules (numpy, numba) are imported inside the
command functions, so that starting the GUI pays only for what it uses. Adding a
subcommand is one ``register_*`` function appended to ``SUBCOMMANDS``.

User mistakes (a bad scenario, a missing file, an unwritable --out, --steps 0) end with
exit code 2 and one message on stderr; never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 2  # bad input: scenario, file, option values
MAX_STEPS = 10_000_000  # the same cap as engine.scenario.MAX_STEPS

SubParsers = Any  # argparse's _SubParsersAction (private type)


class UserError(Exception):
    """A mistake in the user's input: printed as one message, exit code 2."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _steps_arg(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"expected an integer in [1, {MAX_STEPS}], got {text!r}")
    return n


# ---------------------------------------------------------------------------- run
def register_run(sub: SubParsers) -> None:
    p = sub.add_parser(
        "run",
        help="run a scenario headless and print the leaderboard",
        description="Run a scenario to the end without the GUI and print a leaderboard.",
    )
    p.add_argument("scenario", help="scenario file (.toml)")
    p.add_argument("--steps", type=_steps_arg, help="override the scenario's number of steps")
    p.add_argument("--out", metavar="DIR", help="write trajectories.csv/.npz and summary.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no leaderboard")
    p.set_defaults(func=cmd_run)


def _check_out_dir(out: str) -> None:
    """Fail before the run, not after it, when --out obviously cannot be written."""
    import os
    from pathlib import Path

    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UserError(f"--out {out}: expected a folder, got a file")
    q = p.absolute()
    while not q.exists():
        q = q.parent
    if not q.is_dir():
        raise UserError(f"--out {out}: cannot create a folder inside the file {q}")
    if not os.access(q, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: folder {q} is not writable")


class _Progress:
    """A one-line progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, total: int) -> None:
        import time

        self._time = time.monotonic
        self.total = max(total, 1)
        self.last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = self._time()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = min(max(done / max(total, 1), 0.0), 1.0)
        width = 30
        bar = "#" * int(frac * width)
        sys.stderr.write(f"\r[{bar:<{width}}] {frac * 100:5.1f}%  {done}/{total} steps")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def leaderboard_text(race: Any) -> str:
    """The leaderboard table of a finished race: the cells of
    :func:`engine.metrics.board_rows`, as the window shows them; disabled racers last.

    "steps to tol" is the step from which a run stays within tolerance to its end ("—":
    it ends outside), "first within tol" the step it first got there. Perceptron races
    show the final validation accuracy and loss (full validation set), the full training
    loss and the epochs done instead of the landscape columns.
    """
    from engine.metrics import board_rows

    cols = race.objective.board_cells
    header = tuple(h for h, _ in cols)
    rows = [tuple(getattr(r, f) for _, f in cols) for r in board_rows(race)]
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    right = set(range(len(header) - 1)) - {1, 2}  # numbers right, text and status left

    def line(r: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in
                 enumerate(zip(r, widths, strict=True))]  # fmt: skip
        return "  ".join(cells).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths))]
    return "\n".join(out + [line(r) for r in rows])


def cmd_run(args: argparse.Namespace) -> int:
    from engine.race import RaceTooLarge
    from engine.scenario import ScenarioError, build_race, load_scenario

    try:
        if args.out is not None:
            _check_out_dir(args.out)
        scenario = load_scenario(args.scenario)
    except (ScenarioError, UserError) as e:
        return _fail(str(e))
    steps = args.steps if args.steps is not None else scenario.steps
    _first_run_warm_up(note=not args.quiet)
    try:
        race = build_race(scenario, steps=steps)
    except ScenarioError as e:
        return _fail(str(e))
    except RaceTooLarge as e:
        return _fail(f"{args.scenario}: {e}")
    except MemoryError:
        return _fail(
            f"{args.scenario}: not enough memory for {len(scenario.racers)} racers x {steps} "
            "steps; use fewer steps (--steps)"
        )
    show_bar = not args.quiet and sys.stderr.isatty()
    bar = _Progress(race.steps) if show_bar else None
    try:
        race.run(progress=bar)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print("interrupted", file=sys.stderr)
        return 130
    if bar is not None:
        bar.close()
    if not args.quiet:
        heading = race.objective.run_heading(race.steps, race.batch_size)
        print(f"{scenario.name}: {heading[0]}, seed {scenario.seed}", *heading[1:], sep="\n")
        print(leaderboard_text(race))
    if args.out is not None:
        from engine.export import ExportError, write_results

        try:
            paths = write_results(race, scenario, args.out)
        except ExportError as e:
            return _fail(str(e))
        if not args.quiet:
            print("wrote " + ", ".join(str(p) for p in paths))
    return EXIT_OK


# ---------------------------------------------------------------------------- list
def register_list(sub: SubParsers) -> None:
    p = sub.add_parser(
        "list",
        help="list landscapes, optimizers and schedules",
        description="List the landscapes, optimizers and learning-rate schedules with their "
        "parameters, defaults and valid ranges.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_list)


def _spec_dict(s: Any) -> dict[str, Any]:
    import math

    def num(v: float) -> float | None:
        return v if math.isfinite(v) else None

    d = {"name": s.name, "default": s.default, "kind": s.kind, "doc": s.doc,
         "range": s.range_text()}  # fmt: skip
    if s.kind in ("float", "int", "list"):
        d.update(min=num(s.lo), max=num(s.hi), min_open=s.lo_open, max_open=s.hi_open)
    if s.symbol:
        d["symbol"] = s.symbol
    return d


def catalogue() -> dict[str, Any]:
    """Everything ``list`` shows, as plain data."""
    from engine.landscapes import LANDSCAPES
    from engine.optimizers import OPTIMIZERS
    from engine.schedules import SCHEDULES

    return {
        "landscapes": [
            {
                "name": ls.name,
                "title": ls.title,
                "formula": ls.formula,
                "params": [_spec_dict(s) for s in ls.params],
                "start": list(ls.start),
                "view": list(ls.view),
                "description": ls.description,
            }
            for ls in LANDSCAPES.values()
        ],
        "optimizers": [
            {
                "name": o.name,
                "title": o.title,
                "params": [_spec_dict(s) for s in o.params],
                "equations": o.equations,
                "description": o.description,
            }
            for o in OPTIMIZERS.values()
        ],
        "schedules": [
            {
                "name": s.name,
                "title": s.title,
                "formula": s.formula,
                "params": [_spec_dict(p) for p in s.all_params],
            }
            for s in SCHEDULES.values()
        ],
    }


def _params_text(params: list[dict[str, Any]], indent: str) -> list[str]:
    out = []
    for p in params:
        out.append(f"{indent}{p['name']} = {p['default']!r}   ({p['range']}) {p['doc']}")
    return out


def cmd_list(args: argparse.Namespace) -> int:
    import json

    cat = catalogue()
    if args.json:
        print(json.dumps(cat, indent=2, ensure_ascii=False, allow_nan=False))
        return EXIT_OK
    lines = ["LANDSCAPES"]
    for ls in cat["landscapes"]:
        lines.append(f"  {ls['name']}: {ls['formula']}")
        lines += _params_text(ls["params"], "      ")
    lines += ["", "OPTIMIZERS"]
    for o in cat["optimizers"]:
        lines.append(f"  {o['name']}: {o['title']}")
        lines += _params_text(o["params"], "      ")
        lines += ["      | " + eq for eq in o["equations"].splitlines()]
    lines += ["", "SCHEDULES (keys of an optimizer's schedule = { name = ..., ... })"]
    for s in cat["schedules"]:
        lines.append(f"  {s['name']}: {s['formula']}")
        lines += _params_text(s["params"], "      ")
    print("\n".join(lines))
    return EXIT_OK


# ---------------------------------------------------------------------------- validate
def register_validate(sub: SubParsers) -> None:
    p = sub.add_parser(
        "validate",
        help="check scenario files and report every problem",
        description="Check scenario files; prints every problem (file, key, expectation). "
        "Exit code 0 if all are valid, 2 otherwise.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario files (.toml)")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from engine.scenario import ScenarioError, load_scenario

    bad = 0
    for f in args.files:
        try:
            load_scenario(f)
        except ScenarioError as e:
            bad += 1
            print(str(e), file=sys.stderr)
        else:
            print(f"{f}: ok")
    return EXIT_USAGE if bad else EXIT_OK


# ---------------------------------------------------------------------------- gui / render
def register_gui(sub: SubParsers) -> None:
    p = sub.add_parser(
        "gui",
        help="open the race window (the default when no command is given)",
        description="Open the race window on SCENARIO (or on the built-in default race).",
    )
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario file (.toml)")
    p.add_argument(
        "--no-settings",
        action="store_true",
        help="remember nothing: neither restore nor keep the window layout, the recent "
        "files and the last scenario (a demo on a shared machine)",
    )
    p.set_defaults(func=cmd_gui)


def cmd_gui(args: argparse.Namespace) -> int:
    from gui.app import run_gui

    remember = not getattr(args, "no_settings", False)
    return run_gui(getattr(args, "scenario", None), remember=remember)


def register_render(sub: SubParsers) -> None:
    p = sub.add_parser(
        "render",
        help="run scenarios headless and save the window's panels as PNGs or a video",
        description="Run SCENARIO headless and save the landscape and loss panels as a PNG "
        "(the same picture as File > Export PNG in the window), e.g. for slides; or, with "
        "--video, the race frame by frame as an MP4, a GIF or a folder of PNG frames. "
        "Several scenarios, a folder of them or --each write DIR/<name>.png each from one "
        "process; every scenario is checked first, and if one is invalid nothing is written.",
    )
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario file (.toml); for PNGs also several files or a folder (its *.toml)",
    )
    p.add_argument(
        "--out",
        metavar="FILE|DIR/",
        help="PNG file to write (one scenario), or a folder, ending in / or existing, for "
        "DIR/<name>.png each (created if its parent exists)",
    )
    p.add_argument(
        "--each",
        action="store_true",
        help="one PNG per enabled racer, DIR/<name>_<label>.png: only that racer's "
        "trajectory, its hyperparameters in the title",
    )
    p.add_argument(
        "--video",
        metavar="PATH",
        help="write the race as a video: race.mp4 (H.264), race.gif, or a folder (a path "
        "ending in /, or an existing one) of PNG frames",
    )
    p.add_argument(
        "--steps",
        type=_steps_arg,
        default=None,
        metavar="N",
        help="number of updates (default: the scenario's)",
    )
    p.add_argument(
        "--size",
        metavar="WxH",
        help="picture size in pixels (default: 2000x800 for a PNG, 1600x1000 for --window, "
        "1920x1080 for a video, 960x540 for a GIF)",
    )
    view = p.add_argument_group("view")
    view.add_argument(
        "--panels",
        action="store_true",
        help="the landscape and loss panels (the default; a video draws the step and the "
        "leaderboard onto them)",
    )
    view.add_argument(
        "--window",
        action="store_true",
        help="the whole window (side panel, leaderboard...) instead of the two plots",
    )
    view.add_argument(
        "--grid",
        action="store_true",
        help="small multiples: one small landscape per enabled racer, each with only its "
        "own trail (View > Small multiples; landscape scenarios only)",
    )
    vid = p.add_argument_group("video")
    vid.add_argument("--fps", type=int, default=None, help="frames per second (default 30, GIF 10)")
    vid.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS", help="length (default 10)"
    )
    vid.add_argument(
        "--steps-per-frame",
        type=int,
        default=None,
        metavar="K",
        help="K updates per frame instead of a duration (linear timing)",
    )
    vid.add_argument(
        "--timing",
        choices=("linear", "log"),
        default=None,
        help="steps to seconds: evenly, or in log time (early steps slow, later fast; the "
        "default for a long race: over 50 steps a second of video)",
    )
    p.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    from engine.scenario import ScenarioError, load_scenario

    if (args.out is None) == (args.video is None):
        return _fail("render: give --out FILE.png or --video PATH (one of them)")
    if args.panels and args.window:
        return _fail("--panels, --window: choose one (the two plots or the whole window)")
    video_only = ("fps", "duration", "steps_per_frame", "timing")
    given = [o for o in video_only if getattr(args, o) is not None]
    if args.video is None and given:
        return _fail(f"--{given[0].replace('_', '-')}: only with --video")
    size = None
    if args.size is not None:
        from gui.video import VideoError, parse_size

        try:
            size = parse_size(args.size)
        except VideoError as e:
            return _fail(str(e))
    if args.video is not None:
        if args.each:
            return _fail("--each: one picture per racer is for PNGs (--out DIR/), not --video")
        if len(args.scenarios) != 1 or Path(args.scenarios[0]).is_dir():
            return _fail(f"--video: expected one scenario file, got {' '.join(args.scenarios)!r}")
        try:
            scenario = load_scenario(args.scenarios[0])
        except ScenarioError as e:
            return _fail(str(e))
        if args.grid:
            from gui.app import check_grid

            try:
                check_grid(scenario, args.scenarios[0])
            except ValueError as e:
                return _fail(str(e))
        return _render_video(args, scenario, size)
    try:
        files, many = _render_inputs(args.scenarios)
        folder = _render_folder(args.out, many or args.each, len(files), args.each)
    except UserError as e:
        return _fail(str(e))
    # every scenario is checked before anything is drawn: one bad file, nothing written
    loaded, problems = [], []
    for f in files:
        try:
            loaded.append(_render_scenario(f, args))
        except (ScenarioError, ValueError, UserError) as e:
            problems.append(str(e))
    if problems and len(files) == 1:
        return _fail(problems[0])
    if problems:
        head = f"render: {len(problems)} of {len(files)} scenarios invalid, nothing written:"
        return _fail("\n".join([head, *problems]))
    try:
        jobs = _render_jobs(files, loaded, folder, Path(args.out), args.each)
    except UserError as e:
        return _fail(str(e))
    if folder is not None and not folder.exists():
        try:
            folder.mkdir()
        except OSError as e:
            return _fail(f"--out: cannot create folder {args.out!r}: {e.strerror or e}")
    from gui.app import render_pngs

    _first_run_warm_up(drawing=True)
    try:
        paths = render_pngs(jobs, size, whole_window=args.window, grid=args.grid)
    except OSError as e:
        return _fail(f"--out: cannot write {args.out!r}: {e.strerror or e}")
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK


def _render_inputs(names: list[str]) -> tuple[list[Path], bool]:
    """The scenario files ``render`` draws (a folder gives its ``*.toml``, sorted) and
    whether there may be several (more than one name, or a folder). UserError for an
    empty folder."""
    files: list[Path] = []
    for name in names:
        p = Path(name)
        if p.is_dir():
            inside = sorted(q for q in p.glob("*.toml") if q.is_file())
            if not inside:
                raise UserError(
                    f"{name}: expected a folder with scenario files (*.toml), found none"
                )
            files += inside
        else:
            files.append(p)  # a missing file is reported by its loading, with the others
    return files, len(names) > 1 or len(files) > 1 or any(Path(n).is_dir() for n in names)


def _render_folder(out: str, many: bool, n: int, each: bool) -> Path | None:
    """The folder ``--out`` names (None: a single PNG file). UserError when a folder is
    needed and ``--out`` is a file, or ``--out`` cannot be written."""
    p = Path(out)
    is_folder = out.endswith(("/", os.sep)) or p.is_dir()
    if not is_folder:
        if many or each:
            what = "--each" if each and n == 1 else f"{n} scenarios"
            raise UserError(f"--out: with {what}, expected a folder (DIR/), got {out!r}")
        if p.suffix.lower() != ".png":
            raise UserError(f"--out: expected a file name ending in .png, got {out!r}")
        if not p.parent.is_dir():
            raise UserError(f"--out: folder {str(p.parent)!r} does not exist")
        return None
    if p.exists() and not p.is_dir():
        raise UserError(f"--out: expected a folder, and {out!r} is a file")
    if not p.exists() and not p.parent.is_dir():
        raise UserError(f"--out: folder {str(p.parent)!r} does not exist")
    if not os.access(p if p.exists() else p.parent, os.W_OK):
        raise UserError(f"--out: cannot write in {out!r} (permission denied)")
    return p


def _render_scenario(f: Path, args: argparse.Namespace) -> Any:
    """Scenario file ``f`` as ``render`` draws it (--steps applied); ScenarioError,
    ValueError (--grid on a perceptron) or UserError (--each without an enabled racer)."""
    from dataclasses import replace

    from engine.scenario import load_scenario

    scenario = load_scenario(f)
    if args.steps is not None:
        scenario = replace(scenario, steps=int(args.steps))
    if args.grid:
        from gui.app import check_grid

        check_grid(scenario, str(f))
    if args.each and not any(c.enabled for c in scenario.racers):
        raise UserError(f"{f}: --each: expected at least one enabled racer, found none")
    return scenario


def _render_jobs(
    files: list[Path], scenarios: list[Any], folder: Path | None, out: Path, each: bool
) -> list[Any]:
    """One RenderJob per picture: ``out`` itself (no folder), DIR/<stem>.png, or with
    ``each`` DIR/<stem>_<label>.png per enabled racer (that racer alone, in the colour it
    has among the others, its hyperparameters as the title). UserError when two pictures
    would write the same file."""
    import re

    from engine.changes import copy_racer
    from gui.app import RenderJob
    from gui.legend import racer_title
    from gui.palette import color_for

    if folder is not None:  # a/x.toml and b/x.toml would write the same pictures
        by_stem: dict[str, Path] = {}
        for f in files:
            if f.stem in by_stem:
                raise UserError(
                    f"--out: {by_stem[f.stem]} and {f} would both write {f.stem}*.png in "
                    f"{folder}; render them to different folders"
                )
            by_stem[f.stem] = f
    jobs: list[RenderJob] = []
    for f, scn in zip(files, scenarios, strict=True):
        if folder is None:
            jobs.append(RenderJob(scn, out))
        elif not each:
            jobs.append(RenderJob(scn, folder / f"{f.stem}.png"))
        else:
            from dataclasses import replace

            used: set[str] = set()
            for i, c in enumerate(scn.racers):
                if not c.enabled:
                    continue
                name = re.sub(r"[^\w.+-]+", "_", c.label).strip("_.")[:60] or f"racer{i + 1}"
                if name in used:
                    name = f"{name}_{i + 1}"
                used.add(name)
                solo = copy_racer(c, color=c.color or color_for(i))
                jobs.append(
                    RenderJob(
                        replace(scn, racers=[solo]),
                        folder / f"{f.stem}_{name}.png",
                        racer_title(solo),
                    )
                )
    return jobs


def _render_video(args: argparse.Namespace, scenario: Any, size: tuple[int, int] | None) -> int:
    """``render --video``: check every option before the race runs, then write."""
    from dataclasses import replace

    from gui.video import Cancelled, ProgressBar, VideoError, make_request, render_video

    try:
        req = make_request(
            args.video,
            args.fps,
            args.duration,
            args.steps_per_frame,
            size,
            whole_window=args.window,
            grid=args.grid,
            timing=args.timing,
        )
    except VideoError as e:
        return _fail(str(e))
    if args.steps is not None:
        scenario = replace(scenario, steps=int(args.steps))
    _first_run_warm_up(drawing=True)
    bar = ProgressBar() if sys.stderr.isatty() else None
    import signal
    import threading

    cancel = threading.Event()  # Ctrl-C or a kill: the render stops after the frame
    handlers = {
        s: signal.signal(s, lambda *_: cancel.set()) for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        res = render_video(scenario, req, progress=bar, cancel=cancel)
    except OSError as e:  # the first line: ffmpeg's errors append its command and log
        why = e.strerror or str(e).strip().splitlines()[0]
        return _fail(f"--video: cannot write {args.video!r}: {why}")
    except (Cancelled, KeyboardInterrupt):  # the partial file is gone (gui.video.Sink.abort)
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
        if bar is not None:
            bar.close()
    how = "in log time (early steps slow, later fast)" if res.timing == "log" else "evenly"
    print(
        f"wrote {res.path}: {res.frames} frames at {req.fps} fps "
        f"({res.frames / req.fps:.1f} s), steps 0..{res.steps:,} spread {how}, "
        f"{req.size[0]}x{req.size[1]}, {res.bytes / 1e6:.1f} MB"
    )
    return EXIT_OK


def register_warmup(sub: SubParsers) -> None:
    p = sub.add_parser(
        "warmup",
        help="compile the kernels for this machine now (else on first use: 10-20 s, once)",
        description="Compile every numba kernel the app uses into the disk cache, so the "
        "first window or run starts at once. The window does this by itself (with a "
        "progress window) when it finds the cache empty.",
    )
    p.add_argument(
        "--engine-only",
        action="store_true",
        help="only the engine's kernels (what `run` needs), not the window's drawing ones "
        "nor the maps' batch kernel",
    )
    p.add_argument(
        "--serial",
        action="store_true",
        help="compile in this process only (default: two processes, on two cores)",
    )
    p.set_defaults(func=cmd_warmup)


def cmd_warmup(args: argparse.Namespace) -> int:
    import time

    from engine.warmup import kernels_cached, warm_up

    t0 = time.perf_counter()
    cached = kernels_cached()
    verb = "loading" if cached else "compiling"

    def say(msg: str) -> None:
        print(f"{verb} {msg}", flush=True)

    print("kernel cache: " + ("found" if cached else "empty (first run on this machine)"))
    warm_up(say, drawing=not args.engine_only, parallel=not args.serial,
            maps=not args.engine_only)  # fmt: skip
    print(f"kernels ready in {time.perf_counter() - t0:.1f} s", flush=True)
    return EXIT_OK


def _first_run_warm_up(note: bool = True, drawing: bool = False) -> None:
    """On a cold kernel cache: one line on stderr (``note``, and only on a terminal, like
    the progress bar: scripted runs keep stderr for errors), then the two-process warm-up
    (engine.warmup), which halves the wait compared with compiling on first use."""
    from engine.warmup import kernels_cached, warm_up

    if kernels_cached():
        return
    if note and sys.stderr.isatty():
        print(
            "first run on this machine: compiling the kernels (10-20 s, once; "
            "`python main.py warmup` does it ahead)",
            file=sys.stderr,
            flush=True,
        )
    warm_up(drawing=drawing)


# ---------------------------------------------------------------------------- map
def _res_arg(text: str) -> tuple[int, ...]:
    try:
        parts = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        parts = ()
    if not 1 <= len(parts) <= 2:
        raise argparse.ArgumentTypeError(f"expected N or NXxNY, got {text!r}")
    return parts


def register_map(sub: SubParsers) -> None:
    p = sub.add_parser(
        "map",
        help="map a racer's metrics over start points or hyperparameters",
        description="Run many configurations of a racer (every start point of a box, or a "
        "sweep of one or two hyperparameters) and write map.npz, map.json and map.png.",
    )
    p.add_argument("scenario", help="scenario file (.toml)")
    p.add_argument("--over", help="start, lr, or PARAM or PARAM1,PARAM2 (default: the "
                   "scenario's [map] table, as are the options below)")  # fmt: skip
    p.add_argument("--racer", metavar="LABEL", help="the racer to map (default: every enabled)")
    p.add_argument("--res", type=_res_arg, metavar="N|NXxNY", help="pixels per axis")
    p.add_argument("--range", dest="ranges", type=float, nargs="+", metavar="V",
                   help="LO HI [LO2 HI2]: the hyperparameters' ranges")  # fmt: skip
    p.add_argument("--box", type=float, nargs=4, metavar=("X0", "X1", "Y0", "Y1"),
                   help="the start points' box (default: the scenario's view)")  # fmt: skip
    p.add_argument("--steps", type=_steps_arg, help="override the scenario's number of steps")
    p.add_argument("--search", choices=("grid", "random"), help="default: grid")
    p.add_argument("--budget", type=int, metavar="K", help="random points (--search random)")
    p.add_argument("--log", type=_names_arg, metavar="PARAMS",
                   help="the swept hyperparameters spaced (or drawn) on a log scale, e.g. "
                   "lr,weight_decay; the others linearly (default: as `list` says)")  # fmt: skip
    p.add_argument("--workers", type=int, metavar="N",
                   help="compute on a new local Dask cluster of N processes (pip install -e "
                   "'.[cluster]')")  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="compute on a running Dask cluster, e.g. tcp://host:8786")  # fmt: skip
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=cmd_map)


def _names_arg(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (``--log lr,weight_decay``)."""
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return names


def _map_painter(scenario: Any) -> Callable[[Any, Path], None]:
    """map.png as the window's Maps panel draws it (offscreen Qt), the racer's current
    setting ringed; the plain picture where Qt cannot start."""

    def paint(res: Any, path: Path) -> None:
        from engine.maps.io import picture, png_bytes

        try:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            from gui.map_picture import map_marks, render_map_png

            racer = next((r for r in scenario.racers if r.label == res.racer), None)
            current = None
            others = []
            if racer is not None and res.spec.kind == "start":
                current = tuple(racer.start or scenario.objective.start)
            elif racer is not None:
                names = res.spec.names
                current = tuple(float(racer.params[n]) for n in names)
                others = [  # the other racers of the same optimizer, labelled
                    (r.label, tuple(float(r.params[n]) for n in names))
                    for r in scenario.racers
                    if r is not racer
                    and r.optimizer == racer.optimizer
                    and all(isinstance(r.params.get(n), int | float) for n in names)
                ]
            render_map_png(res, path, map_marks(scenario, res, current, others))
        except ImportError:  # no Qt on this machine
            path.write_bytes(png_bytes(picture(res)))

    return paint


def cmd_map(args: argparse.Namespace) -> int:
    from engine.maps.command import MapRequest, make_maps
    from engine.maps.grid import MapError
    from engine.maps.io import MapWriteError
    from engine.scenario import ScenarioError, load_scenario

    try:
        _check_out_dir(args.out)
        scenario = load_scenario(args.scenario)
    except (ScenarioError, UserError) as e:
        return _fail(str(e))
    box = tuple(args.box) if args.box is not None else None
    req = MapRequest(args.over, args.racer, args.res, args.ranges, box, args.steps,
                     args.search, args.budget, args.workers, args.scheduler, args.log)  # fmt: skip
    show_bar = not args.quiet and sys.stderr.isatty()
    bar: dict[str, _Progress] = {}

    def progress(label: str, done: int, total: int) -> None:
        if show_bar:
            b = bar.setdefault(label, _Progress(total))
            b(done, total)
            if done >= total:
                b.close()

    from engine.maps.command import plans

    try:
        plans(scenario, req)  # bad input: one message, before the warm-up and any run
    except MapError as e:
        return _fail(str(e))
    _first_run_warm_up(note=not args.quiet)
    try:
        results, paths = make_maps(
            scenario, req, args.out, progress=progress, painter=_map_painter(scenario)
        )
    except MapError as e:
        return _fail(str(e))
    except MapWriteError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if not args.quiet:
        for _res, info in results:
            b = info["best"]
            rate = info["steps_per_second"] or 0.0
            print(f"{info['racer']}: {info['pixels']} pixels x {info['steps']} steps in "
                  f"{info['wall_seconds']:.2f} s ({rate:,.0f} steps/s); best {b}")  # fmt: skip
            if "grid_at_same_budget" in info:
                print(f"  grid at the same budget: best {info['grid_at_same_budget']['best']}")
            c = info.get("cluster")
            if c is not None:
                print(f"  Dask: {c['workers']} workers, {c['tiles']} tiles (median "
                      f"{c['tile_seconds_median']:.2f} s); workers lost: {c['workers_lost']}, "
                      f"tiles rerun: {c['tiles_rerun_after_a_lost_worker']}")  # fmt: skip
        print("wrote " + ", ".join(str(p) for p in paths))
    return EXIT_OK


# ---------------------------------------------------------------------------- inspect
def _finite_arg(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def register_inspect(sub: SubParsers) -> None:
    p = sub.add_parser(
        "inspect",
        help="critical points, the local quadratic model and (quadratics) the theory",
        description="Print the landscape of SCENARIO, its critical points in the view with "
        "their types, the local quadratic model at --at X Y (f, gradient, Hessian, "
        "eigenvalues, type, Newton step) and, on a quadratic, lecture 5's predicted rate of "
        "each racer against the rate measured by running the scenario.",
    )
    p.add_argument("scenario", help="scenario file (.toml)")
    p.add_argument("--at", nargs=2, type=_finite_arg, metavar=("X", "Y"),
                   help="the point of the local quadratic model")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_inspect)


def cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from engine.race import RaceTooLarge
    from engine.scenario import ScenarioError, load_scenario
    from engine.theory.inspect import InspectError, inspect, inspect_text, json_ready

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as e:
        return _fail(str(e))
    _first_run_warm_up(note=not args.json)
    at = (args.at[0], args.at[1]) if args.at is not None else None
    try:
        report = inspect(scenario, at)
    except InspectError as e:
        return _fail(f"{args.scenario}: {e}")
    except ScenarioError as e:
        return _fail(str(e))
    except (RaceTooLarge, MemoryError):
        return _fail(f"{args.scenario}: not enough memory to run it; use fewer steps")
    if args.json:
        print(json.dumps(json_ready(report), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(inspect_text(report))
    return EXIT_OK


# ---------------------------------------------------------------------------- parser
SUBCOMMANDS: list[Callable[[SubParsers], None]] = [
    register_run,
    register_list,
    register_validate,
    register_gui,
    register_render,
    register_warmup,
    register_map,
    register_inspect,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Gradient Arena: race gradient optimizers on 2-D loss landscapes.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def _tolerant_streams() -> None:
    """Never crash on a console that cannot show a character (a 'ρ' in a label, say)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a detached or closed stream
                reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:  # no command: open the window on the default race
        return cmd_gui(args)
    return int(func(args))


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `python main.py list | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)
