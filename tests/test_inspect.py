"""`python main.py inspect SCENARIO [--at X Y] [--json]`: critical points, the local
quadratic model and, on a quadratic, the theory table (predicted against measured)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "scenarios"


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_the_theory_ravine_as_text() -> None:
    r = cli("inspect", SCEN / "lecture_theory_ravine.toml", "--at", "1", "0.2")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "critical points in the view: 1" in out
    assert "minimum  (0, 0)" in out
    assert "eigenvalues (2, 100): minimum" in out
    assert "Newton step −H⁻¹∇f = (-1, -0.2) → (0, 0)" in out
    assert "κ = 50, 2/λmax = 0.02, η* = 2/(λmin + λmax) = 0.0196078" in out
    rows_at = out.index("per racer, after 1000 steps")
    table = [ln for ln in out[rows_at:].splitlines() if ln.strip().startswith(("GD", "heavy"))]
    assert len(table) == 7
    assert all(ln.rstrip().endswith("agree") for ln in table), table
    rows = {ln.strip().split("  ")[0]: ln.split() for ln in table}
    assert rows["GD η = 0.001"][-5:-3] == ["0.998", "0.998"]  # predicted, measured
    assert rows["GD η = 0.021 (diverges)"][-5:-3] == ["1.1", "1.1"]
    assert rows["heavy ball, Distill's optimum"][-5:-3] == ["0.752201", "0.753219"]


def test_inspect_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "inspect", SCEN / "lecture_worked_example_E.toml",
                            "--at", "1.5", "2", "--json")  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["landscape"]["name"] == "quadratic_matrix"
    (cp,) = doc["critical_points"]
    assert cp["kind"] == "minimum" and cp["point"] == pytest.approx([3.0, 4.0])
    at = doc["at"]
    assert at["point"] == [1.5, 2.0] and at["kind"] == "minimum" and not at["critical"]
    assert at["newton_point"] == pytest.approx([3.0, 4.0])
    assert [*at["hessian"][0], *at["hessian"][1]] == pytest.approx([0.5, -1 / 6, -1 / 6, 2 / 9])
    assert [round(v, 3) for v in doc["quadratic"]["lambda"]] == [0.144, 0.578]
    assert [r["agreement"] for r in doc["racers"]] == ["agree"] * 3
    assert doc["racers"][0]["predicted_rate"] == pytest.approx(
        1 - 0.3 * doc["quadratic"]["lambda"][0]
    )


def test_inspect_landscapes_without_theory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "inspect", SCEN / "himmelblau_four_minima.toml", "--json")
    assert code == 0
    doc = json.loads(out)
    kinds = [c["kind"] for c in doc["critical_points"]]
    assert kinds.count("minimum") == 4 and kinds.count("maximum") == 1
    assert kinds.count("saddle") == 4
    assert "quadratic" not in doc and "racers" not in doc and "at" not in doc
    # the saddle: a quadratic with no minimum, every racer "not covered"
    code, out, _ = run_main(capsys, "inspect", SCEN / "lecture_saddle.toml", "--at", "0", "0")
    assert code == 0
    assert "saddle   (0, 0)" in out or "saddle  (0, 0)" in out
    assert "not covered: the quadratic has no minimum" in out


def test_inspect_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = cli("inspect", SCEN / "perceptron_batch.toml")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "perceptron_batch.toml" in r.stderr and "no landscape" in r.stderr
    missing = tmp_path / "nope.toml"
    code, out, err = run_main(capsys, "inspect", missing)
    assert code == 2 and "nope.toml" in err and not out
    for bad in (["--at", "nan", "1"], ["--at", "1"], ["--at", "x", "1"]):
        with pytest.raises(SystemExit) as e:
            main.main(["inspect", str(SCEN / "lecture_theory_ravine.toml"), *bad])
        assert e.value.code == 2
        assert "--at" in capsys.readouterr().err
