"""Compile the kernels ahead of use, on two cores, and tell whether they are compiled.

numba compiles the kernels for the machine it runs on the first time they are used and
keeps the machine code on disk (engine.jit: the cache folder is keyed by the engine's
source). The first use on a machine (or after an engine edit) therefore pays the whole
compilation, ~15-20 s of CPU for the engine here, most of it the race kernel and its
callees, ~5 s more for the window's drawing kernels; every later start reads the cache
in about a second.

The window and the command line use :func:`kernels_cached` to say so before that wait
instead of looking frozen (the window shows a progress window while ``python main.py
warmup`` runs in another process; the CLI prints a line on a terminal).

:func:`warm_up` is ``main.py warmup``. numba compiles one function at a time and holds
the GIL while it does, so it splits the work between two processes that share the disk
cache: this one builds small races of both objective kinds (:func:`compile_engine`: the
race kernel, which compiles its callees in the order it meets them); a child process
(:func:`compile_parts`) compiles the callees the race kernel meets last, by their
argument types, and then the window's drawing kernels. When the race kernel reaches a
callee the child has finished, numba loads it from the cache instead of compiling it; if
the child is late, this process compiles it too (wasted time, the same result).
tests/test_warmup.py checks that the types here are those the race kernel asks for and
that after a warm-up the window compiles nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Report = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


def kernels_cached() -> bool:
    """True when the disk cache holds the race kernel for this engine source.

    Looks for the cache index of ``engine.kernel.race_chunk`` (the kernel that is most
    of the compile time) without compiling or loading anything. A cache written for
    another signature or CPU makes this say True while numba still compiles: numba's
    cache is the authority, this is only the hint that decides whether to warn.
    """
    from engine.kernel import race_chunk

    cache: Any = getattr(race_chunk, "_cache", None)  # numba's FunctionCache internals
    try:
        index = cache._cache_file._index_path
    except AttributeError:  # another numba version: assume cached rather than warn wrongly
        return True
    return Path(index).is_file()


def compile_engine(report: Report | None = None) -> None:
    """Compile (or load from the disk cache) every kernel a race of either objective
    kind uses: a landscape race with gradient noise and a perceptron race, each with
    every optimizer, advanced a few steps, then their metrics."""
    from engine.data import Dataset, generate
    from engine.objective import LandscapeObjective, PerceptronObjective
    from engine.optimizers import OPTIMIZERS
    from engine.race import Race, RacerConfig

    say = report or _quiet
    say("the race kernel (both objective kinds, every optimizer)")
    land = LandscapeObjective.create("rosenbrock", grad_noise=0.1)
    race = Race(land, [RacerConfig(o) for o in OPTIMIZERS], steps=20)
    race.advance(3)
    race.metrics()
    say("the perceptron's metrics")
    rows = generate("blobs", {"n": 200, "seed": 0})
    pc = PerceptronObjective(Dataset(rows[:150], rows[150:]), 16, 2)
    race = Race(pc, [RacerConfig(o) for o in OPTIMIZERS], steps=pc.total_steps, seed=1)
    race.advance(pc.total_steps)
    race.epoch_metrics(0)
    race.metrics()


def part_signatures() -> list[tuple[Any, tuple[Any, ...]]]:
    """(dispatcher, argument types) of the race kernel's callees.

    The order is the child's (:func:`compile_parts`): race_chunk meets its callees in
    the order of its code (the shuffle, landscape_fgh, perceptron_fg, schedule_lr,
    special_step, opt_update), about 5 s in for the last three; the child starts with
    the biggest of those (opt_update, 3 s) so that they are in the cache by then, and
    takes the first three last (by then normally loaded from the cache, not compiled).

    The types come from a race's own arrays (``Race.kernel_args``; a race without racers
    compiles nothing) and the rules numba types the kernel's code by: ``a[i]`` of a
    C-contiguous array is a C-contiguous array of one dimension less, integers are int64.
    """
    import numba
    from numba.core import types as nt

    from engine.kernel import formula_sgd_loop, race_chunk, shuffle_epoch, special_step
    from engine.landscapes import landscape_fgh
    from engine.objective import LandscapeObjective
    from engine.optimizers import opt_update
    from engine.perceptron_kernel import perceptron_fg
    from engine.race import Race
    from engine.schedules import schedule_lr

    race = Race(LandscapeObjective.create("rosenbrock"), [], steps=2)
    args = [numba.typeof(a) for a in race.kernel_args(race.t.copy(), race.active)]
    names = race_chunk.py_func.__code__.co_varnames[: race_chunk.py_func.__code__.co_argcount]
    ty = dict(zip(names, args, strict=True))

    def row(t: Any) -> Any:
        return t.copy(ndim=t.ndim - 1)

    i8, f8 = nt.int64, nt.float64
    data, scratch = ty["data"], ty["scratch"]
    prow, hp, x, g = row(ty["perm"]), row(ty["hps"]), row(ty["X"]), row(scratch)
    return [
        (opt_update, (i8, hp, row(ty["st"]), row(ty["sc"]), row(ty["bts"]), x, g, f8, i8)),
        (special_step, (i8, i8, i8, data, prow, i8, i8, f8, hp, row(ty["rng"]), x, g, g, f8,
                        scratch)),
        (schedule_lr, (i8, row(ty["sps"]), f8, f8)),
        (shuffle_epoch, (i8, i8, prow)),
        (landscape_fgh, (i8, ty["lp"], f8, f8, nt.boolean)),
        (formula_sgd_loop, (ty["lp"], f8, f8, f8, i8, i8, nt.boolean, row(ty["xs"]),
                            row(ty["loss"]), row(ty["gnorm"]), row(ty["lrs"]))),
        (perceptron_fg, (data, prow, i8, i8, x, g, scratch)),
    ]  # fmt: skip


def drawing_steps() -> list[Callable[[], object]]:
    """Calls that compile the kernels the window draws with (engine.display, the
    landscape and perceptron grids, the gradient field), made as the window makes them,
    on small arrays of the window's types; the costliest first."""
    import numpy as np

    from engine import display
    from engine.landscapes import landscape_fg, landscape_grid, landscape_hess
    from engine.objective import LandscapeObjective

    z = np.zeros((4, 4))
    ob = LandscapeObjective.create("rosenbrock")
    lid, packed = int(ob.landscape.lid), ob.packed
    gx = np.ones((3, 3))
    xs = np.zeros((8, 2))
    buf = np.zeros((8, 2))
    y = np.zeros((2, 16))[0]
    out = np.zeros(8)
    ix = np.zeros(16, dtype=np.int64)
    rows = np.zeros((4, 3))
    return [
        lambda: landscape_grid(lid, packed, -1.0, 1.0, 4, -1.0, 1.0, 4, z),
        lambda: display.contour_segments(z + np.arange(4.0), -1.0, 1.0, -1.0, 1.0, out[:1]),
        lambda: display.perceptron_loss_grid(rows, 0.0, -1.0, 1.0, 4, -1.0, 1.0, 4, z),
        lambda: landscape_fg(lid, packed, np.zeros(2), np.zeros(2)),
        # the theory overlay (quadratic_of) and the local-model probe
        lambda: landscape_hess(lid, packed, np.zeros(2), np.zeros((2, 2))),
        lambda: display.quiver_segments(gx, gx, np.arange(3.0), np.arange(3.0), 0.1),
        lambda: display.thin_path(xs, 0, 8, 0.0, 0.0, 0.1, buf, 0),
        lambda: display.rethin(buf, 4, 0.2),
        lambda: display.finite_bounds(xs[:, 0].copy(), xs[:, 1].copy()),
        lambda: display.finite_bounds(xs[:, 0], xs[:, 1]),  # strided columns of a trail
        lambda: display.minmax_decimate(y, 0, 16, 4, out, out.copy()),
        lambda: display.envelope_update(y, 0, 16, 4, out, out.copy(), ix, ix.copy()),
        lambda: display.ema_update(y, 0, 16, 0.5, np.zeros(16)),
    ]


