"""``main.py render`` with several scenarios, a folder or ``--each`` (one Qt start-up for
all pictures), the palette beyond eight racers and the ``[view] legend_params`` option."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import main
from engine.changes import copy_racer
from engine.scenario import load_scenario, save_scenario

ROOT = Path(__file__).resolve().parents[1]
SCN = ROOT / "scenarios"
BOWL = SCN / "lecture_gd_round_bowl.toml"
SADDLE = SCN / "lecture_saddle.toml"
RAVINE = SCN / "lecture_gd_ravine.toml"  # 7 GD racers, each with its own colour
SIZE = "800x400"


def pixels(path: Path) -> np.ndarray:
    """The PNG at ``path`` as an (h, w, 3) uint8 array."""
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not img.isNull(), path
    w, h = img.width(), img.height()
    row = img.bytesPerLine()
    return (
        np.frombuffer(bytes(img.constBits()), np.uint8).reshape(h, row)[:, : 3 * w].reshape(h, w, 3)
    )


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def render(*args: str) -> int:
    return main.main(["render", *args])


def with_colour(img: np.ndarray, hex_colour: str) -> int:
    """How many pixels of ``img`` are exactly ``hex_colour``."""
    rgb = [int(hex_colour[k : k + 2], 16) for k in (1, 3, 5)]
    return int(np.all(img == np.array(rgb, np.uint8), axis=2).sum())


# ---------------------------------------------------------------------------- writing
@pytest.mark.slow
def test_several_scenarios_one_png_each_as_a_single_render_draws_it(
    qapp: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    perceptrons = [SCN / "perceptron_batch.toml", SCN / "perceptron_stochastic.toml"]
    names = [BOWL, SADDLE, RAVINE, *perceptrons]
    args = ["--out", f"{out}/", "--steps", "30", "--size", SIZE]
    assert render(*map(str, names), *args) == 0
    assert files(out) == sorted(f"{p.stem}.png" for p in names)  # no temporary left over
    single = tmp_path / "single.png"
    for p in names:  # drawn one by one: the same size and (reused window or not) picture
        assert render(str(p), "--out", str(single), "--steps", "30", "--size", SIZE) == 0
        a, b = pixels(out / f"{p.stem}.png"), pixels(single)
        assert a.shape == b.shape
        assert abs(a.shape[1] - 800) <= 20 and abs(a.shape[0] - 400) <= 60, a.shape
        differ = np.any(a != b, axis=2).mean()
        assert differ < 1e-3, (p.name, differ)  # a heat-map column may round differently
    shapes = {pixels(out / f"{p.stem}.png").shape for p in names}
    assert len(shapes) == 1


@pytest.mark.slow
def test_a_folder_writes_each_of_its_scenarios(qapp: Any, tmp_path: Path) -> None:
    folder = tmp_path / "lecture"
    folder.mkdir()
    for p in (BOWL, SADDLE):
        shutil.copy(p, folder / p.name)
    (folder / "notes.txt").write_text("not a scenario")
    out = tmp_path / "pictures"  # created: its parent exists
    assert render(str(folder), "--out", f"{out}/", "--steps", "20", "--size", SIZE) == 0
    assert files(out) == [f"{BOWL.stem}.png", f"{SADDLE.stem}.png"]
    a, b = pixels(out / f"{BOWL.stem}.png"), pixels(out / f"{SADDLE.stem}.png")
    assert a.shape == b.shape and np.any(a != b)


@pytest.mark.slow
def test_each_writes_one_picture_per_enabled_racer_with_only_its_trail(
    qapp: Any, tmp_path: Path
) -> None:
    scn = load_scenario(RAVINE)
    racers = list(scn.racers)
    racers[5] = copy_racer(racers[5], enabled=False)  # η = 0.02: no picture
    path = tmp_path / "ravine.toml"
    save_scenario(replace(scn, racers=racers), path)
    out = tmp_path / "each"
    assert render(str(path), "--each", "--out", f"{out}/", "--steps", "60", "--size", SIZE) == 0
    names = [
        "ravine_η_0.001.png", "ravine_η_0.005.png", "ravine_η_0.01.png", "ravine_η_0.015.png",
        "ravine_η_0.019.png", "ravine_η_0.021_diverges.png",
    ]  # fmt: skip
    assert files(out) == sorted(names)
    shown = [r for r in racers if r.enabled]
    imgs = [pixels(out / n) for n in names]
    assert len({im.shape for im in imgs}) == 1
    for i, (racer, img) in enumerate(zip(shown, imgs, strict=True)):
        assert racer.color is not None
        # its own colour (trail, head, legend sample, loss curve) and no other racer's
        assert with_colour(img, racer.color) > 200, racer.label
        for j, other in enumerate(shown):
            if j != i:
                assert other.color is not None
                if other.color != "#000000":  # (black is the text's colour too)
                    assert with_colour(img, other.color) < 20, (racer.label, other.label)
                assert np.any(img != imgs[j], axis=2).mean() > 0.002
        # the title band: dark text on white above the panels
        band = img[: img.shape[0] // 15]
        assert (band.min(axis=2) < 80).sum() > 300, racer.label


def test_each_title_names_every_hyperparameter() -> None:
    from gui.legend import legend_labels, racer_title

    scn = load_scenario(SCN / "rosenbrock_race.toml")
    adam = next(r for r in scn.racers if r.optimizer == "adam")
    title = racer_title(adam)
    for part in ("Adam", "adam:", "η = 0.02", "β₁ = 0.9", "β₂ = 0.999", "ε = 1e-08"):
        assert part in title, title
    plain, with_params = legend_labels([adam], False), legend_labels([adam], True)
    assert plain == [adam.label]
    assert with_params[0] == f"{adam.label} — adam: η = 0.02, β₁ = 0.9, β₂ = 0.999"


# ---------------------------------------------------------------------------- bad input
def bad_scenario(folder: Path) -> Path:
    p = folder / "broken.toml"
    p.write_text(BOWL.read_text().replace('name = "sgd"', 'name = "sgdd"', 1))
    return p


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("file_out_for_many", "with 2 scenarios, expected a folder (DIR/)"),
        ("file_out_for_each", "with --each, expected a folder (DIR/)"),
        ("empty_folder", "expected a folder with scenario files (*.toml), found none"),
        ("bad_among_many", "1 of 3 scenarios invalid, nothing written"),
        ("same_stem", "would both write"),
        ("video_of_many", "--video: expected one scenario file"),
        ("each_video", "--each: one picture per racer is for PNGs"),
    ],
)
def test_bad_input_exits_2_with_the_message_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expect: str
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    out = tmp_path / "out"
    same = [str(BOWL), str(inputs / BOWL.name), "--out", f"{out}/"]
    args = {
        "file_out_for_many": [str(BOWL), str(SADDLE), "--out", str(out / "x.png")],
        "file_out_for_each": [str(BOWL), "--each", "--out", str(tmp_path / "x.png")],
        "empty_folder": [str(inputs), "--out", f"{out}/"],
        "bad_among_many": [str(BOWL), str(inputs / "broken.toml"), str(SADDLE), "--out", f"{out}/"],
        "video_of_many": [str(BOWL), str(SADDLE), "--video", str(tmp_path / "x.mp4")],
        "each_video": [str(BOWL), "--each", "--video", str(tmp_path / "x.mp4")],
        "same_stem": same,
    }[case]
    if case == "bad_among_many":
        bad_scenario(inputs)
    if case == "same_stem":
        shutil.copy(BOWL, inputs / BOWL.name)
    before = files(tmp_path)
    assert render(*args) == 2
    err = capsys.readouterr().err
    assert expect in err, err
    assert "Traceback" not in err
    if case == "bad_among_many":  # which file, and what was wrong in it
        assert "broken.toml" in err and "sgdd" in err
        assert len(err.strip().splitlines()) == 2
    else:
        assert len(err.strip().splitlines()) == 1, err
    assert files(tmp_path) == before and not out.exists()


# ---------------------------------------------------------------------------- palette
def test_24_palette_racers_are_24_distinct_colour_and_style_pairs() -> None:
    from PySide6.QtCore import Qt

    from gui.palette import OKABE_ITO, color_for, line_styles

    colors = [color_for(i) for i in range(24)]
    pairs = list(zip(colors, line_styles(colors), strict=True))
    assert len(set(pairs)) == 24
    assert colors[:8] == list(OKABE_ITO) and len(set(colors[:8])) == 8  # colours first
    assert line_styles(colors)[:8] == [Qt.PenStyle.SolidLine] * 8
    assert line_styles(colors)[8] == Qt.PenStyle.DashLine
    assert line_styles(colors)[16] == Qt.PenStyle.DotLine
    # a scenario's own colours: a repeated colour takes the next style, whatever the case
    own = line_styles(["#112233", "#445566", "#112233", "#112233FF".lower(), "#112233"])
    assert own == [Qt.PenStyle.SolidLine, Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine,
                   Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine]  # fmt: skip


@pytest.mark.slow
def test_13_racers_are_drawn_as_distinct_pairs_in_both_panels(qapp: Any) -> None:
    from gui.app import offscreen_window

    scn = load_scenario(RAVINE)
    proto = scn.racers[0]
    racers = [
        copy_racer(proto, label=f"η = {lr:g}", color=None, params={"lr": lr})
        for lr in (0.001 * (k + 1) for k in range(13))
    ]
    with offscreen_window(replace(scn, racers=racers, steps=20), (900, 450), False) as win:
        for items in (win.landscape.trails, win.loss.curves):
            pens = [it.opts["pen"] for it in items]
            pairs = {(p.color().name(), p.style()) for p in pens}
            assert len(pairs) == 13
            assert all(p.widthF() == 2.5 for p in pens)  # the render's wide strokes keep the style


def _icon_pixels(icon: Any) -> np.ndarray:
    """The alpha channel of ``icon`` at its size (where its line is drawn)."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QImage

    img = icon.pixmap(QSize(40, 12)).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    raw = np.frombuffer(bytes(img.constBits()), np.uint8).reshape(img.height(), -1, 4)
    return raw[:, : img.width(), 3].copy()


