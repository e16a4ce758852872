"""Objectives a race can run on: a 2-D landscape or the mini-batch perceptron.

An objective knows what the kernel needs (kind id, landscape id, packed params, data),
what the metrics need (the known minima, f*, the loss at any point), and everything
else that differs between kinds, so callers ask it instead of testing its kind
(engine.racer.Objective lists it): its mini-batches (``batch_size``, 0 for none;
``epoch_length``), whether it has epochs and full-set figures (``has_epochs``,
``evaluate``, ``final_figures``), its leaderboard (``board_cells``, ``board_best``)
and what an export adds for it (``export_arrays``, ``export_data``). A new kind is one
new class with these members.

The perceptron (lecture notes): z = w1·x1 + w2·x2 + b, a = σ(z), per-row loss the
binary cross-entropy ℓ = −y·log a − (1 − y)·log(1 − a), dℓ/dz = a − y, for labels y in
[0, 1] (a class 0/1 or a soft label); the race minimises the mean ℓ over each mini-batch
(engine.perceptron_kernel.perceptron_fg). The numba helpers here evaluate the FULL training /
validation sets at given parameters: :func:`full_loss`, :func:`accuracy` and
:func:`evaluate_points` (the per-epoch metrics). Accuracy: a row counts as right when the
predicted class [z > 0, i.e. a > 0.5] equals the label's class [y > 0.5]; the same strict
threshold on both sides, so a = 0.5 predicts class 0 and a soft label y = 0.5 is class 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from engine.data import DEFAULT_VALIDATION_FRACTION, Dataset, prepare
from engine.jit import jit
from engine.kernel import LANDSCAPE, PERCEPTRON
from engine.landscapes import Landscape, get_landscape, landscape_f, landscape_fg
from engine.perceptron_kernel import PF_TILE, bce_loss, perceptron_fg

#: a leaderboard's cells: (heading, field of engine.metrics.BoardRow)
BoardCells = tuple[tuple[str, str], ...]

#: the cells of a landscape race's board and of a perceptron race's
LANDSCAPE_CELLS: BoardCells = (
    ("rank", "rank"), ("label", "label"), ("optimizer", "optimizer"),
    ("final loss", "final_loss"), ("best loss", "best_loss"), ("steps to tol", "steps_to_tol"),
    ("first within tol", "first_within_tol"), ("dist to min", "dist_to_min"),
    ("status", "status"),
)  # fmt: skip
PERCEPTRON_CELLS: BoardCells = (
    ("rank", "rank"), ("label", "label"), ("optimizer", "optimizer"),
    ("val accuracy", "val_accuracy"), ("val loss", "val_loss"), ("train loss", "train_loss"),
    ("epochs", "epochs"), ("status", "status"),
)  # fmt: skip


@dataclass
class LandscapeObjective:
    """A 2-D analytic landscape with optional Gaussian gradient noise."""

    has_epochs: ClassVar[bool] = False  # every update sees the whole objective
    small_multiples: ClassVar[bool] = True  # a map per racer (main.py render --grid)
    board_cells: ClassVar[BoardCells] = LANDSCAPE_CELLS
    board_best: ClassVar[str] = "best_loss"  # the window's "best" column shows this field

    landscape: Landscape
    params: dict[str, Any]
    start: tuple[float, ...]  # (x, y); Race.set_start replaces it
    grad_noise: float = 0.0
    kind: int = LANDSCAPE
    dim: int = 2
    coords: tuple[str, ...] = ("x", "y")
    packed: np.ndarray = field(init=False)
    data: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.params = self.landscape.resolve(self.params)
        self.packed = self.landscape.pack(self.params)
        self.data = np.zeros((0, 3))

    @classmethod
    def create(
        cls,
        name: str,
        params: dict[str, Any] | None = None,
        start: tuple[float, float] | None = None,
        grad_noise: float = 0.0,
    ) -> LandscapeObjective:
        """Objective for landscape ``name`` (defaults for anything not given)."""
        ls = get_landscape(name)
        st = tuple(float(v) for v in (start if start is not None else ls.start))
        return cls(ls, dict(params or {}), (st[0], st[1]), float(grad_noise))

    @property
    def lid(self) -> int:
        return self.landscape.lid

    @property
    def name(self) -> str:
        return self.landscape.name

    @property
    def batch_size(self) -> int:
        """0: no mini-batches."""
        return 0

    def epoch_length(self, batch_size: int) -> int:
        """Updates per epoch: 1 (an epoch is an update)."""
        return 1

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        raise ValueError("epoch metrics exist only for an objective with epochs (a perceptron)")

    def final_figures(self, x: np.ndarray, updates: int, batch_size: int) -> dict[str, float]:
        """Figures of a run beyond the recorded rows (engine.metrics.RunMetrics): none."""
        return {}

    def run_heading(self, steps: int, batch_size: int) -> list[str]:
        """What the CLI prints above a finished race's board (the seed follows line 1)."""
        if self.landscape.typed is not None:  # a typed formula: its text names it
            return [f"{self.landscape.formula}, {steps} steps"]
        return [f"{self.name}, {steps} steps"]

    def export_arrays(self, batch_size: int) -> dict[str, np.ndarray]:
        """What trajectories.npz adds for this objective: nothing."""
        return {}

    def export_data(self, batch_size: int) -> dict[str, Any] | None:
        """summary.json's ``"data"`` section: None (no data set)."""
        return None

    def minima(self) -> list[tuple[float, ...]]:
        return [tuple(m) for m in self.landscape.minima(self.params)]

    def saddles(self) -> list[tuple[float, ...]]:
        return [tuple(s) for s in self.landscape.saddles(self.params)]

    def f_star(self) -> float | None:
        return self.landscape.f_star(self.params)

    def loss(self, x: np.ndarray) -> float:
        """Loss at ``x`` (noise-free)."""
        return float(landscape_f(self.lid, self.packed, float(x[0]), float(x[1])))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient at ``x`` (noise-free)."""
        g = np.zeros(2)
        landscape_fg(self.lid, self.packed, np.asarray(x, dtype=np.float64), g)
        return g

    def describe(self) -> str:
        return f"{self.landscape.title}: {self.landscape.formula}"


# ---------------------------------------------------------------------------- perceptron
@jit
def full_loss(data: np.ndarray, x: np.ndarray) -> float:
    """Mean binary cross-entropy of every row of ``data`` at ``x = (w1, w2, b)``.

    The stable form softplus(z) − y·z (the kernel's); NaN for an empty data set.
    """
    n: int = data.shape[0]
    if n == 0:
        return math.nan
    w1 = x[0]
    w2 = x[1]
    b = x[2]
    s = 0.0
    for j in range(n):
        z = w1 * data[j, 0] + w2 * data[j, 1] + b
        s += bce_loss(z, data[j, 2])
    return s / n


@jit
def accuracy(data: np.ndarray, x: np.ndarray) -> float:
    """Fraction of rows classified right: (z > 0) == (y > 0.5); NaN for an empty set."""
    n: int = data.shape[0]
    if n == 0:
        return math.nan
    hits = 0
    for j in range(n):
        z = x[0] * data[j, 0] + x[1] * data[j, 1] + x[2]
        if (z > 0.0) == (data[j, 2] > 0.5):
            hits += 1
    return hits / n


@jit
def _loss_acc(data: np.ndarray, w1: float, w2: float, b: float) -> tuple[float, float]:
    n = data.shape[0]
    if n == 0:
        return math.nan, math.nan
    s = 0.0
    hits = 0
    for j in range(n):
        z = w1 * data[j, 0] + w2 * data[j, 1] + b
        y = data[j, 2]
        s += bce_loss(z, y)
        if (z > 0.0) == (y > 0.5):  # predicted class == the label's class (module docstring)
            hits += 1
    return s / n, hits / n


@jit
def evaluate_points(train: np.ndarray, val: np.ndarray, pts: np.ndarray, out: np.ndarray) -> None:
    """For every row ``pts[k] = (w1, w2, b)`` write ``out[k] = (train loss, validation
    loss, validation accuracy, training accuracy)`` over the full sets (one pass each)."""
    for k in range(pts.shape[0]):
        tl, ta = _loss_acc(train, pts[k, 0], pts[k, 1], pts[k, 2])
        vl, va = _loss_acc(val, pts[k, 0], pts[k, 1], pts[k, 2])
        out[k, 0] = tl
        out[k, 1] = vl
        out[k, 2] = va
        out[k, 3] = ta


@jit
def _full_fg(data: np.ndarray, x: np.ndarray, g: np.ndarray) -> float:
    n = data.shape[0]
    perm = np.arange(n, dtype=np.int32)  # the race's perm dtype: one compiled version
    return perceptron_fg(data, perm, 0, n, x, g, np.empty((PF_TILE, 3)))


EPOCH_FIELDS = ("train_loss", "val_loss", "val_accuracy", "train_accuracy")


@dataclass
class PerceptronObjective:
    """The single sigmoid neuron on a data set, trained by mini-batches.

    ``data`` are the training rows (what the kernel samples mini-batches from), ``val``
    the validation rows. ``batch_size`` is the number of rows per update: the whole
    training set (batch gradient descent, one update per epoch), 1 (stochastic) or
    anything between (mini-batch; 128 in the lecture notes). A batch size larger than
    the training set means the whole set. ``epochs`` is the race length the scenario
    asks for (steps = epochs × steps_per_epoch).
    """

    has_epochs: ClassVar[bool] = True
    small_multiples: ClassVar[bool] = False  # its data panel shows every racer's line
    board_cells: ClassVar[BoardCells] = PERCEPTRON_CELLS
    board_best: ClassVar[str] = "val_accuracy"

    dataset: Dataset
    batch_size: int = 128
    epochs: int = 20
    start: tuple[float, ...] = (0.0, 0.0, 0.0)
    grad_noise: float = 0.0
    kind: int = PERCEPTRON
    dim: int = 3
    coords: tuple[str, ...] = ("w1", "w2", "b")
    packed: np.ndarray = field(init=False)
    data: np.ndarray = field(init=False)
    val: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.data = np.ascontiguousarray(self.dataset.train, dtype=np.float64)
        self.val = np.ascontiguousarray(self.dataset.val, dtype=np.float64).reshape(-1, 3)
        n = self.data.shape[0]
        if self.data.ndim != 2 or self.data.shape[1] != 3 or n < 1:
            raise ValueError(
                f"expected training rows of shape (n, 3), n >= 1, got {self.data.shape}"
            )
        bs = int(self.batch_size)
        if bs <= 0 or bs > n:  # 0 (or "full" upstream) = the whole training set
            bs = n
        self.batch_size = bs
        if int(self.epochs) < 1:
            raise ValueError("epochs must be >= 1")
        self.epochs = int(self.epochs)
        st = tuple(float(v) for v in self.start)
        if len(st) != 3:
            raise ValueError(f"start must be (w1, w2, b), got {len(st)} numbers")
        self.start = st
        self.packed = np.zeros(1)

    @classmethod
    def from_rows(
        cls,
        rows: np.ndarray,
        batch_size: int | str = 128,
        epochs: int = 20,
        start: tuple[float, ...] = (0.0, 0.0, 0.0),
        validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
        standardize: bool = False,
        seed: int = 0,
        grad_noise: float = 0.0,
        source: str = "",
    ) -> PerceptronObjective:
        """Split (seeded) and optionally standardise ``rows``; ``batch_size="full"`` (or 0)
        is batch gradient descent."""
        ds = prepare(rows, validation_fraction, standardize, seed, source)
        bs = 0 if batch_size == "full" else int(batch_size)
        return cls(ds, bs, epochs, tuple(start), float(grad_noise))

    @property
    def lid(self) -> int:
        return 0

    @property
    def name(self) -> str:
        return "perceptron"

    @property
    def n_train(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.val.shape[0])

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n_train // self.batch_size)

    def epoch_length(self, batch_size: int) -> int:
        """Updates per pass over the training rows with mini-batches of ``batch_size``."""
        return max(-(-self.n_train // max(int(batch_size), 1)), 1)

    @property
    def total_steps(self) -> int:
        """Updates of a whole race: epochs × steps_per_epoch."""
        return self.epochs * self.steps_per_epoch

    @property
    def mode(self) -> str:
        """The lecture notes' name of the mode: batch, stochastic or mini-batch."""
        if self.batch_size >= self.n_train:
            return "batch"
        return "stochastic" if self.batch_size == 1 else "mini-batch"

    def minima(self) -> list[tuple[float, ...]]:
        return []  # separable data have no finite minimiser; none is claimed

    def f_star(self) -> float | None:
        return None

    def loss(self, x: np.ndarray) -> float:
        """Full-batch training loss at ``x``."""
        return float(full_loss(self.data, np.asarray(x, dtype=np.float64)))

    def val_loss(self, x: np.ndarray) -> float:
        """Validation loss at ``x`` (NaN without validation rows)."""
        return float(full_loss(self.val, np.asarray(x, dtype=np.float64)))

    def accuracy(self, x: np.ndarray, split: str = "val") -> float:
        """Accuracy on the validation (``split="val"``) or training (``"train"``) rows."""
        data = self.val if split == "val" else self.data
        return float(accuracy(data, np.asarray(x, dtype=np.float64)))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Full-batch training gradient at ``x``."""
        g = np.zeros(3)
        _full_fg(self.data, np.asarray(x, dtype=np.float64), g)
        return g

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """(k, 4) array: train loss, val loss, val accuracy, train accuracy per point."""
        pts = np.ascontiguousarray(np.asarray(points, dtype=np.float64).reshape(-1, 3))
        out = np.empty((pts.shape[0], 4))
        evaluate_points(self.data, self.val, pts, out)
        return out

    def final_figures(self, x: np.ndarray, updates: int, batch_size: int) -> dict[str, float]:
        """The full-set figures at ``x`` after ``updates`` updates of mini-batches of
        ``batch_size`` (engine.metrics.RunMetrics' perceptron fields)."""
        tl, vl, va, ta = (float(v) for v in self.evaluate(x)[0])
        epochs = updates / self.epoch_length(batch_size)
        return {"val_loss": vl, "val_accuracy": va, "train_loss": tl, "train_accuracy": ta,
                "epochs": epochs}  # fmt: skip

    def run_heading(self, steps: int, batch_size: int) -> list[str]:
        """What the CLI prints above a finished race's board (the seed follows line 1)."""
        spe = self.epoch_length(batch_size)
        return [f"perceptron, {steps} steps = {steps / spe:g} epochs of {spe} updates",
                self.describe()]  # fmt: skip

    def export_arrays(self, batch_size: int) -> dict[str, np.ndarray]:
        """What trajectories.npz adds: the batches and the standardisation (NaN: none)."""
        ds, nan2 = self.dataset, (np.nan, np.nan)
        return {
            "steps_per_epoch": np.array(self.epoch_length(batch_size)),
            "batch_size": np.array(batch_size),
            "feature_mean": np.array(ds.mean if ds.mean is not None else nan2, np.float64),
            "feature_std": np.array(ds.std if ds.std is not None else nan2, np.float64),
        }

    def export_data(self, batch_size: int) -> dict[str, Any] | None:
        """summary.json's ``"data"`` section: rows, split, batches, standardisation."""
        ds = self.dataset
        return {
            "description": self.describe(),
            "train_rows": self.n_train,
            "validation_rows": self.n_val,
            "batch_size": batch_size,
            "steps_per_epoch": self.epoch_length(batch_size),
            "standardized": ds.mean is not None,
            "feature_mean": list(ds.mean) if ds.mean is not None else None,
            "feature_std": list(ds.std) if ds.std is not None else None,
        }

    def describe(self) -> str:
        return (
            f"perceptron σ(w1·x1 + w2·x2 + b), BCE; {self.mode} (batch {self.batch_size}, "
            f"{self.steps_per_epoch} updates per epoch); {self.dataset.describe()}"
        )


#: the objective classes by the scenario file's ``objective.kind`` (a new kind of
#: objective: its class here, and its section of the scenario schema)
KINDS: dict[str, type[LandscapeObjective] | type[PerceptronObjective]] = {
    "landscape": LandscapeObjective,
    "perceptron": PerceptronObjective,
}
