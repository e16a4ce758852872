"""The window's Maps panel (pytest-qt, offscreen): maps computed on the worker while the
event loop runs, cancelled, clicked (one undo step), zoomed, closed while running."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt, QTimer

from engine.maps import MapCancelled, MapResult, compute_map
from engine.maps.job import JobRequest
from engine.scenario import load_scenario
from gui.map_picture import pixel_text

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


class Gate:
    """compute_map held at its first call until ``go`` (or the map is stopped)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.entered = threading.Event()

    def __call__(self, spec: Any, scenario: Any, racer: Any, steps: int, **kw: Any) -> MapResult:
        self.entered.set()
        while not self.go.wait(0.01):
            if kw["stop"].is_set():
                raise MapCancelled("stopped")
        return compute_map(spec, scenario, racer, steps, **kw)


@pytest.fixture
def himmelblau(window: Any) -> Any:
    window.load(load_scenario(ROOT / "scenarios" / "himmelblau_four_minima.toml"))
    return window


def _finish(qtbot: Any, panel: Any, req: JobRequest | None = None) -> None:
    with qtbot.waitSignal(panel.mapShown, timeout=60000):
        assert panel.start_map(req)


def _click(qtbot: Any, plot: Any, x: float, y: float) -> None:
    vb = plot.plot.vb
    pt = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pt)


def test_a_start_map_in_the_background_over_the_landscape(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    panel.first.setCurrentIndex(panel.first.findData("start"))
    panel.res.setValue(24)
    panel.steps.setValue(200)
    assert panel.colour.currentData() == "minimum"
    _finish(qtbot, panel)
    res = panel.shown[0]
    assert res.spec.shape == (24, 24) and res.extra["steps"] == 200
    assert len(set(res.metrics["minimum"].ravel().tolist())) == 4  # the four basins
    img = panel.plot.image.image
    assert img.shape == (24, 24, 4) and (img[..., 3] == 255).all()
    overlay = himmelblau.landscape.map_overlay
    assert overlay.isVisible() and np.array_equal(overlay.image, img)
    assert overlay.zValue() < himmelblau.landscape.trail_layer.zValue()
    panel.overlay_box.setChecked(False)
    assert not overlay.isVisible()
    panel.overlay_box.setChecked(True)
    assert overlay.isVisible()
    assert panel.progress.value() == panel.progress.maximum() == 24 * 24
    assert "Done" in panel.status.text()
    # another landscape: the overlay and the map go
    himmelblau.session.set_landscape("rosenbrock")
    assert not overlay.isVisible() and panel.shown is None
    assert "landscape changed" in panel.status.text()


def test_the_window_stays_responsive_while_a_map_runs(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    gate = Gate()
    panel.job.compute = gate
    ticks: list[bool] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(panel.job.running))
    timer.start(5)
    assert panel.start_map(JobRequest(0, "lr", res=(8,), steps=100))
    assert gate.entered.wait(10)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=5000)
    assert all(ticks) and panel.job.running  # the event loop ran while the map did
    assert panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.mapShown, timeout=30000):
        gate.go.set()
    timer.stop()
    assert panel.shown is not None and not panel.cancel_button.isEnabled()


