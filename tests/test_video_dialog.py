"""File > Export video... (gui/video_dialog.py, gui/video_export.py): the dialog refuses
what ``render --video`` refuses with the field named and nothing written; an export from
the window writes a video that decodes with the frames and size asked, without touching
the live race; the window's event loop runs throughout; Cancel leaves no file, temporary
or final."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui.video_dialog import VideoDialog, VideoOptions
from gui.video_export import ExportOutcome, VideoExport

pytestmark = pytest.mark.gui

EXPORT_TIMEOUT_MS = 120_000  # a child process: Python, Qt and numba's cache start first


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def dialog(qtbot: Any, path: str) -> VideoDialog:
    d = VideoDialog(None, path)
    qtbot.addWidget(d)
    return d


# ---------------------------------------------------------------------------- dialog
def test_menu_has_export_video_after_export_png(window: Any) -> None:
    fm = window.menuBar().actions()[0].menu()
    names = [a.text().replace("&", "") for a in fm.actions()]
    assert names.index("Export video…") == names.index("Export PNG…") + 1
    exporter = window.video_export
    exporter.action.trigger()
    d = exporter.dialog
    assert isinstance(d, VideoDialog) and d.isVisible()
    assert d.path.text() == str(Path.cwd() / "race.mp4") and d.ok.isEnabled()  # untitled
    d.reject()
    assert exporter.export is None


def test_a_good_request_enables_export_and_says_the_format(qtbot: Any, tmp_path: Path) -> None:
    d = dialog(qtbot, str(tmp_path / "race.gif"))
    assert d.ok.isEnabled() and d.error.text() == ""
    assert d.kind.text() == "GIF animation, 960x540, 10 frames/s"  # a GIF's defaults
    d.path.setText(str(tmp_path / "race.mp4"))
    d.fps.setText("24")
    d.size_edit.setText("1280x720")
    assert d.kind.text() == "MP4 video (H.264), 1280x720, 24 frames/s"
    req = d.request()
    assert (req.kind, req.fps, req.size, req.duration) == ("mp4", 24, (1280, 720), 10.0)
    d.by_steps.setChecked(True)
    d.steps_per_frame.setText("7")
    req = d.request()
    assert (req.steps_per_frame, req.duration) == (7, None)
    d.path.setText(str(tmp_path) + os.sep)
    assert d.request().kind == "png"
    assert files(tmp_path) == []


BAD = [
    ("path", "race.avi", "Path: expected a file ending in .mp4 or .gif"),
    ("fps", "0", "Frames/s: expected 1..120 frames per second, got 0"),
    ("fps", "fast", "Frames/s: expected an integer such as 30, got 'fast'"),
    ("size_edit", "100000x5", "Size: expected 64..7680 x 64..4320 pixels, got '100000x5'"),
    ("size_edit", "641x480", "Size: an MP4 needs an even width and height, got 641x480"),
    ("duration", "-1", "Duration: expected 0 < seconds <= 3600"),
    ("path", "no/such/folder/race.mp4", "Path: folder"),
]


@pytest.mark.parametrize(("field", "text", "expect"), BAD)
def test_bad_values_show_the_message_and_disable_export(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, text: str, expect: str
) -> None:
    monkeypatch.chdir(tmp_path)
    d = dialog(qtbot, str(tmp_path / "race.mp4"))
    assert d.ok.isEnabled()
    getattr(d, field).setText(str(tmp_path / text) if field == "path" else text)
    assert expect in d.error.text()
    assert not d.ok.isEnabled()
    # the format line says what the path names (MP4), or nothing for a path naming none
    assert d.kind.text() == ("—" if text == "race.avi" else "MP4 video (H.264)")
    d.accept()  # Enter in a field: refused too
    assert d.result() != VideoDialog.DialogCode.Accepted
    assert files(tmp_path) == []


def test_log_timing_with_steps_per_frame_is_refused(qtbot: Any, tmp_path: Path) -> None:
    d = dialog(qtbot, str(tmp_path / "race.mp4"))
    d.by_steps.setChecked(True)
    d.steps_per_frame.setText("5")
    d.timing.setCurrentIndex(d.timing.findData("log"))
    assert d.error.text() == "Timing log: Steps per frame spreads the steps evenly (linear)"
    assert not d.ok.isEnabled()


def test_an_unwritable_folder_is_refused(qtbot: Any, tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes where mode bits say no: a folder under /proc
        target = "/proc/race.mp4"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "race.mp4")
    d = dialog(qtbot, target)
    assert "Path: cannot write in folder" in d.error.text()
    assert not d.ok.isEnabled()


def test_grid_is_offered_only_for_landscape_races(qtbot: Any, tmp_path: Path) -> None:
    d = VideoDialog(None, str(tmp_path / "race.mp4"), grid_allowed=False)
    qtbot.addWidget(d)
    item = d.layout_box.model().item(2)
    assert d.layout_box.itemData(2) == "grid" and not item.isEnabled()


# ---------------------------------------------------------------------------- export
def run_export(qtbot: Any, window: Any, opts: VideoOptions, cancel_at: int = 0) -> Any:
    """Export from ``window``; a QTimer ticking meanwhile; Cancel at frame ``cancel_at``.
    Returns (outcome, ticks at each progress line, ticks at the end, frames seen)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QPushButton

    ticks = [0]
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    timer.start(10)
    at_progress: list[int] = []
    seen: list[int] = []
    outcomes: list[ExportOutcome] = []
    window.video_export.exported.connect(outcomes.append)
    export: VideoExport = window.video_export.start(opts)
    assert not window.video_export.action.isEnabled()  # one export at a time

    def progressed(done: int, _total: int) -> None:
        at_progress.append(ticks[0])
        seen.append(done)
        if done == cancel_at:
            export.dialog.findChild(QPushButton).click()  # the progress dialog's Cancel

    export.progressed.connect(progressed)
    qtbot.waitUntil(lambda: bool(outcomes), timeout=EXPORT_TIMEOUT_MS)
    timer.stop()
    assert window.video_export.action.isEnabled()
    return outcomes[0], at_progress, ticks[0], seen


