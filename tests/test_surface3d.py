"""View → 3-D view (gui/surface3d.py, gui/surface3d_gl.py, gui/surface3d_geometry.py).

The pytest process runs Qt offscreen, which has no OpenGL: there the dock must say so
and the window go on. The GL tests run a child process on an Xvfb server of their own
(Mesa's software OpenGL) with the xcb platform, and report what the child drew; they are
skipped, with the reason, where Xvfb or a usable OpenGL is missing.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- no GL needed


def bowl_xs(points: list[tuple[float, float]]) -> np.ndarray:
    return np.array(points, dtype=float)


def test_heights_are_f_or_its_log_above_the_reference() -> None:
    from gui.surface3d_geometry import Heights

    z = np.array([[1.0, 2.0], [3.0, 101.0]])
    lin = Heights.of_grid(z, None, log=False)
    assert np.array_equal(lin(z), z)
    log = Heights.of_grid(z, 0.5, log=True)  # f* below the grid's least f: the reference
    assert log.fref == 0.5
    assert log.eps == pytest.approx(1e-3 * (np.percentile(z, 99) - 0.5))
    assert np.allclose(log(z), np.log10(z - 0.5 + log.eps))
    # below the reference (a trail off the grid): the floor, not NaN
    assert log(np.array([0.0]))[0] == pytest.approx(math.log10(log.eps))


def test_lifted_trail_keeps_rows_with_their_loss_and_ends_where_it_leaves_the_box() -> None:
    from engine.landscapes import get_landscape, landscape_f
    from gui.surface3d_geometry import LiftedTrail

    ls = get_landscape("himmelblau")
    p = ls.pack(None)
    xs = bowl_xs([(0.0, 0.0), (1.0, 0.5), (1.0, 0.5), (2.0, 1.0), (9.0, 1.0), (2.0, 2.0)])
    tr = LiftedTrail()
    tr.reset(1e-9)
    box = (-5.0, 5.0, -5.0, 5.0)
    assert tr.update(xs, 2, ls.lid, p, box)
    pts = tr.points()
    assert pts[:, :2].tolist() == [[0.0, 0.0], [1.0, 0.5]]
    assert pts[:, 2].tolist() == [landscape_f(ls.lid, p, x, y) for x, y in pts[:, :2]]
    assert not tr.update(xs, 2, ls.lid, p, box)  # nothing new
    assert tr.update(xs, 6, ls.lid, p, box)
    # the repeat is thinned away; x = 9 is outside the box: the trail ends before it,
    # and the row after it (back inside) is not drawn either; no head
    assert tr.points()[:, :2].tolist() == [[0.0, 0.0], [1.0, 0.5], [2.0, 1.0]]
    assert tr.left and tr.head is None
    assert tr.points()[-1, 2] == landscape_f(ls.lid, p, 2.0, 1.0)
    assert not tr.update(xs, 6, ls.lid, p, box)
    assert tr.update(xs, 1, ls.lid, p, box)  # fewer rows: restarted
    assert not tr.left and tr.points().tolist() == [[0.0, 0.0, landscape_f(ls.lid, p, 0, 0)]]


def test_lifted_trail_stays_within_its_cap_and_keeps_the_head() -> None:
    from engine.landscapes import get_landscape
    from gui.surface3d_geometry import LiftedTrail

    ls = get_landscape("himmelblau")
    p = ls.pack(None)
    t = np.linspace(0.0, 20.0 * math.pi, 50_000)
    xs = np.column_stack([3 * np.cos(t) * t / t[-1], 3 * np.sin(t) * t / t[-1]])
    tr = LiftedTrail(cap=512)
    tr.reset(0.0)
    for stop in range(1000, 50_001, 7000):
        tr.update(xs, stop, ls.lid, p, (-5.0, 5.0, -5.0, 5.0))
        assert 256 <= tr.n <= 512  # thinned to the cap, not far below
    tr.update(xs, 50_000, ls.lid, p, (-5.0, 5.0, -5.0, 5.0))
    pts = tr.points()
    assert pts[-1, :2].tolist() == xs[-1].tolist()  # the head is the last row
    f = np.array([ls.kernels[0](p, x, y) for x, y in pts[:, :2]])
    assert np.allclose(pts[:, 2], f, rtol=1e-12, atol=0.0)


def test_surface_grid_is_f_over_the_box_and_its_heights_range() -> None:
    from engine.landscapes import get_landscape, landscape_f
    from gui.surface3d_geometry import surface_grid, widened

    ls = get_landscape("himmelblau")
    p = ls.pack(None)
    box = (-4.0, 2.0, -1.0, 3.0)
    g = surface_grid(ls.lid, p, box, 0.0, log=False, n=7)
    assert g.x.tolist() == np.linspace(-4.0, 2.0, 7).tolist()
    assert g.y.tolist() == np.linspace(-1.0, 3.0, 7).tolist()
    f = np.array([[landscape_f(ls.lid, p, float(x), float(y)) for y in g.y] for x in g.x])
    assert np.array_equal(g.f, f) and np.array_equal(g.z, f)  # [x index, y index]
    assert (g.lo, g.hi) == (f.min(), f.max())
    lg = surface_grid(ls.lid, p, box, 0.0, log=True, n=7)
    assert lg.heights.log and lg.heights.fref == 0.0
    assert np.array_equal(lg.z, lg.heights(f))
    assert (lg.lo, lg.hi) == (lg.z.min(), lg.z.max())
    assert widened(box) == (-7.0, 5.0, -3.0, 5.0)


def test_dash_segments_cut_a_path_by_the_distance_travelled() -> None:
    from gui.surface3d_geometry import dash_segments

    pos = np.array([[0.0, 0.0, 5.0], [10.0, 0.0, 7.0], [10.0, 10.0, 9.0]])
    pieces = dash_segments(pos, (4.0, 2.0), 1.0).reshape(-1, 2, 3)
    # on [0, 4], off, on [6, 10], off [10, 12], on [12, 16], off, on [18, 20]: heights follow
    assert pieces.tolist() == [
        [[0.0, 0.0, 5.0], [4.0, 0.0, 5.8]],
        [[6.0, 0.0, 6.2], [10.0, 0.0, 7.0]],
        [[10.0, 2.0, 7.4], [10.0, 6.0, 8.2]],
        [[10.0, 8.0, 8.6], [10.0, 10.0, 9.0]],
    ]
    solid = dash_segments(pos, (), 1.0).reshape(-1, 2, 3)
    assert solid.tolist() == [
        [pos[0].tolist(), pos[1].tolist()],
        [pos[1].tolist(), pos[2].tolist()],
    ]
    assert dash_segments(pos[:1], (4.0, 2.0), 1.0).shape == (0, 3)
    # a long path: the drawn share is the pattern's (dash-dot: (4 + 1) of 9 units)
    t = np.linspace(0.0, 50.0, 2001)
    spiral = np.column_stack([t * np.cos(t / 5), t * np.sin(t / 5), t])
    cut = dash_segments(spiral, (4.0, 2.0, 1.0, 2.0), 0.5).reshape(-1, 2, 3)
    on = np.hypot(*(cut[:, 1, :2] - cut[:, 0, :2]).T).sum()
    total = np.hypot(*np.diff(spiral[:, :2], axis=0).T).sum()
    assert on / total == pytest.approx(5 / 9, abs=0.01)


def test_the_geometry_imports_neither_qt_nor_pyqtgraph() -> None:
    code = (
        "import sys, gui.surface3d_geometry; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph'}))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"


# ---------------------------------------------------------------------------- offscreen: no GL


@pytest.mark.gui
def test_offscreen_the_dock_says_why_and_the_window_goes_on(window: Any, qtbot: Any) -> None:
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.platformName() != "offscreen":
        pytest.skip(f"Qt runs on {QGuiApplication.platformName()!r} here, not offscreen")
    act = window.surface3d.dock.toggleViewAction()
    assert act.text() == "3-D view"
    assert act in window.menuBar().actions()[2].menu().actions()  # View menu
    assert not window.surface3d.dock.isVisible()
    act.trigger()
    qtbot.waitUntil(window.surface3d.dock.isVisible)
    panel = window.surface3d
    assert panel.view is None
    assert panel.stack.currentWidget() is panel.message
    text = panel.message.text()
    assert "needs OpenGL" in text and "offscreen" in text
    frames0, t0 = window.frames.count, int(window.race.t.max())
    window.step_once()
    # (a generous wait: the first step of a process may compile the race kernel)
    qtbot.waitUntil(
        lambda: int(window.race.t.max()) > t0 and window.frames.count > frames0 + 3, timeout=30_000
    )
    act.trigger()  # closing it again is harmless
    assert not window.surface3d.dock.isVisible() and panel.view is None
    window.document.forget_changes()
    window.close()
    assert not window.frames.timer.isActive()


# ---------------------------------------------------------------------------- Xvfb + Mesa

CHILD = r"""
import json, math, sys, time
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from gui.surface3d_gl import gl_unavailable
reason = gl_unavailable()
if reason is not None:
    print(json.dumps({"skip": reason}))
    sys.exit(0)
