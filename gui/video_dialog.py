"""File -> Export video...: the race as MP4, GIF or PNG frames, from the window.

The dialog asks what ``main.py render --video`` asks (path, frames per second, a duration
or steps per frame, the timing, the size, the layout) and checks it with the same rules,
:func:`gui.video.make_request`, on every edit: a bad value shows the message (naming the
field) under the form and disables Export.

Where the frames are rendered: in a separate process, ``python -m gui.video_dialog``,
which receives a copy of the scenario as shown (pickled, on its stdin) and runs
:func:`gui.video.render_video` on an offscreen window of its own. Not in this process,
because the frames need widgets and widgets belong to the GUI thread: a 1080p frame
costs 50-120 ms of painting there (``python -m bench video``), so even sliced one frame
per event-loop pass the live window's 60 Hz loop would drop to under 10 frames/s for the
whole export, and drawing them would need a second window, race and frame loop beside
the live ones. A child process shares nothing with the live race (it is not paused,
stepped or redrawn), uses the other core, and is cancelled cleanly. The window stays
responsive because all it does is read the child's progress lines.

Protocol: the parent writes ``<n>\\n`` and the n bytes of ``pickle((scenario, options))``,
then, to cancel, ``cancel\\n`` (a closed stdin also cancels: the child never outlives the
window's process for long). The child writes ``start`` once the request is checked,
``frame <done> <total>`` after each frame, and last ``done <json>`` or ``error <message>``;
its exit code is 0, 2 (a bad request or an unwritable path) or 130 (cancelled).

Cancel: the child stops after the current frame and removes its temporary file (the
target is written under a temporary name and renamed at the end, see gui.video); if it
has not exited 5 s later it is killed and the parent removes the temporary file
itself. Either way no output file is left and a target that existed is untouched. A
Cancel that comes after the child reported the file written is too late: it stays.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import shutil
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal
from PySide6.QtGui import QAction, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gui.video import (
    DEFAULT_FPS,
    DEFAULT_SIZE,
    GIF_FPS,
    GIF_SIZE,
    VideoError,
    VideoRequest,
    make_request,
    part_path,
    video_kind,
)

if TYPE_CHECKING:
    from engine.scenario import Scenario
    from gui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
KILL_AFTER_MS = 5000  # a cancelled child that has not stopped by then is killed
LAYOUTS = ("panels", "window", "grid")
TIMINGS = ((None, "default (log time over 50 steps per second of video)"),
           ("linear", "even (linear)"),
           ("log", "log time (early steps slow, later fast)"))  # fmt: skip
KIND_TEXT = {"mp4": "MP4 video (H.264)", "gif": "GIF animation", "png": "a folder of PNG frames"}
FIELD_NAMES = {
    "--video": "Path",
    "--fps": "Frames/s",
    "--duration": "Duration",
    "--steps-per-frame": "Steps per frame",
    "--size": "Size",
    "--timing": "Timing",
}


def field_message(cli_message: str) -> str:
    """A :class:`VideoError`'s message with the dialog's field names for the options."""
    return re.sub(r"--[a-z-]+", lambda m: FIELD_NAMES.get(m.group(0), m.group(0)), cli_message)


# ---------------------------------------------------------------------------- options
@dataclass(frozen=True)
class VideoOptions:
    """What the dialog asks, as :func:`gui.video.make_request` takes it (None: the
    default, as an option left out on the command line)."""

    out: str
    fps: int | None = None
    duration: float | None = None
    steps_per_frame: int | None = None
    size: str | None = None
    layout: str = "panels"
    timing: str | None = None

    def request(self) -> VideoRequest:
        """The checked request; VideoError (CLI wording) if anything is wrong."""
        if self.layout not in LAYOUTS:
            raise VideoError(f"layout: expected one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        return make_request(
            self.out,
            self.fps,
            self.duration,
            self.steps_per_frame,
            self.size,
            whole_window=self.layout == "window",
            grid=self.layout == "grid",
            timing=self.timing,
        )


def _number(text: str, kind: type, name: str, example: str) -> Any:
    """``text`` as an int or float, None if blank; VideoError naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise VideoError(f"{name}: expected {what} such as {example}, got {text!r}") from None


