"""Compile the engine's kernels ahead of use, and tell whether they are compiled already.

numba compiles the kernels for the machine it runs on the first time they are used and
keeps the machine code on disk (engine.jit: the cache folder is keyed by the engine's
source). The first use on a machine (or after an engine edit) therefore pays the whole
compilation, 15-25 s of CPU here, most of it the race kernel; every later start reads
the cache in under a second.

The window and the command line use :func:`kernels_cached` to say so before that wait
instead of looking frozen: the window shows a progress window while ``python main.py
warmup`` compiles in a separate process (:mod:`gui.app`), the CLI prints a line.
:func:`compile_engine` is what the warm-up runs: small races of each objective kind
with every optimizer, so the race kernel and its callees, the perceptron's epoch
metrics and the leaderboard's metrics are all compiled (the window's drawing kernels
are compiled by gui.app.warm_up_window).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def kernels_cached() -> bool:
    """True when the disk cache holds the race kernel for this engine source.

    Looks for the cache index of ``engine.kernel.race_chunk`` (the kernel that is most
    of the compile time) without compiling or loading anything. A cache written for
    another signature or CPU makes this say True while numba still compiles: numba's
    cache is the authority, this is only the hint that decides whether to warn.
    """
    from engine.kernel import race_chunk

    try:
        index = race_chunk._cache._cache_file._index_path  # numba's FunctionCache internals
    except AttributeError:  # another numba version: assume cached rather than warn wrongly
        return True
    return Path(index).is_file()


def compile_engine(report: Callable[[str], None] | None = None) -> None:
    """Compile (or load from the disk cache) every kernel a race of either objective
    kind uses: a landscape race with gradient noise and a perceptron race, each with
    every optimizer, advanced a few steps, then their metrics."""
    from engine.data import Dataset, generate
    from engine.objective import LandscapeObjective, PerceptronObjective
    from engine.optimizers import OPTIMIZERS
    from engine.race import Race, RacerConfig

    say = report if report is not None else (lambda _msg: None)
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