from engine.landscapes import landscape_f
from engine.scenario import load_scenario
from gui.palette import color_for
from gui.settings import Settings
from gui.window import MainWindow
import pyqtgraph as pg

out = {}
def pump(s=0.3):
    t = time.time()
    while time.time() - t < s:
        app.processEvents()

scn = load_scenario("scenarios/himmelblau_four_minima.toml")
win = MainWindow(scn, settings=Settings(remember=False))  # its runner idles: not played
win.resize(1400, 900)
win.show()
pump()
race = win.race
race.advance(20)
win.surface3d.dock.toggleViewAction().trigger()
pump(0.5)
panel = win.surface3d
view = panel.view
out["dock_visible"] = panel.dock.isVisible()
out["view_valid"] = bool(view is not None and view.isValid())
out["platform"] = app.platformName()
img = view.grabFramebuffer()
arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
rgb = arr[:, : 4 * img.width()].reshape(img.height(), img.width(), 4)[..., :3].astype(int)
out["drawn_fraction"] = float((np.abs(rgb - 250).sum(axis=2) > 30).mean())

# a drag rotates the camera; Reset camera brings it back
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
cam = lambda: [view.opts["azimuth"], view.opts["elevation"], view.opts["distance"]]
out["camera_home"] = cam()
left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
QTest.mousePress(view, left, none, QPoint(100, 100))
for k in range(1, 6):
    QTest.mouseMove(view, QPoint(100 + 20 * k, 100 + 5 * k))
    pump(0.02)
