"""Batch render (issue #16: 16 one-racer images from one scenario in under 5 s).

One scenario of 16 racers (gradient descent on the x₁² + 50x₂² ravine, η from 0.001 to
0.019, 300 steps) is drawn two ways, interleaved, in one run, each as a user runs it
(a new ``python main.py render`` process, interpreter start-up included):

* batch: one process, ``render SCENARIO --each --out DIR/`` (16 PNGs, one Qt start-up);
* singles: 16 processes, ``render ONE.toml --out ONE.png`` on 16 one-racer scenarios
  (the same pictures without the title band: what writing them one by one costs today).

Figures are medians over the repeats (a singles repeat is the sum of its 16 processes);
the ratio singles / batch is the speed-up. The machine is shared: wall times are noisy.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench import ROOT
from bench.common import child_env, median, temp_dir

N_RACERS = 16
TARGET_S = 5.0


def _scenarios(tmp: Path) -> tuple[Path, list[Path]]:
    """The 16-racer scenario and its 16 one-racer scenarios, written into ``tmp``."""
    from engine.changes import copy_racer
    from engine.scenario import load_scenario, save_scenario
    from gui.palette import color_for

    base = load_scenario(ROOT / "scenarios" / "lecture_gd_ravine.toml")
    proto = base.racers[0]
    lrs = [0.001 + 0.0012 * k for k in range(N_RACERS)]
    racers = [
        copy_racer(proto, params={"lr": lr}, label=f"η = {lr:.4g}", color=color_for(k))
        for k, lr in enumerate(lrs)
    ]
    many = tmp / "gd_16.toml"
    save_scenario(replace(base, racers=racers, name="GD, 16 learning rates"), many)
    ones = []
    for k, r in enumerate(racers):
        p = tmp / f"one_{k:02d}.toml"
        save_scenario(replace(base, racers=[r], name=r.label), p)
        ones.append(p)
    return many, ones


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list[str], cpu: list[float] | None = None) -> float:
    """Wall seconds of ``python main.py render ARGS`` (a failure raises, with its stderr);
    its CPU seconds (user + system) are appended to ``cpu``."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "render", *args],
        cwd=ROOT,
        env=child_env(QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_children_cpu() - c0)
    if p.returncode != 0:
        raise RuntimeError(f"render {' '.join(args)} failed (exit {p.returncode}):\n{p.stderr}")
    return wall


def bench_render(quick: bool = False) -> int:
    repeats = 1 if quick else 3
    with temp_dir("render_bench") as tmp:
        many, ones = _scenarios(tmp)
        out = tmp / "out"
        out.mkdir()
        _run([str(ones[0]), "--out", str(out / "warm.png")])  # caches, fonts, page cache
        print(
            f"render: {N_RACERS} one-racer PNGs (2000x800 panels, GD on the ravine, 300 "
            f"steps); {repeats} repeat(s), interleaved, medians",
            flush=True,
        )
        batch: list[float] = []
        singles: list[float] = []
        per_single: list[float] = []
        batch_cpu: list[float] = []
        for _ in range(repeats):
            batch.append(_run([str(many), "--each", "--out", f"{out}/"], batch_cpu))
            walls = [_run([str(p), "--out", str(out / f"{p.stem}.png")]) for p in ones]
            singles.append(sum(walls))
            per_single += walls
        written = len(list(out.glob("gd_16_*.png")))
        if written != N_RACERS:
            print(f"  batch wrote {written} files, expected {N_RACERS}", flush=True)
            return 1
    b, s = median(batch), median(singles)
    print(
        f"  batch  (1 process, --each)   {b:6.2f} s   {b / N_RACERS * 1000:6.0f} ms/image "
        f"(CPU {median(batch_cpu):.2f} s: PNGs are written on a second thread)"
    )
    print(
        f"  singles ({N_RACERS} processes)       {s:6.2f} s   {s / N_RACERS * 1000:6.0f} ms/image "
        f"(median process {median(per_single):.2f} s)"
    )
    verdict = "meets" if b < TARGET_S else "MISSES"
    print(
        f"  speed-up singles / batch: {s / b:.1f}x; target: batch < {TARGET_S:.0f} s: "
        f"{verdict} ({b:.2f} s)",
        flush=True,
    )
    return 0
