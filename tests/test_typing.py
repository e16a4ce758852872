"""Typing rules: mypy checks the engine and the GUI strictly (pyproject.toml's
[tool.mypy]; relaxations per module, each saying why), and what mypy cannot check by
itself: the per-racer arrays :class:`engine.race.Race` sets with setattr
(``Race._show``) are the ones its class annotations declare."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from engine.race import Race, racer_arrays

ROOT = Path(__file__).resolve().parents[1]
#: what an override may relax on the project's own modules
RELAXABLE = {"disallow_subclassing_any"}


def test_race_declares_every_per_racer_array_with_its_dtype():
    declared = {n: a for n, a in Race.__annotations__.items() if "NDArray" in str(a)}
    arrays = racer_arrays(2, 3)
    assert set(declared) == set(arrays)
    for name, (_shape, dtype, _fill) in arrays.items():
        assert str(declared[name]) == f"npt.NDArray[np.{np.dtype(dtype).name}]", name


def _mypy_config() -> tuple[dict[str, Any], str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["tool"]["mypy"], text


def test_mypy_checks_the_engine_and_the_gui_strictly():
    cfg, _ = _mypy_config()
    assert {"engine", "gui"} <= set(cfg["files"])
    assert cfg["strict"] is True and cfg["warn_unreachable"] is True
    assert "ignore-without-code" in cfg["enable_error_code"]  # a type: ignore names its code
    assert not cfg.get("ignore_errors")


def test_mypy_relaxations_are_per_module_and_say_why():
    cfg, text = _mypy_config()
    overrides = cfg["overrides"]
    for o in overrides:
        assert not o.get("ignore_errors"), o["module"]
        modules = [o["module"]] if isinstance(o["module"], str) else o["module"]
        if any(m.split(".")[0] in ("engine", "gui") for m in modules):
            assert set(o) - {"module"} <= RELAXABLE, o
    # each [[tool.mypy.overrides]] table opens with a comment saying why
    tables = [t.lstrip("\n").splitlines() for t in text.split("[[tool.mypy.overrides]]")[1:]]
    assert len(tables) == len(overrides)
    assert all(lines and lines[0].startswith("#") for lines in tables)