def compile_drawing(report: Report | None = None, reverse: bool = False) -> None:
    """Compile (or load) the window's drawing kernels (:func:`drawing_steps`; ``reverse``:
    the cheapest first, as the parent does while the child works from the other end)."""
    (report or _quiet)("the window's drawing kernels")
    steps = drawing_steps()
    for step in reversed(steps) if reverse else steps:
        step()


def compile_maps(report: Report | None = None) -> None:
    """Compile (or load) the maps' batch kernel (engine.maps.kernel.map_chunk, ~12 s
    cold): a map of two pixels (engine.maps.fast.warm_up_map)."""
    from engine.maps.fast import warm_up_map

    (report or _quiet)("the maps' batch kernel")
    warm_up_map()


def compile_parts(report: Report | None = None, drawing: bool = True, maps: bool = True) -> None:
    """The child's share of :func:`warm_up`: the race kernel's callees by signature,
    the perceptron's evaluation, (``maps``) the maps' batch kernel, then (``drawing``)
    the window's drawing kernels."""
    import numpy as np

    from engine.objective import evaluate_points

    say = report or _quiet
    say("the optimizers' and objectives' kernels")
    parts = part_signatures()
    for disp, sig in parts[:3]:  # the callees race_chunk meets last
        disp.compile(sig)
    evaluate_points(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((1, 3)), np.zeros((1, 4)))
    if maps:
        compile_maps(say)
    if drawing:
        compile_drawing(say)
    for disp, sig in parts[3:]:  # normally in the cache by now (the parent's race kernel)
        disp.compile(sig)


def _die_with_parent() -> None:
    """In the child (Linux): SIGTERM when the parent dies, e.g. killed by the window's Quit."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def warm_up(
    report: Report | None = None, drawing: bool = True, parallel: bool = True, maps: bool = True
) -> None:
    """Compile (or load) every kernel the engine uses and, with ``drawing``, the window's:
    :func:`compile_engine` here and :func:`compile_parts` in a child process at the same
    time (``parallel``); if the child fails, its share is done here afterwards."""
    say = report or _quiet
    child = None
    if parallel:
        cmd = [sys.executable, "-m", "engine.warmup", "parts"]
        if not drawing:
            cmd.append("--no-drawing")
        if not maps:
            cmd.append("--no-maps")
        try:
            child = subprocess.Popen(
                cmd,
                cwd=Path(__file__).resolve().parents[1],  # `engine` importable from here
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError:
            child = None
    compile_engine(say)
    if drawing and child is not None:  # meet the child halfway through the drawing kernels
        compile_drawing(say, reverse=True)
    if child is not None:
        _, err = child.communicate()
        if child.returncode == 0:
            return
        last = (err or "").strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
        say(f"the rest here (the second process failed: {last[0]})")
    compile_parts(say, drawing, maps)


if __name__ == "__main__":  # python -m engine.warmup parts [--no-drawing] [--no-maps]: the child
    if sys.argv[1:2] != ["parts"]:
        sys.exit("usage: python -m engine.warmup parts [--no-drawing] [--no-maps]")
    compile_parts(drawing="--no-drawing" not in sys.argv[2:], maps="--no-maps" not in sys.argv[2:])