@pytest.mark.slow
def test_racers_past_eight_are_told_apart_wherever_they_are_listed(qapp: Any) -> None:
    """The editors' line buttons, the leaderboard's samples and the perceptron's lines
    show each racer's (colour, style) pair, not the colour alone."""
    from PySide6.QtCore import Qt

    from gui.app import offscreen_window
    from gui.palette import color_for, line_styles

    scn = load_scenario(RAVINE)
    proto = scn.racers[0]
    racers = [
        copy_racer(proto, label=f"η = {lr:g}", color=None, params={"lr": lr})
        for lr in (0.001 * (k + 1) for k in range(10))
    ]
    styles = line_styles([color_for(i) for i in range(10)])
    with offscreen_window(replace(scn, racers=racers, steps=20), (900, 450), True) as win:
        assert [ed.line_style for ed in win.editors] == styles
        assert styles[8] == Qt.PenStyle.DashLine and styles[0] == Qt.PenStyle.SolidLine
        solid, dashed = (_icon_pixels(win.editors[k].color_btn.icon()) for k in (0, 8))
        mid = solid.shape[0] // 2
        assert (solid[mid, 2:-2] > 0).all()  # one stroke across
        assert (dashed[mid, 2:-2] > 0).any() and (dashed[mid, 2:-2] == 0).any()  # gaps
        board = win.board
        board.show_rows(win.race, win.race.leaderboard())
        by_label = {board.item(r, 1).text(): board.item(r, 1).icon() for r in range(10)}
        assert by_label["η = 0.001"].cacheKey() != by_label["η = 0.009"].cacheKey()
        assert (_icon_pixels(by_label["η = 0.009"]) == dashed).all()
    perc = load_scenario(SCN / "perceptron_batch.toml")
    many = [copy_racer(perc.racers[0], label=f"r{k}", color=None) for k in range(10)]
    with offscreen_window(replace(perc, racers=many), (900, 450), True) as win:
        for items in (win.perceptron.trails, win.perceptron.lines):
            pairs = {(it.opts["pen"].color().name(), it.opts["pen"].style()) for it in items}
            assert len(pairs) == 10


