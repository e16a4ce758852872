"""A race's per-racer buffers: what they are, the bytes they take, and the refusal of
a race that would not fit in memory."""

from __future__ import annotations

import math
import os

import numpy as np

from engine.optimizers import BIAS_TABLE_MAX, H_SIZE, K_STATE, S_STATE
from engine.schedules import SP_SIZE

# epochs whose batch order a perceptron race keeps (racers in up to this many different
# epochs share the orders without reshuffling)
PERM_SLOTS = 3


def racer_arrays(dim: int, cap: int) -> dict[str, tuple[tuple[int, ...], type, float | None]]:
    """Every array with one entry per racer: name -> (shape of one racer's entry, dtype,
    initial fill), for ``dim`` parameters and ``cap`` recorded rows (steps + 1). Fill
    None: not filled (written whole before it is read)."""
    i8, f8, nan = np.int64, np.float64, math.nan
    return {
        "oids": ((), i8, 0), "sids": ((), i8, 0), "hps": ((H_SIZE,), f8, 0.0),
        "sps": ((SP_SIZE,), f8, 0.0), "X": ((dim,), f8, 0.0), "st": ((K_STATE, dim), f8, 0.0),
        "sc": ((S_STATE,), f8, 0.0), "btab": ((), i8, 0), "t": ((), i8, 0),
        "count": ((), i8, 0), "status": ((), i8, 0), "active": ((), i8, 0),
        "rng": ((4,), np.uint64, 0), "run_id": ((), i8, 0),
        # the recorded rows
        # the recorded rows (rows at and past ``count``: NaN, x zero)
        "xs": ((cap, dim), f8, 0.0), "loss": ((cap,), f8, nan), "gnorm": ((cap,), f8, nan),
        "lrs": ((cap,), f8, nan),
    }  # fmt: skip


PER_RACER_ARRAYS = tuple(racer_arrays(1, 1))


class RaceTooLarge(ValueError):
    """A race that would not fit in the memory available."""


def race_nbytes(racers: int, steps: int, dim: int, data_rows: int = 0, tables: int = 1) -> int:
    """Bytes the buffers of a race of ``racers`` x ``steps`` updates on ``dim`` parameters
    take (``data_rows``: a perceptron's rows, for its shared batch orders; ``tables``:
    its distinct bias tables, :meth:`Race._pack_biases`)."""
    per_racer = sum(
        math.prod(shape) * np.dtype(dtype).itemsize
        for shape, dtype, _ in racer_arrays(dim, steps + 1).values()
    )
    perm = PERM_SLOTS * (data_rows * np.dtype(np.int32).itemsize + np.dtype(np.int64).itemsize)
    bias = int(tables) * 3 * min(steps + 1, BIAS_TABLE_MAX) * np.dtype(np.float64).itemsize
    return int(racers) * per_racer + perm + bias


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable; else the free physical pages,
    else all of them); None if the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            return int(os.sysconf(pages)) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            continue
    return None


def check_race_size(racers: int, steps: int, dim: int, data_rows: int = 0, tables: int = 1) -> int:
    """The bytes of :func:`race_nbytes`; RaceTooLarge if more than the memory available."""
    need = race_nbytes(racers, steps, dim, data_rows, tables)
    have = available_memory()
    if have is not None and need > have:
        raise RaceTooLarge(
            f"a race of {racers:,} racers x {steps:,} steps x {dim} parameters needs "
            f"{memory_text(need)} of memory; {memory_text(have)} is available "
            "(use fewer racers or steps)"
        )
    return need


def memory_text(n: int) -> str:
    """Bytes as MB or GB for messages."""
    return f"{n / 1e9:,.2f} GB" if n >= 1e8 else f"{n / 1e6:,.1f} MB"
