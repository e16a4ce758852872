"""The notes' learning-rate decays raced as printed (corrected where wrong): 002's linear and
inverse-square-root decay (lecture_schedules_decay_forms) and 000 slide 51 / 001 slide 55's
per-epoch decays on the perceptron (lecture_perceptron_epoch_decays).

Every recorded rate equals the notes' formula evaluated here in plain Python, with ==: the
engine computes η·k/√(t + t₀) and η·(1 + (0 − 1)·t/T), and the orders agree bit for bit
(k = 1; (−t)/T = −(t/T); 1 + (−u) = 1 − u; the notes' lr0 = 0.5 and ½ are powers of two, so
(k/√n)·0.5 and 0.5·0.1 are rounded exactly as 0.5/√n and 0.05; γ^epoch is C pow() in both).
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.race import Race
from engine.scenario import ScenarioError, build_race, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "scenarios" / "lecture_schedules_decay_forms.toml"
EPOCHS = ROOT / "scenarios" / "lecture_perceptron_epoch_decays.toml"


def run(path: Path, seed: int | None = None) -> Race:
    s = load_scenario(path)
    r = build_race(s if seed is None else replace(s, seed=seed))
    r.run()
    assert r.done
    return r


def rates(r: Race) -> dict[str, list[float]]:
    return {c.label: r.trajectory(i).lr.tolist() for i, c in enumerate(r.racers)}


def test_the_files_validate_and_run() -> None:
    out = subprocess.run([sys.executable, "main.py", "validate", FORMS, EPOCHS], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for path in (FORMS, EPOCHS):
        r = run(path)
        assert all(m.diverged_step is None and m.steps == r.steps for m in r.metrics())


def test_002_linear_and_inverse_sqrt_rates_are_the_notes_formulas() -> None:
    """Row t is update t + 1 of the notes (t counted from 1 for 1/√t); T = 200, η0 = 0.1."""
    lr = rates(run(FORMS))
    eta0, T = 0.1, 200
    assert lr["constant"] == [eta0] * (T + 1)
    assert lr["linear η0(1 − t/T)"] == [eta0 * (1 - t / T) for t in range(T + 1)]
    assert lr["inverse sqrt η0/√t"] == [eta0 / math.sqrt(t) for t in range(1, T + 2)]
    # the notes as printed, ½ and all
    assert lr["as printed: ½η0(1 − t/T)"] == [0.5 * eta0 * (1 - t / T) for t in range(T + 1)]
    assert lr["as printed: ½η0/√t"] == [0.5 * eta0 / math.sqrt(t) for t in range(1, T + 2)]
    assert lr["linear η0(1 − t/T)"][0] == lr["inverse sqrt η0/√t"][0] == eta0
    assert lr["linear η0(1 − t/T)"][T] == 0.0 and lr["inverse sqrt η0/√t"][3] == eta0 / 2


def test_000_slide_51_per_epoch_rates_are_the_notes_formulas() -> None:
    """0.95^epoch_num·lr0 and 1/(1 + decay_rate·epoch_num)·lr0 with epochs from 0,
    (k/√epoch_num)·lr0 with epochs from 1 (t0 = 1); lr0 = 0.5, decay_rate = 1, k = 1."""
    r = run(EPOCHS)
    lr, spe, lr0, k = rates(r), r.steps_per_epoch, 0.5, 1.0
    epoch = [t // spe for t in range(r.steps + 1)]
    assert spe == 922 and r.steps == 20 * spe
    assert lr["SGD (η = 0.5)"] == [lr0] * (r.steps + 1)
    assert lr["SGD (η = 0.5 / (1 + epoch))"] == [(1 / (1 + 1.0 * e)) * lr0 for e in epoch]
    assert lr["SGD (η = 0.5 · 0.95^epoch)"] == [(0.95**e) * lr0 for e in epoch]
    assert lr["SGD (η = 0.5 / √(epoch + 1))"] == [(k / math.sqrt(e + 1)) * lr0 for e in epoch]


def test_k_over_sqrt_epoch_at_epoch_0_is_refused() -> None:
    """t0 = 0 would be the notes' k/√epoch_num with epochs from 0: 1/0 in the first epoch."""
    text = EPOCHS.read_text().replace("t0 = 1.0", "t0 = 0.0")
    with pytest.raises(
        ScenarioError, match=r"schedule\.t0: expected a finite number in \(0, inf\)"
    ):
        loads_scenario(text)


def first_below(loss: np.ndarray, bound: float) -> int | None:
    hit = np.nonzero(loss < bound)[0]
    return int(hit[0]) if hit.size else None


def test_decay_forms_description_numbers() -> None:
    r = run(FORMS)
    order = ["constant", "linear η0(1 − t/T)", "inverse sqrt η0/√t", "cosine ½η0(1 + cos(tπ/T))",
             "as printed: ½η0(1 − t/T)", "as printed: ½η0/√t"]  # fmt: skip
    assert [c.label for c in r.racers] == order
    loss = [r.trajectory(i).loss for i in range(6)]
    last20 = [round(float(v[-20:].mean()), 4) for v in loss]
    assert last20[:4] == [0.0425, 0.0047, 0.0044, 0.0055] and round(last20[5], 2) == 0.14
    assert [first_below(v, 0.1) for v in loss] == [12, 13, 44, 12, 27, None]
    finals = np.mean(
        [[run(FORMS, s).trajectory(i).loss[-1] for i in range(4)] for s in range(20)], 0
    )
    assert np.round(finals, 3).tolist() == [0.068, 0.005, 0.004, 0.005]


def test_epoch_decays_description_numbers() -> None:
    r = run(EPOCHS)
    data = r.objective.data
    x, y = np.c_[data[:, :2], np.ones(len(data))], data[:, 2]
    w = np.zeros(3)  # the minimum of the training loss, by Newton's method
    for _ in range(30):
        a = 1 / (1 + np.exp(-x @ w))
        w -= np.linalg.solve((x * (a * (1 - a))[:, None]).T @ x, x.T @ (a - y))
    assert np.round(w, 2).tolist() == [2.36, 2.24, 0.16]
    dist = [round(float(np.linalg.norm(r.trajectory(i).x[-1] - w)), 2) for i in range(4)]
    assert dist == [1.18, 0.04, 0.45, 0.24]
    val = [r.epoch_metrics(i)["val_loss"][11:] for i in range(4)]
    assert [(round(v.min(), 3), round(v.max(), 3)) for v in val] == [
        (0.179, 0.207), (0.177, 0.180), (0.178, 0.197), (0.177, 0.189)]  # fmt: skip
    last = [r.trajectory(i).lr[r.steps - 1] for i in range(4)]
    assert [round(v, 3) for v in last] == [0.5, 0.025, 0.189, 0.112]
