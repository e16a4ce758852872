"""A race's per-racer buffers: what they are, the bytes they take, the memory they are
made in (one block per set of buffers, reused across races: :class:`BlockPool`), and the
refusal of a race that would not fit in memory."""

from __future__ import annotations

import collections
import math
import os
import threading
import weakref
from typing import Protocol

import numpy as np

from engine.optimizers import BIAS_TABLE_MAX, H_SIZE, K_STATE, S_STATE
from engine.schedules import SP_SIZE

# epochs whose batch order a perceptron race keeps (racers in up to this many different
# epochs share the orders without reshuffling)
PERM_SLOTS = 3


def racer_arrays(
    dim: int, cap: int, vcap: int = 0
) -> dict[str, tuple[tuple[int, ...], type, float | None]]:
    """Every array with one entry per racer: name -> (shape of one racer's entry, dtype,
    initial fill), for ``dim`` parameters and ``cap`` recorded rows (steps + 1); ``vcap``:
    rows of the momentum recorded per step (``cap`` for a race that records it, else 0).
    Fill None: not filled (written whole before it is read)."""
    i8, f8, nan = np.int64, np.float64, math.nan
    return {
        "oids": ((), i8, 0), "sids": ((), i8, 0), "hps": ((H_SIZE,), f8, 0.0),
        "sps": ((SP_SIZE,), f8, 0.0), "X": ((dim,), f8, 0.0), "st": ((K_STATE, dim), f8, 0.0),
        "sc": ((S_STATE,), f8, 0.0), "btab": ((), i8, 0), "t": ((), i8, 0),
        "count": ((), i8, 0), "status": ((), i8, 0), "active": ((), i8, 0),
        "rng": ((4,), np.uint64, 0), "run_id": ((), i8, 0),
        # the recorded rows (rows at and past ``count``: NaN, x zero)
        "xs": ((cap, dim), f8, 0.0), "loss": ((cap,), f8, nan), "gnorm": ((cap,), f8, nan),
        "lrs": ((cap,), f8, nan),
        # the optimizer's momentum row at each recorded step, for the window's replay of
        # the step arrows (a picture: float32; NaN where the optimizer has none)
        "vel": ((vcap, dim), np.float32, nan),
    }  # fmt: skip


PER_RACER_ARRAYS = tuple(racer_arrays(1, 1))
#: a float64 of eight 0xFF bytes is a quiet NaN (sign set, payload all ones): NaN rows
#: are written by memset, like zero ones
NAN_BYTE = 0xFF

ALIGN = 64  # bytes: every array of a block starts on a cache line
POOL_MIN_BYTES = 1 << 20  # smaller blocks are not pooled (fresh ones cost little)
POOL_MAX_BYTES = 1 << 27  # larger blocks are not kept once free (their memory goes back)
POOL_FREE_BLOCKS = 2  # free blocks kept at most (the last ones freed)


