"""Data sets for the perceptron race: seeded generators, a CSV reader, split, scaling.

A data set is a float64 array of rows ``[x1, x2, y]``, C-contiguous, shape (n, 3): exactly
what the race kernel reads (see ``engine.perceptron_kernel.perceptron_fg``). A label ``y``
is a class 0 or 1 or a soft label (a target probability) anywhere in [0, 1]: the binary
cross-entropy −[y·log a + (1 − y)·log(1 − a)] and its gradient (a − y)·x hold for any such
y. The generators make 0/1 labels; a CSV file, inline rows and :func:`prepare` accept [0, 1].

Generators (all reproducible: a ``numpy.random.Generator`` made from ``seed``; the same
seed gives the same rows bit for bit, another seed other rows):

* ``blobs``   two Gaussian blobs; ``separation`` = distance between the centres (on the
  diagonal x1 = x2, midpoint at the origin), ``spread`` = their standard deviation,
  ``balance`` = fraction of class 1. Best possible accuracy Φ(separation / (2·spread)).
* ``xor``     four Gaussian clusters at (±1, ±1); y = 1 where the signs differ
  (a single perceptron cannot do better than about 50-75 %: the lesson of XOR).
* ``moons``   two interleaved half circles (the scikit-learn layout, centred).
* ``circles`` a ring of class 0 around a smaller ring of class 1 (``factor`` = ratio).
* ``linear``  standard-normal points labelled by the rule w1·x1 + w2·x2 + b > 0.

Every generator also takes ``n`` (rows, default 1152 like the lecture notes), ``seed``
and ``noise``: the fraction of labels flipped at random (label noise; exactly
round(noise·n) rows are flipped). ``spread`` is always a positional standard deviation.

:func:`load_csv` reads a CSV file with a header naming the columns ``x1``, ``x2`` and
``y`` (any order, extra columns ignored; y in [0, 1]). Every problem raises :class:`DataError` whose
message names the file, the line and column, and what was expected; nothing else
escapes. Limits: 5,000,000 rows, 200 MB.

:func:`prepare` splits the rows into train / validation (a seeded shuffle) and, if
asked, standardises both with the mean and standard deviation of the TRAINING rows
only; the :class:`Dataset` it returns records them (shown, never hidden).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.params import ParamError, ParamSpec, resolve

__all__ = [
    "DEFAULT_N",
    "DEFAULT_VALIDATION_FRACTION",
    "GENERATORS",
    "MAX_CSV_BYTES",
    "MAX_ROWS",
    "DataError",
    "DataKind",
    "Dataset",
    "blobs",
    "circles",
    "generate",
    "linear",
    "load_csv",
    "moons",
    "prepare",
    "split",
    "split_sizes",
    "standardize",
    "xor",
]

DEFAULT_N = 1152  # the lecture notes' table
DEFAULT_VALIDATION_FRACTION = 0.2
MAX_ROWS = 5_000_000
MAX_CSV_BYTES = 200_000_000  # 200 MB
COLUMNS = ("x1", "x2", "y")


class DataError(ValueError):
    """A data set could not be made or read; the message says which file, where and why."""


# ---------------------------------------------------------------------------- helpers
def _rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.empty((x.shape[0], 3), dtype=np.float64)
    out[:, :2] = x
    out[:, 2] = y
    return out


def _finish(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, noise: float) -> np.ndarray:
    """Flip round(noise·n) labels at random, shuffle the rows, return (n, 3) float64."""
    n = y.shape[0]
    k = round(noise * n)
    if k > 0:
        idx = rng.choice(n, size=k, replace=False)
        y[idx] = 1.0 - y[idx]
    order = rng.permutation(n)
    return np.ascontiguousarray(_rows(x[order], y[order]))


def _counts(n: int, frac1: float) -> tuple[int, int]:
    n1 = round(frac1 * n)
    n1 = min(max(n1, 0), n)
    return n - n1, n1


# ---------------------------------------------------------------------------- generators
def blobs(
    n: int = DEFAULT_N,
    seed: int = 0,
    separation: float = 4.0,
    spread: float = 1.0,
    balance: float = 0.5,
    noise: float = 0.0,
) -> np.ndarray:
    """Two Gaussian blobs (class 0 around −c, class 1 around +c, c on the diagonal)."""
    rng = np.random.default_rng(seed)
    n0, n1 = _counts(n, balance)
    c = separation / (2.0 * math.sqrt(2.0))
    x = rng.normal(0.0, spread, size=(n, 2))
    x[:n0] -= c
    x[n0:] += c
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, x, y, noise)


def xor(n: int = DEFAULT_N, seed: int = 0, spread: float = 0.35, noise: float = 0.0) -> np.ndarray:
    """Four clusters at (±1, ±1) (n/4 each); y = 1 where the signs of x1 and x2 differ."""
    rng = np.random.default_rng(seed)
    quadrant = np.arange(n) % 4
    sx = np.where(quadrant & 1, 1.0, -1.0)
    sy = np.where(quadrant & 2, 1.0, -1.0)
    x = np.stack([sx, sy], axis=1) + rng.normal(0.0, spread, size=(n, 2))
    y = (sx != sy).astype(np.float64)
    return _finish(rng, x, y, noise)


def moons(n: int = DEFAULT_N, seed: int = 0, spread: float = 0.1, noise: float = 0.0) -> np.ndarray:
    """Two interleaved half circles (class 0 on top), centred on the origin."""
    rng = np.random.default_rng(seed)
    n0, n1 = _counts(n, 0.5)
    t0 = rng.uniform(0.0, math.pi, n0)
    t1 = rng.uniform(0.0, math.pi, n1)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([top, bottom]) - np.array([0.5, 0.25])
    x += rng.normal(0.0, spread, size=x.shape)
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, x, y, noise)


def circles(
    n: int = DEFAULT_N, seed: int = 0, factor: float = 0.5, spread: float = 0.05, noise: float = 0.0
) -> np.ndarray:
    """Class 0 on the unit circle, class 1 on a circle of radius ``factor`` inside it."""
    rng = np.random.default_rng(seed)
    n0, n1 = _counts(n, 0.5)
    t = rng.uniform(0.0, 2.0 * math.pi, n)
    r = np.concatenate([np.ones(n0), np.full(n1, factor)])
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    x += rng.normal(0.0, spread, size=x.shape)
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _finish(rng, x, y, noise)


def linear(
    n: int = DEFAULT_N,
    seed: int = 0,
    w1: float = 1.5,
    w2: float = -1.0,
    b: float = 0.25,
    noise: float = 0.1,
) -> np.ndarray:
    """Standard-normal points labelled 1 where w1·x1 + w2·x2 + b > 0, then label noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n, 2))
    y = (w1 * x[:, 0] + w2 * x[:, 1] + b > 0.0).astype(np.float64)
    return _finish(rng, x, y, noise)