@pytest.mark.slow
def test_export_writes_an_mp4_with_the_frames_and_size_asked_and_leaves_the_race(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imageio.v2 as imageio

    window.pause()
    qtbot.wait(100)  # a chunk under way ends
    race = window.race
    before = (race.steps, race.t.copy().tolist())
    shown = window.current_scenario()
    out = tmp_path / "race.mp4"
    monkeypatch.chdir(tmp_path)  # a relative path is the window's, not the renderer's
    opts = VideoOptions("race.mp4", fps=8, duration=1.5, size="320x240")
    outcome, at_progress, ticks, seen = run_export(qtbot, window, opts)
    assert outcome.path == out and outcome.frames == 12, outcome.message
    assert outcome.message.startswith(f"wrote {out}: 12 frames at 8 fps, 320x240")
    assert window.statusBar().currentMessage() == outcome.message
    assert files(tmp_path) == ["race.mp4", "settings.ini"] or files(tmp_path) == ["race.mp4"]
    reader = imageio.get_reader(str(out), format="FFMPEG")
    try:
        assert reader.count_frames() == 12
        assert tuple(reader.get_meta_data()["size"]) == (320, 240)
        assert reader.get_data(0).shape == (240, 320, 3)
    finally:
        reader.close()
    # the event loop ran while the child worked: the timer ticked before the first frame
    # came and after it, frames were reported one by one
    assert seen == list(range(1, 13))
    assert 0 < at_progress[0] < ticks
    # the live race is as it was: the child rendered a copy
    assert window.race is race
    assert (race.steps, race.t.tolist()) == before
    assert window.current_scenario() == shown
    assert not window.document.is_dirty()


@pytest.mark.slow
def test_cancel_midway_leaves_no_file_and_no_temporary_file(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "race.mp4"
    opts = VideoOptions(str(out), fps=30, duration=60, size="320x240")  # 1800 frames
    outcome, _, _, seen = run_export(qtbot, window, opts, cancel_at=3)
    assert outcome.cancelled and outcome.path is None
    assert outcome.message == "video export cancelled: nothing written"
    assert 3 <= seen[-1] < 1800
    assert files(out_dir) == []


@pytest.mark.slow
def test_cancel_of_a_folder_of_frames_leaves_no_folder(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    opts = VideoOptions(str(out_dir / "frames") + os.sep, fps=30, duration=60, size="320x240")
    outcome, _, _, seen = run_export(qtbot, window, opts, cancel_at=2)
    assert outcome.cancelled and 2 <= seen[-1] < 1800
    assert files(out_dir) == []


def test_a_killed_renderer_leaves_no_temporary_file(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that ignores Cancel is killed; its temporary file is removed for it."""
    import sys

    from engine.scenario import load_scenario
    from gui import video_export

    script = tmp_path / "stuck.py"
    part = "f'.race.mp4.{os.getpid()}.part.mp4'"  # gui.video.part_path of the child
    script.write_text(
        "import os, sys, time\n"
        "from pathlib import Path\n"
        f"Path({str(tmp_path / 'out')!r}, {part}).write_bytes(b'x')\n"
        "print('frame 1 100', flush=True)\n"
        "time.sleep(600)\n"
    )
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(video_export, "worker_command", lambda: (sys.executable, [str(script)]))
    monkeypatch.setattr(video_export, "KILL_AFTER_MS", 200)
    root = Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "scenarios" / "lecture_gd_round_bowl.toml")
    export = VideoExport(scenario, VideoOptions(str(tmp_path / "out" / "race.mp4")))
    outcomes: list[ExportOutcome] = []
    export.finished.connect(outcomes.append)
    export.progressed.connect(lambda *_: export.cancel())
    export.start()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=20_000)
    assert outcomes[0].cancelled
    assert files(tmp_path / "out") == []