# ---------------------------------------------------------------------------- dialog
class VideoDialog(QDialog):
    """The export options, checked on every edit (see the module docstring)."""

    def __init__(
        self, parent: QWidget | None, default_path: str, grid_allowed: bool = True
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export video")
        form = QFormLayout()
        self.path = QLineEdit(default_path)
        self.path.setToolTip(
            "The extension chooses the format: .mp4 (H.264), .gif, or a folder "
            "(a path ending in /) for PNG frames"
        )
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse_file)
        folder = QPushButton("Folder…")
        folder.setToolTip("Write a folder of PNG frames (frame_00000.png ...)")
        folder.clicked.connect(self.browse_folder)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(folder)
        form.addRow("Path", row)
        self.kind = QLabel()
        form.addRow("Format", self.kind)
        self.fps = QLineEdit()
        self.fps.setPlaceholderText(f"{DEFAULT_FPS} (GIF {GIF_FPS})")
        form.addRow("Frames/s", self.fps)
        self.by_duration = QRadioButton("Duration [s]")
        self.by_steps = QRadioButton("Steps per frame")
        self.by_duration.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.by_duration)
        group.addButton(self.by_steps)
        self.duration = QLineEdit()
        self.duration.setPlaceholderText("10")
        self.steps_per_frame = QLineEdit()
        self.steps_per_frame.setPlaceholderText("e.g. 5 (timing: even)")
        form.addRow(self.by_duration, self.duration)
        form.addRow(self.by_steps, self.steps_per_frame)
        self.timing = QComboBox()
        for value, text in TIMINGS:
            self.timing.addItem(text, value)
        form.addRow("Timing", self.timing)
        self.size_edit = QLineEdit()
        dw, dh = DEFAULT_SIZE
        gw, gh = GIF_SIZE
        self.size_edit.setPlaceholderText(f"{dw}x{dh} (GIF {gw}x{gh})")
        form.addRow("Size [px]", self.size_edit)
        self.layout_box = QComboBox()
        self.layout_box.addItem("the two panels, with the step and the leaderboard", "panels")
        self.layout_box.addItem("the whole window", "window")
        self.layout_box.addItem("small multiples (one map per racer)", "grid")
        if not grid_allowed:  # a perceptron race: its data panel shows every racer already
            model = self.layout_box.model()  # a combo box's own model
            assert isinstance(model, QStandardItemModel)
            item = model.item(2)
            item.setEnabled(False)
            item.setToolTip("small multiples are for landscape races")
        form.addRow("Layout", self.layout_box)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        for edit in (self.path, self.fps, self.duration, self.steps_per_frame, self.size_edit):
            edit.textChanged.connect(self.check)
        for box in (self.timing, self.layout_box):
            box.currentIndexChanged.connect(self.check)
        self.by_duration.toggled.connect(self.check)
        self.setMinimumWidth(560)
        self.check()

    def options(self) -> VideoOptions:
        """The fields as options; VideoError if a number does not parse."""
        by_steps = self.by_steps.isChecked()
        return VideoOptions(
            out=self.path.text().strip(),
            fps=_number(self.fps.text(), int, "Frames/s", "30"),
            duration=None if by_steps else _number(self.duration.text(), float, "Duration", "10"),
            steps_per_frame=(
                _number(self.steps_per_frame.text(), int, "Steps per frame", "5")
                if by_steps
                else None
            ),
            size=self.size_edit.text().strip() or None,
            layout=str(self.layout_box.currentData()),
            timing=self.timing.currentData(),
        )

    def request(self) -> VideoRequest:
        """The checked request (VideoError with the dialog's field names)."""
        try:
            opts = self.options()
            if not opts.out:
                raise VideoError("--video: expected a path ending in .mp4 or .gif, or a folder")
            return opts.request()
        except VideoError as e:
            raise VideoError(field_message(str(e))) from None

    def check(self) -> bool:
        """Show what is wrong (nothing: the format written) and enable Export if nothing."""
        self.duration.setEnabled(self.by_duration.isChecked())
        self.steps_per_frame.setEnabled(self.by_steps.isChecked())
        try:
            req = self.request()
        except VideoError as e:
            self.error.setText(str(e))
            self.ok.setEnabled(False)
            with contextlib.suppress(VideoError):
                self.kind.setText(KIND_TEXT[video_kind(self.path.text().strip())])
            return False
        self.error.setText("")
        self.kind.setText(f"{KIND_TEXT[req.kind]}, {req.size[0]}x{req.size[1]}, {req.fps} frames/s")
        self.ok.setEnabled(True)
        return True

    def accept(self) -> None:
        if self.check():  # Enter in a field presses Export even when it is disabled
            super().accept()

    def browse_file(self) -> None:
        start = self.path.text().strip() or "race.mp4"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export video", start, "MP4 video (*.mp4);;GIF animation (*.gif)"
        )
        if path:
            if Path(path).suffix.lower() not in (".mp4", ".gif"):
                path += ".gif" if "gif" in chosen.lower() else ".mp4"
            self.path.setText(path)

    def browse_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder for the PNG frames")
        if d:
            self.path.setText(d.rstrip("/" + os.sep) + os.sep)


