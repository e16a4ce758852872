"""The README stays true: its tables come from the registries, its test command is CI's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tables_match_the_registry():
    from engine.docs import render_readme

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_readme(text) == text, "run: python -m engine.docs README.md"
    for name in ("optimizers", "landscapes", "schedules"):
        assert f"<!-- table:{name} -->\n|" in text


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- test-command -->", 1)[1].split("<!-- /test-command -->", 1)[0]
    cmd = [ln for ln in block.splitlines() if ln and not ln.startswith("```")]
    assert len(cmd) == 1 and "pytest" in cmd[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci and 'bash -c "$cmd"' in ci


def test_readme_screenshots_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rel in ("gui/screenshots/ravine.png", "gui/screenshots/perceptron.png"):
        assert rel in readme
        assert (ROOT / rel).read_bytes()[:4] == b"\x89PNG"


def test_benchmarks_run_quick():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for what in ("engine", "gui"):
        r = subprocess.run(
            [sys.executable, "-m", "bench", what, "--quick", "--no-startup"],
            cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-2000:]
        assert "ns/step" in r.stdout or "frames" in r.stdout
