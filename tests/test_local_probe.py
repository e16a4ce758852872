"""The "Local model" dock (gui/local_probe.py; what it draws: gui/probe_layer.py): a
Shift+click probes the landscape: f, ∇f, H, its eigenvalues and type in the dock, the
Taylor model's contours and the Newton step on the map; the critical points of the view
listed and marked. The expected numbers are Himmelblau's closed forms, computed here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def himmelblau(x: float, y: float) -> tuple[float, np.ndarray, np.ndarray]:
    """f = (x² + y − 11)² + (x + y² − 7)², its gradient and Hessian."""
    a, b = x * x + y - 11, x + y * y - 7
    f = a * a + b * b
    g = np.array([4 * x * a + 2 * b, 2 * a + 4 * y * b])
    h = np.array(
        [[12 * x * x + 4 * y - 42, 4 * x + 4 * y], [4 * x + 4 * y, 4 * x + 12 * y * y - 26]]
    )
    return f, g, h


@pytest.fixture
def win(qtbot: Any) -> Any:
    """A window on Himmelblau (no engine thread: nothing here runs the race), the Local
    model dock in front."""
    from engine.scenario import load_scenario
    from gui.settings import Settings
    from gui.window import MainWindow

    w = MainWindow(
        load_scenario(ROOT / "scenarios" / "himmelblau_four_minima.toml"),
        start_runner=False,
        settings=Settings(remember=False),
    )
    qtbot.addWidget(w, before_close_func=lambda w: w.document.forget_changes())
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    w.probe_dock.raise_()
    qtbot.waitUntil(lambda: w.probe.shown)
    yield w
    w.document.forget_changes()
    w.close()


def shift_click(qtbot: Any, win: Any, x: float, y: float) -> None:
    panel = win.landscape
    pos = panel.mapFromScene(panel.plotItem.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(
        panel.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos
    )


def test_shift_click_shows_the_local_model_and_keeps_the_start(win: Any, qtbot: Any) -> None:
    from engine.theory.local import local_model, scale_of

    start = tuple(win.race.objective.start)
    shift_click(qtbot, win, 0.3, 2.3)
    probe = win.probe
    assert probe.point is not None
    px, py = probe.point
    assert abs(px - 0.3) < 0.05 and abs(py - 2.3) < 0.05  # within a pixel or two
    assert tuple(win.race.objective.start) == start  # a probe is no restart
    assert win.probe_dock.isVisible()
    m = probe.model
    f, g, h = himmelblau(px, py)
    assert m.f == pytest.approx(f, rel=1e-12)
    assert np.allclose(m.grad, g, rtol=1e-12, atol=1e-12)
    assert np.allclose(m.hessian, h, rtol=1e-12, atol=1e-12)
    assert np.allclose(m.eigenvalues, np.linalg.eigvalsh(h), rtol=1e-12)
    assert m.kind == "saddle" and not m.critical  # H indefinite, ∇f far from 0
    # the engine's model at the same point, the same numbers
    lid, packed = win.landscape.lid, win.landscape.packed
    ref = local_model(lid, packed, px, py, scale_of(lid, packed, win.landscape.view_box()))
    assert ref.f == m.f and np.array_equal(ref.hessian, m.hessian)
    text = probe.text.text()
    for number in (m.f, *m.grad, *m.hessian.ravel(), *m.eigenvalues):
        shown = f"{float(number) + 0.0:.6g}"
        assert shown in text, (shown, text)
    assert ">saddle<" in text
    assert "not positive definite" in text and "model's <b>saddle</b>" in text


def test_a_minimum_and_the_maximum_are_classified(win: Any) -> None:
    win.probe.probe(3.0, 2.0)
    m = win.probe.model
    assert m.kind == "minimum" and m.critical
    assert np.allclose(m.hessian, himmelblau(3.0, 2.0)[2])
    assert "H is positive definite" in win.probe.text.text()
    win.probe.probe(-0.270845, -0.923039)  # Himmelblau's local maximum (6 digits)
    assert win.probe.model.kind == "maximum"
    assert ">maximum<" in win.probe.text.text()


def test_taylor_contours_lie_on_the_model_levels(win: Any) -> None:
    x0, y0 = 0.3, 2.3
    win.probe.probe(x0, y0)
    f, g, h = himmelblau(x0, y0)

    def model(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = x - x0, y - y0
        return f + g[0] * dx + g[1] * dy + 0.5 * (h[0, 0] * dx * dx + 2 * h[0, 1] * dx * dy
                                                   + h[1, 1] * dy * dy)  # fmt: skip

    lines = win.probe.layer.lines
    levels = sorted({ln.level for ln in lines})
    assert len(levels) >= 4
    spread = levels[-1] - levels[0]
    radius = max(float(np.hypot(ln.xs - x0, ln.ys - y0).max()) for ln in lines)
    box = win.landscape.view_box()
    assert radius <= 0.35 * min(box[1] - box[0], box[3] - box[2])  # a neighbourhood
    for ln in lines:
        assert ln.xs.size >= 2
        err = np.abs(model(ln.xs, ln.ys) - ln.level)
        assert err.max() <= 1e-9 * spread, (ln.level, err.max())
    # what is drawn is those lines, each ended by a break
    cx, cy = win.probe.layer.contours.getData()
    assert cx.size == sum(ln.xs.size + 1 for ln in lines)
    finite = np.isfinite(cx)
    assert np.array_equal(cx[finite], np.concatenate([ln.xs for ln in lines]))
    assert np.array_equal(cy[finite], np.concatenate([ln.ys for ln in lines]))
    # a landscape contour is not a model contour: the model differs from f off the point
    from engine.landscapes import landscape_f

    lid, packed = win.landscape.lid, win.landscape.packed
    far = lines[0]
    fv = np.array([landscape_f(lid, packed, a, b) for a, b in zip(far.xs, far.ys, strict=True)])
    assert np.abs(fv - far.level).max() > 1e-3 * spread


def test_newton_arrow_ends_at_x_minus_h_inverse_g(win: Any) -> None:
    x0, y0 = 0.3, 2.3
    win.probe.probe(x0, y0)
    _, g, h = himmelblau(x0, y0)
    end = np.array([x0, y0]) - np.linalg.solve(h, g)
    assert np.allclose(win.probe.layer.arrow_end, end, rtol=1e-12, atol=1e-12)
    ax, ay = win.probe.layer.arrow.getData()
    assert (ax[0], ay[0]) == (x0, y0)  # the shaft, from the point ...
    assert np.allclose([ax[1], ay[1]], end, rtol=1e-12, atol=1e-12)  # ... to x − H⁻¹g
    assert win.probe.layer.label.toPlainText() == "Newton → model's saddle"


def test_critical_points_of_the_view_listed_marked_and_probed(win: Any, qtbot: Any) -> None:
    probe = win.probe
    qtbot.waitUntil(lambda: probe.table.rowCount() == 9)
    kinds = Counter(c.kind for c in probe.criticals)
    assert kinds == {"minimum": 4, "maximum": 1, "saddle": 4}
    assert "Critical points in the view: 9" in probe.cp_label.text()
    assert "4 minima, 1 maximum, 4 saddles" in probe.cp_label.text()
    mins = sorted((round(c.point[0], 4), round(c.point[1], 4))
                  for c in probe.criticals if c.kind == "minimum")  # fmt: skip
    assert (3.0, 2.0) in mins and (-2.8051, 3.1313) in mins
    # one marker per point, a symbol per type
    pts = probe.layer.markers.points()
    assert len(pts) == 9
    symbols = {c.kind: set() for c in probe.criticals}
    for c, p in zip(probe.criticals, pts, strict=True):
        assert (p.pos().x(), p.pos().y()) == c.point
        symbols[c.kind].add(p.symbol())
    assert all(len(s) == 1 for s in symbols.values())
    assert len(set.union(*symbols.values())) == 3
    # a click on a row probes that point
    row = next(i for i, c in enumerate(probe.criticals) if c.kind == "saddle")
    rect = probe.table.visualItemRect(probe.table.item(row, 1))
    qtbot.mouseClick(probe.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert probe.point == probe.criticals[row].point
    assert probe.model.kind == "saddle" and probe.model.critical
    # markers go with the dock
    win.side_dock.raise_()
    qtbot.waitUntil(lambda: not probe.shown)
    assert len(probe.layer.markers.points()) == 0


def test_zooming_in_rescans_the_view_and_redraws_the_neighbourhood(win: Any, qtbot: Any) -> None:
    probe = win.probe
    qtbot.waitUntil(lambda: probe.table.rowCount() == 9)
    probe.probe(3.3, 2.2)
    wide = max(float(np.hypot(ln.xs - 3.3, ln.ys - 2.2).max()) for ln in probe.layer.lines)
    win.landscape.plotItem.vb.setRange(xRange=(2.0, 4.0), yRange=(1.0, 3.0), padding=0)
    qtbot.waitUntil(lambda: probe.table.rowCount() == 1)  # only the minimum at (3, 2)
    assert probe.criticals[0].kind == "minimum"
    assert np.allclose(probe.criticals[0].point, (3.0, 2.0), atol=1e-9)
    assert len(probe.layer.markers.points()) == 1
    assert probe.point == (3.3, 2.2)  # the probe stays, its disk follows the zoom
    narrow = max(float(np.hypot(ln.xs - 3.3, ln.ys - 2.2).max()) for ln in probe.layer.lines)
    assert narrow < 0.5 * wide


def test_a_new_landscape_or_parameters_recompute_at_the_same_point(win: Any, qtbot: Any) -> None:
    probe = win.probe
    probe.probe(0.3, 2.3)
    win.session.set_landscape("saddle")  # f = a x² − b y², a = b = 1
    assert probe.point == (0.3, 2.3)
    assert np.allclose(probe.model.grad, [0.6, -4.6])
    assert np.allclose(probe.model.hessian, [[2.0, 0.0], [0.0, -2.0]])
    assert np.allclose(probe.layer.arrow_end, (0.0, 0.0), atol=1e-15)
    win.session.set_landscape("saddle", {"a": 3.0})
    assert np.allclose(probe.model.hessian, [[6.0, 0.0], [0.0, -2.0]])
    assert "6" in probe.text.text()
    qtbot.waitUntil(lambda: [c.kind for c in probe.criticals] == ["saddle"])
    # a typed formula: 1 + x² + x·y + 2y², H = [[2, 1], [1, 4]], its minimum at 0
    win.session.set_formula("1 + x^2 + x*y + 2*y^2")
    m = probe.model
    assert probe.point == (0.3, 2.3)
    assert m.f == pytest.approx(1 + 0.09 + 0.69 + 2 * 5.29)
    assert np.allclose(m.grad, [2 * 0.3 + 2.3, 0.3 + 4 * 2.3])
    assert np.allclose(m.hessian, [[2.0, 1.0], [1.0, 4.0]])
    assert m.kind == "minimum"
    assert np.allclose(probe.layer.arrow_end, (0.0, 0.0), atol=1e-12)
    assert probe.layer.label.toPlainText() == "Newton → model's minimum"
    # the monkey saddle: H = 0 at the origin, degenerate, no Newton step
    win.session.set_landscape("monkey_saddle")
    probe.probe(0.0, 0.0)
    assert probe.model.kind == "degenerate"
    assert probe.layer.arrow_end is None
    assert probe.layer.arrow.getData()[0].size == 0
    assert "no Newton step" in probe.text.text()


def test_escape_and_clear_remove_the_probe(win: Any, qtbot: Any) -> None:
    probe = win.probe
    probe.probe(0.3, 2.3)
    assert probe.layer.lines and probe.layer.contours.getData()[0].size
    win.landscape.setFocus()
    qtbot.keyClick(win.landscape, Qt.Key.Key_Escape)
    assert probe.point is None and probe.model is None
    assert probe.layer.lines == [] and probe.layer.arrow_end is None
    assert probe.layer.contours.getData()[0].size == 0
    assert probe.layer.arrow.getData()[0].size == 0
    assert not probe.layer.label.isVisible()
    assert "No point probed" in probe.text.text()
    assert not probe.clear_action.isEnabled()  # Esc is free again
    probe.probe(1.0, 1.0)
    assert probe.clear_action.isEnabled()
    qtbot.mouseClick(probe.clear_button, Qt.MouseButton.LeftButton)
    assert probe.point is None and probe.layer.lines == []


def test_a_perceptron_race_has_nothing_to_probe(win: Any) -> None:
    from engine.scenario import load_scenario

    win.probe.probe(0.3, 2.3)
    win.load(load_scenario(ROOT / "scenarios" / "perceptron_minibatch.toml"))
    assert win.probe.model is None and win.probe.layer.lines == []
    assert "no 2-D landscape" in win.probe.text.text()
    assert not win.probe.probe_button.isEnabled()
    assert len(win.probe.layer.markers.points()) == 0


EXIT_WITH_THE_DOCK_OPEN = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from engine.scenario import load_scenario
from gui.settings import Settings
from gui.window import MainWindow
w = MainWindow(load_scenario("scenarios/himmelblau_four_minima.toml"), start_runner=False,
               settings=Settings(remember=False))
w.resize(1500, 950)
w.show()
w.probe_dock.raise_()
for _ in range(50):
    if w.probe.shown and w.probe.table.rowCount():
        break
    app.processEvents()
w.probe.probe(0.3, 2.3)
w.document.forget_changes()
print(w.probe.shown, len(w.probe.layer.markers.points()), len(w.probe.layer.lines) > 0)
"""  # the script ends with the window shown: Python and Qt tear it down at exit


def test_exiting_with_the_dock_open_raises_nothing() -> None:
    """At exit Python frees the landscape's items before Qt deletes the window, whose
    dock then reports itself hidden: the panel must not draw on the freed items."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-c", EXIT_WITH_THE_DOCK_OPEN], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "9", "True"]  # the dock in front, 9 markers, a probe
    assert "Traceback" not in r.stderr and "already deleted" not in r.stderr, r.stderr