# ---------------------------------------------------------------------------- export
@dataclass(frozen=True)
class ExportOutcome:
    """How an export ended: ``path`` written (None if not), ``message`` for the user."""

    path: Path | None
    message: str
    cancelled: bool = False
    frames: int = 0
    bytes: int = 0


def worker_command() -> tuple[str, list[str]]:
    """The child process: this module as ``__main__`` with this interpreter."""
    return sys.executable, ["-m", "gui.video_dialog"]


class VideoExport(QObject):
    """One export running in a child process, with its progress dialog (see the module
    docstring); ``finished`` carries an :class:`ExportOutcome`."""

    progressed = Signal(int, int)  # frames done, frames in all
    finished = Signal(object)

    def __init__(
        self, scenario: Scenario, options: VideoOptions, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        folder_of_frames = options.out.endswith(("/", os.sep))  # the child's cwd differs
        out = str(Path(options.out).absolute()) + (os.sep if folder_of_frames else "")
        self.options = replace(options, out=out)
        self.req = self.options.request()
        self.target = self.req.out.absolute()
        self.folder = self.target.parent
        self.scenario = scenario
        self.cancelled = False
        self.done: dict[str, Any] | None = None
        self.error_line = ""
        self.buffer = b""
        self.stderr = b""
        self.pid = 0
        self.outcome: ExportOutcome | None = None
        self.before = self._part_dirs()  # a folder of frames: new .NAME.part* are ours
        self.dialog = QProgressDialog(f"{self.target.name}: starting…", "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("Export video")
        self.dialog.setMinimumWidth(420)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)
        self.kill_timer = QTimer(self)
        self.kill_timer.setSingleShot(True)
        self.kill_timer.timeout.connect(self._kill)
        self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("QT_QPA_PLATFORM", "offscreen")
        env.insert("PYTHONUNBUFFERED", "1")
        self.proc.setProcessEnvironment(env)
        self.proc.setWorkingDirectory(str(ROOT))
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.readyReadStandardError.connect(self._read_err)
        self.proc.finished.connect(self._finished)
        self.proc.errorOccurred.connect(self._error)

    def start(self) -> None:
        """Start the child and give it the scenario and the options."""
        program, args = worker_command()
        self.proc.start(program, args)
        self.dialog.show()
        if not self.proc.waitForStarted(10000):
            return  # errorOccurred reports it
        self.pid = int(self.proc.processId())
        blob = pickle.dumps((self.scenario, self.options))
        self.proc.write(f"{len(blob)}\n".encode() + blob)

    def running(self) -> bool:
        return self.proc.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Stop after the current frame, nothing written; killed if it does not stop."""
        if self.outcome is not None or self.cancelled:
            return
        self.cancelled = True
        self.dialog.setLabelText("Cancelling…")
        if self.running():
            self.proc.write(b"cancel\n")
            self.kill_timer.start(KILL_AFTER_MS)

    def _kill(self) -> None:
        if self.running():
            self.proc.kill()

    def _read(self) -> None:
        self.buffer += bytes(self.proc.readAllStandardOutput().data())
        *lines, self.buffer = self.buffer.split(b"\n")
        for raw in lines:
            word, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
            if word == "start":
                self.dialog.setLabelText(f"{self.target.name}: running the race…")
            elif word == "frame":
                done, total = (int(v) for v in rest.split())
                if not self.cancelled:
                    self.dialog.setMaximum(total)
                    self.dialog.setValue(done)
                    self.dialog.setLabelText(f"{self.target.name}: frame {done} of {total}")
                self.progressed.emit(done, total)
            elif word == "done":
                self.done = json.loads(rest)
            elif word == "error":
                self.error_line = rest

    def _read_err(self) -> None:
        self.stderr = (self.stderr + bytes(self.proc.readAllStandardError().data()))[-4000:]

    def _error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self._end(ExportOutcome(None, f"cannot start the renderer: {self.proc.errorString()}"))

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        self.kill_timer.stop()
        if self.done is not None and code == 0:  # written (a Cancel after that: too late)
            d = self.done
            path = Path(d["path"])
            msg = (
                f"wrote {path}: {d['frames']} frames at {self.req.fps} fps, "
                f"{self.req.size[0]}x{self.req.size[1]}, {d['bytes'] / 1e6:.1f} MB"
            )
            self._end(ExportOutcome(path, msg, frames=d["frames"], bytes=d["bytes"]))
            return
        self.remove_leftovers()
        if self.cancelled:
            self._end(ExportOutcome(None, "video export cancelled: nothing written", True))
            return
        why = self.error_line or self._stderr_tail() or f"the renderer exited with code {code}"
        self._end(ExportOutcome(None, f"video export failed: {why}"))

    def _stderr_tail(self) -> str:
        lines = [ln for ln in self.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def _part_dirs(self) -> set[Path]:
        if not self.folder.is_dir():
            return set()
        return {p for p in self.folder.glob(f".{self.target.name}.part*") if p.is_dir()}

    def remove_leftovers(self) -> None:
        """The child's temporary file (it removes it itself unless it was killed)."""
        if self.pid:
            part_path(self.target, self.pid).unlink(missing_ok=True)
        if self.req.kind == "png":
            for d in self._part_dirs() - self.before:
                shutil.rmtree(d, ignore_errors=True)

    def _end(self, outcome: ExportOutcome) -> None:
        if self.outcome is not None:
            return
        self.outcome = outcome
        self.dialog.canceled.disconnect(self.cancel)
        self.dialog.close()
        self.dialog.deleteLater()
        self.finished.emit(outcome)

    def abort_and_wait(self) -> None:
        """Cancel and wait for the child (the application is quitting)."""
        if self.outcome is not None or not self.running():
            return
        self.cancel()
        if not self.proc.waitForFinished(KILL_AFTER_MS):
            self.proc.kill()
            self.proc.waitForFinished(1000)
        if self.outcome is None:
            self.remove_leftovers()


# ---------------------------------------------------------------------------- menu
class VideoExporter(QObject):
    """File -> Export video... on a window: the dialog, then one export at a time."""

    exported = Signal(object)  # an ExportOutcome

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.action = QAction("Export &video…", win)
        self.action.setToolTip("The race as an MP4, a GIF or PNG frames (render --video)")
        self.action.triggered.connect(lambda _=False: self.open_dialog())
        self.export: VideoExport | None = None
        self.last_path = ""
        self.dialog: VideoDialog | None = None
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.abort)

    def default_path(self) -> str:
        if self.last_path:
            return self.last_path
        doc = self.win.document.path
        folder = doc.parent if doc is not None and os.access(doc.parent, os.W_OK) else Path.cwd()
        stem = doc.stem if doc is not None else "race"
        return str(folder / f"{stem}.mp4")

    def make_dialog(self) -> VideoDialog:
        """The options dialog for the scenario shown (not yet open)."""
        from engine.objective import KINDS

        kind = self.win.scenario.objective.kind
        return VideoDialog(self.win, self.default_path(), KINDS[kind].small_multiples)

    def open_dialog(self) -> None:
        if self.export is not None:
            return
        self.dialog = self.make_dialog()
        self.dialog.accepted.connect(lambda: self._accepted())
        self.dialog.open()

    def _accepted(self) -> None:
        d = self.dialog
        if d is None:
            return
        self.dialog = None
        opts = d.options()
        self.last_path = opts.out
        d.deleteLater()
        try:
            self.start(opts)
        except VideoError as e:  # the folder changed since the dialog checked it
            QMessageBox.warning(self.win, "Export video", field_message(str(e)))

    def start(self, options: VideoOptions) -> VideoExport:
        """Export the scenario as shown now with ``options``; VideoError if they are bad."""
        self.export = VideoExport(self.win.current_scenario(), options, self.win)
        self.export.finished.connect(self._finished)
        self.action.setEnabled(False)
        self.export.start()
        return self.export

    def _finished(self, outcome: ExportOutcome) -> None:
        if self.export is not None:
            self.export.deleteLater()
        self.export = None
        self.action.setEnabled(True)
        self.win.statusBar().showMessage(outcome.message, 15000)
        if outcome.path is None and not outcome.cancelled:
            QMessageBox.warning(self.win, "Export video", outcome.message)
        self.exported.emit(outcome)

    def abort(self) -> None:
        if self.export is not None:
            self.export.abort_and_wait()


