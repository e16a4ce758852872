"""Shared test helpers: the repo root and the scenario library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def epoch_batches(seed: int, n: int, bs: int, steps: int) -> list[Any]:
    """The row indices of every step of a perceptron race of ``n`` rows in batches of
    ``bs``, from epoch_permutation (the kernel's order)."""
    import numpy as np

    from engine.perceptron_kernel import epoch_permutation

    spe = -(-n // bs)
    perm = np.empty(n, dtype=np.int64)
    out = []
    for t in range(steps):
        if t % spe == 0:
            epoch_permutation(seed, t // spe, perm)
        lo = (t % spe) * bs
        out.append(perm[lo : min(lo + bs, n)].copy())
    return out


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The main window on the default scenario (fresh settings), shown; closed at the end
    without a "save?" prompt (tests that want the prompt close it themselves)."""
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "settings.ini"))
    from gui.window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.document.forget_changes()
    w.close()


@pytest.fixture(autouse=True)
def no_modal_dialogs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A modal dialog offscreen would wait forever: answer it and fail the test instead.

    Tests that expect a dialog patch QMessageBox / QFileDialog themselves (after this).
    """
    if "PySide6.QtWidgets" not in sys.modules and request.node.get_closest_marker("gui") is None:
        yield
        return
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    shown: list[str] = []

    def refuse(name: str, answer: Any) -> Any:
        def dialog(*args: Any, **_kw: Any) -> Any:
            shown.append(f"{name}: {[a for a in args if isinstance(a, str)]}")
            return answer

        return dialog

    discard = QMessageBox.StandardButton.Discard
    for name in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, refuse(f"QMessageBox.{name}", discard))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", refuse("getOpenFileName", ("", "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", refuse("getSaveFileName", ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", refuse("getExistingDirectory", ""))
    yield
    assert not shown, f"unexpected modal dialog(s): {shown}"
