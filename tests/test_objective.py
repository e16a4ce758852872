"""The Objective protocol: what differs between kinds of objective is asked of the
objective (engine.racer.Objective), so a new kind is one new class."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from engine.data import generate
from engine.kernel import LANDSCAPE
from engine.metrics import BoardRow, board_rows
from engine.objective import (
    KINDS,
    LANDSCAPE_CELLS,
    PERCEPTRON_CELLS,
    LandscapeObjective,
    PerceptronObjective,
)
from engine.race import Race, RacerConfig

ROOT = Path(__file__).resolve().parent.parent
ROSEN = ROOT / "scenarios" / "rosenbrock_race.toml"
ROW_FIELDS = {f.name for f in fields(BoardRow)}


def _perceptron(batch_size: int = 16) -> PerceptronObjective:
    rows = generate("blobs", {"n": 100, "seed": 3})
    return PerceptronObjective.from_rows(rows, batch_size=batch_size, epochs=2, seed=1)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_the_schema_has_its_class_and_answers_the_protocol(kind: str) -> None:
    from engine.scenario.schema import OBJECTIVE_KINDS

    assert set(KINDS) == set(OBJECTIVE_KINDS)
    obj = LandscapeObjective.create("booth") if kind == "landscape" else _perceptron()
    assert isinstance(obj, KINDS[kind])
    cells = obj.board_cells
    assert {f for _, f in cells} <= ROW_FIELDS and obj.board_best in ROW_FIELDS
    assert cells[0] == ("rank", "rank") and cells[-1] == ("status", "status")
    assert obj.epoch_length(obj.batch_size) >= 1
    assert obj.run_heading(10, obj.batch_size)[0].endswith(("10 steps", "updates"))


def test_a_landscape_has_no_batches_no_epochs_and_no_export_extras() -> None:
    obj = LandscapeObjective.create("rosenbrock")
    assert obj.batch_size == 0 and not obj.has_epochs and obj.small_multiples
    assert obj.epoch_length(0) == obj.epoch_length(64) == 1
    assert obj.board_cells == LANDSCAPE_CELLS and obj.board_best == "best_loss"
    assert obj.final_figures(np.zeros(2), 5, 0) == {}
    assert obj.export_arrays(0) == {} and obj.export_data(0) is None
    with pytest.raises(ValueError, match="epochs"):
        obj.evaluate(np.zeros((1, 2)))
    race = Race(obj, [RacerConfig("sgd", {"lr": 1e-3})], steps=4)
    assert race.batch_size == 0 and race.steps_per_epoch == 1 and not race.has_epochs


@pytest.mark.parametrize("batch", [1, 16, 33, 80, 10_000])
def test_a_perceptrons_epochs_follow_its_batches(batch: int) -> None:
    obj = _perceptron(batch)
    n = obj.n_train
    assert obj.has_epochs and not obj.small_multiples and obj.board_cells == PERCEPTRON_CELLS
    assert obj.batch_size == min(batch, n)
    assert obj.epoch_length(obj.batch_size) == math.ceil(n / obj.batch_size)
    race = Race(obj, [RacerConfig("adam", {"lr": 0.05})], steps=30)
    assert race.batch_size == obj.batch_size and race.has_epochs
    assert race.steps_per_epoch == obj.epoch_length(obj.batch_size) == obj.steps_per_epoch
    other = Race(obj, [RacerConfig("adam", {"lr": 0.05})], steps=30, batch_size=7)
    assert other.steps_per_epoch == math.ceil(n / 7)  # the race's batch size, not the objective's
    race.run()
    last = race.trajectory(0).x[-1]
    got = obj.final_figures(last, 30, race.batch_size)
    tl, vl, va, ta = obj.evaluate(last)[0]
    assert got == {"val_loss": vl, "val_accuracy": va, "train_loss": tl, "train_accuracy": ta,
                   "epochs": 30 / race.steps_per_epoch}  # fmt: skip
    m = race.run_metrics(0)
    assert (m.val_loss, m.val_accuracy, m.epochs) == (vl, va, got["epochs"])
    data = obj.export_data(race.batch_size)
    assert data is not None and data["steps_per_epoch"] == race.steps_per_epoch
    assert data["train_rows"] == n and data["standardized"] is False
    arrays = obj.export_arrays(race.batch_size)
    assert int(arrays["batch_size"]) == race.batch_size and np.isnan(arrays["feature_mean"]).all()


# ------------------------------------------------------------------ a third kind, in a test


@dataclass
class ScaledBooth:
    """A kind of objective the engine has never seen: Booth's landscape in the kernel,
    its own leaderboard (no distance to a minimum) and its own export extras. Nothing
    else in the engine knows it: the race, the metrics, the board, the CLI's table and
    the export all ask it."""

    has_epochs: ClassVar[bool] = False
    small_multiples: ClassVar[bool] = True
    board_cells: ClassVar[tuple[tuple[str, str], ...]] = (
        ("rank", "rank"), ("label", "label"), ("final loss", "final_loss"), ("status", "status"),
    )  # fmt: skip
    board_best: ClassVar[str] = "final_loss"

    start: tuple[float, ...] = (-3.0, 4.0)
    grad_noise: float = 0.0
    kind: int = LANDSCAPE
    dim: int = 2
    coords: tuple[str, ...] = ("u", "v")
    inner: LandscapeObjective = field(default_factory=lambda: LandscapeObjective.create("booth"))
    packed: np.ndarray = field(init=False)
    data: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.packed, self.data = self.inner.packed, self.inner.data

    @property
    def lid(self) -> int:
        return self.inner.lid

    @property
    def batch_size(self) -> int:
        return 0

    def epoch_length(self, batch_size: int) -> int:
        return 1

    def minima(self) -> list[tuple[float, ...]]:
        return []

    def f_star(self) -> float | None:
        return None

    def loss(self, x: np.ndarray) -> float:
        return self.inner.loss(x)

    def describe(self) -> str:
        return "Booth, seen anew"

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        raise ValueError("no epochs")

    def final_figures(self, x: np.ndarray, updates: int, batch_size: int) -> dict[str, float]:
        return {}

    def run_heading(self, steps: int, batch_size: int) -> list[str]:
        return [f"scaled booth, {steps} steps", "a third kind"]

    def export_arrays(self, batch_size: int) -> dict[str, np.ndarray]:
        return {"scale": np.array(1.0)}

    def export_data(self, batch_size: int) -> dict[str, Any] | None:
        return {"description": self.describe()}


def test_a_new_kind_of_objective_needs_no_edit_of_the_engine(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from main import leaderboard_text
    finally:
        sys.path.remove(str(ROOT))
    from engine.export import write_results
    from engine.scenario import load_scenario

    obj = ScaledBooth()
    cfgs = [RacerConfig("sgd", {"lr": 0.01}, label="sgd"), RacerConfig("adam", {"lr": 0.1})]
    race = Race(obj, cfgs, steps=50)
    race.run()
    alone = Race(LandscapeObjective.create("booth", start=(-3.0, 4.0)), cfgs[:1], steps=50)
    alone.run()
    assert race.trajectory(0).x.tobytes() == alone.trajectory(0).x.tobytes()  # the kernel's
    rows = board_rows(race)
    assert [r.index for r in rows] == [i for i, _ in race.leaderboard()]
    text = leaderboard_text(race).splitlines()
    assert text[0].split() == ["rank", "label", "final", "loss", "status"]
    assert obj.run_heading(race.steps, race.batch_size)[1] == "a third kind"
    write_results(race, load_scenario(ROSEN), tmp_path / "out")
    header = (tmp_path / "out" / "trajectories.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "run,optimizer,step,u,v,loss,grad_norm,lr"
    with np.load(tmp_path / "out" / "trajectories.npz") as z:
        assert float(z["scale"]) == 1.0 and list(z["coords"]) == ["u", "v"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["data"] == {"description": "Booth, seen anew"}
    assert "val_loss" not in summary["runs"][0]