def install(win: MainWindow, file_menu: QMenu) -> VideoExporter:
    """Add File -> Export video... after Export PNG... (or at the end)."""
    exporter = VideoExporter(win)
    acts = file_menu.actions()
    after = [i for i, a in enumerate(acts) if a.text().replace("&", "").startswith("Export PNG")]
    if after and after[0] + 1 < len(acts):
        file_menu.insertAction(acts[after[0] + 1], exporter.action)
    else:
        file_menu.addAction(exporter.action)
    return exporter


# ---------------------------------------------------------------------------- child
def worker_main() -> int:
    """The child process (see the module docstring): read the scenario and the options,
    render, report."""
    from gui.video import Cancelled, render_video

    out = sys.stdout

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    # stdin read raw (os.read): a daemon thread blocked in a buffered reader would hold
    # its lock when the interpreter exits, and that is fatal
    fd = sys.stdin.fileno()
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError("the window closed the pipe")
            buf += chunk
        head, buf = buf.split(b"\n", 1)
        n = int(head)
        while len(buf) < n:
            chunk = os.read(fd, max(65536, n - len(buf)))
            if not chunk:
                raise EOFError("the window closed the pipe")
            buf += chunk
        scenario, options = pickle.loads(buf[:n])
        rest = buf[n:]
    except (ValueError, pickle.UnpicklingError, EOFError) as e:
        say(f"error cannot read the scenario from the window: {e}")
        return 2
    cancel = threading.Event()

    def listen() -> None:  # "cancel" or the end of stdin (the window's process is gone)
        seen = rest
        while b"cancel" not in seen:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen = seen[-8:] + chunk
        cancel.set()

    threading.Thread(target=listen, daemon=True).start()
    try:
        req = options.request()
    except VideoError as e:
        say(f"error {field_message(str(e))}")
        return 2
    say("start")
    try:
        res = render_video(
            scenario, req, progress=lambda d, t: say(f"frame {d} {t}"), cancel=cancel
        )
    except Cancelled:
        return 130
    except OSError as e:
        why = e.strerror or str(e).strip().splitlines()[0]
        say(f"error cannot write {str(req.out)!r}: {why}")
        return 2
    info = {"path": str(res.path.absolute()), "frames": res.frames, "bytes": res.bytes}
    say("done " + json.dumps({**info, "timing": res.timing, "steps": res.steps}))
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