QTest.mouseRelease(view, left, none, QPoint(200, 125))
out["camera_dragged"] = cam()
panel.reset_camera.click()
out["camera_reset"] = cam()

lid, p = win.landscape.lid, win.landscape.packed
def f_grid(xs, ys):
    return np.array([[landscape_f(lid, p, float(x), float(y)) for y in ys] for x in xs])
grid = panel.scene.grid
f = f_grid(grid.x, grid.y)
out["grid_shape"] = list(panel.scene.surface_z().shape)
out["grid_box"] = [grid.x[0], grid.x[-1], grid.y[0], grid.y[-1]]
out["home"] = list(win.landscape.home)
out["surface_err"] = float(np.abs(panel.scene.surface_z() - f).max())
panel.log_height.setChecked(True)
pump(0.2)
fref = min(f.min(), race.objective.f_star() if race.objective.f_star() is not None else f.min())
eps = 1e-3 * (np.percentile(f, 99) - fref)
out["log_err"] = float(np.abs(panel.scene.surface_z() - np.log10(f - fref + eps)).max())
out["log_span"] = float(np.ptp(panel.scene.surface_z()))

def trails():
    res = []
    for i in range(len(race.racers)):
        c = int(race.count[i])
        pts = panel.scene.trail_xyz(i)
        rows = {(float(x), float(y)): k for k, (x, y) in enumerate(race.xs[i, :c, :2])}
        idx = np.array([rows.get((float(x), float(y)), -1) for x, y in pts[:, :2]], dtype=int)
        found = idx >= 0
        h = panel.scene.heights(race.loss[i, idx[found]])  # the recorded loss at those rows
        rel = np.abs(pts[found, 2] - h) / np.maximum(1.0, np.abs(h))
        res.append({
            "points": int(pts.shape[0]), "unmatched": int((~found).sum()),
            "z_rel_err": float(rel.max()) if rel.size else math.nan,
            "last_row": int(idx[-1]) if idx.size else -1, "count": c,
            "gl_is_drawn": bool(np.array_equal(panel.scene.lines[i].pos, pts.astype(np.float32))),
            "color": [round(v, 4) for v in panel.scene.lines[i].color],
            "want_color": [round(v, 4) for v in
                           pg.mkColor(race.racers[i].color or color_for(i)).getRgbF()],
        })
    return res