def test_the_first_rows_are_drawn_before_the_map_ends(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    gate = Gate()
    calls: list[int] = []

    def second_band_waits(*a: Any, **kw: Any) -> MapResult:
        calls.append(1)
        return gate(*a, **kw) if len(calls) == 2 else compute_map(*a, **kw)

    panel.job.compute = second_band_waits
    assert panel.start_map(JobRequest(0, "start", res=(64,), steps=100, colour_by="minimum"))
    qtbot.waitUntil(lambda: panel._drawn_rows > 0, timeout=30000)
    rows = panel._drawn_rows
    assert panel.job.running and 0 < rows < 64
    alpha = panel.plot.image.image[..., 3]
    assert (alpha[:rows] == 255).all() and (alpha[rows:] == 0).all()
    assert np.array_equal(himmelblau.landscape.map_overlay.image, panel.plot.image.image)
    with qtbot.waitSignal(panel.mapShown, timeout=30000):
        gate.go.set()
    assert (panel.plot.image.image[..., 3] == 255).all()


def test_cancel_leaves_the_previous_picture(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    _finish(qtbot, panel, JobRequest(0, "start", res=(12,), steps=100, colour_by="minimum"))
    before = panel.plot.image.image.copy()
    shown = panel.shown
    gate = Gate()
    panel.job.compute = gate
    assert panel.start_map(JobRequest(0, "start", res=(20,), steps=100, colour_by="minimum"))
    assert gate.entered.wait(10)
    with qtbot.waitSignal(panel._finished, timeout=10000):
        panel.cancel_button.click()
    qtbot.waitUntil(lambda: "Cancelled" in panel.status.text(), timeout=5000)
    assert panel.shown is shown and panel.job.state == "cancelled"
    assert np.array_equal(panel.plot.image.image, before)
    assert np.array_equal(himmelblau.landscape.map_overlay.image, before)


def test_a_click_applies_hyperparameters_as_one_undo_step(himmelblau: Any, qtbot: Any) -> None:
    panel, session = himmelblau.maps, himmelblau.session
    i = 1  # "Momentum (ρ = 0.9)": sgd with lr 0.003, momentum 0.9
    _finish(qtbot, panel, JobRequest(i, "lr,momentum", res=(6, 5), steps=50))
    res = panel.shown[0]
    before = dict(session.racer(i).params)
    edits = session.history.count()
    p = 3 * 6 + 4  # row 3 (momentum), column 4 (lr)
    x, y = panel.plot.point_of(p)
    assert panel.plot.pixel_at(x, y) == p
    _click(qtbot, panel.plot, x, y)
    want = dict(zip(res.spec.names, res.spec.values(p), strict=True))
    text = pixel_text(res, p)
    assert f"lr = {want['lr']:.4g}" in text and "final loss" in text
    got = session.racer(i).params
    assert got["lr"] == pytest.approx(want["lr"]) and got["momentum"] == want["momentum"]
    assert session.history.count() == edits + 1
    # the ring follows the racer's setting
    ring = panel.plot.marker.data["x"][0], panel.plot.marker.data["y"][0]
    assert ring == pytest.approx((x, y))
    assert session.undo()
    assert session.racer(i).params == before


def test_a_click_on_a_start_map_sets_the_racers_start(himmelblau: Any, qtbot: Any) -> None:
    panel, session = himmelblau.maps, himmelblau.session
    _finish(qtbot, panel, JobRequest(2, "start", res=(10, 8), steps=50, colour_by="minimum"))
    res = panel.shown[0]
    assert session.racer(2).start is None
    p = 5 * 10 + 7
    _click(qtbot, panel.plot, *panel.plot.point_of(p))
    assert session.racer(2).start == pytest.approx(res.spec.values(p))
    assert session.undo()
    assert session.racer(2).start is None


def test_zooming_a_hyperparameter_map_recomputes_its_range(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    _finish(qtbot, panel, JobRequest(1, "lr,momentum", res=(16,), steps=50))
    lo, hi = panel.shown[0].spec.lims[0]
    vb = panel.plot.plot.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    with qtbot.waitSignal(panel.mapShown, timeout=60000):
        vb.setRange(xRange=(x0 + 0.25 * (x1 - x0), x1 - 0.25 * (x1 - x0)),
                    yRange=(y0 + 0.25 * (y1 - y0), y1 - 0.25 * (y1 - y0)), padding=0)  # fmt: skip
        vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])  # as a wheel or drag does
    spec = panel.shown[0].spec
    assert spec.shape == (16, 16)
    (zlo, zhi), (mlo, mhi) = spec.lims
    width = np.log10(hi) - np.log10(lo)
    assert np.log10(zhi) - np.log10(zlo) == pytest.approx(width / 2, rel=0.1)
    assert lo < zlo < zhi < hi and 0.0 < mlo < mhi < 0.99
    assert panel.shown[1].ranges == pytest.approx((zlo, zhi, mlo, mhi))


def test_a_bad_request_is_said_and_starts_nothing(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    assert not panel.start_map(JobRequest(0, "nesterov"))
    assert "nesterov: not a numeric parameter" in panel.status.text()
    assert "--" not in panel.status.text()
    panel.first.setCurrentIndex(panel.first.findData("start"))
    panel.res.setValue(5000)
    panel.compute_button.click()
    assert "pixels would need" in panel.status.text()
    assert not panel.job.thread_alive and panel.job.state == "idle"


def test_closing_the_window_joins_a_running_map(himmelblau: Any, qtbot: Any) -> None:
    panel = himmelblau.maps
    gate = Gate()
    panel.job.compute = gate
    assert panel.start_map(JobRequest(0, "start", res=(16,), steps=100))
    assert gate.entered.wait(10)
    assert panel.job.thread_alive
    himmelblau.document.forget_changes()
    himmelblau.close()
    assert not panel.job.thread_alive


def test_a_perceptron_scenario_has_no_maps(window: Any, qtbot: Any) -> None:
    window.load(load_scenario(ROOT / "scenarios" / "perceptron_batch.toml"))
    panel = window.maps
    assert not panel.isEnabled() and "landscapes only" in panel.status.text()
    assert not panel.start_map(JobRequest(0, "lr"))
    assert panel.job.state == "idle"
    window.load(load_scenario(ROOT / "scenarios" / "himmelblau_four_minima.toml"))
    assert panel.isEnabled() and "landscapes only" not in panel.status.text()


def test_render_map_png_draws_the_panels_picture(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    from engine.maps.job import MapJob
    from gui.map_picture import map_marks, render_map_png

    s = load_scenario(ROOT / "scenarios" / "himmelblau_four_minima.toml")
    job = MapJob()
    job.start(s, JobRequest(0, "start", res=(32,), steps=200))
    assert job.join(60) and job.result is not None
    out = render_map_png(job.result, tmp_path / "map.png", map_marks(s, job.result, (0.0, -3.0)))
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1100, 850)
    colours = {img.pixelColor(x, y).name() for x in range(0, 1100, 7) for y in range(0, 850, 7)}
    # the four basins' hues (some shade of each) and the white page around the plot
    assert "#ffffff" in colours and len(colours) > 50
    with pytest.raises(OSError, match="cannot write"):
        render_map_png(job.result, tmp_path / "no" / "such" / "map.png")


@pytest.mark.gui
def test_a_random_search_is_drawn_as_its_points(qtbot: Any, tmp_path: Path) -> None:
    """A random search over two hyperparameters: each run a point where it was drawn
    (log axes in powers of ten), coloured by its figure, over the box it was drawn from;
    hovering or clicking finds the nearest point. Its PNG is coloured by the final loss
    when no run settled (a perceptron: no known minimum)."""
    from PySide6.QtGui import QImage

    from engine.maps import plan
    from engine.maps.command import view_of
    from gui.map_picture import MapPlot, render_map_png

    s = load_scenario(ROOT / "scenarios" / "lecture_map_perceptron_search.toml")
    racer = s.racers[0]
    spec = plan("lr,weight_decay", racer, view_of(s), ranges=[0.01, 30.0, 0.0, 0.05],
                search="random", budget=24, seed=1)  # fmt: skip
    res = compute_map(spec, s, racer, 24)
    w = MapPlot()
    qtbot.addWidget(w)
    w.resize(900, 700)
    rgba = w.show_map(res, "final_loss")
    assert not w.image.isVisible()
    xs, ys = w.points.getData()
    lr, wd = np.asarray(spec.axes["lr"]), np.asarray(spec.axes["weight_decay"])
    assert np.allclose(xs, np.log10(lr)) and np.allclose(ys, wd)  # log x: powers of ten
    brushes = [b.color().getRgb()[:3] for b in w.points.data["brush"]]
    assert brushes == [tuple(int(v) for v in c[:3]) for c in rgba]
    (x0, x1), (y0, y1) = w.plot.vb.viewRange()
    assert x0 < np.log10(0.01) and np.log10(30.0) < x1 and y0 < 0.0 and y1 > 0.05
    for p in range(spec.size):
        assert w.pixel_at(*w.point_of(p)) == p
    out = render_map_png(res, tmp_path / "map.png")
    img = QImage(str(out))
    colours = {img.pixelColor(x, y).name() for x in range(0, 1100, 5) for y in range(0, 850, 5)}
    assert len(colours) > 20  # points in the ramp's colours, not one grey "not settled"
