"""The README stays true: its tables come from the registries, its test command is CI's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    """Every image the README shows is a PNG (a .gif: a GIF) in the repository (and there
    are some)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert {"gui/screenshots/ravine.png", "gui/screenshots/small_multiples.png"} <= set(images)
    for rel in images:
        magic = b"GIF8" if rel.endswith(".gif") else b"\x89PNG"
        assert (ROOT / rel).read_bytes()[:4] == magic, rel


@pytest.mark.slow
def test_benchmarks_run_quick():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for what in ("engine", "gui", "contours", "maps", "formula"):
        r = subprocess.run(
            [sys.executable, "-m", "bench", what, "--quick", "--no-startup"],
            cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-2000:]
        assert any(w in r.stdout for w in ("ns/step", "frames", "CONTOURS", "ns/instr")), r.stdout


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


# Every error found in the lecture notes, with a piece of the correct statement its row must
# keep: the errata section cannot silently lose one, nor its correction.
NOTES_ERRATA = {
    "bce-sign": "ℓ = −[y·log a + (1 − y)·log(1 − a)]",
    "bce-binary": "−y·log a",
    "update-extra-x": "W = W − α·∂J/∂W;",
    "time-decay-sign": "α₀/(1 + decay_rate·epoch_num)",
    "adam-bias-t0": "1 − β₁ᵗ⁺¹",
    "adam-no-bias-correction": "m̂ = m/(1 − β₁ᵗ)",
    "decay-half": "ηₜ = η₀(1 − t/T)",
    "adagrad-accumulator": "sₜ = sₜ₋₁ + gₜ²",
    "gd-loss-half": "½·Σᵢ (1 − ηλᵢ)²ᵗ λᵢ xᵢ⁽⁰⁾²",
    "gd-loss-square": "no square",
    "nag-change-of-variables": "x̃⁽ᵗ⁾ = x⁽ᵗ⁾ + ρv⁽ᵗ⁾",
    "adam-neuron-example": "w = b = −1.9",
    "momentum-example-beta": "(1.925, 2.6583)",
    "finite-difference-sign": "W = W − α(Gp − Gn)·δW",
    "optimal-lr-exercise": "2/(4 + 8) = 1/6",
    "gd-example-rounding": "2.0583",
    "saddle-second-derivative": "eigenvalues of both signs",
    "newton-stationary-point": "positive definite",
    "torch-decay-default": "default 0",
    "eps-placement": "η/(√G + ε)",
    "momentum-example-form": "(−0.290, 0.0017)",
    "ideal-f-divergence": "η > 1 = 2/λmax",
    "bfgs-rank": "rank-two",
    "minibatch-table": "1024–1151",
    "minibatch-loop-range": "⌈m/batch_size⌉ updates",
    "adam-beta-range": "β₁, β₂ ∈ [0, 1)",
    "hessian-eigenvalues": "eigenvalues",
    "rmsprop-index": "wₜ = wₜ₋₁",
    "adam-bias-power": "β₁ᵗ",
    "sqrt-epoch-zero": "k·lr₀/√(epoch + 1)",
}


def test_notes_errata_section_is_complete_and_its_scenarios_exist():
    import re

    from engine.scenario import load_scenario

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = "## Where the notes are wrong\n"
    assert head in readme, "README lost its errata section"
    assert readme.index("## The lecture library") < readme.index(head)
    section = readme.split(head, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z0-9-]+)` \|", line)
        if m:
            assert m.group(1) not in rows, f"two rows for {m.group(1)}"
            rows[m.group(1)] = line
    assert set(rows) == set(NOTES_ERRATA), "an erratum was added or lost: update NOTES_ERRATA"
    for eid, correct in NOTES_ERRATA.items():
        cells = [c.strip() for c in rows[eid].strip().strip("|").split(" | ")]
        assert len(cells) == 5, f"{eid}: id | where | the notes say | correct | shown in"
        assert re.search(r"\b00[0-4]\b", cells[1]), f"{eid}: which notes file (000-004)?"
        assert correct in cells[3], f"{eid}: the correction should say {correct!r}"
        assert re.fullmatch(r"—|(`scenarios/\w+\.toml`(, )?)+", cells[4]), f"{eid}: {cells[4]}"
    referenced = set(re.findall(r"scenarios/\w+\.toml", section))
    assert referenced
    for rel in sorted(referenced):
        assert (ROOT / rel).is_file(), f"the errata cite {rel}, which does not exist"
        load_scenario(ROOT / rel)  # what `python3 main.py validate` checks
