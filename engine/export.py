"""Writing a finished (or paused) race to disk: CSV, NPZ and a JSON summary.

``write_results`` writes three files into ``out_dir``:

* ``trajectories.csv``: tidy, one row per run and recorded step (step 0 = the start),
  columns ``run,optimizer,step,x,y,loss,grad_norm,lr`` (objectives with other
  coordinates put their names in place of ``x,y``); non-finite values are ``nan``,
  ``inf`` and ``-inf``; numbers are Python's shortest round-trip ``repr``.
* ``trajectories.npz``: per run ``i`` the arrays ``x_i`` (n, d), ``loss_i``,
  ``grad_norm_i``, ``lr_i``; plus ``labels``, ``optimizers`` and ``coords``.
* ``summary.json``: per-run metrics, the scenario, software versions and the date.

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


def _write_csv(f: io.TextIOBase, race: Race, labels: list[str]) -> None:
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
    for i, m in enumerate(race.metrics()):
        d = {"run": labels[i], "enabled": bool(race.racers[i].enabled), **m.as_dict()}
        d["diverged"] = m.diverged_step is not None
        runs.append(d)
    return _json_clean(
        {
            "format": "gradient-arena results",
            "format_version": 1,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "versions": versions(),
            "steps": race.steps,
            "seed": race.seed,
            "tolerance": {"loss": race.tolerance.loss, "grad": race.tolerance.grad},
            "runs": runs,
            "scenario": scenario_to_dict(scenario),
        }
    )


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
