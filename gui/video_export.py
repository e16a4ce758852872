"""File -> Export video...: the export of the race the dialog (gui/video_dialog.py) asked
for, run in a child process with a progress dialog and Cancel; and that child's side.

Where the frames are rendered: in a separate process, ``python -m gui.video_export``,
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

import json
import os
import pickle
import shutil
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QProgressDialog, QWidget

from gui.video import VideoError, part_path
from gui.video_dialog import VideoDialog, VideoOptions, field_message

if TYPE_CHECKING:
    from engine.scenario import Scenario
    from gui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
KILL_AFTER_MS = 5000  # a cancelled child that has not stopped by then is killed


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
    return sys.executable, ["-m", "gui.video_export"]


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
