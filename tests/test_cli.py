"""The command line (`python main.py ...`, run as a user would) and the export files."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ROSEN = ROOT / "scenarios" / "rosenbrock_race.toml"
HEADER = ["run", "optimizer", "step", "x", "y", "loss", "grad_norm", "lr"]


def cli(
    *args: str | Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=None if env is None else {**os.environ, **env},
    )


def assert_user_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.strip(), "a message on stderr"
    for w in words:
        assert w in r.stderr, (w, r.stderr)


DIVERGING = """\
name = "two racers, one blows up"
steps = 300
[objective]
name = "rosenbrock"
start = [-1.5, 2.0]
[[optimizers]]
name = "adam"
label = "same, label"
params = { lr = 0.05 }
[[optimizers]]
name = "sgd"
label = "same, label"
params = { lr = 0.01 }
"""


# ---------------------------------------------------------------- run
@pytest.mark.slow
def test_run_with_out_writes_the_three_files(tmp_path: Path) -> None:
    out = tmp_path / "res" / "rosen"
    r = cli("run", ROSEN, "--steps", "40", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr == "", "no progress bar when stderr is not a terminal"
    # the leaderboard
    assert "rank" in r.stdout and "final loss" in r.stdout and "Nesterov" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "summary.json",
        "trajectories.csv",
        "trajectories.npz",
    ]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no temp dir left"

    with (out / "trajectories.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER
    labels = ["Adam", "RMSProp", "Nesterov", "Momentum", "SGD"]
    by_run: dict[str, list[list[str]]] = {}
    for row in rows[1:]:
        by_run.setdefault(row[0], []).append(row)
    assert list(by_run) == labels
    for lab in labels:
        steps = [int(r[2]) for r in by_run[lab]]
        assert steps == list(range(41))
        first = by_run[lab][0]
        assert (float(first[3]), float(first[4])) == (-1.5, 2.0), "step 0 is the start"
        assert float(first[5]) == pytest.approx(12.5)  # f(-1.5, 2)

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [run["run"] for run in summary["runs"]] == labels
    for run in summary["runs"]:
        assert run["steps"] == 40 and "diverged_step" in run and "final_loss" in run
    assert set(summary["versions"]) >= {"numpy", "numba", "python", "gradient-arena"}
    assert summary["scenario"]["objective"]["name"] == "rosenbrock"
    assert summary["created"]

    npz = np.load(out / "trajectories.npz")
    assert npz["labels"].tolist() == labels
    assert npz["x_0"].shape == (41, 2) and npz["loss_4"].shape == (41,)
    assert npz["x_2"][0].tolist() == [-1.5, 2.0]
    last = [float(v) for v in by_run["SGD"][-1][3:]]
    assert last == [*npz["x_4"][-1].tolist(), npz["loss_4"][-1], npz["grad_norm_4"][-1],
                    npz["lr_4"][-1]]  # fmt: skip


@pytest.mark.slow
def test_run_quiet_and_diverging_and_duplicate_labels(tmp_path: Path) -> None:
    sc = tmp_path / "div.toml"
    sc.write_text(DIVERGING, encoding="utf-8")
    r = cli("run", sc)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    sgd_line = next(line for line in lines if " sgd " in line)
    assert sgd_line.split()[-1].isdigit(), "the diverged step is shown"
    out = tmp_path / "out"
    r = cli("run", sc, "--quiet", "--out", out)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    runs = summary["runs"]
    assert [run["run"] for run in runs] == ["same, label", "same, label (2)"]
    assert runs[0]["diverged_step"] is None
    assert isinstance(runs[1]["diverged_step"], int) and runs[1]["diverged"] is True
    with (out / "trajectories.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert {row[0] for row in rows[1:]} == {"same, label", "same, label (2)"}
    assert sum(row[0] == "same, label (2)" for row in rows) == runs[1]["steps"] + 1
    # writing again into an existing folder replaces the files
    r = cli("run", sc, "--quiet", "--steps", "5", "--out", out)
    assert r.returncode == 0
    assert len((out / "trajectories.csv").read_text(encoding="utf-8").splitlines()) == 13


def test_csv_writes_non_finite_values_as_nan_inf(tmp_path: Path) -> None:
    from engine.export import write_results
    from engine.scenario import loads_scenario

    scenario = loads_scenario(DIVERGING)
    traj = SimpleNamespace(
        x=np.array([[0.0, 1.0], [np.nan, -np.inf]]),
        loss=np.array([1.0, np.inf]),
        grad_norm=np.array([2.0, np.nan]),
        lr=np.array([0.1, 0.1]),
    )
    fake = SimpleNamespace(
        lock=__import__("threading").RLock(),
        racers=[SimpleNamespace(label="a%b", optimizer="sgd", enabled=True)],
        objective=SimpleNamespace(dim=2, coords=("x", "y")),
        trajectory=lambda i: traj,
        metrics=lambda: [],
        steps=1,
        seed=0,
        tolerance=SimpleNamespace(loss=1e-6, grad=1e-6, divergence=1e6),
    )
    write_results(fake, scenario, tmp_path / "o")  # type: ignore[arg-type]
    text = (tmp_path / "o" / "trajectories.csv").read_text(encoding="utf-8")
    assert text.splitlines()[1:] == [
        "a%b,sgd,0,0.0,1.0,1.0,2.0,0.1",
        "a%b,sgd,1,nan,-inf,inf,nan,0.1",
    ]
    assert math.isnan(float(text.splitlines()[2].split(",")[3]))


def test_export_failure_leaves_nothing(tmp_path: Path) -> None:
    from engine.export import ExportError, write_results
    from engine.scenario import build_race, loads_scenario

    scenario = loads_scenario(DIVERGING)
    race = build_race(scenario, steps=3)
    race.run()
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write results"):
        write_results(race, scenario, blocker / "out")
    with pytest.raises(ExportError, match="not a folder"):
        write_results(race, scenario, blocker)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.slow
def test_run_on_an_ascii_console() -> None:
    ravine = ROOT / "scenarios" / "ravine_gd_momentum_adam.toml"
    r = cli("run", ravine, "--steps", "3", env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    assert "Momentum (\\u03c1 = 0.9)" in r.stdout


# ---------------------------------------------------------------- list / validate / help
def test_help_lists_every_command() -> None:
    r = cli("--help")
    assert r.returncode == 0
    for cmd in ("run", "list", "validate", "gui", "render"):
        assert cmd in r.stdout


def test_main_is_import_light() -> None:
    code = "import sys, main; print([m for m in ('numpy', 'numba', 'engine') if m in sys.modules])"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_list_text_and_json() -> None:
    r = cli("list")
    assert r.returncode == 0, r.stderr
    for word in ("rosenbrock", "himmelblau", "adam", "beta1", "cosine", "warmup", "(x² + y − 11)²"):
        assert word in r.stdout, word
    r = cli("list", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"landscapes", "optimizers", "schedules"}
    adam = next(o for o in doc["optimizers"] if o["name"] == "adam")
    beta1 = next(p for p in adam["params"] if p["name"] == "beta1")
    assert beta1["default"] == 0.9 and beta1["max"] == 1.0 and beta1["max_open"] is True
    assert adam["equations"]
    rosen = next(ls for ls in doc["landscapes"] if ls["name"] == "rosenbrock")
    assert rosen["formula"] and {p["name"] for p in rosen["params"]} == {"a", "b"}
    cosine = next(s for s in doc["schedules"] if s["name"] == "cosine")
    assert cosine["formula"] and "T" in {p["name"] for p in cosine["params"]}


def test_validate(tmp_path: Path) -> None:
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    r = cli("validate", *files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok") == len(files)
    bad = tmp_path / "bad.toml"
    bad.write_text(DIVERGING.replace("lr = 0.05", "lr = inf").replace('"sgd"', '"sgdd"'))
    r = cli("validate", ROSEN, bad)
    assert_user_error(r, "bad.toml: optimizers[0].params.lr: expected", "got inf",
                      "bad.toml: optimizers[1].name: unknown optimizer")  # fmt: skip
    assert "rosenbrock_race.toml: ok" in r.stdout


# ---------------------------------------------------------------- bad input
def _bad_cases(tmp: Path) -> list[tuple[str, list[str], list[str]]]:
    (tmp / "syntax.toml").write_text('name = "x"\nsteps = = 1\n', encoding="utf-8")
    (tmp / "key.toml").write_text(DIVERGING.replace("steps = 300", "stepz = 300"), "utf-8")
    (tmp / "bin.toml").write_bytes(b"\xff\xfe\x00name")
    (tmp / "nest.toml").write_text("a = " + "[" * 100_000, encoding="utf-8")
    (tmp / "blocker").write_text("x", encoding="utf-8")
    out = str(tmp / "out")
    return [
        ("missing file", ["run", str(tmp / "nope.toml"), "--out", out], ["nope.toml", "not found"]),
        ("folder", ["run", str(tmp), "--out", out], ["folder"]),
        ("syntax", ["run", str(tmp / "syntax.toml"), "--out", out], ["syntax.toml", "line 2"]),
        ("unknown key", ["run", str(tmp / "key.toml"), "--out", out], ["key.toml: stepz: ",
                                                                       "did you mean 'steps'"]),
        ("not utf-8", ["run", str(tmp / "bin.toml"), "--out", out], ["bin.toml", "UTF-8"]),
        ("nesting", ["run", str(tmp / "nest.toml"), "--out", out], ["nest.toml", "nested"]),
        ("steps 0", ["run", str(ROSEN), "--steps", "0", "--out", out], ["--steps", "got '0'"]),
        ("steps abc", ["run", str(ROSEN), "--steps", "abc", "--out", out], ["--steps"]),
        ("steps huge", ["run", str(ROSEN), "--steps", "99999999999", "--out", out], ["--steps"]),
        ("out under a file", ["run", str(ROSEN), "--steps", "3", "--out",
                              str(tmp / "blocker" / "x")], ["--out", "blocker"]),
        ("out is a file", ["run", str(ROSEN), "--steps", "3", "--out", str(tmp / "blocker")],
         ["--out", "a file"]),
        ("validate missing", ["validate", str(tmp / "nope.toml")], ["nope.toml: file not found"]),
        ("validate nothing", ["validate"], ["FILE"]),
        ("unknown command", ["fly"], ["invalid choice"]),
    ]  # fmt: skip


@pytest.mark.slow
def test_bad_input_exit_2_no_traceback_nothing_written(tmp_path: Path) -> None:
    for name, args, words in _bad_cases(tmp_path):
        r = cli(*args)
        try:
            assert_user_error(r, *words)
        except AssertionError as e:
            raise AssertionError(f"case {name!r}: {e}") from None
        assert not (tmp_path / "out").exists(), name
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], name
