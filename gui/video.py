"""Races as video (``main.py render SCENARIO --video race.mp4``): MP4, GIF or PNG frames.

The race runs to its end once in an offscreen window (gui.app.offscreen_window, the
window's own drawing); each frame then shows the race as it stood after step k from the
recorded rows (:meth:`gui.frames.FrameLoop.show_until`), nothing is computed again.

Frames to steps: ``linear`` spreads the steps evenly over the frames; ``log`` gives the
early steps more time (step k at frame j = (steps + 1)^(j / (frames - 1)) - 1, but at
least one step a frame), which suits a long race whose interesting part is its start.
``--steps-per-frame K`` is linear.

Writers: MP4 is H.264 (yuv420p, CRF 18) through the ffmpeg binary of imageio-ffmpeg,
fed frame by frame; GIF is Pillow's, one palette for every frame (from the first and last
frames, no dither: the lines stay crisp and the file small), each frame storing only what
changed, identical consecutive frames merged into one longer frame (a timing never
repeats a step while there are steps enough); a folder gets frame_00000.png ... Every writer
writes next to the target under a temporary name and renames at the end: a failed or
interrupted render leaves nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from engine.scenario import Scenario
    from gui.window import MainWindow

KINDS = {".mp4": "mp4", ".gif": "gif"}  # by extension; a folder: "png"
MIN_SIDE = 64
MAX_SIZE = (7680, 4320)
MAX_FPS = 120
MAX_DURATION = 3600.0  # seconds
GIF_FPS = 10  # a GIF's default rate: a tenth of a second per frame keeps it small
DEFAULT_FPS = 30
DEFAULT_DURATION = 10.0
DEFAULT_SIZE = (1920, 1080)
GIF_SIZE = (960, 540)  # a GIF's default: a quarter of the pixels, a quarter of the bytes
LOG_ABOVE = 50  # steps per second of video above which the default timing is log
MP4_CRF = 18  # x264 quality: plots are sharp lines on flat colour


class VideoError(ValueError):
    """A bad video request: one message, exit code 2 on the command line."""


class Cancelled(Exception):
    """The render was cancelled (``cancel`` set): nothing was written."""


# ---------------------------------------------------------------------------- request
@dataclass(frozen=True)
class VideoRequest:
    """What to write: ``out`` (kind from it), the frame rate, how many frames (a duration
    or steps per frame), the frame size, the whole window or the two panels, the small
    multiples or the single landscape, and the timing (None: the default)."""

    out: Path
    kind: str  # "mp4", "gif" or "png" (a folder of frames)
    fps: int
    duration: float | None
    steps_per_frame: int | None
    size: tuple[int, int]
    whole_window: bool = False
    grid: bool = False
    timing: str | None = None


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` as (1920, 1080); VideoError if malformed or out of range."""
    parts = text.lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise VideoError(f"--size: expected WIDTHxHEIGHT such as 1920x1080, got {text!r}") from None
    if not (MIN_SIDE <= w <= MAX_SIZE[0] and MIN_SIDE <= h <= MAX_SIZE[1]):
        raise VideoError(
            f"--size: expected {MIN_SIDE}..{MAX_SIZE[0]} x {MIN_SIDE}..{MAX_SIZE[1]} pixels, "
            f"got {text!r}"
        )
    return w, h


def video_kind(out: str) -> str:
    """ "mp4", "gif" or "png" (a path ending in / or an existing folder)."""
    p = Path(out)
    if out.endswith(("/", os.sep)) or p.is_dir():
        return "png"
    kind = KINDS.get(p.suffix.lower())
    if kind is None:
        raise VideoError(
            f"--video: expected a file ending in .mp4 or .gif, or a folder (ending in /) "
            f"for PNG frames, got {out!r}"
        )
    return kind


