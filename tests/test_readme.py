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
    for what in ("engine", "gui", "contours"):
        r = subprocess.run(
            [sys.executable, "-m", "bench", what, "--quick", "--no-startup"],
            cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-2000:]
        assert "ns/step" in r.stdout or "frames" in r.stdout or "CONTOURS" in r.stdout


def test_readme_scenario_examples_are_valid():
    """The annotated example loads as is; its error example is the real message."""
    from engine.scenario import ScenarioError, loads_scenario

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("Every key, annotated", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    s = loads_scenario(block, source="README")
    assert s.view.levels == 15 and s.racers[0].start == (-1.0, 2.5)
    assert s.view.equations is True and s.view.gradient_field is False
    assert s.racers[0].schedule_params["warmup"] == 100
    bad = (
        'schema = 1\nname = "x"\n[objective]\nname = "rosenbrock"\n[[optimizers]]\n'
        'name = "adam"\n[[optimizers]]\nname = "sgd"\nparams = { lr = inf }\n'
    )
    try:
        loads_scenario(bad, source="my.toml")
    except ScenarioError as e:
        assert f"`{e}`" in readme.replace("\n", " ")
    else:
        raise AssertionError("lr = inf was accepted")
