"""Shared test helpers: the repo root and the scenario library."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.fixture
def root() -> Path:
    return ROOT
