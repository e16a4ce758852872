"""The window's docks and toolbar as widgets: the race panel (landscape, noise, steps,
racers), the loss panel with its switches, the update equations and the transport.

They hold widgets and show what they are given; the window connects their signals to
the edits and the race.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QStyle,
    QTabBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from engine.landscapes import LANDSCAPES
from engine.optimizers import get_optimizer
from engine.params import ParamSpec
from engine.schedules import get_schedule
from gui.editors import FloatEditor, ParamForm
from gui.loss_panel import LossPanel

SPEED_STEPS = 60  # slider positions; the last one is "as fast as the engine goes"
SPEED_START = 36  # ~1,000 steps/s


def speed_of(pos: int) -> float:
    """Slider position -> steps per second (1 ... 1e5 log-spaced, then unlimited)."""
    if pos >= SPEED_STEPS:
        return math.inf
    return float(10 ** (5.0 * pos / (SPEED_STEPS - 1)))


def reflow(text: str | None) -> str:
    """A description as a paragraph of prose: files wrap lines at ~90 columns, the panel
    wraps to its own width (a blank line still starts a new paragraph)."""
    paras = [" ".join(p.split()) for p in (text or "").strip().split("\n\n")]
    return "\n\n".join(p for p in paras if p)


def scrolled(w: QWidget, horizontal: bool = True) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    if not horizontal:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(w)
    return scroll


def hide_stray_tab_bars(win: QMainWindow) -> int:
    """Hide the main window's dock tab bars that belong to no tab group any more; returns
    how many. Qt (6.10, 6.11) makes a second tab bar for a tab group made after another
    one and leaves it shown where the group was first laid out: after a resize it peeks
    out beside the real one. A bar is kept when it sits right under the dock of its
    current tab; one of a set with the same tabs is always kept."""
    docks = {d.windowTitle(): d for d in win.findChildren(QDockWidget) if d.isVisible()}
    bars = [
        b for b in win.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
        if b.isVisible() and b.count()
    ]  # fmt: skip

    def placed(b: QTabBar) -> bool:
        d = docks.get(b.tabText(b.currentIndex()))
        if d is None:
            return False
        g = d.geometry()
        return abs(b.x() - g.x()) <= 4 and abs(b.y() - (g.bottom() + 1)) <= 6

    hidden = 0
    for b in bars:
        tabs = [b.tabText(i) for i in range(b.count())]
        twins = [o for o in bars if o is not b and [o.tabText(i) for i in range(o.count())] == tabs]
        if twins and not placed(b) and any(placed(o) for o in twins):
            b.hide()
            hidden += 1
    return hidden


class RacePanel(QWidget):
    """The "Race" dock: the description, the landscape and its parameters (or the
    perceptron's data), gradient noise, steps, and the racers' editors in
    ``racer_list`` with Add racer and Sweep… below."""

    def __init__(self, max_steps: int) -> None:
        super().__init__()
        sv = QVBoxLayout(self)
        sv.setContentsMargins(4, 4, 4, 4)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #333; font-style: italic")
        sv.addWidget(self.description)
        sv.addWidget(self._objective_box(max_steps))
        racers_box = QGroupBox("Racers")
        rv = QVBoxLayout(racers_box)
        self.racer_list = QVBoxLayout()
        rv.addLayout(self.racer_list)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add racer")
        self.sweep_button = QPushButton("Sweep…")
        self.sweep_button.setToolTip(
            "Copies of the selected racer with one hyperparameter over a list or a range "
            "(e.g. the notes' η = .001, .005, .01, .015, .02), coloured as a gradient"
        )
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.sweep_button)
        rv.addLayout(buttons)
        sv.addWidget(racers_box)
        sv.addStretch(1)

    def _objective_box(self, max_steps: int) -> QGroupBox:
        box = QGroupBox("Landscape")
        self.obj_layout = QVBoxLayout(box)
        self.landscape_box = QComboBox()
        for name, ls in LANDSCAPES.items():
            self.landscape_box.addItem(f"{name}", name)
            self.landscape_box.setItemData(self.landscape_box.count() - 1, ls.formula, 3)
        self.obj_layout.addWidget(self.landscape_box)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.obj_layout.addWidget(self.formula)
        self.data_label = QLabel()
        self.data_label.setWordWrap(True)
        self.obj_layout.addWidget(self.data_label)
        self.ls_form = ParamForm((), {})
        self.obj_layout.addWidget(self.ls_form)
        misc = QFormLayout()
        noise = ParamSpec(
            "grad_noise", 0.0, "σ of Gaussian noise added to each gradient", lo=0.0, hi=1e3
        )
        self.noise = FloatEditor(noise, 0.0)
        misc.addRow("gradient noise σ", self.noise)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, max_steps)
        self.steps_box.setSingleStep(1000)
        self.steps_box.setKeyboardTracking(False)  # one change per entry, not per key
        misc.addRow("steps", self.steps_box)
        self.restart_on_change = QCheckBox("restart on change")
        self.restart_on_change.setToolTip(
            "Restart the race whenever a hyperparameter changes (otherwise a change takes "
            "effect from the next step)"
        )
        misc.addRow(self.restart_on_change)
        self.obj_layout.addLayout(misc)
        return box


class LossBox(QWidget):
    """The "Loss" dock: the loss panel under its "log y" and "plot |f − f*|" switches."""

    def __init__(self) -> None:
        super().__init__()
        self.loss = LossPanel()
        lv = QVBoxLayout(self)
        lv.setContentsMargins(2, 2, 2, 2)
        opts = QHBoxLayout()
        self.log_y = QCheckBox("log y")
        self.log_y.setChecked(True)
        self.gap_y = QCheckBox("plot |f − f*|")
        self.gap_y.setChecked(True)
        opts.addWidget(self.log_y)
        opts.addWidget(self.gap_y)
        opts.addStretch(1)
        lv.addLayout(opts)
        lv.addWidget(self.loss, 1)


class EquationsView(QScrollArea):
    """The "Update equations" dock: the selected racer's update rule and schedule."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setStyleSheet("font-size: 15pt; padding: 6px; background: white")
        self.setWidgetResizable(True)
        self.setWidget(self.label)

    def show_racer(self, cfg: Any, color: str) -> None:
        """``cfg`` (a RacerConfig) drawn in ``color``; None: nothing."""
        if cfg is None:
            self.label.setText("")
            return
        opt = get_optimizer(cfg.optimizer)
        sch = get_schedule(cfg.schedule)
        eq = opt.equations.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        params = ", ".join(
            f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in cfg.params.items()
        )
        self.label.setText(
            f"<b style='color:{color}'>{cfg.label}</b> — {opt.title}<br>"
            f"<pre style='font-size:15pt'>{eq}</pre>"
            f"<span style='font-size:12pt'>{params}</span><br>"
            f"<span style='font-size:12pt'>schedule: {sch.title}: {sch.formula}</span>"
        )


class Transport(QToolBar):
    """Play/pause, one step, reset, the speed, the step reached, and the map's gradient
    field and step arrows switches (the window adds the equations dock's)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        # Qt's own media icons: glyphs such as ⏸ are missing from many Linux desktop fonts
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        icon = parent.style().standardIcon
        self.play_action = QAction(icon(QStyle.StandardPixmap.SP_MediaPlay), "Play", parent)
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.step_action = QAction(icon(QStyle.StandardPixmap.SP_MediaSkipForward), "Step", parent)
        self.step_action.setToolTip(
            "One update of every racer (→); while replaying, the next recorded step"
        )
        self.step_action.setShortcut(QKeySequence(Qt.Key.Key_Right))
        self.reset_action = QAction(icon(QStyle.StandardPixmap.SP_BrowserReload), "Reset", parent)
        self.reset_action.setToolTip("Back to the start (R)")
        self.reset_action.setShortcut(QKeySequence(Qt.Key.Key_R))
        for a in (self.play_action, self.step_action, self.reset_action):
            a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            self.addAction(a)
        self.addSeparator()
        self.addWidget(QLabel(" speed "))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, SPEED_STEPS)
        self.speed.setValue(SPEED_START)
        self.speed.setFixedWidth(200)
        self.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(110)
        self.addWidget(self.speed_label)
        self.addSeparator()
        self.step_label = QLabel("step 0")
        self.step_label.setMinimumWidth(160)
        self.step_label.setStyleSheet("font-weight: bold")
        self.addWidget(self.step_label)
        self.addSeparator()
        self.quiver_action = QAction("gradient field", parent, checkable=True)
        self.arrows_action = QAction("step arrows", parent, checkable=True)
        self.arrows_action.setToolTip(
            "At each racer's head: the actual last update (solid), −η·∇f (thin) and the "
            "momentum/velocity where the optimizer has one (dashed); one common scale"
        )
        self.addAction(self.quiver_action)
        self.addAction(self.arrows_action)

    def show_playing(self, playing: bool) -> None:
        """The play action as Pause while the race plays, else as Play."""
        what = "Pause" if playing else "Play"
        self.play_action.setText(what)
        self.play_action.setToolTip(f"{what} the race (Space)")
        pixmap = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_action.setIcon(self.style().standardIcon(pixmap))

    def show_speed(self, steps_per_second: float) -> None:
        sps = steps_per_second
        self.speed_label.setText("max" if math.isinf(sps) else f"{sps:.3g} steps/s")
