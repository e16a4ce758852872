"""Writing a finished (or paused) race to disk: CSV, NPZ and a JSON summary.

``write_results`` writes three files into ``out_dir``:

* ``trajectories.csv``: tidy, one row per run and recorded step (step 0 = the start),
  columns ``run,optimizer,step,x,y,loss,grad_norm,lr`` (objectives with other
  coordinates put their names in place of ``x,y``); non-finite values are ``nan``,
  ``inf`` and ``-inf``; numbers are Python's shortest round-trip ``repr``.
* ``trajectories.npz``: per run ``i`` the arrays ``x_i`` (n, d), ``loss_i``,
  ``grad_norm_i``, ``lr_i``; plus ``labels``, ``optimizers`` and ``coords``.
* ``summary.json``: per-run metrics (:class:`engine.race.RunMetrics`: ``steps_to_tol``
  is the step from which the run stays within tolerance to its last row,
  ``first_within_tol`` the first step within it; ``diverged_step`` and
  ``unbounded_step`` as :meth:`engine.race.Race.diverged_step` says, with the flags
  ``diverged`` and ``unbounded``), the tolerances, the scenario, software versions and
  the date. The tolerance and divergence figures can be recomputed from
  ``trajectories.csv`` alone (its numbers round-trip exactly). On a quadratic landscape
  each run adds a ``theory`` block (engine.theory.runs: the eigenvalues, κ, 2/λ_max, η*,
  the predicted and the measured rate; ``covered`` false and the ``reason`` for an
  optimizer the theory does not cover).

Perceptron races write instead the columns
``run,optimizer,step,epoch,w1,w2,b,loss,grad_norm,lr,val_loss,accuracy``:

* ``epoch`` = step // steps_per_epoch, the epoch that update ``step`` belongs to;
* ``loss`` and ``grad_norm`` are those of the MINI-BATCH of that step (what the
  optimizer saw), at the parameters of that row;
* ``val_loss`` and ``accuracy`` are the loss and accuracy on the FULL validation set and
  are filled only on epoch-boundary rows (step = epoch × steps_per_epoch: the
  parameters after ``epoch`` full epochs; step 0 is the start); on every other row both
  fields are empty. ``nan`` there means the data set has no validation rows.

Their NPZ adds per run ``epoch_i``, ``epoch_step_i``, ``train_loss_i``, ``val_loss_i``,
``val_accuracy_i``, ``train_accuracy_i`` (one entry per epoch boundary, full sets) and
``steps_per_epoch``, ``batch_size``, ``feature_mean``/``feature_std`` (NaN when the
features were not standardised); summary.json adds per run the same per-epoch lists
under ``"per_epoch"`` and the final ``val_loss``, ``val_accuracy``, ``train_loss``,
``train_accuracy``, and a top-level ``"data"`` (rows, split, batch, standardisation).

``run`` is the racer's label, made unique (``Adam``, ``Adam (2)``) when labels repeat.
The files are first written into a temporary folder and then moved into place, so a
failure never leaves half-written results; any failure raises :class:`ExportError`.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from engine.race import Race
from engine.scenario import Scenario, scenario_to_dict
from engine.theory import race_theory

FILES = ("trajectories.csv", "trajectories.npz", "summary.json")
_BLOCK = 1 << 15  # rows formatted per call


class ExportError(Exception):
    """The results could not be written (the message says where and why)."""


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with repeats renamed ``label (2)``, ``label (3)``, ..."""
    seen: set[str] = set()
    out = []
    for lab in labels:
        name = lab or "run"
        k = 1
        cand = name
        while cand in seen:
            k += 1
            cand = f"{name} ({k})"
        seen.add(cand)
        out.append(cand)
    return out


def _csv_field(s: str) -> str:
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def _coords(race: Race) -> tuple[str, ...]:
    coords = tuple(getattr(race.objective, "coords", ()))
    d = race.objective.dim
    if len(coords) != d:
        coords = tuple(f"x{i + 1}" for i in range(d))
    return coords


PERCEPTRON_HEADER = ("run", "optimizer", "step", "epoch", "w1", "w2", "b", "loss", "grad_norm",
                     "lr", "val_loss", "accuracy")  # fmt: skip