# ---------------------------------------------------------------------------- legend
def test_legend_params_round_trips_through_save_and_load(tmp_path: Path) -> None:
    from engine.scenario import dumps_scenario

    scn = load_scenario(RAVINE)
    assert scn.view.legend_params is None
    on = replace(scn, view=replace(scn.view, legend_params=True))
    path = tmp_path / "legend.toml"
    save_scenario(on, path)
    assert "legend_params = true" in path.read_text()
    back = load_scenario(path)
    assert back.view.legend_params is True
    assert dumps_scenario(back) == dumps_scenario(on)
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace("legend_params = true", 'legend_params = "yes"'))
    with pytest.raises(Exception, match="legend_params"):
        load_scenario(bad)


@pytest.mark.slow
def test_legend_shows_hyperparameters_when_asked_and_follows_the_toggle(qapp: Any) -> None:
    from gui.app import offscreen_window

    scn = load_scenario(SCN / "rosenbrock_race.toml")
    on = replace(scn, view=replace(scn.view, legend_params=True), steps=20)
    with offscreen_window(on, (900, 450), False) as win:

        def entries() -> list[str]:
            return [label.text for _sample, label in win.landscape.legend.items]

        assert all(
            e.startswith(f"{r.label} — {r.optimizer}: η = ")
            for e, r in zip(entries(), scn.racers, strict=True)
        ), entries()
        assert win.legend_action.isChecked()
        win.session.set_view(legend_params=False)
        assert entries() == [r.label for r in scn.racers]
        assert not win.legend_action.isChecked()
        win.legend_action.trigger()  # View > Hyperparameters in the legend: a [view] edit
        assert win.scenario.view.legend_params is True
        assert entries()[0].startswith(f"{scn.racers[0].label} — ")
        i = 0
        win.session.set_racer_params(i, {**scn.racers[i].params, "lr": 0.0123})
        assert "η = 0.0123" in entries()[i]