def make_request(
    out: str,
    fps: int | None = None,
    duration: float | None = None,
    steps_per_frame: int | None = None,
    size: str | tuple[int, int] | None = None,
    whole_window: bool = False,
    grid: bool = False,
    timing: str | None = None,
) -> VideoRequest:
    """A checked request (VideoError naming the option at fault): the target's folder
    must exist and be writable; MP4 needs an even width and height (yuv420p)."""
    kind = video_kind(out)
    if duration is not None and steps_per_frame is not None:
        raise VideoError("--duration and --steps-per-frame: give one of them, not both")
    if fps is None:
        fps = GIF_FPS if kind == "gif" else DEFAULT_FPS
    if not 1 <= fps <= MAX_FPS:
        raise VideoError(f"--fps: expected 1..{MAX_FPS} frames per second, got {fps}")
    if duration is not None and not (0 < duration <= MAX_DURATION):
        raise VideoError(f"--duration: expected 0 < seconds <= {MAX_DURATION:g}, got {duration}")
    if steps_per_frame is not None and steps_per_frame < 1:
        raise VideoError(f"--steps-per-frame: expected an integer >= 1, got {steps_per_frame}")
    if steps_per_frame is None and duration is None:
        duration = DEFAULT_DURATION
    wh = parse_size(size) if isinstance(size, str) else size
    if wh is None:
        wh = GIF_SIZE if kind == "gif" else DEFAULT_SIZE
    if kind == "mp4" and (wh[0] % 2 or wh[1] % 2):
        raise VideoError(f"--size: an MP4 needs an even width and height, got {wh[0]}x{wh[1]}")
    if timing not in (None, "linear", "log"):
        raise VideoError(f"--timing: expected linear or log, got {timing!r}")
    if steps_per_frame is not None and timing == "log":
        raise VideoError("--timing log: --steps-per-frame spreads the steps evenly (linear)")
    target = Path(out)
    parent = target.absolute().parent  # where the temporary file or folder goes
    if not parent.is_dir():
        raise VideoError(f"--video: folder {str(parent)!r} does not exist")
    if kind == "png" and target.exists() and not target.is_dir():
        raise VideoError(f"--video: expected a folder for PNG frames, {out!r} is a file")
    # the temporary file goes next to the target (a folder's frames: beside the folder)
    for where in {parent, target} if kind == "png" and target.exists() else {parent}:
        try:  # a real file: access() says yes to root, and to folders that refuse files
            with tempfile.TemporaryFile(dir=where):
                pass
        except OSError as e:
            raise VideoError(
                f"--video: cannot write in folder {str(where)!r}: {e.strerror or e}"
            ) from None
    return VideoRequest(
        target, kind, fps, duration, steps_per_frame, wh, whole_window, grid, timing
    )


# ---------------------------------------------------------------------------- timing
def frame_steps(steps: int, req: VideoRequest) -> tuple[list[int], str]:
    """The step each frame shows (first 0, last ``steps``, never decreasing) and the
    timing used."""
    if req.steps_per_frame is not None:
        k = req.steps_per_frame
        n = math.ceil(steps / k) + 1
        return [min(j * k, steps) for j in range(n)], "linear"
    assert req.duration is not None
    n = max(2, round(req.fps * req.duration))
    timing = req.timing or ("log" if steps > LOG_ABOVE * req.duration else "linear")
    return spread(steps, n, timing), timing


def spread(steps: int, frames: int, timing: str) -> list[int]:
    """``frames`` steps from 0 to ``steps``: evenly (linear) or evenly in log(step + 1),
    each frame a step further than the last while there are steps enough (no frame
    repeats the one before: a GIF would merge them)."""
    if frames == 1:
        return [steps]
    out: list[int] = []
    for j in range(frames):
        u = j / (frames - 1)
        k = round(steps * u if timing == "linear" else (steps + 1) ** u - 1)
        if out and steps - out[-1] >= frames - j:  # room for one step per frame left
            k = max(k, out[-1] + 1)
        out.append(min(steps, k))
    out[-1] = steps
    return out