class BlockPool:
    """Memory blocks for races' buffers, reused: a block is free again once nothing
    references any array made in it, so a block is never handed out while in use.

    Fresh memory is most of what building a large race costs (the OS maps and zeroes
    every page on its first touch: filling the 40 MB of 2,000 racers x 500 steps takes
    2-3x longer fresh than in a block reused, the bench's RACE BUILD table), and a
    window rebuilds its race of the same size again and again: the next race takes the
    block the last one freed.

    :meth:`take` gives a block as a ``lease``, a uint8 array whose views are the
    buffers: every view references the lease, so the lease dies with the last one,
    and its finalizer (run by whichever thread drops it, possibly inside the garbage
    collector) puts the block in ``free``, a bounded deque: appending needs no lock and
    drops the oldest free block beyond POOL_FREE_BLOCKS. Takers hold ``lock``. Blocks of
    less than POOL_MIN_BYTES or more than POOL_MAX_BYTES are never pooled."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free: collections.deque[np.ndarray] = collections.deque(maxlen=POOL_FREE_BLOCKS)

    def take(self, nbytes: int) -> np.ndarray:
        """A lease of at least ``nbytes`` bytes: a free block of at most twice as many
        if there is one (it holds an old race's values), else a new one."""
        block = None
        if nbytes >= POOL_MIN_BYTES:
            with self.lock:
                blocks = self._drain()
                fits = [b for b in blocks if nbytes <= b.nbytes <= 2 * nbytes]
                if fits:
                    block = min(fits, key=lambda b: b.nbytes)
                    self.free.extend(b for b in blocks if b is not block)
                # else: the free blocks fit no race now; their memory goes back first
        if block is None:
            block = np.empty(max(nbytes, 1), dtype=np.uint8)
        lease = np.frombuffer(memoryview(block.data), dtype=np.uint8)  # views reference it
        if POOL_MIN_BYTES <= block.nbytes <= POOL_MAX_BYTES:
            weakref.finalize(lease, self.free.append, block).atexit = False
        return lease

    def has_free(self, nbytes: int) -> bool:
        """Whether :meth:`take` of ``nbytes`` would now give a free block (memory the
        process holds already) rather than a new one."""
        return nbytes >= POOL_MIN_BYTES and any(
            nbytes <= b.nbytes <= 2 * nbytes for b in list(self.free)
        )

    def _drain(self) -> list[np.ndarray]:
        out = []
        while True:
            try:
                out.append(self.free.popleft())
            except IndexError:
                return out

    def free_bytes(self) -> int:
        """Bytes held by free blocks (memory the pool can give back)."""
        return sum(b.nbytes for b in list(self.free))

    def clear(self) -> None:
        """Give every free block back (blocks in use return when freed)."""
        with self.lock:
            self._drain()


POOL = BlockPool()


ROWS = ("xs", "loss", "gnorm", "lrs", "vel")  # the recorded rows: (racers, cap, ...) arrays


def _layout(slots: int, dim: int, cap: int, vcap: int = 0) -> tuple[list[int], int]:
    """Each per-racer array's offset in its block, and the block's bytes."""
    offsets, total = [], 0
    for shape, dtype, _ in racer_arrays(dim, cap, vcap).values():
        offsets.append(total)
        size = slots * math.prod(shape) * np.dtype(dtype).itemsize
        total += -(-size // ALIGN) * ALIGN
    return offsets, total


def block_nbytes(slots: int, dim: int, cap: int, vcap: int = 0) -> int:
    """The bytes of the block :func:`make_racer_buffers` takes for these sizes."""
    return _layout(slots, dim, cap, vcap)[1]


def make_racer_buffers(
    slots: int, dim: int, cap: int, fill: bool = True, vcap: int = 0
) -> dict[str, np.ndarray]:
    """The per-racer arrays of :func:`racer_arrays` for ``slots`` racers, each of shape
    ``(slots, *shape)``, made in one block of :data:`POOL` and filled (those with a fill;
    ``fill=False``: none, left as the block held them, for a caller that writes every
    entry of every slot before anyone reads it: a new race packs and resets all its
    racers, the rows filled by :func:`fill_rows`)."""
    spec = racer_arrays(dim, cap, vcap)
    offsets, total = _layout(slots, dim, cap, vcap)
    lease = POOL.take(total)
    out = {}
    for (name, (shape, dtype, value)), off in zip(spec.items(), offsets, strict=True):
        raw = lease[off : off + slots * math.prod(shape) * np.dtype(dtype).itemsize]
        a: np.ndarray = raw.view(dtype).reshape(slots, *shape)
        if not fill or value is None:
            pass
        elif value == 0:  # all-zero bytes (0, 0.0): a memset, ~2.5x faster than a.fill(0.0)
            raw.fill(0)
        elif math.isnan(value):
            raw.fill(NAN_BYTE)
        else:
            a.fill(value)
        out[name] = a
    return out


class _HasRows(Protocol):
    xs: np.ndarray
    loss: np.ndarray
    gnorm: np.ndarray
    lrs: np.ndarray
    vel: np.ndarray


def fill_rows(race: _HasRows, which: slice | np.ndarray) -> None:
    """Racers ``which``'s recorded rows as a reset leaves them: NaN, the points zero.
    A run of racers (a slice: whole contiguous bytes) is zeroed by memset."""
    if isinstance(which, slice):  # memsets: ~2.5x faster than a.fill(0.0) or a.fill(nan)
        race.xs[which].view(np.uint8).fill(0)  # 0.0 is all-zero bytes
        for a in (race.loss, race.gnorm, race.lrs, race.vel):
            a[which].view(np.uint8).fill(NAN_BYTE)
    else:
        race.xs[which] = 0.0
        race.loss[which] = np.nan
        race.gnorm[which] = np.nan
        race.lrs[which] = np.nan
        race.vel[which] = np.nan


class RaceTooLarge(ValueError):
    """A race that would not fit in the memory available."""


def race_nbytes(
    racers: int,
    steps: int,
    dim: int,
    data_rows: int = 0,
    tables: int = 1,
    momentum: bool = False,
) -> int:
    """Bytes the buffers of a race of ``racers`` x ``steps`` updates on ``dim`` parameters
    take (``data_rows``: a perceptron's rows, for its shared batch orders; ``tables``:
    its distinct bias tables, :meth:`Race._pack_biases`; ``momentum``: it records the
    momentum per step)."""
    per_racer = sum(
        math.prod(shape) * np.dtype(dtype).itemsize
        for shape, dtype, _ in racer_arrays(dim, steps + 1, steps + 1 if momentum else 0).values()
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


def check_race_size(
    racers: int,
    steps: int,
    dim: int,
    data_rows: int = 0,
    tables: int = 1,
    momentum: bool = False,
) -> int:
    """The bytes of :func:`race_nbytes`; RaceTooLarge if more than the memory available."""
    need = race_nbytes(racers, steps, dim, data_rows, tables, momentum)
    have = available_memory()
    if have is not None and need > have and POOL.free_bytes():
        POOL.clear()  # the pool's free blocks back to the system first
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
