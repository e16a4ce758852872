"""Races as video (gui/video.py, ``main.py render --video``): MP4, GIF and PNG frames
decode with the frames and size asked, their last frame is the still render of the same
step, bad requests exit 2 with nothing written, a failed write leaves nothing."""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import main
from engine.scenario import load_scenario
from gui import video
from gui.video import VideoError, make_request, spread

ROOT = Path(__file__).resolve().parents[1]
BOWL = ROOT / "scenarios" / "lecture_gd_round_bowl.toml"
STEPS = 40
SIZE = (640, 480)  # below the window's minimum height: frames are fitted (gui.video.fit)


def bowl(steps: int = STEPS) -> Any:
    return replace(load_scenario(BOWL), steps=steps)


def still(tmp_path: Path, steps: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """``main.py render --out x.png --steps N``, fitted to ``size`` as video frames are."""
    from PySide6.QtGui import QImage

    out = tmp_path / f"still_{steps}.png"
    argv = ["render", str(BOWL), "--out", str(out), "--steps", str(steps)]
    assert main.main([*argv, "--size", f"{size[0]}x{size[1]}"]) == 0
    return video.rgb_array(video.fit(QImage(str(out)), size))


def outside(box: tuple[int, ...] | None, shape: tuple[int, ...]) -> np.ndarray:
    """True outside the step/leaderboard box the video draws onto the panels."""
    assert box is not None
    x, y, w, h = box
    mask = np.ones(shape[:2], dtype=bool)
    mask[y : y + h, x : x + w] = False
    return mask


def mean_diff(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16))[mask].mean())


def decode_mp4(path: Path) -> np.ndarray:
    """Every frame of an MP4 as (n, h, w, 3), by imageio's ffmpeg: the size from the
    stream's header (read_frames, closed while ffmpeg runs: a reader read to the end
    leaves its pipes open), the frames as raw RGB."""
    import subprocess

    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    w, h = next(reader)["size"]
    reader.close()
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
    raw = subprocess.run(
        [*cmd, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True
    ).stdout
    assert len(raw) % (w * h * 3) == 0
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------- timing
def test_spread_is_monotone_from_zero_to_the_end() -> None:
    for timing in ("linear", "log"):
        for steps, frames in [(1000, 300), (40, 11), (5, 30), (10_000, 2)]:
            ks = spread(steps, frames, timing)
            assert len(ks) == frames and ks[0] == 0 and ks[-1] == steps
            assert all(a <= b for a, b in itertools.pairwise(ks))


def test_log_timing_gives_early_steps_more_frames_and_never_repeats_a_frame() -> None:
    lin, log = spread(10_000, 300, "linear"), spread(10_000, 300, "log")
    assert len(set(log)) == 300  # one step a frame at least: no frame shown twice
    assert log[100] < lin[100] / 10  # a third of the way: far fewer steps shown in log time
    assert log[:5] == [0, 1, 2, 3, 4]


def test_frame_steps_default_timing_and_steps_per_frame(tmp_path: Path) -> None:
    long = make_request(str(tmp_path / "a.mp4"), fps=10, duration=2)
    assert video.frame_steps(1000, long)[1] == "log"  # 500 steps a second: a long race
    assert video.frame_steps(40, long)[1] == "linear"
    per = make_request(str(tmp_path / "a.mp4"), steps_per_frame=4)
    steps, timing = video.frame_steps(STEPS, per)
    assert steps == list(range(0, STEPS + 1, 4)) and timing == "linear"
    assert make_request(str(tmp_path / "a.gif")).fps == video.GIF_FPS


# ---------------------------------------------------------------------------- bad requests
BAD = [
    (["--video", "{d}/x.avi"], "expected a file ending in .mp4 or .gif"),
    (["--video", "{d}/x.mp4", "--fps", "0"], "--fps"),
    (["--video", "{d}/x.mp4", "--size", "8000x4320"], "--size"),
    (["--video", "{d}/x.mp4", "--size", "32x32"], "--size"),
    (["--video", "{d}/x.mp4", "--size", "big"], "--size"),
    (["--video", "{d}/x.mp4", "--size", "641x480"], "even"),
    (["--video", "{d}/no/such/x.mp4"], "does not exist"),
    (["--video", "{d}/x.mp4", "--duration", "3", "--steps-per-frame", "2"], "not both"),
    (["--video", "{d}/x.mp4", "--duration", "0"], "--duration"),
    (["--video", "{d}/x.mp4", "--window", "--panels"], "choose one"),
    (["--out", "{d}/x.png", "--fps", "10"], "only with --video"),
    (["--out", "{d}/x.png", "--video", "{d}/x.mp4"], "one of them"),
]


@pytest.mark.parametrize(("args", "expect"), BAD)
def test_bad_arguments_exit_2_with_one_message_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expect: str
) -> None:
    argv = ["render", str(BOWL), *(a.format(d=tmp_path) for a in args)]
    assert main.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expect in err and len(err.splitlines()) == 1, err
    assert files(tmp_path) == []