def test_a_dashed_trail_drawn_point_by_point_stays_dashed(qtbot: Any) -> None:
    """The dashes of a racer's trail go on across the frames' increments (each starts
    where the last ended): a trail that grows a point per frame has as much ink as the
    same trail stroked at once, not the near-solid line of a dash restarted every frame."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from gui.landscape_panel import LandscapePanel

    def ink(p: LandscapePanel) -> int:
        img = p.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        row = img.bytesPerLine()
        a = np.frombuffer(bytes(img.constBits()), np.uint8).reshape(img.height(), row)
        a = a[:, : 3 * img.width()].reshape(img.height(), img.width(), 3).astype(int)
        box = a[60:340, 100:400]  # the ring, within the plot
        return int((np.abs(box - a[200, 250]).max(axis=2) > 60).sum())

    p = LandscapePanel()
    qtbot.addWidget(p)
    p.resize(500, 400)
    p.show()
    qtbot.waitExposed(p)
    p.plotItem.vb.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    p.set_racers(["a", "b"], ["#D55E00", "#D55E00"])  # the same colour twice: b is dashed
    assert [t.opts["pen"].style() for t in p.trails] == [
        Qt.PenStyle.SolidLine,
        Qt.PenStyle.DashLine,
    ]
    t = np.linspace(0, 2 * np.pi, 600)
    ring = np.stack([np.cos(t), np.sin(t)], axis=1)
    for count in range(1, 601):  # a point per update, painted every other one
        p.update_racer(1, ring, count, True)
        if count % 2 == 0:
            QApplication.processEvents()  # a frame: paints what was pushed
    qtbot.wait(20)
    live = ink(p)
    p.trail_layer.invalidate()
    whole = ink(p)
    assert whole > 300  # the ring is there, dashed: about two thirds of its ~630 pixels
    assert abs(live - whole) < 0.15 * whole, (live, whole)  # restarted dashes: +40 %