# ---------------------------------------------------------------------------- frames
def fit(img: QImage, size: tuple[int, int]) -> QImage:
    """``img`` at exactly ``size``: scaled down to fit if larger (a window has a minimum
    size), centred on white if smaller (the panels' sum may miss a few pixels)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    w, h = size
    if img.width() == w and img.height() == h:
        return img
    if img.width() > w or img.height() > h:
        img = img.scaled(
            w, h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    canvas = QImage(w, h, QImage.Format.Format_RGB32)
    canvas.fill(Qt.GlobalColor.white)
    p = QPainter(canvas)
    p.drawImage((w - img.width()) // 2, (h - img.height()) // 2, img)
    p.end()
    return canvas


def rgb_array(img: QImage) -> np.ndarray:
    """``img`` as an (h, w, 3) uint8 array."""
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    return buf.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def board_lines(win: MainWindow, most: int = 8) -> list[tuple[str, str]]:
    """The leaderboard as the window's board shows it now: (text, colour) per racer,
    best first, at most ``most``."""
    board = win.board
    out = []
    for r in range(min(board.rowCount(), most)):
        cells = [board.item(r, c) for c in (0, 1, 2)]
        if any(c is None for c in cells):
            continue
        rank, label, loss = (c.text() for c in cells if c is not None)
        colour = cells[1].foreground().color().name() if cells[1] is not None else "#000000"
        out.append((f"{rank}  {label}   loss {loss}", colour))
    return out


def draw_overlay(img: QImage, step_text: str, rows: list[tuple[str, str]]) -> tuple[int, ...]:
    """The step counter and the leaderboard in a box at the top left of ``img`` (the
    panels have neither); the box drawn as (x, y, w, h)."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

    px = max(15, img.height() // 45)  # readable in a small GIF too
    bold, plain = QFont(), QFont()
    bold.setPixelSize(px)
    bold.setBold(True)
    plain.setPixelSize(max(13, px * 4 // 5))
    fb, fp = QFontMetrics(bold), QFontMetrics(plain)
    pad = px // 2
    width = max([fb.horizontalAdvance(step_text)] + [fp.horizontalAdvance(t) for t, _ in rows])
    height = fb.height() + fp.height() * len(rows)
    box = QRect(pad, pad, width + 2 * pad, height + 2 * pad)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(255, 255, 255, 225))
    p.drawRoundedRect(box, pad / 2, pad / 2)
    y = box.y() + pad
    p.setFont(bold)
    p.setPen(QColor("#000000"))
    p.drawText(box.x() + pad, y + fb.ascent(), step_text)
    y += fb.height()
    p.setFont(plain)
    for text, colour in rows:
        p.setPen(QColor(colour))
        p.drawText(box.x() + pad, y + fp.ascent(), text)
        y += fp.height()
    p.end()
    return (box.x(), box.y(), box.width(), box.height())


# ---------------------------------------------------------------------------- writers
def part_path(target: Path, pid: int) -> Path:
    """Where process ``pid`` writes ``target`` (an MP4 or a GIF) until it renames it; a
    folder of frames goes to ``.NAME.part*`` beside it (a fresh temporary folder)."""
    return target.with_name(f".{target.name}.{pid}.part{target.suffix}")


class Sink:
    """A frame writer to a temporary path next to the target; :meth:`finish` renames,
    :meth:`abort` removes."""

    def __init__(self, target: Path, fps: int, size: tuple[int, int]) -> None:
        self.target, self.fps, self.size = target, fps, size
        self.tmp = part_path(target, os.getpid())

    def write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish writing to the temporary path."""

    def drop(self) -> None:
        """Stop writing, whatever has been written is to be removed."""
        self.close()

    def finish(self) -> Path:
        self.close()
        os.replace(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the render failed already: the file goes
            self.drop()
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


class Mp4Sink(Sink):
    """H.264 through imageio-ffmpeg's ffmpeg, one frame at a time (a pipe)."""

    def __init__(self, target: Path, fps: int, size: tuple[int, int]) -> None:
        super().__init__(target, fps, size)
        import imageio_ffmpeg

        self.gen: Any = imageio_ffmpeg.write_frames(
            str(self.tmp),
            size,
            fps=fps,
            codec="libx264",
            quality=None,
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-crf", str(MP4_CRF), "-preset", "veryfast", "-movflags", "+faststart"],
        )
        self.gen.send(None)
        self.open = True

    def write(self, frame: np.ndarray) -> None:
        self.gen.send(frame)

    def close(self) -> None:
        if self.open:
            self.open = False
            self.gen.close()


class GifSink(Sink):
    """Pillow's GIF with one global palette: the 64 commonest colours of the first frame
    written and the ``key`` frame (the race's end) exactly, 192 more from an octree of
    both; each pixel takes its nearest palette colour (no dither: lines stay crisp and the
    file small). Frames are kept at 1 byte a pixel until the end; each stores only the
    pixels that changed (Pillow's optimize)."""

    EXACT = 64

    def __init__(self, target: Path, fps: int, size: tuple[int, int], key: np.ndarray) -> None:
        super().__init__(target, fps, size)
        self.key = key
        self.frames: list[Any] = []
        self.palette = np.zeros((0, 3), np.float32)
        self.lut = np.full(1 << 24, -1, np.int16)  # 0xRRGGBB -> palette index, -1: not yet

    def make_palette(self, frame: np.ndarray) -> None:
        from PIL import Image

        both = np.concatenate([frame, self.key], axis=0)
        keys, counts = np.unique(rgb_keys(both), return_counts=True)
        top = keys[np.argsort(-counts, kind="stable")[: self.EXACT]]
        exact = np.stack([(top >> 16) & 255, (top >> 8) & 255, top & 255], axis=1)
        more = 256 - len(exact)
        octree = Image.fromarray(both, "RGB").quantize(more, method=Image.Quantize.FASTOCTREE)
        rest = np.asarray(octree.getpalette() or [], dtype=np.int64)[: 3 * more].reshape(-1, 3)
        self.palette = np.concatenate([exact, rest]).astype(np.float32)

    def indices(self, frame: np.ndarray) -> np.ndarray:
        """Each pixel's nearest palette colour (cached per colour in ``lut``)."""
        keys = rgb_keys(frame)
        idx = self.lut[keys]
        if (idx < 0).any():
            new = np.unique(keys[idx < 0])
            cols = np.stack([(new >> 16) & 255, (new >> 8) & 255, new & 255], axis=1)
            for a in range(0, len(new), 4096):  # (4096, 256) distances at a time
                d = ((cols[a : a + 4096, None, :] - self.palette[None]) ** 2).sum(axis=2)
                self.lut[new[a : a + 4096]] = d.argmin(axis=1)
            idx = self.lut[keys]
        out: np.ndarray = idx.astype(np.uint8)
        return out

    def write(self, frame: np.ndarray) -> None:
        from PIL import Image

        if not len(self.palette):
            self.make_palette(frame)
        im = Image.fromarray(self.indices(frame), "P")
        im.putpalette(self.palette.astype(np.uint8).ravel().tolist())
        self.frames.append(im)

    def drop(self) -> None:
        self.frames = []

    def close(self) -> None:
        if not self.frames:
            return
        frames, self.frames = self.frames, []
        frames[0].save(
            self.tmp,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=round(1000 / self.fps),
            loop=0,
            optimize=True,  # a frame stores only its changes, the rest transparent (~1/5)
        )


def rgb_keys(frame: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 pixels as 0xRRGGBB integers."""
    f = frame.astype(np.int32)
    return (f[..., 0] << 16) | (f[..., 1] << 8) | f[..., 2]


class PngSink(Sink):
    """frame_00000.png ... in a temporary folder, moved into the target folder at the
    end (an existing one loses its old frame_*.png)."""

    def __init__(self, target: Path, fps: int, size: tuple[int, int]) -> None:
        super().__init__(target, fps, size)
        parent = target.absolute().parent
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.part", dir=parent))
        self.n = 0

    def write(self, frame: np.ndarray) -> None:
        from PIL import Image

        Image.fromarray(frame, "RGB").save(self.tmp / f"frame_{self.n:05d}.png", compress_level=1)
        self.n += 1

    def finish(self) -> Path:
        if not self.target.exists():
            os.replace(self.tmp, self.target)
            return self.target
        for old in self.target.glob("frame_*.png"):
            old.unlink()
        for new in sorted(self.tmp.iterdir()):
            os.replace(new, self.target / new.name)
        self.tmp.rmdir()
        return self.target


# ---------------------------------------------------------------------------- render
@dataclass
class VideoResult:
    """What a render wrote: the path, its frames, the timing, the overlay box of the
    last frame (the panels; None for the whole window, which shows its own)."""

    path: Path
    frames: int
    timing: str
    steps: int
    overlay: tuple[int, ...] | None
    bytes: int


Progress = Callable[[int, int], None]


def frame_images(
    win: MainWindow, req: VideoRequest, steps: list[int], boxes: list[tuple[int, ...]]
) -> Iterator[np.ndarray]:
    """Each frame of ``win``'s finished race at ``steps``, as RGB arrays; the overlay's
    box of each frame appended to ``boxes`` (not for the whole window)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from gui.app import grab_frame

    whole = req.whole_window
    race = win.race
    assert race is not None
    frames = win.frames
    ranges = view_ranges(win)
    for j, k in enumerate(steps):
        if j == len(steps) - 1:  # drawn at once, as a still: equal to the PNG render
            frames.show_until(0)
            frames.on_frame()
        frames.show_until(k)
        frames.on_frame()  # the racers whose rows changed since the last frame
        if win.is_perceptron:
            frames.perceptron_slow_updates()
        frames.update_board()
        # the layout follows the new axes' labels (only that: a full event loop pass would
        # paint the offscreen window too), the map grid a view that moved
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        if view_ranges(win) != ranges:
            ranges = view_ranges(win)
            win.landscape.refresh_grid()
            win.multiples.refresh_grid()
        img = fit(grab_frame(win, whole), req.size)  # grab paints: no event loop pass
        if not whole:
            boxes.append(draw_overlay(img, f"step {k:,} / {race.steps:,}", board_lines(win)))
        yield rgb_array(img)


def view_ranges(win: MainWindow) -> tuple[tuple[float, ...], ...]:
    """The landscape's (and the small multiples') view boxes: their map grids follow."""
    return win.landscape.view_box(), win.multiples.view_box()


def render_video(
    scenario: Scenario,
    req: VideoRequest,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> VideoResult:
    """Run ``scenario`` to its end once and write its video (see the module docstring).
    OSError if the target cannot be written, Cancelled once ``cancel`` is set (checked
    between frames: a signal handler or a dialog's Cancel sets it; an exception raised
    within Qt's painting would be swallowed); nothing is left behind on any failure."""
    from gui.app import offscreen_window

    whole, grid = req.whole_window, req.grid
    boxes: list[tuple[int, ...]] = []
    with offscreen_window(scenario, req.size, whole, grid) as win:
        race = win.race
        assert race is not None
        steps, timing = frame_steps(race.steps, req)
        sink: Sink
        if req.kind == "mp4":
            sink = Mp4Sink(req.out, req.fps, req.size)
        elif req.kind == "gif":
            key = next(frame_images(win, req, [steps[-1]], boxes))
            sink = GifSink(req.out, req.fps, req.size, key)
        else:
            sink = PngSink(req.out, req.fps, req.size)
        try:
            for j, frame in enumerate(frame_images(win, req, steps, boxes)):
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"cancelled at frame {j + 1} of {len(steps)}")
                sink.write(frame)
                if progress is not None:
                    progress(j + 1, len(steps))
            path = sink.finish()
        except BaseException:
            sink.abort()
            raise
        finally:
            win.frames.show_until(None)
        overlay = boxes[-1] if boxes else None
    nbytes = (
        sum(f.stat().st_size for f in path.glob("frame_*.png"))
        if path.is_dir()
        else path.stat().st_size
    )
    return VideoResult(path, len(steps), timing, race.steps, overlay, nbytes)


class ProgressBar:
    """A one-line bar on stderr, frames rendered and the rate."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = done / max(total, 1)
        bar = "#" * int(frac * 30)
        rate = done / max(now - self.t0, 1e-9)
        sys.stderr.write(f"\r[{bar:<30}] {frac * 100:5.1f}%  {done}/{total} frames  {rate:.1f}/s")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