def test_unwritable_folder_is_refused_before_the_race(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere mode bits say no: a folder under /proc
        with pytest.raises(VideoError, match="cannot write in folder"):
            make_request("/proc/race.mp4")
        return
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(VideoError, match="cannot write in folder"):
        make_request(str(locked / "race.mp4"))


# ---------------------------------------------------------------------------- writing
@pytest.mark.slow
def test_mp4_decodes_with_the_frames_and_size_asked_and_ends_on_the_still(
    qapp: Any, tmp_path: Path
) -> None:
    out = tmp_path / "race.mp4"
    res = video.render_video(bowl(), make_request(str(out), fps=10, duration=1.5, size=SIZE))
    frames = decode_mp4(out)
    assert frames.shape == (15, 480, 640, 3)
    assert files(tmp_path) == ["race.mp4"]  # no temporary file left
    ref = still(tmp_path, STEPS)
    mask = outside(res.overlay, ref.shape)
    diffs = [mean_diff(f, ref, mask) for f in frames]
    assert diffs[-1] < 2.5, diffs  # H.264 (CRF 18, 4:2:0 colour) blurs edges: ~1.6 here
    assert int(np.argmin(diffs)) == len(frames) - 1, diffs  # the end, not another step
    assert diffs[0] > 1.5 * diffs[-1], diffs  # step 0 is far from it: the check can fail


@pytest.mark.slow
def test_gif_has_the_frames_asked_one_palette_and_ends_on_the_still(
    qapp: Any, tmp_path: Path
) -> None:
    import imageio.v3 as iio
    from PIL import Image

    out = tmp_path / "race.gif"
    res = video.render_video(bowl(), make_request(str(out), fps=10, duration=1.2, size=SIZE))
    assert res.frames == 12 and res.timing == "linear"
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (12, 480, 640)
    with Image.open(out) as im:
        assert im.info["loop"] == 0 and im.info["duration"] == 100
    ref = still(tmp_path, STEPS)
    mask = outside(res.overlay, ref.shape)
    last = frames[-1][..., :3]
    assert mean_diff(last, ref, mask) < 1.0  # 256 colours, no dither: nearly the still
    assert mean_diff(frames[0][..., :3], ref, mask) > 2 * mean_diff(last, ref, mask)
    assert files(tmp_path) == ["race.gif", f"still_{STEPS}.png"]


@pytest.mark.slow
def test_png_frames_equal_the_stills_and_replace_an_old_render(qapp: Any, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "frames"
    res = video.render_video(bowl(), make_request(f"{out}/", steps_per_frame=10, size=SIZE))
    assert res.frames == 5 and files(out) == [f"frame_{i:05d}.png" for i in range(5)]
    ref = still(tmp_path, STEPS)
    last = np.asarray(Image.open(out / "frame_00004.png").convert("RGB"))
    mask = outside(res.overlay, ref.shape)
    assert np.array_equal(last[mask], ref[mask])  # the same drawing as the still
    assert not np.array_equal(last[~mask], ref[~mask])  # the step and the board are in it
    # an existing folder: its old frames give way to the new ones
    res = video.render_video(bowl(), make_request(str(out), steps_per_frame=20, size=SIZE))
    assert files(out) == [f"frame_{i:05d}.png" for i in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["race.mp4", "race.gif", "frames/"])
@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_a_write_failing_midway_leaves_nothing(
    qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, error: type
) -> None:
    sinks = {"race.mp4": video.Mp4Sink, "race.gif": video.GifSink, "frames/": video.PngSink}
    cls = sinks[name]
    real = cls.write
    written: list[int] = []

    def write(self: Any, frame: np.ndarray) -> None:
        if len(written) == 3:
            raise error("disk full")
        real(self, frame)
        written.append(1)

    monkeypatch.setattr(cls, "write", write)
    req = make_request(f"{tmp_path}/{name}", steps_per_frame=5, size=(320, 240))
    with pytest.raises(error):
        video.render_video(bowl(), req)
    assert written == [1, 1, 1]
    assert files(tmp_path) == []


@pytest.mark.slow
def test_cancel_stops_between_frames_and_leaves_nothing(qapp: Any, tmp_path: Path) -> None:
    """What Ctrl-C, a kill (the CLI's signal handlers) or a dialog's Cancel set."""
    import threading

    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            cancel.set()

    req = make_request(str(tmp_path / "race.mp4"), steps_per_frame=5, size=(320, 240))
    with pytest.raises(video.Cancelled):
        video.render_video(bowl(), req, progress=progress, cancel=cancel)
    assert seen == [1, 2]
    assert files(tmp_path) == []


# ---------------------------------------------------------------------------- replay
def test_race_at_a_step_reads_as_the_race_run_to_that_step() -> None:
    """RaceAt(race, k): counts, metrics and leaderboard of a race run only k steps."""
    from engine.scenario import build_race
    from gui.frames import RaceAt

    full = build_race(bowl(200))
    full.run()
    short = build_race(bowl(200))
    short.advance(30)
    at = RaceAt(full, 30)
    assert at.count.tolist() == short.count.tolist() == [31] * len(full.racers)
    assert [m for _, m in at.leaderboard()] == [m for _, m in short.leaderboard()]
    assert [m for _, m in at.leaderboard()] != [m for _, m in full.leaderboard()]
    at.set_step(200)  # forward again: the view's own caches, the race untouched
    assert [m for _, m in at.leaderboard()] == [m for _, m in full.leaderboard()]
    assert full.count.tolist() == [201] * len(full.racers)
    with pytest.raises(TypeError):
        at.advance(1)


def test_show_until_draws_step_k_and_none_the_race_as_it_is(qapp: Any) -> None:
    from gui.app import offscreen_window

    with offscreen_window(bowl(), (800, 600), whole_window=True) as win:
        assert win.step_label.text() == f"step {STEPS} / {STEPS}"
        win.frames.show_until(7)
        win.frames.on_frame()
        assert win.step_label.text() == f"step 7 / {STEPS}"
        counts = win.loss.curves[0].getData()[0]
        assert counts is not None and len(counts) <= 8
        win.frames.show_until(None)
        win.frames.on_frame()
        assert win.step_label.text() == f"step {STEPS} / {STEPS}"
        assert win.race.count.tolist() == [STEPS + 1] * len(win.race.racers)


@pytest.mark.slow
def test_cli_writes_png_frames_and_says_how_steps_map_to_time(
    qapp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f"
    argv = ["render", str(BOWL), "--video", f"{out}/", "--steps", "1000", "--size", "320x240"]
    assert main.main([*argv, "--fps", "5", "--duration", "2"]) == 0
    said = capsys.readouterr().out
    assert "10 frames at 5 fps" in said and "log time" in said, said
    assert files(out) == [f"frame_{i:05d}.png" for i in range(10)]
