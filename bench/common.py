"""Shared helpers: robust statistics, interleaved repeats, tables and timed subprocesses."""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import ROOT, START_ENV

# ---------------------------------------------------------------------------- statistics


def median(xs: Sequence[float]) -> float:
    """Median of the finite values of ``xs`` (NaN if there are none)."""
    ys = [x for x in xs if math.isfinite(x)]
    return statistics.median(ys) if ys else math.nan


def percentile(xs: Sequence[float], q: float) -> float:
    """``q``-th percentile (0..100, linear interpolation); NaN for an empty sequence."""
    ys = sorted(xs)
    if not ys:
        return math.nan
    k = (len(ys) - 1) * q / 100.0
    lo = math.floor(k)
    hi = min(lo + 1, len(ys) - 1)
    return ys[lo] + (ys[hi] - ys[lo]) * (k - lo)


def spread(xs: Sequence[float]) -> float:
    """Relative half-width of the middle half, (p75 − p25) / (2·median): the noise level."""
    m = median(xs)
    if not (m > 0 and len(xs) >= 2):
        return math.nan
    return (percentile(xs, 75) - percentile(xs, 25)) / (2.0 * m)


def ratio(a: float, b: float) -> float:
    """a / b, NaN when either is missing or b is zero."""
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.nan
    return a / b


class Stopwatch:
    """Wall-clock and this thread's CPU time of a ``with`` block.

    On a shared host the wall time includes time the thread was not scheduled; the CPU
    time does not (a large gap between the two means the figure is contended).
    """

    wall = 0.0
    cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._w = time.perf_counter()
        self._c = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = time.thread_time() - self._c


Timing = tuple[float, float, float]  # wall seconds, CPU seconds, work units


@dataclass
class Case:
    """One timed thing: ``run()`` returns (wall s, CPU s, work units) for one repeat.

    ``run`` does its own untimed set-up and times only the measured part; the figures
    are seconds per unit (per step, per racer-step, ...).
    """

    name: str
    run: Callable[[], Timing]
    samples: list[float] = field(default_factory=list)  # wall seconds per unit
    cpu_samples: list[float] = field(default_factory=list)  # CPU seconds per unit

    @property
    def per_unit(self) -> float:
        return median(self.samples)

    @property
    def cpu_per_unit(self) -> float:
        return median(self.cpu_samples)


def run_interleaved(cases: Sequence[Case], repeats: int, progress: bool = True) -> None:
    """Run every case ``repeats`` times, round-robin, appending seconds/unit to samples.

    One warm-up round first (compiles, faults pages in, fills caches), not recorded.
    """
    for c in cases:
        c.run()
    for k in range(repeats):
        if progress:
            _progress(f"round {k + 1}/{repeats}")
        for c in cases:
            wall, cpu, units = c.run()
            c.samples.append(wall / units if units > 0 else math.nan)
            c.cpu_samples.append(cpu / units if units > 0 else math.nan)
    if progress:
        _progress("")


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K{msg}")
        sys.stderr.flush()


def note(msg: str) -> None:
    """A progress line on stderr (the tables go to stdout)."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- formatting


def fmt(v: float | int | None, spec: str = ".3g", unit: str = "") -> str:
    """A number for a table cell ('—' for missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{format(v, spec)}{unit}"


def fmt_ns(seconds: float) -> str:
    return fmt(seconds * 1e9, ".1f" if seconds * 1e9 < 1000 else ",.0f")


def fmt_ratio(r: float) -> str:
    if not math.isfinite(r):
        return "—"
    if r >= 100:
        return f"{r:,.0f}x"
    return f"{r:.2f}x"


def fmt_pct(p: float) -> str:
    return "—" if not math.isfinite(p) else f"±{100 * p:.0f}%"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("ok" if ok else "MISS")


def table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: Sequence[int] = (0,),
    notes: Sequence[str] = (),
) -> str:
    """A plain-text table: title, header, rule, rows (columns in ``left`` left-aligned)."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[k]) for r in cells) for k in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        pairs = enumerate(zip(r, widths, strict=True))
        out = [c.ljust(w) if k in left else c.rjust(w) for k, (c, w) in pairs]
        return "  ".join(out).rstrip()

    rule = "-" * len(line(["-" * w for w in widths]))
    parts = [title, rule, line(headers), rule, *[line(r) for r in rows], rule]
    parts += [f"  {n}" for n in notes]
    return "\n".join(parts)


def emit(text: str) -> None:
    print(text, flush=True)
    print(flush=True)


# ---------------------------------------------------------------------------- environment


def engine_source_hash() -> str:
    """Hash of the engine's sources (the key of its numba cache folder, see engine.jit)."""
    h = hashlib.sha256()
    root = ROOT / "engine"
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def child_env(**extra: str) -> dict[str, str]:
    """The environment the bench started with (no NUMBA_CACHE_DIR unless the user set it)."""
    env = dict(START_ENV)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONSTARTUP", None)
    return env


@dataclass
class ChildRun:
    """One timed ``python -c`` child: wall seconds from just before spawn to its marks."""

    marks: dict[str, float]  # name -> seconds since spawn (child's time.time() − parent's)
    info: dict[str, object]
    wall: float  # spawn to exit


def run_child(
    code: str, env: dict[str, str], timeout: float = 300.0, args: list[str] | None = None
) -> ChildRun:
    """Run ``python -c code`` in the repo root; the child prints one JSON line last.

    The JSON holds ``marks`` (name -> the child's ``time.time()`` at that point) and any
    ``info``. Marks are returned relative to the parent's ``time.time()`` just before
    the spawn, so they include interpreter start-up, as a user would see it.
    """
    t0 = time.time()
    p = subprocess.run(
        [sys.executable, "-c", code, *(args or [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.time() - t0
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    if p.returncode != 0 or not last.startswith("{"):
        raise RuntimeError(
            f"child failed (exit {p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}"
        )
    doc = json.loads(last)
    marks = {k: float(v) - t0 for k, v in doc.get("marks", {}).items()}
    return ChildRun(marks, dict(doc.get("info", {})), wall)


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield Path(d)