@dataclass(frozen=True)
class DataKind:
    """A generator: its parameters (the common n, seed, noise first) and what it shows."""

    name: str
    title: str
    params: tuple[ParamSpec, ...]  # its own parameters
    description: str
    fn: Callable[..., np.ndarray]

    @property
    def all_params(self) -> tuple[ParamSpec, ...]:
        return (*_COMMON, *self.params)

    def resolve(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Every parameter (defaults filled); ParamError for unknown names or bad values."""
        return resolve(self.all_params, params)


def _noise(default: float) -> ParamSpec:
    return ParamSpec("noise", default, "fraction of labels flipped at random", lo=0.0, hi=0.5)


_COMMON = (
    ParamSpec("n", DEFAULT_N, "number of rows (before the train/validation split)", kind="int",
              lo=2, hi=MAX_ROWS),
    ParamSpec("seed", 0, "seed of the generator (same seed, same rows)", kind="int", lo=0,
              hi=float(2**63 - 1)),
)  # fmt: skip
_SPREAD = "standard deviation of the points around their shape"

GENERATORS: dict[str, DataKind] = {
    g.name: g
    for g in (
        DataKind(
            "blobs",
            "Two Gaussian blobs",
            (
                ParamSpec("separation", 4.0, "distance between the two centres", lo=0.0, hi=1e6),
                ParamSpec(
                    "spread", 1.0, "standard deviation of each blob", lo=0.0, hi=1e6, lo_open=True
                ),
                ParamSpec(
                    "balance",
                    0.5,
                    "fraction of rows in class 1",
                    lo=0.0,
                    hi=1.0,
                    lo_open=True,
                    hi_open=True,
                ),
                _noise(0.0),
            ),
            "Linearly separable when the separation is large against the spread: the best "
            "accuracy is Φ(separation / (2·spread)).",
            blobs,
        ),
        DataKind(
            "xor",
            "XOR (four clusters)",
            (ParamSpec("spread", 0.35, _SPREAD, lo=0.0, hi=1e6), _noise(0.0)),
            "Not linearly separable: a single perceptron cannot solve XOR.",
            xor,
        ),
        DataKind(
            "moons",
            "Two moons",
            (ParamSpec("spread", 0.1, _SPREAD, lo=0.0, hi=1e6), _noise(0.0)),
            "Two interleaved half circles: a line gets most, not all, of them right.",
            moons,
        ),
        DataKind(
            "circles",
            "Concentric circles",
            (
                ParamSpec(
                    "factor",
                    0.5,
                    "radius of the inner circle (outer = 1)",
                    lo=0.0,
                    hi=1.0,
                    lo_open=True,
                    hi_open=True,
                ),
                ParamSpec("spread", 0.05, _SPREAD, lo=0.0, hi=1e6),
                _noise(0.0),
            ),
            "One class inside the other: no line separates them (accuracy stays near 50 %).",
            circles,
        ),
        DataKind(
            "linear",
            "Linear rule with label noise",
            (
                ParamSpec("w1", 1.5, "weight of x1 in the true rule", lo=-1e6, hi=1e6),
                ParamSpec("w2", -1.0, "weight of x2 in the true rule", lo=-1e6, hi=1e6),
                ParamSpec("b", 0.25, "bias of the true rule", lo=-1e6, hi=1e6),
                _noise(0.1),
            ),
            "Points labelled by a known line, a fraction of labels flipped: the best "
            "accuracy is 1 − noise.",
            linear,
        ),
    )
}


def generate(kind: str, params: dict[str, Any] | None = None) -> np.ndarray:
    """Rows of generator ``kind`` with ``params`` (defaults for the rest); DataError if bad."""
    g = GENERATORS.get(kind)
    if g is None:
        raise DataError(f"unknown data set {kind!r}; expected one of: {', '.join(GENERATORS)}")
    try:
        p = g.resolve(params)
    except ParamError as e:
        raise DataError(f"data set {kind}: {e}") from None
    return g.fn(**p)


# ---------------------------------------------------------------------------- CSV
def load_csv(path: str | Path) -> np.ndarray:
    """Rows [x1, x2, y] of the CSV file ``path`` (header with x1, x2, y; extra columns
    ignored; y in [0, 1]: a class 0/1 or a soft label; every value finite). Raises
    DataError naming the file."""
    name = str(path)
    try:
        return _load_csv(Path(path), name)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{name}: not enough memory to read the file") from None
    except Exception as e:  # the promise: only DataError escapes
        raise DataError(f"{name}: cannot read the file ({type(e).__name__}: {e})") from None


def _load_csv(p: Path, name: str) -> np.ndarray:
    try:
        if not p.exists():
            raise DataError(f"{name}: file not found")
        if p.is_dir():
            raise DataError(f"{name}: expected a CSV file, got a folder")
        size = p.stat().st_size
        if size > MAX_CSV_BYTES:
            raise DataError(
                f"{name}: expected a file of at most {MAX_CSV_BYTES / 1e6:g} MB, got "
                f"{size / 1e6:.1f} MB"
            )
        with p.open("rb") as f:
            raw = f.read(MAX_CSV_BYTES + 1)  # special files may lie about their size
    except OSError as e:
        raise DataError(f"{name}: cannot read the file: {e.strerror or e}") from None
    if len(raw) > MAX_CSV_BYTES:
        raise DataError(f"{name}: expected a file of at most {MAX_CSV_BYTES / 1e6:g} MB, got more")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{name}: line {line}: expected UTF-8 text, got the byte 0x{raw[e.start]:02x}"
        ) from None
    del raw
    if not text.strip():
        raise DataError(f"{name}: the file is empty; expected a header x1,x2,y and data rows")
    if text.count("\n") > MAX_ROWS + 1:  # cheap test first; blank lines do not count
        lines = sum(1 for line in io.StringIO(text) if line.strip())
        if lines > MAX_ROWS + 1:
            raise DataError(f"{name}: expected at most {MAX_ROWS} data rows, got {lines - 1}")
    header_end = text.find("\n")
    header_text = text if header_end < 0 else text[:header_end]
    header_line = 1
    # skip blank lines before the header
    while not header_text.strip() and header_end >= 0:
        start = header_end + 1
        header_end = text.find("\n", start)
        header_text = text[start:] if header_end < 0 else text[start:header_end]
        header_line += 1
    cols = _header(header_text, name, header_line)
    body = "" if header_end < 0 else text[header_end + 1 :]
    rows = _fast_parse(body, cols)
    if rows is None or not _rows_ok(rows):
        rows = _slow_parse(body, cols, name, header_line)  # raises with line and column
    if rows.shape[0] == 0:
        raise DataError(f"{name}: no data rows after the header; expected at least one row")
    if rows.shape[0] > MAX_ROWS:
        raise DataError(f"{name}: expected at most {MAX_ROWS} data rows, got {rows.shape[0]}")
    return np.ascontiguousarray(rows, dtype=np.float64)


def _header(line: str, name: str, lineno: int) -> tuple[int, int, int]:
    try:
        fields = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        fields = []
    names = [f.strip().lower() for f in fields]
    found = ", ".join(repr(f.strip()) for f in fields[:8]) + (", ..." if len(fields) > 8 else "")
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataError(
            f"{name}: line {lineno}: the header has no column {', '.join(missing)}; expected a "
            f"header naming the columns x1, x2 and y (got {found or 'an empty line'})"
        )
    for c in COLUMNS:
        if names.count(c) > 1:
            raise DataError(f"{name}: line {lineno}: the header names column {c!r} twice")
    return names.index("x1"), names.index("x2"), names.index("y")


def _fast_parse(body: str, cols: tuple[int, int, int]) -> np.ndarray | None:
    """numpy's C parser for well-formed files; None when anything is off (then the slow,
    precise parser finds the line and column to report)."""
    if not body.strip():
        return np.empty((0, 3))
    try:
        a = np.loadtxt(
            io.StringIO(body),
            delimiter=",",
            usecols=cols,
            dtype=np.float64,
            comments=None,
            ndmin=2,
            quotechar='"',
        )
    except (ValueError, IndexError, TypeError):
        return None
    return a


def _rows_ok(a: np.ndarray) -> bool:
    if a.ndim != 2 or a.shape[1] != 3:
        return False
    y = a[:, 2]
    return bool(np.isfinite(a).all() and ((y >= 0.0) & (y <= 1.0)).all())


def _slow_parse(body: str, cols: tuple[int, int, int], name: str, header_line: int) -> np.ndarray:
    out: list[tuple[float, float, float]] = []
    need = max(cols) + 1
    try:
        reader = csv.reader(io.StringIO(body))
        for fields in reader:
            lineno = header_line + reader.line_num  # line of the last physical line read
            if not fields or all(not f.strip() for f in fields):
                continue  # blank line
            if len(fields) < need:
                raise DataError(
                    f"{name}: line {lineno}: expected at least {need} comma-separated values "
                    f"(columns x1, x2, y), got {len(fields)}"
                )
            vals = []
            for col, idx in zip(COLUMNS, cols, strict=True):
                text = fields[idx].strip()
                try:
                    v = float(text)
                except ValueError:
                    shown = text if len(text) <= 30 else text[:27] + "..."
                    raise DataError(
                        f"{name}: line {lineno}, column {col}: expected a number, got {shown!r}"
                    ) from None
                if not math.isfinite(v):
                    raise DataError(
                        f"{name}: line {lineno}, column {col}: expected a finite number, got "
                        f"{text!r}"
                    )
                vals.append(v)
            if not 0.0 <= vals[2] <= 1.0:
                raise DataError(
                    f"{name}: line {lineno}, column y: expected a label in [0, 1] (a class 0 "
                    f"or 1, or a soft label), got {fields[cols[2]].strip()!r}"
                )
            out.append((vals[0], vals[1], vals[2]))
            if len(out) > MAX_ROWS:
                raise DataError(f"{name}: expected at most {MAX_ROWS} data rows, got more")
    except csv.Error as e:
        raise DataError(f"{name}: line {header_line + reader.line_num}: bad CSV: {e}") from None
    return np.array(out, dtype=np.float64).reshape(-1, 3)


# ---------------------------------------------------------------------------- split, scaling
def split_sizes(n: int, validation_fraction: float) -> tuple[int, int]:
    """(train rows, validation rows) for ``n`` rows: round(fraction·n) validation rows,
    always leaving at least one training row."""
    n_val = round(validation_fraction * n)
    n_val = min(max(n_val, 0), max(n - 1, 0))
    return n - n_val, n_val


def split(
    rows: np.ndarray, validation_fraction: float = DEFAULT_VALIDATION_FRACTION, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded shuffle, then the first rows are the training set and the rest validation."""
    if not 0.0 <= validation_fraction < 1.0:
        raise DataError(f"expected a validation fraction in [0, 1), got {validation_fraction!r}")
    n = rows.shape[0]
    n_train, _ = split_sizes(n, validation_fraction)
    order = np.random.default_rng([int(seed), 0x5B1]).permutation(n)
    train = np.ascontiguousarray(rows[order[:n_train]], dtype=np.float64)
    val = np.ascontiguousarray(rows[order[n_train:]], dtype=np.float64)
    return train, val