out["log_trails"] = trails()
panel.log_height.setChecked(False)
pump(0.2)
out["trails_20"] = trails()
heads = np.asarray(panel.scene.heads.pos)  # GL holds float32
want = []
for i in range(len(race.racers)):
    x, y = race.xs[i, int(race.count[i]) - 1, :2]
    want.append((x, y, landscape_f(lid, p, float(x), float(y))))
out["heads_exact"] = bool(np.array_equal(heads, np.array(want, dtype=np.float32)))
out["heads_colors"] = np.asarray(panel.scene.heads.color).round(4).tolist()
race.advance(200)
pump(0.3)
out["trails_220"] = trails()
# the timeline: the race as it stood after update 10, from the recorded rows
win.frames.show_until(10)
pump(0.2)
replay = trails()
out["replay_last_rows"] = [t["last_row"] for t in replay]
out["replay_unmatched"] = [t["unmatched"] for t in replay]
win.frames.show_until(None)
pump(0.2)
out["live_again_last_rows"] = [t["last_row"] for t in trails()]
# closing the dock frees the view; opening it draws the same again
panel.dock.toggleViewAction().trigger()
pump(0.2)
out["closed_view"] = panel.view is None and panel.scene is None
panel.dock.toggleViewAction().trigger()
pump(0.3)
out["reopened"] = trails()
out["reopened_valid"] = bool(panel.view is not None and panel.view.isValid())
img = panel.view.grabFramebuffer()
img.save(sys.argv[1])
# racers past the eighth: their trails dashed as in the 2-D panels, cut by distance
from dataclasses import replace
from gui.palette import dash_pattern, line_styles
from gui.surface3d_geometry import dash_segments
from gui.surface3d_gl import DASH_UNITS
ten = [replace(scn.racers[0], color=None, label=f"r{k}", start=(-4.0 + 0.7 * k, 4.5))
       for k in range(10)]
win.load(replace(scn, racers=ten))
win.race.advance(150)
pump(0.4)
sc = panel.scene
dashes = [dash_pattern(s) for s in line_styles([color_for(k) for k in range(10)])]
x0, x1 = sc.box[0], sc.box[1]
out["dashed"] = []
for k in (0, 8, 9):
    unit = (x1 - x0) / DASH_UNITS
    want = dash_segments(sc.drawn[k], dashes[k], unit) if dashes[k] else sc.drawn[k]
    out["dashed"].append({
        "mode": sc.lines[k].mode, "dash": list(dashes[k]),
        "exact": bool(np.array_equal(sc.lines[k].pos, want.astype(np.float32))),
        "pieces": int(len(sc.lines[k].pos)),
    })
