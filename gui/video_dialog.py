"""File -> Export video...: the dialog, its options and their checks.

The dialog asks what ``main.py render --video`` asks (path, frames per second, a duration
or steps per frame, the timing, the size, the layout) and checks it with the same rules,
:func:`gui.video.make_request`, on every edit: a bad value shows the message (naming the
field) under the form and disables Export. What it asks is a :class:`VideoOptions`;
gui/video_export.py runs the export of it in a child process.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtGui import QStandardItemModel
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
    video_kind,
)

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
            self.kind.setText("—")  # no format from a path that names none
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