def standardize(
    train: np.ndarray, val: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train, val) with x1, x2 scaled by the TRAINING mean and std; also (mean, std).

    A feature with zero spread keeps std 1 (it is only centred). Labels are untouched.
    """
    mean = train[:, :2].mean(axis=0)
    std = train[:, :2].std(axis=0)
    std = np.where(std > 0.0, std, 1.0)
    t = train.copy()
    v = val.copy()
    t[:, :2] = (t[:, :2] - mean) / std
    v[:, :2] = (v[:, :2] - mean) / std
    return np.ascontiguousarray(t), np.ascontiguousarray(v), mean, std


@dataclass
class Dataset:
    """A prepared data set: training and validation rows and how they were made."""

    train: np.ndarray  # (n_train, 3) float64, C-contiguous
    val: np.ndarray  # (n_val, 3)
    source: str = ""  # e.g. "blobs (n = 1152, seed = 0, ...)" or the CSV path
    mean: tuple[float, float] | None = None  # training mean of (x1, x2), if standardised
    std: tuple[float, float] | None = None  # training std of (x1, x2), if standardised

    @property
    def standardized(self) -> bool:
        return self.mean is not None

    def describe(self) -> str:
        """One line for the GUI and the CLI, including the scaling if any."""
        text = (
            f"{self.source or 'data'}: {self.train.shape[0]} training / "
            f"{self.val.shape[0]} validation rows"
        )
        if self.mean is not None and self.std is not None:
            text += (
                f"; features standardised with the training mean ({self.mean[0]:.4g}, "
                f"{self.mean[1]:.4g}) and std ({self.std[0]:.4g}, {self.std[1]:.4g})"
            )
        return text


def prepare(
    rows: np.ndarray,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    standardize_features: bool = False,
    seed: int = 0,
    source: str = "",
) -> Dataset:
    """Split ``rows`` (seeded) and optionally standardise with the training statistics."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 3 or rows.shape[0] < 1:
        raise DataError(f"expected rows of shape (n, 3) with n >= 1, got {rows.shape}")
    if not np.isfinite(rows).all():
        raise DataError("expected finite numbers in every row")
    y = rows[:, 2]
    bad = np.flatnonzero(~((y >= 0.0) & (y <= 1.0)))
    if bad.size:
        k = int(bad[0])
        raise DataError(f"row {k + 1}: expected a label y in [0, 1], got {float(y[k])!r}")
    train, val = split(rows, validation_fraction, seed)
    if not standardize_features:
        return Dataset(train, val, source)
    t, v, mean, std = standardize(train, val)
    return Dataset(t, v, source, (float(mean[0]), float(mean[1])), (float(std[0]), float(std[1])))


def describe_params(kind: str, params: dict[str, Any]) -> str:
    """``blobs (n = 1152, seed = 0, separation = 4, ...)``, for labels and summaries."""
    inner = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                      for k, v in params.items())  # fmt: skip
    return f"{kind} ({inner})"