# a perceptron race has no surface: the dock says so; a landscape again draws again
win.load(load_scenario("scenarios/perceptron_batch.toml"))
pump(0.3)
shown = panel.stack.currentWidget()
out["perceptron_says"] = panel.message.text() if shown is panel.message else ""
win.load(scn)
win.race.advance(5)
pump(0.3)
n = len(win.race.racers)
out["landscape_again"] = panel.stack.currentWidget() is panel.page and len(panel.scene.lines) == n
out["landscape_again_points"] = [panel.scene.trail_xyz(i).shape[0] for i in range(n)]
runner = win.runner
win.document.forget_changes()
win.close()
pump(0.2)
out["after_close"] = {
    "timer": win.frames.timer.isActive(),
    "view": panel.view is None,
    "runner": runner is not None and not runner._thread.is_alive(),
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A display of our own: an Xvfb server on a free display number (the bench's)."""
    from bench.surface3d_bench import xvfb as start_xvfb

    try:
        server = start_xvfb()
        display = server.__enter__()
    except RuntimeError as e:  # not installed or did not start: .ci/run installs it
        pytest.skip(str(e))
    try:
        yield display
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def drawn(xvfb: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a window on Himmelblau (four racers, 20 then 220 steps) drew in its 3-D view
    under Xvfb, as the child process reports it."""
    pytest.importorskip("OpenGL", reason="PyOpenGL is not installed (a dependency)")
    tmp = tmp_path_factory.mktemp("surface3d")
    env = {
        **os.environ,
        "DISPLAY": xvfb,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": str(ROOT),
        "GRADIENT_ARENA_SETTINGS": str(tmp / "settings.ini"),
    }
    png = tmp / "surface3d.png"
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(png)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(f"no usable OpenGL under Xvfb: {out['skip']}")
    out["png"] = str(png)
    return out


@pytest.mark.slow
def test_the_dock_opens_and_draws_under_xvfb(drawn: dict[str, Any]) -> None:
    assert drawn["platform"] == "xcb"
    assert drawn["dock_visible"] and drawn["view_valid"]
    # the surface covers a good part of the view (the background is (250, 250, 250))
    assert drawn["drawn_fraction"] > 0.2


@pytest.mark.slow
def test_a_drag_rotates_the_view_and_reset_brings_it_back(drawn: dict[str, Any]) -> None:
    home, dragged = drawn["camera_home"], drawn["camera_dragged"]
    assert dragged[0] != home[0] and dragged[1] != home[1]  # azimuth and elevation turned
    assert dragged[2] == home[2]
    assert drawn["camera_reset"] == home


@pytest.mark.slow
def test_surface_heights_are_f_on_the_grid_and_its_log(drawn: dict[str, Any]) -> None:
    assert drawn["grid_shape"] == [96, 96]
    assert drawn["grid_box"] == pytest.approx(drawn["home"])
    assert drawn["surface_err"] == 0.0
    assert drawn["log_err"] < 1e-12
    assert drawn["log_span"] > 2.0  # some decades, not a flat sheet


@pytest.mark.slow
def test_trails_are_recorded_rows_at_the_height_of_their_loss(drawn: dict[str, Any]) -> None:
    for key in ("trails_20", "log_trails", "trails_220"):
        for tr in drawn[key]:
            assert tr["points"] >= 2
            assert tr["unmatched"] == 0  # every point drawn is a recorded row...
            assert tr["z_rel_err"] < 1e-12  # ...at the height of its recorded loss
            assert tr["last_row"] == tr["count"] - 1  # the trail ends at the head
            assert tr["gl_is_drawn"]  # the GL line holds these points
            assert tr["color"] == tr["want_color"]
    # every head at its racer's last row, at height f there (float32 in GL), in its colour
    assert drawn["heads_exact"]
    want = [tr["want_color"] for tr in drawn["trails_20"]]
    assert np.allclose(drawn["heads_colors"], want, atol=1e-6)


@pytest.mark.slow
def test_racers_past_the_eighth_have_dashed_trails(drawn: dict[str, Any]) -> None:
    solid, dashed, dotted = drawn["dashed"]
    assert solid["mode"] == "line_strip" and solid["dash"] == [] and solid["exact"]
    assert dashed["mode"] == "lines" and dashed["dash"] and dashed["exact"]
    assert dotted["mode"] == "lines" and dotted["dash"] and dotted["exact"]
    assert dashed["pieces"] > 10 and dashed["pieces"] % 2 == 0


def test_trails_grow_with_the_race_and_come_back_after_reopening(drawn: dict[str, Any]) -> None:
    for a, b in zip(drawn["trails_20"], drawn["trails_220"], strict=True):
        assert a["count"] == 21 and b["count"] == 221
        assert b["points"] >= a["points"]  # a racer at rest adds no point 0.1 % away
    assert sum(b["points"] for b in drawn["trails_220"]) > 20 + sum(
        a["points"] for a in drawn["trails_20"]
    )
    assert drawn["closed_view"]
    assert drawn["reopened_valid"]
    assert [t["points"] for t in drawn["reopened"]] == [t["points"] for t in drawn["trails_220"]]


@pytest.mark.slow
def test_the_view_follows_the_timeline(drawn: dict[str, Any]) -> None:
    n = len(drawn["trails_220"])
    assert drawn["replay_last_rows"] == [10] * n
    assert drawn["replay_unmatched"] == [0] * n
    assert drawn["live_again_last_rows"] == [220] * n


@pytest.mark.slow
def test_a_perceptron_race_has_no_surface_and_says_so(drawn: dict[str, Any]) -> None:
    assert "perceptron race" in drawn["perceptron_says"]
    assert drawn["landscape_again"]
    assert min(drawn["landscape_again_points"]) >= 2  # the new race's first steps


@pytest.mark.slow
def test_closing_the_window_stops_everything(drawn: dict[str, Any]) -> None:
    assert drawn["after_close"] == {"timer": False, "view": True, "runner": True}