def _has_epochs(race: Race) -> bool:
    """The objective's ``has_epochs`` (a stand-in objective without it: none)."""
    return bool(getattr(race.objective, "has_epochs", False))


def _objective_adds(race: Race, what: str) -> Any:
    """The objective's ``export_arrays`` or ``export_data`` for this race (a stand-in
    objective without them: None)."""
    make = getattr(race.objective, what, None)
    return None if make is None else make(race.batch_size)


def _write_csv_epochs(f: io.TextIOBase, race: Race, labels: list[str]) -> None:
    f.write(",".join(PERCEPTRON_HEADER) + "\n")
    spe = race.steps_per_epoch
    for i, lab in enumerate(labels):
        tr = race.trajectory(i)
        n = tr.loss.shape[0]
        if n == 0:
            continue
        em = race.epoch_metrics(i)
        prefix = (_csv_field(lab) + "," + _csv_field(race.racers[i].optimizer) + ",").replace(
            "%", "%%"
        )
        # the last two fields (val_loss, accuracy) only on epoch-boundary rows
        fmt_edge = prefix + "%d,%d," + ",".join(["%r"] * 8) + "\n"
        fmt_mid = prefix + "%d,%d," + ",".join(["%r"] * 6) + ",,\n"
        vals = np.empty((n, 10))
        steps = np.arange(n)
        vals[:, 0] = steps
        vals[:, 1] = steps // spe
        vals[:, 2:5] = tr.x
        vals[:, 5] = tr.loss
        vals[:, 6] = tr.grad_norm
        vals[:, 7] = tr.lr
        vals[:, 8:] = np.nan
        edge = steps % spe == 0
        rows_e = np.nonzero(edge)[0]
        k = min(rows_e.shape[0], em["epoch"].shape[0])
        edge[rows_e[k:]] = False  # (a boundary is always evaluated; defensive)
        vals[rows_e[:k], 8] = em["val_loss"][:k]
        vals[rows_e[:k], 9] = em["val_accuracy"][:k]
        keep = np.ones((n, 10), dtype=bool)
        keep[~edge, 8:] = False
        for lo in range(0, n, _BLOCK):
            hi = min(lo + _BLOCK, n)
            template = "".join([fmt_edge if b else fmt_mid for b in edge[lo:hi].tolist()])
            # one C-level %-format per block; %d prints the float step/epoch as integers
            f.write(template % tuple(vals[lo:hi][keep[lo:hi]].tolist()))


def _write_csv(f: io.TextIOBase, race: Race, labels: list[str]) -> None:
    if _has_epochs(race):
        _write_csv_epochs(f, race, labels)
        return
    coords = _coords(race)
    f.write(",".join(["run", "optimizer", "step", *coords, "loss", "grad_norm", "lr"]) + "\n")
    ncol = len(coords) + 3
    for i, lab in enumerate(labels):
        tr = race.trajectory(i)
        n = tr.loss.shape[0]
        if n == 0:
            continue
        prefix = (_csv_field(lab) + "," + _csv_field(race.racers[i].optimizer) + ",").replace(
            "%", "%%"
        )
        row_fmt = prefix + "%d," + ",".join(["%r"] * ncol) + "\n"
        # one float64 table (step, coords, loss, grad_norm, lr), formatted block by block
        # with a single C-level %-format call per block (%r: shortest round-trip repr)
        vals = np.empty((n, 1 + ncol))
        vals[:, 0] = np.arange(n)
        vals[:, 1 : 1 + len(coords)] = tr.x
        vals[:, 1 + len(coords)] = tr.loss
        vals[:, 2 + len(coords)] = tr.grad_norm
        vals[:, 3 + len(coords)] = tr.lr
        for lo in range(0, n, _BLOCK):
            block = vals[lo : lo + _BLOCK]
            f.write((row_fmt * block.shape[0]) % tuple(block.ravel().tolist()))


