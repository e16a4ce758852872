"""The main window: a live race on a landscape, with the side panel and the transport.

Threading: the race runs in one :class:`engine.runner.RaceRunner` thread (numba kernels
with the GIL released). This GUI thread is the only one that touches widgets: a 60 Hz
QTimer pulls the rows added since the last frame from the race's buffers and redraws.
Edits go to the engine between chunks through the Race API.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from engine.landscapes import LANDSCAPES, get_landscape
from engine.objective import LandscapeObjective
from engine.optimizers import get_optimizer
from engine.params import ParamError, ParamSpec
from engine.race import Race, RacerConfig
from engine.runner import RaceRunner
from engine.scenario import (
    Scenario,
    ScenarioError,
    dumps_scenario,
    load_scenario,
    loads_scenario,
    save_scenario,
)
from engine.schedules import get_schedule
from gui.document import ScenarioDocument, SnapshotCommand, snapshot
from gui.editors import FloatEditor, ParamForm
from gui.multiples import SmallMultiples
from gui.palette import color_for
from gui.panels import LEVELS, LandscapePanel, LossPanel
from gui.perceptron import EpochSampler, PerceptronPanel
from gui.racers import RacerEditor
from gui.scenario_form import DELETE, ScenarioForm

DEFAULT_SCENARIO = """
schema = 1
name = "Rosenbrock race"
description = "Five optimizers from (-1.5, 2) down the curved valley of Rosenbrock's function. \
Notice how plain SGD crawls along the valley floor while Adam and RMSProp adapt their step."
steps = 5000
seed = 0
[objective]
kind = "landscape"
name = "rosenbrock"
params = { a = 1.0, b = 100.0 }
start = [-1.5, 2.0]
grad_noise = 0.0
[[optimizers]]
name = "adam"
label = "Adam"
params = { lr = 0.05 }
[[optimizers]]
name = "rmsprop"
label = "RMSProp"
params = { lr = 0.005 }
[[optimizers]]
name = "nag"
label = "NAG"
params = { lr = 0.0005, momentum = 0.9 }
[[optimizers]]
name = "momentum"
label = "Momentum"
params = { lr = 0.002, momentum = 0.9 }
[[optimizers]]
name = "sgd"
label = "SGD"
params = { lr = 0.001 }
"""

#: [view] keys the window shows without redrawing the map (toggles, not a restart)
SHOWN_FLAGS = (
    "gradient_field", "step_arrows", "equations", "log_y", "loss_gap", "small_multiples",
    "equal_aspect",
)  # fmt: skip
#: the leaderboard's columns, and the tooltips of those that need one
BOARD_COLUMNS = ("#", "racer", "loss", "best / val acc", "steps to tol", "first in tol", "status")
BOARD_TIPS = {
    "steps to tol": "the step from which the run stays within tolerance (—: outside it now)",
    "first in tol": "the step at which the run first came within tolerance (it may have left "
    "it again)",
    "status": "diverged @ k: the loss or gradient overflowed, or the loss gap grew beyond "
    "the divergence factor x its start; unbounded below @ k: the loss fell without bound",
}
SPEED_STEPS = 60  # slider positions; the last one is "as fast as the engine goes"
MAX_RACE_STEPS = 2_000_000  # 8 racers x 2M steps keep ~0.6 GB of full-resolution data


def speed_of(pos: int) -> float:
    """Slider position -> steps per second (1 ... 1e5 log-spaced, then unlimited)."""
    if pos >= SPEED_STEPS:
        return math.inf
    return float(10 ** (5.0 * pos / (SPEED_STEPS - 1)))


def arrow_segments(x0: float, y0: float, dx: float, dy: float) -> tuple[list, list]:
    """Shaft and two head strokes of one arrow, as point pairs."""
    L = math.hypot(dx, dy)
    if not (L > 0 and math.isfinite(L)):
        return [], []
    x1, y1 = x0 + dx, y0 + dy
    ux, uy = dx / L, dy / L
    h = 0.25 * L
    ax = x1 - h * (ux * 0.866 - uy * 0.5)
    ay = y1 - h * (uy * 0.866 + ux * 0.5)
    bx = x1 - h * (ux * 0.866 + uy * 0.5)
    by = y1 - h * (uy * 0.866 - ux * 0.5)
    return [x0, x1, x1, ax, x1, bx], [y0, y1, y1, ay, y1, by]


class MainWindow(QMainWindow):
    """Gradient Arena's race window."""

    def __init__(self, scenario: Scenario | None = None, start_runner: bool = True) -> None:
        super().__init__()
        self.settings = app_settings()
        self.scenario = (
            scenario
            if scenario is not None
            else loads_scenario(DEFAULT_SCENARIO, source="<default scenario>")
        )
        self.race: Race | None = None
        self.runner: RaceRunner | None = None
        self.start_runner = start_runner
        self.editors: list[RacerEditor] = []
        self.selected = 0
        self.is_perceptron = False
        self.frame_times: list[float] = []
        self.epochs = EpochSampler()  # per-epoch metrics within a time budget per frame
        self._frame = 0
        self._last_counts: list[int] = []
        self.document = ScenarioDocument(self.current_scenario, self)
        self._shown: Scenario | None = None  # snapshot of what the window shows
        self._applying = False  # True while undo/redo/revert applies a snapshot
        self.setWindowTitle("Gradient Arena")
        self.resize(1500, 950)
        self.setAcceptDrops(True)
        self._build_ui()
        self.load(self.scenario)
        self.document.reset(self.current_scenario(), self.scenario.source)
        self.document.changed.connect(self._update_title)
        self._update_title()
        self.timer = QTimer(self)
        # precise: a coarse timer may fire up to 5 % late, which alone caps a 16 ms
        # frame clock below 60 frames/s
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(16)
        self.timer.timeout.connect(self.on_frame)
        self.timer.start()
        self._restore_settings()

    # ------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        big = QFont()
        big.setPointSize(11)
        self.setFont(big)
        self.landscape = LandscapePanel()
        self.perceptron = PerceptronPanel()
        self.central = QStackedWidget()
        self.central.addWidget(self.landscape)
        self.central.addWidget(self.perceptron)
        self.multiples = SmallMultiples()  # View > Small multiples: one panel per racer
        self.central.addWidget(self.multiples)
        self.setCentralWidget(self.central)
        self.landscape.startChosen.connect(self.on_start_chosen)
        self.multiples.startChosen.connect(self.on_start_chosen)
        self.perceptron.startChosen.connect(self.on_weights_chosen)

        # loss dock
        self.loss = LossPanel()
        loss_box = QWidget()
        lv = QVBoxLayout(loss_box)
        lv.setContentsMargins(2, 2, 2, 2)
        opts = QHBoxLayout()
        self.log_y = QCheckBox("log y")
        self.log_y.setChecked(True)
        self.gap_y = QCheckBox("plot |f − f*|")
        self.gap_y.setChecked(True)
        for w in (self.log_y, self.gap_y):
            opts.addWidget(w)
            w.toggled.connect(self._on_loss_mode)
        opts.addStretch(1)
        lv.addLayout(opts)
        lv.addWidget(self.loss, 1)
        self.loss_dock = self._dock("Loss", loss_box, Qt.DockWidgetArea.BottomDockWidgetArea)

        # leaderboard dock
        self.board = QTableWidget(0, len(BOARD_COLUMNS))
        self.board.setHorizontalHeaderLabels(list(BOARD_COLUMNS))
        for col, tip in BOARD_TIPS.items():
            self.board.horizontalHeaderItem(BOARD_COLUMNS.index(col)).setToolTip(tip)
        self.board.verticalHeader().hide()
        head = self.board.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # labels get the room
        self.board.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.board_dock = self._dock(
            "Leaderboard", self.board, Qt.DockWidgetArea.BottomDockWidgetArea
        )

        # equations dock
        self.equations = QLabel()
        self.equations.setWordWrap(True)
        self.equations.setTextFormat(Qt.TextFormat.RichText)
        self.equations.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.equations.setStyleSheet("font-size: 15pt; padding: 6px; background: white")
        eq_scroll = QScrollArea()
        eq_scroll.setWidgetResizable(True)
        eq_scroll.setWidget(self.equations)
        self.eq_dock = self._dock(
            "Update equations", eq_scroll, Qt.DockWidgetArea.BottomDockWidgetArea
        )

        # side panel dock
        side = QWidget()
        sv = QVBoxLayout(side)
        sv.setContentsMargins(4, 4, 4, 4)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #333; font-style: italic")
        sv.addWidget(self.description)
        obj_box = QGroupBox("Landscape")
        self.obj_layout = QVBoxLayout(obj_box)
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
        self.noise = FloatEditor(
            ParamSpec(
                "grad_noise", 0.0, "σ of Gaussian noise added to each gradient", lo=0.0, hi=1e3
            ),
            0.0,
        )
        misc.addRow("gradient noise σ", self.noise)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, MAX_RACE_STEPS)
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
        sv.addWidget(obj_box)
        self.landscape_box.currentIndexChanged.connect(self._on_landscape_chosen)
        self.noise.valueChanged.connect(self._on_noise)
        self.steps_box.valueChanged.connect(self._on_steps)

        racers_box = QGroupBox("Racers")
        rv = QVBoxLayout(racers_box)
        self.racer_list = QVBoxLayout()
        rv.addLayout(self.racer_list)
        buttons = QHBoxLayout()
        add = QPushButton("Add racer")
        add.clicked.connect(self._add_racer)
        sweep = QPushButton("Sweep…")
        sweep.setToolTip(
            "Copies of the selected racer with one hyperparameter over a list or a range "
            "(e.g. the notes' η = .001, .005, .01, .015, .02), coloured as a gradient"
        )
        sweep.clicked.connect(self.sweep_dialog)
        buttons.addWidget(add)
        buttons.addWidget(sweep)
        rv.addLayout(buttons)
        sv.addWidget(racers_box)
        sv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(side)
        scroll.setMinimumWidth(360)
        self.side_dock = self._dock("Race", scroll, Qt.DockWidgetArea.RightDockWidgetArea)

        # scenario dock: every other key of the file, errors shown at the field
        self.fields = ScenarioForm()
        self.fields.edited.connect(self.edit_field)
        fscroll = QScrollArea()
        fscroll.setWidgetResizable(True)
        fscroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        fscroll.setWidget(self.fields)
        self.fields_dock = self._dock("Scenario", fscroll, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.side_dock, self.fields_dock)
        self.side_dock.raise_()

        # transport toolbar
        tb = QToolBar("Transport")
        tb.setObjectName("transport")
        self.addToolBar(tb)
        # Qt's own media icons: glyphs such as ⏸ are missing from many Linux desktop fonts
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        icon = self.style().standardIcon
        self.play_action = QAction(icon(QStyle.StandardPixmap.SP_MediaPlay), "Play", self)
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.play_action.triggered.connect(self.toggle_play)
        self.step_action = QAction(icon(QStyle.StandardPixmap.SP_MediaSkipForward), "Step", self)
        self.step_action.setToolTip("One update of every racer (→)")
        self.step_action.setShortcut(QKeySequence(Qt.Key.Key_Right))
        self.step_action.triggered.connect(self.step_once)
        self.reset_action = QAction(icon(QStyle.StandardPixmap.SP_BrowserReload), "Reset", self)
        self.reset_action.setToolTip("Back to the start (R)")
        self.reset_action.setShortcut(QKeySequence(Qt.Key.Key_R))
        self.reset_action.triggered.connect(self.reset_race)
        for a in (self.play_action, self.step_action, self.reset_action):
            a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            tb.addAction(a)
        tb.addSeparator()
        tb.addWidget(QLabel(" speed "))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, SPEED_STEPS)
        self.speed.setValue(36)
        self.speed.setFixedWidth(200)
        self.speed.valueChanged.connect(self._on_speed)
        tb.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(110)
        tb.addWidget(self.speed_label)
        tb.addSeparator()
        self.step_label = QLabel("step 0")
        self.step_label.setMinimumWidth(160)
        self.step_label.setStyleSheet("font-weight: bold")
        tb.addWidget(self.step_label)
        tb.addSeparator()
        self.quiver_action = QAction("gradient field", self, checkable=True)
        self.quiver_action.toggled.connect(self.landscape.set_quiver)
        self.arrows_action = QAction("step arrows", self, checkable=True)
        self.arrows_action.setToolTip(
            "At each racer's head: the actual last update (solid), −η·∇f (thin) and the "
            "momentum/velocity where the optimizer has one (dashed); one common scale"
        )
        tb.addAction(self.quiver_action)
        tb.addAction(self.arrows_action)
        tb.addAction(self.eq_dock.toggleViewAction())
        # a user's toggle is a scenario edit ([view] keys) and an undo step
        self.quiver_action.triggered.connect(lambda on: self._on_view_flag("gradient_field", on))
        self.arrows_action.triggered.connect(lambda on: self._on_view_flag("step_arrows", on))
        self.eq_dock.toggleViewAction().triggered.connect(
            lambda on: self._on_view_flag("equations", on)
        )
        self.log_y.clicked.connect(lambda on: self._on_view_flag("log_y", on))
        self.gap_y.clicked.connect(lambda on: self._on_view_flag("loss_gap", on))

        # menus
        fm = self.menuBar().addMenu("&File")
        new = fm.addAction("&New scenario")
        new.setShortcut(QKeySequence.StandardKey.New)
        new.triggered.connect(self.new_scenario)
        op = fm.addAction("&Open scenario…")
        op.setShortcut(QKeySequence.StandardKey.Open)
        op.triggered.connect(self.open_dialog)
        self.recent_menu = fm.addMenu("Open &recent")
        self.save_action = fm.addAction("&Save")
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.save)
        save_as = fm.addAction("Save &as…")
        save_as.setShortcut(QKeySequence.StandardKey.SaveAs)
        save_as.triggered.connect(self.save_as_dialog)
        self.revert_action = fm.addAction("Re&vert to saved")
        self.revert_action.triggered.connect(self.revert)
        fm.addSeparator()
        ex = fm.addAction("Export &trajectories…")
        ex.triggered.connect(self.export_dialog)
        png = fm.addAction("Export &PNG…")
        png.triggered.connect(self.export_png_dialog)
        fm.addSeparator()
        q = fm.addAction("&Quit")
        q.setShortcut(QKeySequence.StandardKey.Quit)
        q.triggered.connect(self.close)
        em = self.menuBar().addMenu("&Edit")
        self.undo_action = self.document.stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.document.stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        em.addAction(self.undo_action)
        em.addAction(self.redo_action)
        em.addSeparator()
        sw = em.addAction("&Sweep a hyperparameter…")
        sw.triggered.connect(self.sweep_dialog)
        vm = self.menuBar().addMenu("&View")
        for d in (self.side_dock, self.fields_dock, self.loss_dock, self.board_dock, self.eq_dock):
            vm.addAction(d.toggleViewAction())
        vm.addAction(self.quiver_action)
        vm.addAction(self.arrows_action)
        self.aspect_action = QAction("&Equal aspect", self, checkable=True)
        self.aspect_action.setChecked(True)
        self.aspect_action.setToolTip(
            "Maps in 1:1 data units, so angles and distances read true (a round bowl is "
            "round); off: each axis fills the panel"
        )
        self.aspect_action.toggled.connect(self._set_equal_aspect)
        self.aspect_action.triggered.connect(lambda on: self._on_view_flag("equal_aspect", on))
        vm.addAction(self.aspect_action)
        vm.addSeparator()
        self.multiples_action = QAction("Small &multiples", self, checkable=True)
        self.multiples_action.setShortcut(QKeySequence("Ctrl+M"))
        self.multiples_action.setToolTip(
            "One small landscape per enabled racer, axes linked, each with only its own "
            "trail (landscape races; a perceptron race shows every decision line already)"
        )
        self.multiples_action.toggled.connect(self._show_central)
        self.multiples_action.triggered.connect(
            lambda on: self._on_view_flag("small_multiples", on)
        )
        vm.addAction(self.multiples_action)
        self._on_speed(self.speed.value())
        self.splitDockWidget(self.loss_dock, self.board_dock, Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.board_dock, self.eq_dock)
        self.board_dock.raise_()
        self.resizeDocks([self.side_dock], [400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.loss_dock], [300], Qt.Orientation.Vertical)
        self.resizeDocks([self.loss_dock, self.board_dock], [700, 420], Qt.Orientation.Horizontal)

    def _dock(self, title: str, w: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(title)
        d.setWidget(w)
        self.addDockWidget(area, d)
        return d

    # ------------------------------------------------------------ scenario / race
    def load(self, scenario: Scenario) -> None:
        """Show and (re)start ``scenario``'s race (paused)."""
        self.scenario = scenario
        obj = scenario.objective
        for i, c in enumerate(scenario.racers):
            if not c.color:
                c.color = color_for(i)
        self.description.setText(reflow(scenario.description))
        self.landscape_box.blockSignals(True)
        self.landscape_box.setCurrentText(obj.name)
        self.landscape_box.blockSignals(False)
        self.steps_box.blockSignals(True)
        self.steps_box.setValue(scenario.steps)
        self.steps_box.blockSignals(False)
        self.noise.blockSignals(True)
        self.noise.setValue(obj.grad_noise)
        self.noise.blockSignals(False)
        if obj.kind == "perceptron":
            from engine.scenario import build_race

            objective = build_race(scenario).objective
            self.steps_box.blockSignals(True)
            self.steps_box.setValue(int(objective.total_steps))
            self.steps_box.blockSignals(False)
        else:
            objective = LandscapeObjective.create(obj.name, obj.params, obj.start, obj.grad_noise)
        self._set_objective(objective, list(scenario.racers))
        self._show_view_flags(scenario.view)
        self._shown = snapshot(self.current_scenario())
        self.fields.show_scenario(self._shown)
        self._update_title()

    def _set_objective(self, objective: Any, racers: list[RacerConfig]) -> None:
        was_playing = self.runner.playing if self.runner is not None else False
        self._stop_runner()
        perceptron = objective.kind != 0
        self.is_perceptron = perceptron
        self._show_central()
        for w in (self.landscape_box, self.formula, self.ls_form):
            w.setVisible(not perceptron)
        self.data_label.setVisible(perceptron)
        self.quiver_action.setEnabled(not perceptron)
        self.arrows_action.setEnabled(not perceptron)
        self.multiples_action.setEnabled(not perceptron)
        self.race = Race(
            objective,
            racers,
            steps=self.steps_box.value(),
            seed=self.scenario.seed,
            tolerance=self.scenario.tolerance,
        )
        if perceptron:
            self.data_label.setText(
                f"<b>Perceptron</b> a = σ(w₁x₁ + w₂x₂ + b), mean binary cross-entropy.<br>"
                f"{objective.describe()}<br>mode: {objective.mode}, "
                f"{objective.steps_per_epoch} updates per epoch"
            )
            self.perceptron.set_data(objective.data, objective.describe())
            self.perceptron.set_start_marker(*objective.start[:2])
            self.loss.set_mode(None, False, self.log_y.isChecked())
            self.loss.set_smoothing(objective.steps_per_epoch)
            self.loss.set_quantity("loss", self.loss.smoothing_note())
            self.gap_y.setEnabled(False)
        else:
            ls = objective.landscape
            self.formula.setText(ls.formula)
            new_form = ParamForm(ls.params, objective.params)
            self.obj_layout.replaceWidget(self.ls_form, new_form)
            self.ls_form.deleteLater()
            self.ls_form = new_form
            self.ls_form.changed.connect(self._on_landscape_param)
            view = ls.view
            sv = getattr(self.scenario, "view", None)
            if sv is not None and obj_name_matches(self.scenario, ls.name):
                view = (*(sv.x_range or view[:2]), *(sv.y_range or view[2:]))
            self.landscape.levels = sv.levels if sv is not None and sv.levels else LEVELS
            self.landscape.log_color = not (sv is not None and sv.log_color is False)
            self.landscape.set_landscape(
                ls.lid,
                objective.packed,
                view,
                objective.minima(),
                objective.saddles(),
                objective.f_star(),
            )
            self.landscape.set_start_marker(*objective.start[:2])
            self.multiples.set_start_marker(*objective.start[:2])
            self.multiples.set_landscape(
                ls.lid,
                objective.packed,
                view,
                objective.minima(),
                objective.saddles(),
                objective.f_star(),
                levels=self.landscape.levels,
                log_color=self.landscape.log_color,
                equal_aspect=not (sv is not None and getattr(sv, "equal_aspect", None) is False),
            )
            self.loss.set_smoothing(None)
            self.loss.set_quantity("f")
            self.loss.set_mode(objective.f_star(), self.gap_y.isChecked(), self.log_y.isChecked())
            self.gap_y.setEnabled(objective.f_star() is not None)
        self._rebuild_racers()
        self.loss.show_steps(self.race.steps)
        if self.start_runner:
            self.runner = RaceRunner(self.race, steps_per_second=speed_of(self.speed.value()))
            if was_playing:
                self.runner.play()
        self._sync_play()

    def _stop_runner(self) -> None:
        if self.runner is not None:
            self.runner.stop(1.0)
            self.runner = None

    def _rebuild_racers(self) -> None:
        assert self.race is not None
        for ed in self.editors:
            self.racer_list.removeWidget(ed)
            ed.deleteLater()
        self.editors = []
        for cfg in self.race.racers:
            ed = RacerEditor(cfg, perceptron=self.is_perceptron)
            ed.startChanged.connect(self._on_racer_start)
            ed.paramsChanged.connect(self._on_params)
            ed.scheduleChanged.connect(self._on_schedule)
            ed.optimizerChanged.connect(self._on_optimizer)
            ed.enabledChanged.connect(self._on_enabled)
            ed.styleChanged.connect(self._on_style)
            ed.duplicateRequested.connect(self._duplicate)
            ed.removeRequested.connect(self._remove)
            ed.selected.connect(self._select)
            self.racer_list.addWidget(ed)
            self.editors.append(ed)
        self.selected = min(self.selected, max(len(self.editors) - 1, 0))
        self._restyle()

    def _restyle(self) -> None:
        assert self.race is not None
        labels = [c.label for c in self.race.racers]
        colors = [c.color or color_for(i) for i, c in enumerate(self.race.racers)]
        self.landscape.set_racers(labels, colors)
        self.multiples.set_racers(labels, colors, [c.enabled for c in self.race.racers])
        self.perceptron.set_racers(labels, colors)
        self.loss.set_racers(labels, colors)
        self._last_counts = [-1] * len(labels)
        for i, ed in enumerate(self.editors):
            ed.set_selected(i == self.selected)
        self._show_equations()
        self.on_frame()

    def _index(self, ed: RacerEditor) -> int:
        return self.editors.index(ed)

    # ------------------------------------------------------------ undo / document
    def _record(self, text: str, key: str = "", gesture: object | None = None) -> None:
        """Push the edit just applied onto the undo stack (before/after snapshots)."""
        if self._applying or self.race is None or self._shown is None:
            return
        after = snapshot(self.current_scenario())
        if after == self._shown:
            return
        cmd = SnapshotCommand(text, self._shown, after, self.apply_scenario, key, gesture)
        self._shown = after
        self.document.stack.push(cmd)
        self._update_title()

    def _update_title(self) -> None:
        if not hasattr(self, "document") or self.race is None:
            return
        doc = self.document
        self.setWindowTitle(f"{self.scenario.name} — {doc.display_name()}[*] — Gradient Arena")
        self.setWindowModified(doc.is_dirty())
        self.revert_action.setEnabled(doc.path is not None)

    def apply_scenario(self, scn: Scenario) -> None:
        """Show ``scn`` (undo, redo, revert, the scenario fields), applying what differs.

        Hyperparameters, schedules, labels, colours, enabled flags, steps, gradient noise
        and tolerance change the running race in place (with "restart on change" the
        racer restarts); another objective, start, seed, view or set of racers reloads.
        """
        assert self.race is not None
        self._applying = True
        try:
            self._apply(scn)
        finally:
            self._applying = False
        self._shown = snapshot(self.current_scenario())
        self.fields.show_scenario(self._shown)
        self._update_title()

    def edit_field(self, key: str, value: Any) -> bool:
        """Set scenario key ``key`` ("view.x_range"; DELETE removes it) and apply.

        The whole scenario is validated by the engine (the same validation as a file);
        a problem is shown at its field and nothing changes. True when applied.
        """
        from engine.scenario import scenario_from_dict, scenario_to_dict

        if self.race is None or self._shown is None:
            return False
        d = scenario_to_dict(self.current_scenario())
        *parents, leaf = key.split(".")
        node = d
        for k in parents:
            node = node.setdefault(k, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
        path = self.document.path
        try:
            new = scenario_from_dict(
                d,
                source=str(path) if path is not None else "untitled scenario",
                base_dir=path.parent if path is not None else None,
            )
        except ScenarioError as e:
            self.fields.show_problems(e.problems)
            return False
        if new == self._shown and dumps_scenario(new) == dumps_scenario(self._shown):
            self.fields.show_problems([])
            return True
        before = self._shown
        self.apply_scenario(new)
        self.document.stack.push(
            SnapshotCommand(f"scenario {key}", before, self._shown, self.apply_scenario, key)
        )
        self._update_title()
        return True

    def _apply(self, scn: Scenario) -> None:
        from dataclasses import replace

        race = self.race
        assert race is not None
        old = self.current_scenario()
        structural = (
            replace(scn.objective, grad_noise=0.0) != replace(old.objective, grad_noise=0.0)
            or scn.seed != old.seed
            or replace(scn.view, **dict.fromkeys(SHOWN_FLAGS))
            != replace(old.view, **dict.fromkeys(SHOWN_FLAGS))
            or len(scn.racers) != len(old.racers)
            or any(
                a.start != b.start or a.schedule_unit != b.schedule_unit
                for a, b in zip(scn.racers, old.racers, strict=True)
            )
        )
        if structural:
            self.load(scn)
            return
        restart = self.restart_on_change.isChecked()
        for i, (new, cur) in enumerate(zip(scn.racers, old.racers, strict=True)):
            if new == cur:
                continue
            if new.optimizer != cur.optimizer:
                race.set_optimizer(i, new.optimizer, new.params)
            elif new.params != cur.params:
                race.set_params(i, new.params, restart=restart)
            if (new.schedule, new.schedule_params) != (cur.schedule, cur.schedule_params):
                race.set_schedule(i, new.schedule, new.schedule_params, restart=restart)
            if new.enabled != cur.enabled:
                race.set_enabled(i, new.enabled)
            race.racers[i].label = new.label
            race.racers[i].color = new.color
        if scn.objective.grad_noise != old.objective.grad_noise:
            race.set_noise(scn.objective.grad_noise)
            self.noise.blockSignals(True)
            self.noise.setValue(scn.objective.grad_noise)
            self.noise.blockSignals(False)
        if scn.steps != old.steps and not self.is_perceptron:
            race.extend(scn.steps)
            self.loss.show_steps(race.steps)
            self.steps_box.blockSignals(True)
            self.steps_box.setValue(race.steps)
            self.steps_box.blockSignals(False)
        race.tolerance = scn.tolerance
        self.scenario = replace(
            self.scenario,
            name=scn.name,
            description=scn.description,
            tolerance=scn.tolerance,
            view=replace(scn.view),
        )
        self._show_view_flags(scn.view)
        self.description.setText(reflow(scn.description))
        self._rebuild_racers()

    # ------------------------------------------------------------ edits
    def _on_params(self, ed: RacerEditor, params: dict[str, Any]) -> None:
        assert self.race is not None
        i = self._index(ed)
        try:
            self.race.set_params(i, params, restart=self.restart_on_change.isChecked())
        except ParamError as e:  # a combination the optimizer does not define
            ed.params.set_values(self.race.racers[i].params)  # the editors show what runs
            self.statusBar().showMessage(f"{ed.cfg.label}: {e}", 10000)
            return
        ed.cfg.params = self.race.racers[i].params
        names = ", ".join(params)
        self._record(
            f"{ed.cfg.label}: {names}", key=f"racer{i}.{names}", gesture=FloatEditor.active_drag
        )

    def _on_schedule(self, ed: RacerEditor) -> None:
        assert self.race is not None
        try:
            self.race.set_schedule(
                self._index(ed),
                ed.cfg.schedule,
                ed.cfg.schedule_params,
                restart=self.restart_on_change.isChecked(),
            )
        except ValueError as e:
            self.statusBar().showMessage(f"schedule: {e}", 6000)
        self._show_equations()
        i = self._index(ed)
        self._record(
            f"{ed.cfg.label}: schedule", key=f"racer{i}.schedule", gesture=FloatEditor.active_drag
        )

    def _on_optimizer(self, ed: RacerEditor) -> None:
        assert self.race is not None
        i = self._index(ed)
        self.race.set_optimizer(i, ed.cfg.optimizer, ed.cfg.params)
        self.race.racers[i].label = ed.cfg.label
        ed.cfg = self.race.racers[i]
        self._restyle()
        self._record(f"{ed.cfg.label}: optimizer {ed.cfg.optimizer}")

    def _on_enabled(self, ed: RacerEditor, on: bool) -> None:
        assert self.race is not None
        self.race.set_enabled(self._index(ed), on)
        self._record(f"{ed.cfg.label}: {'enable' if on else 'disable'}")

    def _add_racer(self) -> None:
        assert self.race is not None
        n = len(self.race.racers)
        self.race.add_racer(
            RacerConfig("adam", {"lr": 0.01}, label=f"adam {n + 1}", color=color_for(n))
        )
        self._rebuild_racers()
        self._record("add racer")

    def _duplicate(self, ed: RacerEditor) -> None:
        assert self.race is not None
        c = ed.cfg
        n = len(self.race.racers)
        self.race.add_racer(
            RacerConfig(
                c.optimizer,
                dict(c.params),
                c.schedule,
                dict(c.schedule_params),
                label=f"{c.label} copy",
                color=color_for(n),
                enabled=c.enabled,
                start=c.start,
                schedule_unit=c.schedule_unit,
            )
        )
        self._rebuild_racers()
        self._record(f"duplicate {c.label}")

    def _remove(self, ed: RacerEditor) -> None:
        assert self.race is not None
        label = ed.cfg.label
        self.race.remove_racer(self._index(ed))
        self._rebuild_racers()
        self._record(f"remove {label}")

    def _on_racer_start(self, ed: RacerEditor, start: tuple[float, ...] | None) -> None:
        """A racer's own start (None: back to the scenario's); restarts that racer."""
        assert self.race is not None
        i = self._index(ed)
        self.race.set_start(start if start is not None else self.race.objective.start, racer=i)
        self.race.racers[i].start = start
        self._last_counts = [-1] * len(self.race.racers)
        self.on_frame()
        self._record(f"{ed.cfg.label}: own start")

    def _on_view_flag(self, name: str, on: bool) -> None:
        from dataclasses import replace

        self.scenario.view = replace(self.scenario.view, **{name: bool(on)})
        self._record(f"view {name} {'on' if on else 'off'}")

    def _set_equal_aspect(self, on: bool) -> None:
        self.landscape.set_equal_aspect(on)
        self.perceptron.set_equal_aspect(on)
        self.multiples.set_equal_aspect(on)

    def _show_view_flags(self, view: Any) -> None:
        """What the scenario's [view] says is shown; None keeps the user's choice (equal
        aspect: None means on)."""
        self.aspect_action.setChecked(view.equal_aspect is not False)
        if view.gradient_field is not None:
            self.quiver_action.setChecked(bool(view.gradient_field))
        if view.step_arrows is not None:
            self.arrows_action.setChecked(bool(view.step_arrows))
        if view.equations is not None:
            self.eq_dock.setVisible(bool(view.equations))
        if view.log_y is not None and self.log_y.isChecked() != view.log_y:
            self.log_y.setChecked(bool(view.log_y))
        if view.loss_gap is not None and self.gap_y.isChecked() != view.loss_gap:
            self.gap_y.setChecked(bool(view.loss_gap))
        if view.small_multiples is not None:
            self.multiples_action.setChecked(bool(view.small_multiples))

    def _show_central(self, *_args: object) -> None:
        """The perceptron's panels, the single landscape or its small multiples.

        Only the panel shown pulls rows each frame; the other catches up (from where it
        left off) when it is shown again.
        """
        if self.is_perceptron:
            widget = self.perceptron
        elif self.multiples_action.isChecked():
            widget = self.multiples
        else:
            widget = self.landscape
        if widget is self.central.currentWidget():
            return
        self.central.setCurrentWidget(widget)
        if self.race is not None:
            self._last_counts = [-1] * len(self.race.racers)  # the next frame draws all

    def _on_style(self, ed: RacerEditor) -> None:
        self._restyle()
        self._record(f"{ed.cfg.label}: label / colour")

    def sweep_dialog(self) -> None:
        from gui.sweep import SweepDialog

        assert self.race is not None
        if not self.race.racers:
            return
        dlg = SweepDialog(list(self.race.racers), self.selected, self)
        if dlg.exec():
            self.sweep(dlg.racer.currentIndex(), dlg.result_racers(), dlg.replace.isChecked())

    def sweep(self, i: int, made: list[RacerConfig], replace_racer: bool = True) -> bool:
        """Put the sweep's racers in place of racer ``i`` (or after it): one undo step."""
        from engine.scenario import MAX_RACERS

        race = self.race
        assert race is not None
        total = len(race.racers) + len(made) - (1 if replace_racer else 0)
        if total > MAX_RACERS:
            self.statusBar().showMessage(
                f"a race holds at most {MAX_RACERS} racers; this sweep would make {total}", 8000
            )
            return False
        if replace_racer:
            race.remove_racer(i)
        for cfg in made:
            race.add_racer(cfg)
        self._rebuild_racers()
        self._record(f"sweep {len(made)} racers")
        return True

    def _select(self, ed: RacerEditor) -> None:
        self.selected = self._index(ed)
        for i, e in enumerate(self.editors):
            e.set_selected(i == self.selected)
        self._show_equations()

    def _on_landscape_chosen(self, _idx: int) -> None:
        assert self.race is not None
        name = self.landscape_box.currentData()
        ls = get_landscape(name)
        obj = LandscapeObjective.create(name, {}, ls.start, self.noise.value())
        for c in self.race.racers:
            c.start = None
        self._set_objective(obj, list(self.race.racers))
        self.scenario.view = type(self.scenario.view)()  # the old view box was for another map
        self._record(f"landscape {name}")

    def _on_landscape_param(self, name: str, value: Any) -> None:
        assert self.race is not None
        old = self.race.objective
        params = {**old.params, name: value}
        try:
            obj = LandscapeObjective.create(old.name, params, old.start, old.grad_noise)
        except ValueError as e:
            self.statusBar().showMessage(str(e), 6000)
            return
        self._set_objective(obj, list(self.race.racers))
        self._record(f"landscape {name}", key=f"landscape.{name}", gesture=FloatEditor.active_drag)

    def _on_noise(self, sigma: float) -> None:
        assert self.race is not None
        self.race.set_noise(sigma)
        self._record("gradient noise", key="grad_noise", gesture=FloatEditor.active_drag)

    def _on_steps(self, steps: int) -> None:
        assert self.race is not None
        self.race.extend(steps)
        self.loss.show_steps(steps)
        self._record(f"steps {steps:,}")

    def on_start_chosen(self, x: float, y: float) -> None:
        """A click or a drag of the start marker: restart from (x, y)."""
        assert self.race is not None
        self.race.set_start((x, y))
        self.landscape.set_start_marker(x, y)
        self.multiples.set_start_marker(x, y)
        self._last_counts = [-1] * len(self.race.racers)
        self.on_frame()
        self._record(f"start ({x:.3g}, {y:.3g})")

    def on_weights_chosen(self, w1: float, w2: float) -> None:
        """A click in weight space: restart from (w1, w2) with the start's b."""
        assert self.race is not None
        b = float(self.race.objective.start[2])
        self.race.set_start((w1, w2, b))
        self.perceptron.set_start_marker(w1, w2)
        self._last_counts = [-1] * len(self.race.racers)
        self.on_frame()
        self._record(f"start ({w1:.3g}, {w2:.3g}, {b:.3g})")

    # ------------------------------------------------------------ transport
    def toggle_play(self) -> None:
        if self.runner is None or self.race is None:
            return
        if not self.runner.playing and self.race.done:
            self.race.extend(min(self.race.steps * 2, MAX_RACE_STEPS))
            self.loss.show_steps(self.race.steps)
            self.steps_box.blockSignals(True)
            self.steps_box.setValue(self.race.steps)
            self.steps_box.blockSignals(False)
            self._record(f"steps {self.race.steps:,}")
        self.runner.toggle()
        self._sync_play()

    def play(self) -> None:
        if self.runner is not None and not self.runner.playing:
            self.toggle_play()

    def pause(self) -> None:
        if self.runner is not None and self.runner.playing:
            self.runner.pause()
            self._sync_play()

    def step_once(self) -> None:
        if self.runner is None:
            return
        self.runner.pause()
        self.runner.step(1)
        self._sync_play()

    def reset_race(self) -> None:
        if self.race is None:
            return
        self.race.reset()
        self._last_counts = [-1] * len(self.race.racers)
        self.on_frame()

    def _sync_play(self) -> None:
        playing = self.runner is not None and self.runner.playing
        self.play_action.setText("Pause" if playing else "Play")
        self.play_action.setToolTip(("Pause" if playing else "Play") + " the race (Space)")
        pixmap = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_action.setIcon(self.style().standardIcon(pixmap))

    def _on_speed(self, pos: int) -> None:
        sps = speed_of(pos)
        self.speed_label.setText("max" if math.isinf(sps) else f"{sps:.3g} steps/s")
        if self.runner is not None:
            self.runner.set_speed(sps)

    def _on_loss_mode(self) -> None:
        assert self.race is not None
        self.loss.set_mode(
            self.race.objective.f_star(), self.gap_y.isChecked(), self.log_y.isChecked()
        )
        self.loss.show_steps(self.race.steps)
        self._last_counts = [-1] * len(self.race.racers)

    # ------------------------------------------------------------ drawing
    def draw_now(self) -> None:
        """Draw everything from the race's current rows at once, including what frames
        refresh only now and then (map grid, perceptron epoch curves, leaderboard): for a
        headless render or a check that does not wait for the timers."""
        self._last_counts = []
        self.on_frame()
        if self.is_perceptron:
            self._perceptron_slow_updates()
            self.perceptron.refresh_grid()
        else:
            self.landscape.refresh_grid()
            self.multiples.refresh_grid()
        self._update_board()

    def on_frame(self) -> None:
        """Pull new rows from the engine and redraw (GUI thread, ~60 Hz)."""
        race = self.race
        if race is None:
            return
        t0 = time.perf_counter()
        n = len(race.racers)
        counts = [int(c) for c in race.count[:n]]
        multiples = self.central.currentWidget() is self.multiples
        if multiples and self.multiples.set_enabled([c.enabled for c in race.racers]):
            self._last_counts = []  # panels rearranged: each pulls its racer's rows anew
        changed = counts != self._last_counts
        xs = race.xs
        if changed:
            panel = self.perceptron if self.is_perceptron else self.landscape
            if multiples:
                panel = self.multiples  # the single panel catches up when shown again
            diverged = [race.diverged_step(i) for i in range(n)]
            unbounded_step = getattr(race, "unbounded_step", None)
            unbounded = [unbounded_step(i) if unbounded_step else None for i in range(n)]
            for i in range(n):
                if counts[i] != (self._last_counts[i] if i < len(self._last_counts) else -1):
                    if panel is not self.perceptron:  # a blown-up run's trail ends at the view
                        escaped = diverged[i] is not None or unbounded[i] is not None
                        panel.update_racer(
                            i, xs[i], counts[i], race.racers[i].enabled, escaped=escaped
                        )
                    else:
                        panel.update_racer(i, xs[i], counts[i], race.racers[i].enabled)
            self.loss.update_curves(
                [race.loss[i] for i in range(n)],
                counts,
                [c.enabled for c in race.racers],
                diverged,
                race.steps,
                unbounded,
            )
            self._last_counts = counts
            self.step_label.setText(f"step {max(counts) - 1 if counts else 0:,} / {race.steps:,}")
            if self.arrows_action.isChecked():
                self._draw_arrows(counts)
        if not self.arrows_action.isChecked():
            for i in range(n):
                self.landscape.set_arrows(i, None)
        self._frame += 1
        if self.is_perceptron and (self._frame % 10 == 0 or (changed and self._frame < 3)):
            self._perceptron_slow_updates()
        if self._frame % 15 == 0:  # 4 Hz (the metrics scan only the rows new since the last)
            self._update_board_async()
        self._poll_board()
        if self._frame % 8 == 0:
            self._sync_play()
        self.frame_times.append(time.perf_counter() - t0)
        if len(self.frame_times) > 2000:
            del self.frame_times[:1000]

    def _perceptron_slow_updates(self) -> None:
        """Epoch curves and the weight-space slice (a few times per second)."""
        race = self.race
        assert race is not None
        n = len(race.racers)
        if n == 0:
            return
        i = min(self.selected, n - 1)
        c = int(race.count[i])
        if c > 0:
            self.perceptron.set_slice(float(race.xs[i, c - 1, 2]), race.racers[i].label)
        playing = self.runner is not None and self.runner.playing
        self.epochs.update(race, 0.004 if playing else 0.05)
        curves = []
        for k in range(n):
            m = self.epochs.metrics(k)
            curves.append((m["step"], m["val_loss"]))
        self.loss.set_epoch_curves(curves)

    def _draw_arrows(self, counts: list[int]) -> None:
        race = self.race
        assert race is not None
        x0, x1, _, _ = self.landscape.view_box()
        for i, cfg in enumerate(race.racers):
            c = counts[i]
            if c == 0 or not cfg.enabled:
                self.landscape.set_arrows(i, None)
                continue
            head = race.xs[i, c - 1]
            lr = race.lrs[i, c - 1]
            opt = get_optimizer(cfg.optimizer)
            vecs = [-lr * race.objective.gradient(head)]
            if c >= 2:
                vecs.append(head - race.xs[i, c - 2])
            if opt.momentum_slot >= 0:
                v = race.st[i, opt.momentum_slot] * opt.velocity_sign
                if cfg.optimizer == "sgd" or cfg.optimizer in ("momentum",):
                    v = v * lr
                vecs.append(v)
            longest = max(float(np.hypot(*v[:2])) for v in vecs)
            if not (longest > 0 and math.isfinite(longest)):
                self.landscape.set_arrows(i, None)
                continue
            scale = 0.12 * (x1 - x0) / longest
            px: list[float] = []
            py: list[float] = []
            for v in vecs:
                ax, ay = arrow_segments(
                    float(head[0]), float(head[1]), float(v[0]) * scale, float(v[1]) * scale
                )
                px += ax
                py += ay
            self.landscape.set_arrows(i, (np.array(px), np.array(py)))

    _board_job: tuple[Any, threading.Thread, dict] | None = None

    def _update_board_async(self) -> None:
        """Compute the leaderboard in a worker thread; the next frames pick the result up
        (_poll_board). The metrics scan only the rows recorded since the last refresh
        (~0.7 ms for 8 racers, against ~75 ms for a first scan of 8 x 2M rows); the
        perceptron's full-set evaluation of each racer's point is the rest."""
        race = self.race
        if race is None or self._board_job is not None:
            return
        out: dict = {}

        def work() -> None:
            # racers added or removed meanwhile may raise: the next tick redoes it
            with contextlib.suppress(Exception):
                out["rows"] = race.leaderboard()

        job = threading.Thread(target=work, name="leaderboard", daemon=True)
        self._board_job = (race, job, out)
        job.start()

    def _poll_board(self) -> None:
        if self._board_job is None or self._board_job[1].is_alive():
            return
        race, _, out = self._board_job
        self._board_job = None
        rows = out.get("rows")
        if rows is not None and race is self.race and len(rows) == len(race.racers):
            self._fill_board(rows)

    def _update_board(self) -> None:
        race = self.race
        assert race is not None
        self._fill_board(race.leaderboard())

    def _fill_board(self, rows: list) -> None:
        race = self.race
        assert race is not None
        self.board.setRowCount(len(rows))
        for rank, (i, m) in enumerate(rows, 1):
            cfg = race.racers[i]
            blown = m.diverged_step is not None or m.unbounded_step is not None
            if m.diverged_step is not None:
                status = f"diverged @ {m.diverged_step:,}"
            elif m.unbounded_step is not None:
                status = f"unbounded below @ {m.unbounded_step:,}"
            else:
                status = "disabled" if not cfg.enabled else "running"
            tol = "—" if m.steps_to_tol is None else f"{m.steps_to_tol:,}"
            first = "—" if m.first_within_tol is None else f"{m.first_within_tol:,}"
            best = f"{m.best_loss:.4g}"
            if self.is_perceptron:
                em = self.epochs.metrics(i)
                acc = em["val_accuracy"]
                best = f"{100 * acc[-1]:.1f} %" if acc.size and np.isfinite(acc[-1]) else "—"
                if not blown and cfg.enabled:
                    status = f"epoch {int(em['epoch'][-1]) if em['epoch'].size else 0}"
            elif not blown and cfg.enabled and m.steps >= race.steps:
                status = "done"
            vals = [str(rank), m.label, f"{m.final_loss:.4g}", best, tol, first, status]
            for col, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if col == 1:
                    item.setForeground(pg_color(cfg.color or color_for(i)))
                if col == len(vals) - 1 and blown:
                    item.setForeground(pg_color("#D55E00"))
                self.board.setItem(rank - 1, col, item)

    def _show_equations(self) -> None:
        race = self.race
        if race is None or not race.racers:
            self.equations.setText("")
            return
        i = min(self.selected, len(race.racers) - 1)
        cfg = race.racers[i]
        opt = get_optimizer(cfg.optimizer)
        sch = get_schedule(cfg.schedule)
        eq = opt.equations.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        params = ", ".join(
            f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in cfg.params.items()
        )
        color = cfg.color or color_for(i)
        self.equations.setText(
            f"<b style='color:{color}'>{cfg.label}</b> — {opt.title}<br>"
            f"<pre style='font-size:15pt'>{eq}</pre>"
            f"<span style='font-size:12pt'>{params}</span><br>"
            f"<span style='font-size:12pt'>schedule: {sch.title}: {sch.formula}</span>"
        )

    # ------------------------------------------------------------ files
    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Open a scenario file (asking to save unsaved changes first).

        A bad file shows every problem it has and changes nothing.
        """
        if ask and not self.maybe_save():
            return False
        try:
            scn = load_scenario(path)
        except ScenarioError as e:
            self._error("Cannot open scenario", e)
            return False
        self.load(scn)
        resolved = Path(path).resolve()
        self.document.reset(self.current_scenario(), resolved)
        self._remember(str(resolved))
        self.statusBar().showMessage(f"opened {resolved}", 6000)
        return True

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scenario", str(self._dialog_dir()), "Scenarios (*.toml)"
        )
        if path:
            self.open_path(path, ask=False)

    def new_scenario(self) -> None:
        """The default race, as an untitled document."""
        if not self.maybe_save():
            return
        scn = loads_scenario(DEFAULT_SCENARIO, source="<new scenario>")
        scn.name = "Untitled race"
        self.load(scn)
        self.document.reset(self.current_scenario(), None)

    def save(self) -> bool:
        """Save to the document's file (Save As when it has none); True when saved."""
        if self.document.path is None or not self._is_user_file(self.document.path):
            return self.save_as_dialog()
        return self.save_to(self.document.path)

    def save_as_dialog(self) -> bool:
        start = self._dialog_dir() / (
            self.document.path.name if self.document.path else "scenario.toml"
        )
        path, _ = QFileDialog.getSaveFileName(
            self, "Save scenario", str(start), "Scenarios (*.toml)"
        )
        if not path:
            return False
        if not path.endswith(".toml"):
            path += ".toml"
        return self.save_to(Path(path))

    def save_to(self, path: str | Path) -> bool:
        """Write the scenario as shown, atomically; on failure say why and keep the file."""
        p = Path(path).resolve()
        scn = self.current_scenario()
        try:
            save_scenario(scn, p)
        except ScenarioError as e:
            self._error("Cannot save scenario", e)
            return False
        self.scenario.source = p
        self.document.mark_saved(scn, p)
        self._remember(str(p))
        self.statusBar().showMessage(f"saved {p}", 6000)
        return True

    def revert(self) -> bool:
        """Reload the document's file, discarding unsaved changes (after asking)."""
        path = self.document.path
        if path is None:
            return False
        if self.document.is_dirty():
            answer = QMessageBox.question(
                self,
                "Revert",
                f"Discard the changes made since {path.name} was saved?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Discard:
                return False
        return self.open_path(path, ask=False)

    def maybe_save(self) -> bool:
        """If there are unsaved changes ask Save / Discard / Cancel; False means stop."""
        if not self.document.is_dirty():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"The scenario “{self.scenario.name}” has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _error(self, title: str, e: ScenarioError) -> None:
        QMessageBox.warning(self, title, str(e))

    def _dialog_dir(self) -> Path:
        if self.document.path is not None and self._is_user_file(self.document.path):
            return self.document.path.parent
        return Path.cwd() / "scenarios"

    @staticmethod
    def _is_user_file(path: Path) -> bool:
        return not str(path).startswith("<")

    # drag and drop: a scenario file dropped on the window opens
    @staticmethod
    def _dropped_file(mime: Any) -> Path | None:
        if not mime.hasUrls():
            return None
        urls: list[QUrl] = mime.urls()
        if len(urls) != 1 or not urls[0].isLocalFile():
            return None
        p = Path(urls[0].toLocalFile())
        return p if p.suffix.lower() == ".toml" else None

    def dragEnterEvent(self, ev: Any) -> None:
        if self._dropped_file(ev.mimeData()) is not None:
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dragMoveEvent(self, ev: Any) -> None:
        self.dragEnterEvent(ev)

    def dropEvent(self, ev: Any) -> None:
        p = self._dropped_file(ev.mimeData())
        if p is None:
            ev.ignore()
            return
        ev.acceptProposedAction()
        self.open_path(p)

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent", recent[:10])
        self.settings.setValue("last_scenario", path)
        self._fill_recent()

    def _recent(self) -> list[str]:
        v = self.settings.value("recent", [])
        if isinstance(v, str):
            return [v]
        return [str(p) for p in (v or [])]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def export_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export trajectories to folder")
        if d:
            self.export_to(Path(d))

    def export_to(self, out_dir: Path) -> list[Path]:
        """Write trajectories.csv / .npz / summary.json (same files as `main.py run --out`)."""
        from engine.export import write_results

        assert self.race is not None
        with self.race.lock:
            files = write_results(self.race, self.current_scenario(), out_dir)
        self.statusBar().showMessage(f"exported {len(files)} files to {out_dir}", 6000)
        return files

    def current_scenario(self) -> Scenario:
        """The scenario as currently shown (landscape, params, racers, steps)."""
        from dataclasses import replace

        race = self.race
        assert race is not None
        obj = race.objective
        objective = replace(
            self.scenario.objective,
            start=tuple(float(v) for v in obj.start),
            grad_noise=float(obj.grad_noise),
        )
        if not self.is_perceptron:
            objective = replace(objective, name=obj.name, params=dict(obj.params))
        return replace(
            self.scenario, objective=objective, racers=list(race.racers), steps=race.steps
        )

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", "race.png", "PNG (*.png)")
        if path:
            self.compose_image().save(path)

    def compose_image(self) -> QImage:
        """The landscape and loss panels side by side, as shown (for slides)."""
        a = self.central.currentWidget().grab().toImage()
        b = self.loss.grab().toImage()
        h = max(a.height(), b.height())
        img = QImage(a.width() + b.width(), h, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.white)
        p = QPainter(img)
        p.drawImage(0, (h - a.height()) // 2, a)
        p.drawImage(a.width(), (h - b.height()) // 2, b)
        p.end()
        return img

    def slide_layout(self, width: int = 1900, height: int = 800) -> None:
        """Only the landscape and, to its right, the loss panel (``main.py render``)."""
        for d in (self.side_dock, self.fields_dock, self.board_dock, self.eq_dock):
            d.hide()
        self.menuBar().hide()
        for tb in self.findChildren(QToolBar):
            tb.hide()
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.loss_dock)
        self.loss_dock.show()
        self.resize(width, height)
        self.resizeDocks([self.loss_dock], [int(width * 0.4)], Qt.Orientation.Horizontal)
        # a still picture can afford the wide, antialiased strokes a live frame cannot
        import pyqtgraph as pg

        for item in (*self.loss.curves, *self.landscape.trails, *self.perceptron.trails):
            item.setPen(pg.mkPen(item.opts["pen"].color(), width=2.5))
            item.opts["antialias"] = True
        self.multiples.widen_trails(2.5)

    # ------------------------------------------------------------ lifetime
    def _restore_settings(self) -> None:
        geo = self.settings.value("geometry")
        state = self.settings.value("state")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self._fill_recent()

    def closeEvent(self, ev: Any) -> None:
        if not self.maybe_save():
            ev.ignore()
            return
        self.timer.stop()
        self._stop_runner()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        super().closeEvent(ev)


def app_settings() -> QSettings:
    """The app's QSettings; GRADIENT_ARENA_SETTINGS=path.ini redirects them (tests, render).

    GRADIENT_ARENA_SETTINGS=/dev/null (os.devnull) means "remember nothing": each call
    gets an empty throwaway file. Never /dev/null itself: QSettings saves by writing a
    new file and renaming it over the old one, which (as root) replaced the system's
    /dev/null with a regular file, and the next headless render restored the previous
    one's window layout from it.
    """
    import os

    path = os.environ.get("GRADIENT_ARENA_SETTINGS")
    if path == os.devnull:
        path = _throwaway_settings_file()
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("GradientArena", "Gradient Arena")


_THROWAWAY_COUNT = itertools.count()


@functools.cache
def _throwaway_settings_folder() -> str:
    """This process's folder for throwaway settings files (removed at exit)."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="gradient-arena-settings-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _throwaway_settings_file() -> str:
    import os

    return os.path.join(_throwaway_settings_folder(), f"{next(_THROWAWAY_COUNT)}.ini")


def reflow(text: str | None) -> str:
    """A description as a paragraph of prose: files wrap lines at ~90 columns, the panel
    wraps to its own width (a blank line still starts a new paragraph)."""
    paras = [" ".join(p.split()) for p in (text or "").strip().split("\n\n")]
    return "\n\n".join(p for p in paras if p)


def obj_name_matches(scenario: Scenario, name: str) -> bool:
    return scenario.objective.name == name


def pg_color(c: str) -> Any:
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor(c))