def _write_npz(path: Path, race: Race, labels: list[str]) -> None:
    arrays: dict[str, np.ndarray] = {
        "labels": np.array(labels, dtype=str),
        "optimizers": np.array([r.optimizer for r in race.racers], dtype=str),
        "coords": np.array(_coords(race), dtype=str),
    }
    for i in range(len(labels)):
        tr = race.trajectory(i)
        arrays[f"x_{i}"] = np.array(tr.x)
        arrays[f"loss_{i}"] = np.array(tr.loss)
        arrays[f"grad_norm_{i}"] = np.array(tr.grad_norm)
        arrays[f"lr_{i}"] = np.array(tr.lr)
    arrays.update(_objective_adds(race, "export_arrays") or {})
    if _has_epochs(race):
        for i in range(len(labels)):
            em = race.epoch_metrics(i)
            arrays[f"epoch_{i}"] = em["epoch"]
            arrays[f"epoch_step_{i}"] = em["step"]
            for name in ("train_loss", "val_loss", "val_accuracy", "train_accuracy"):
                arrays[f"{name}_{i}"] = em[name]
    with path.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
        f.flush()
        os.fsync(f.fileno())


def _json_clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _json_clean(u) for k, u in v.items()}
    if isinstance(v, list | tuple):
        return [_json_clean(u) for u in v]
    if isinstance(v, np.generic):
        return _json_clean(v.item())
    return v


def versions() -> dict[str, str]:
    """Versions of the software that produced the results."""
    import numba

    import engine

    try:
        from importlib.metadata import version

        ga = version("gradient-arena")
    except Exception:  # not installed as a package: use the source's version
        ga = engine.__version__
    return {
        "gradient-arena": ga,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def summary(race: Race, scenario: Scenario, labels: list[str] | None = None) -> dict[str, Any]:
    """The content of summary.json."""
    labels = labels or unique_labels([r.label for r in race.racers])
    runs = []
    epochs = _has_epochs(race)
    theory = race_theory(race)  # None: no quadratic landscape (engine.theory)
    for i, m in enumerate(race.metrics()):
        d = {"run": labels[i], "enabled": bool(race.racers[i].enabled), **m.as_dict()}
        d["diverged"] = m.diverged_step is not None
        d["unbounded"] = m.unbounded_step is not None
        if epochs:
            d["per_epoch"] = {k: v.tolist() for k, v in race.epoch_metrics(i).items()}
        if theory is not None:
            d["theory"] = theory[i]
        runs.append(d)
    extra: dict[str, Any] = {}
    data = _objective_adds(race, "export_data")
    if data is not None:
        extra["data"] = data
    content: dict[str, Any] = _json_clean(
        {
            "format": "gradient-arena results",
            "format_version": 1,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "versions": versions(),
            "steps": race.steps,
            "seed": race.seed,
            "tolerance": {
                "loss": race.tolerance.loss,
                "grad": race.tolerance.grad,
                "divergence": race.tolerance.divergence,
            },
            "runs": runs,
            **extra,
            "scenario": scenario_to_dict(scenario),
        }
    )
    return content


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def write_results(race: Race, scenario: Scenario, out_dir: str | Path) -> list[Path]:
    """Write trajectories.csv, trajectories.npz and summary.json into ``out_dir``.

    All or nothing: the files are written into a temporary folder next to (or, if it
    exists, inside) ``out_dir`` and then moved into place. Raises ExportError.
    """
    out = Path(out_dir)
    with race.lock:
        labels = unique_labels([r.label for r in race.racers])
        try:
            if out.exists() and not out.is_dir():
                raise ExportError(f"cannot write results to {out}: it is a file, not a folder")
            existed = out.is_dir()
            if existed:
                tmp_parent = out
            else:
                tmp_parent = out.absolute().parent
                tmp_parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name or 'results'}.tmp-", dir=tmp_parent))
        except ExportError:
            raise
        except OSError as e:
            raise ExportError(f"cannot write results to {out}: {e.strerror or e}") from None
        try:
            with (tmp / "trajectories.csv").open("w", encoding="utf-8", newline="") as f:
                _write_csv(f, race, labels)
                f.flush()
                os.fsync(f.fileno())
            _write_npz(tmp / "trajectories.npz", race, labels)
            text = json.dumps(summary(race, scenario, labels), indent=2, allow_nan=False)
            (tmp / "summary.json").write_text(text + "\n", encoding="utf-8")
            _fsync_file(tmp / "summary.json")
            if existed:
                for name in FILES:
                    os.replace(tmp / name, out / name)
                tmp.rmdir()
            else:
                os.rename(tmp, out)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ExportError(f"cannot write results to {out}: {e.strerror or e}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return [out / name for name in FILES]
