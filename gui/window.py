"""The main window: a live race on a landscape, with the side panel and the transport.

Threading: the race runs in one :class:`engine.runner.RaceRunner` thread (numba kernels
with the GIL released). This GUI thread is the only one that touches widgets: a 60 Hz
QTimer (``gui/frames.py``) pulls the rows added since the last frame from the race's
buffers and redraws. Widgets' edits go to the session (``gui/wiring.py``), which applies
them to the race between chunks; its events come back here and redraw.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QStackedWidget, QWidget

from engine.changes import copy_racer, snapshot
from engine.objective import PerceptronObjective
from engine.race import Race
from engine.runner import RaceRunner
from engine.scenario import Scenario
from engine.session import MAX_RACE_STEPS, Session
from gui import slide
from gui.axes import LEVELS
from gui.docks import (
    EquationsView,
    LossBox,
    RacePanel,
    Transport,
    hide_stray_tab_bars,
    reflow,
    scrolled,
    speed_of,
)
from gui.document import ScenarioDocument, SessionBridge
from gui.editors import ParamForm
from gui.files import ScenarioFiles, default_scenario, dropped_file
from gui.formula_editor import install as install_formula_editor
from gui.formula_editor import same_form
from gui.frames import FrameLoop
from gui.landscape_panel import LandscapePanel
from gui.leaderboard import Leaderboard
from gui.legend import legend_labels
from gui.local_probe import LocalModelPanel
from gui.maps_panel import MapsPanel
from gui.multiples import SmallMultiples
from gui.palette import color_for, line_styles
from gui.perceptron import PerceptronPanel
from gui.racers import RacerEditor
from gui.scenario_form import ScenarioForm
from gui.settings import Settings
from gui.surface3d import install as install_surface3d
from gui.theory_overlay import TheoryOverlay
from gui.timeline import Timeline
from gui.video_export import install as install_video_export
from gui.wiring import Intents

#: [view] keys the window shows without redrawing the map (toggles, not a restart)
SHOWN_FLAGS = (
    "gradient_field", "step_arrows", "equations", "log_y", "loss_gap", "small_multiples",
    "equal_aspect", "theory",
)  # fmt: skip


class MainWindow(QMainWindow):
    """Gradient Arena's race window."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        start_runner: bool = True,
        settings: Settings | None = None,
    ) -> None:
        """``settings``: what to remember between sessions (default: as the environment
        says, see gui.settings); ``start_runner`` False: no engine thread (the caller
        runs the race, as a headless render does)."""
        super().__init__()
        self.settings = settings if settings is not None else Settings()
        self.files = ScenarioFiles(self)
        self.session = Session(
            scenario if scenario is not None else default_scenario(),
            color_for=color_for,
            start_runner=start_runner,
        )
        self.bridge = SessionBridge(self.session, self)
        self.start_runner = start_runner
        self.editors: list[RacerEditor] = []
        self.selected = 0
        self.is_perceptron = False
        self._styles: list[tuple[str, str | None, bool]] = []  # (label, colour, enabled) as drawn
        self._starts: list[tuple[float, ...] | None] = []  # their own starts as drawn
        self.document = ScenarioDocument(self.session, self)
        self.frames = FrameLoop(self)
        self.intents = Intents(self)
        self.setWindowTitle("Gradient Arena")
        self.resize(1500, 950)
        self.setAcceptDrops(True)
        self._build_ui()
        self._connect_session()
        self._show_race(self.race)
        self._show_scenario(self.scenario)
        self.document.reset(self.scenario, self.scenario.source)
        self.document.changed.connect(self._update_title)
        self._update_title()
        self.frames.start()
        self.settings.restore_window(self)

    # ------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        big = QFont()
        big.setPointSize(11)
        self.setFont(big)
        self.landscape = LandscapePanel()
        self.perceptron = PerceptronPanel()
        self.multiples = SmallMultiples()  # View > Small multiples: one panel per racer
        self.central = QStackedWidget()
        for w in (self.landscape, self.perceptron, self.multiples):
            self.central.addWidget(w)
        self.timeline = Timeline(self)  # under the panels: replay the recorded steps
        self.setCentralWidget(self.timeline.wrap(self.central))
        self._build_docks()
        self.formula_editor = install_formula_editor(self)
        self.surface3d = install_surface3d(self)  # View > 3-D view (closed: no GL)
        self.transport = Transport(self)
        self.addToolBar(self.transport)
        self.transport.addAction(self.eq_dock.toggleViewAction())
        t = self.transport
        self.play_action, self.step_action, self.reset_action = (
            t.play_action, t.step_action, t.reset_action
        )  # fmt: skip
        self.speed, self.step_label = t.speed, t.step_label
        self.quiver_action, self.arrows_action = t.quiver_action, t.arrows_action
        self._build_menus()
        self._connect()
        self._on_speed(self.speed.value())
        self.splitDockWidget(self.loss_dock, self.board_dock, Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.board_dock, self.eq_dock)
        self.board_dock.raise_()
        self.resizeDocks([self.side_dock], [400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.loss_dock], [300], Qt.Orientation.Vertical)
        self.resizeDocks([self.loss_dock, self.board_dock], [700, 420], Qt.Orientation.Horizontal)

    def _build_docks(self) -> None:
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        loss_box = LossBox()
        self.loss, self.log_y, self.gap_y = loss_box.loss, loss_box.log_y, loss_box.gap_y
        self.loss_dock = self._dock("Loss", loss_box, bottom)
        self.board = Leaderboard()
        self.board_dock = self._dock("Leaderboard", self.board, bottom)
        self.equations = EquationsView()
        self.eq_dock = self._dock("Update equations", self.equations, bottom)
        self.theory = TheoryOverlay(self)  # View > Theory beside the race: its dock when on
        side = self.race_panel = RacePanel(MAX_RACE_STEPS)
        self.description, self.racer_list = side.description, side.racer_list
        self.obj_layout, self.ls_form = side.obj_layout, side.ls_form
        self.landscape_box, self.formula, self.data_label = (
            side.landscape_box, side.formula, side.data_label
        )  # fmt: skip
        self.noise, self.steps_box = side.noise, side.steps_box
        self.restart_on_change = side.restart_on_change
        scroll = scrolled(side)
        scroll.setMinimumWidth(360)
        self.side_dock = self._dock("Race", scroll, right)
        # scenario dock: every other key of the file, errors shown at the field
        self.fields = ScenarioForm()
        self.fields_dock = self._dock("Scenario", scrolled(self.fields, horizontal=False), right)
        self.tabifyDockWidget(self.side_dock, self.fields_dock)
        self.maps = MapsPanel(self.session, self.landscape)  # start maps overlay the landscape
        self.maps_dock = self._dock("Maps", self.maps, right)
        self.tabifyDockWidget(self.fields_dock, self.maps_dock)
        self.probe = LocalModelPanel(self.landscape)  # Shift+click: the local quadratic model
        self.probe_dock = self._dock("Local model", self.probe, right)
        self.tabifyDockWidget(self.maps_dock, self.probe_dock)
        self.side_dock.raise_()

    def _build_menus(self) -> None:
        fm = self.menuBar().addMenu("&File")
        self.files.build_menu(fm)
        self.video_export = install_video_export(self, fm)  # File > Export video...
        em = self.menuBar().addMenu("&Edit")
        self.undo_action, self.redo_action = self.document.make_actions(self)
        em.addAction(self.undo_action)
        em.addAction(self.redo_action)
        em.addSeparator()
        em.addAction("&Sweep a hyperparameter…").triggered.connect(self.intents.sweep_dialog)
        vm = self.menuBar().addMenu("&View")
        for d in (self.side_dock, self.fields_dock, self.maps_dock, self.probe_dock,
                  self.loss_dock, self.board_dock, self.eq_dock):  # fmt: skip
            vm.addAction(d.toggleViewAction())
        vm.addAction(self.quiver_action)
        vm.addAction(self.arrows_action)
        self.aspect_action = QAction("&Equal aspect", self, checkable=True)
        self.aspect_action.setChecked(True)
        self.aspect_action.setToolTip(
            "Maps in 1:1 data units, so angles and distances read true (a round bowl is "
            "round); off: each axis fills the panel"
        )
        vm.addAction(self.aspect_action)
        vm.addSeparator()
        self.multiples_action = QAction("Small &multiples", self, checkable=True)
        self.multiples_action.setShortcut(QKeySequence("Ctrl+M"))
        self.multiples_action.setToolTip(
            "One small landscape per enabled racer, axes linked, each with only its own "
            "trail (landscape races; a perceptron race shows every decision line already)"
        )
        vm.addAction(self.multiples_action)
        self.legend_action = QAction("&Hyperparameters in the legend", self, checkable=True)
        self.legend_action.setToolTip("Each racer's legend entry lists its hyperparameters")
        vm.addAction(self.legend_action)
        assert self.surface3d.dock is not None
        vm.addAction(self.surface3d.dock.toggleViewAction())
        vm.addAction(self.theory.action)

    def _connect(self) -> None:
        """The widgets' signals to the edits and the views."""
        self.log_y.toggled.connect(self._on_loss_mode)
        self.gap_y.toggled.connect(self._on_loss_mode)
        self.play_action.triggered.connect(self.toggle_play)
        self.step_action.triggered.connect(self.timeline.forward)  # the engine at the end
        self.reset_action.triggered.connect(self.reset_race)
        self.speed.valueChanged.connect(self._on_speed)
        self.quiver_action.toggled.connect(self.landscape.set_quiver)
        self.aspect_action.toggled.connect(self._set_equal_aspect)
        self.multiples_action.toggled.connect(self._show_central)
        # a user's toggle is a scenario edit ([view] keys) and an undo step
        flags = (
            (self.quiver_action.triggered, "gradient_field"),
            (self.arrows_action.triggered, "step_arrows"),
            (self.eq_dock.toggleViewAction().triggered, "equations"),
            (self.log_y.clicked, "log_y"),
            (self.gap_y.clicked, "loss_gap"),
            (self.aspect_action.triggered, "equal_aspect"),
            (self.multiples_action.triggered, "small_multiples"),
            (self.legend_action.triggered, "legend_params"),
            (self.theory.action.triggered, "theory"),
        )
        for signal, key in flags:
            signal.connect(lambda on, key=key: self.intents.view_flag(key, on))
        self.intents.connect()

    def _dock(self, title: str, w: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(title)
        d.setWidget(w)
        self.addDockWidget(area, d)
        return d

    # ------------------------------------------------------------ scenario / race
    @property
    def race(self) -> Race:
        return self.session.race

    @property
    def runner(self) -> RaceRunner | None:
        return self.session.runner

    @property
    def scenario(self) -> Scenario:
        """The scenario shown: the session's (read-only; edits go through the session)."""
        return self.session.scenario

    def load(self, scenario: Scenario) -> None:
        """Show and (re)start ``scenario``'s race (no history); ScenarioError: unchanged."""
        self.session.load(scenario)

    def _connect_session(self) -> None:
        """The session's events drive what is shown; widgets' edits call its intents."""
        b = self.bridge
        b.reloaded.connect(self._show_race)
        b.racersChanged.connect(self._show_racers)
        b.raceChanged.connect(self._show_race_values)
        b.scenarioChanged.connect(self._show_scenario)
        self.maps.attach(b)  # after the window's own: the landscape is shown first
        self.probe.attach(b, self)  # after the window's own too
        self.theory.attach(b)  # after the window's own too: the race is shown first

    def _show_race(self, race: Race) -> None:
        """A new race (a scenario opened or an edit that restarts): show all of it."""
        objective = race.objective
        perceptron = race.is_perceptron
        self.is_perceptron = perceptron
        self._show_central()
        for w in (self.landscape_box, self.formula, self.ls_form):
            w.setVisible(not perceptron)
        self.data_label.setVisible(perceptron)
        self.quiver_action.setEnabled(not perceptron)
        self.arrows_action.setEnabled(not perceptron)
        self.multiples_action.setEnabled(not perceptron)
        if perceptron:
            assert isinstance(objective, PerceptronObjective)
            self.data_label.setText(
                f"<b>Perceptron</b> a = σ(w₁x₁ + w₂x₂ + b), mean binary cross-entropy.<br>"
                f"{objective.describe()}<br>mode: {objective.mode}, "
                f"{objective.steps_per_epoch} updates per epoch"
            )
            self.perceptron.set_data(objective.data, objective.describe())
            self.loss.set_mode(None, False, self.log_y.isChecked())
            self.loss.set_smoothing(objective.steps_per_epoch)
            self.loss.set_quantity("loss", self.loss.smoothing_note())
            self.gap_y.setEnabled(False)
        else:
            self._show_landscape(objective)
        self._rebuild_racers()
        self._show_race_values()
        self.sync_play()

    def _show_landscape(self, objective: Any) -> None:
        ls = objective.landscape
        self.landscape_box.blockSignals(True)
        self.landscape_box.setCurrentIndex(self.landscape_box.findData(ls.name))
        self.landscape_box.blockSignals(False)
        self.formula.setText(ls.formula)
        if same_form(self.ls_form.specs, ls.params):
            self.ls_form.set_values(objective.params)  # a slider may be dragging in it
        else:
            new_form = ParamForm(ls.params, objective.params)
            self.obj_layout.replaceWidget(self.ls_form, new_form)
            self.ls_form.deleteLater()
            self.ls_form = new_form
            self.ls_form.changed.connect(self.intents.landscape_param)
        sv = self.scenario.view
        view = (*(sv.x_range or ls.view[:2]), *(sv.y_range or ls.view[2:]))
        self.landscape.levels = sv.levels or LEVELS
        self.landscape.log_color = sv.log_color is not False
        marks = (objective.minima(), objective.saddles(), objective.f_star())
        self.landscape.set_landscape(ls.lid, objective.packed, view, *marks)
        self.multiples.set_landscape(
            ls.lid,
            objective.packed,
            view,
            *marks,
            levels=self.landscape.levels,
            log_color=self.landscape.log_color,
            equal_aspect=sv.equal_aspect is not False,
        )
        self.loss.set_smoothing(None)
        self.loss.set_quantity("f")
        self.loss.set_mode(objective.f_star(), self.gap_y.isChecked(), self.log_y.isChecked())
        self.gap_y.setEnabled(objective.f_star() is not None)

    def _show_race_values(self) -> None:
        """Steps, noise and start as the race has them; every trail is drawn anew."""
        race = self.race
        self.steps_box.blockSignals(True)
        self.steps_box.setValue(race.steps)
        self.steps_box.blockSignals(False)
        self.noise.blockSignals(True)
        self.noise.setValue(race.objective.grad_noise)
        self.noise.blockSignals(False)
        start = race.objective.start
        if self.is_perceptron:
            self.perceptron.set_start_marker(*start[:2])
        else:
            self.landscape.set_start_marker(*start[:2])
            self.multiples.set_start_marker(*start[:2])
        self.loss.show_steps(race.steps)
        self.frames.redraw_all()
        self.frames.on_frame()

    def _show_scenario(self, scn: Scenario) -> None:
        """After every change: the scenario's fields, description, [view] and title."""
        self.description.setText(reflow(scn.description))
        self._show_view_flags(scn.view)
        if self._drawn_styles() != self._styles:  # e.g. [view] legend_params toggled
            self._restyle()
        self.fields.show_scenario(scn)
        self._update_title()

    def _rebuild_racers(self) -> None:
        for ed in self.editors:
            self.racer_list.removeWidget(ed)
            ed.deleteLater()
        self.editors = []
        for cfg in self.scenario.racers:
            ed = RacerEditor(copy_racer(cfg), perceptron=self.is_perceptron)
            self.intents.connect_editor(ed)
            ed.selected.connect(self._select)
            self.racer_list.addWidget(ed)
            self.editors.append(ed)
        self.selected = min(self.selected, max(len(self.editors) - 1, 0))
        self._restyle()

    def _show_racers(self, changed: tuple[int, ...] | None) -> None:
        """Racers changed in place (``None``: the list changed): the editors show the
        session's configs; trails are restyled only when a label, colour or enabled flag
        changed, and drawn anew when a racer's own start did."""
        racers = self.scenario.racers
        if changed is None or len(racers) != len(self.editors):
            self._rebuild_racers()
            return
        for i in changed:
            self.editors[i].show_config(copy_racer(racers[i]))
        if self._drawn_styles() != self._styles:
            self._restyle()
            return
        if [c.start for c in racers] != self._starts:
            self._starts = [c.start for c in racers]
            self.frames.redraw_all()
        self._show_equations()

    def _drawn_styles(self) -> list[tuple[str, str | None, bool]]:
        """(legend entry, colour, enabled) of each racer: what a restyle draws."""
        racers = self.scenario.racers
        entries = legend_labels(racers, self.scenario.view.legend_params)
        return [(e, c.color, c.enabled) for e, c in zip(entries, racers, strict=True)]

    def _restyle(self) -> None:
        racers = self.scenario.racers
        self._styles = self._drawn_styles()
        self._starts = [c.start for c in racers]
        labels = [c.label for c in racers]
        colors = [c.color or color_for(i) for i, c in enumerate(racers)]
        entries = [e for e, _, _ in self._styles]  # labels, or with [view] legend_params
        self.landscape.set_racers(entries, colors)
        self.multiples.set_racers(labels, colors, [c.enabled for c in racers])
        self.perceptron.set_racers(entries, colors)
        self.loss.set_racers(labels, colors)
        self.frames.redraw_all()
        styles = line_styles(colors)
        for i, ed in enumerate(self.editors):
            ed.set_selected(i == self.selected)
            if i < len(styles):
                ed.set_line_style(styles[i])
        self._show_equations()
        self.frames.on_frame()

    # ------------------------------------------------------------ undo / document
    def _update_title(self) -> None:
        if not hasattr(self, "document") or self.race is None:
            return
        doc = self.document
        self.setWindowTitle(f"{self.scenario.name} — {doc.display_name()}[*] — Gradient Arena")
        self.setWindowModified(doc.is_dirty())
        self.files.update_actions()

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
        self.legend_action.setChecked(bool(view.legend_params))  # None: off (no user choice)
        if view.theory is not None:
            self.theory.action.setChecked(bool(view.theory))

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
        self.frames.redraw_all()

    def _select(self, ed: RacerEditor) -> None:
        self.selected = self.editors.index(ed)
        for i, e in enumerate(self.editors):
            e.set_selected(i == self.selected)
        self._show_equations()

    # ------------------------------------------------------------ transport
    def toggle_play(self) -> None:
        """Play (a finished race first gets twice the steps) or pause."""
        self.session.toggle_play()
        self.sync_play()

    def play(self) -> None:
        if self.runner is not None and not self.runner.playing:
            self.toggle_play()

    def pause(self) -> None:
        if self.runner is not None and self.runner.playing:
            self.runner.pause()
            self.sync_play()

    def step_once(self) -> None:
        self.session.step(1)
        self.sync_play()

    def reset_race(self) -> None:
        self.session.reset()

    def sync_play(self) -> None:
        self.transport.show_playing(self.runner is not None and self.runner.playing)

    def _on_speed(self, pos: int) -> None:
        sps = speed_of(pos)
        self.transport.show_speed(sps)
        self.session.set_speed(sps)

    def _on_loss_mode(self) -> None:
        assert self.race is not None
        self.loss.set_mode(
            self.race.objective.f_star(), self.gap_y.isChecked(), self.log_y.isChecked()
        )
        self.loss.show_steps(self.race.steps)
        self.frames.redraw_all()

    def _show_equations(self) -> None:
        race = self.race
        if race is None or not race.racers:
            self.equations.show_racer(None, "")
            return
        i = min(self.selected, len(race.racers) - 1)
        cfg = race.racers[i]
        self.equations.show_racer(cfg, cfg.color or color_for(i))

    # ------------------------------------------------------------ files
    def current_scenario(self) -> Scenario:
        """A copy of the scenario as shown (landscape, params, racers, steps)."""
        return snapshot(self.scenario)

    def compose_image(self) -> QImage:
        """The central and loss panels side by side, as shown (for slides; gui/slide.py)."""
        return slide.compose_image(self)

    def slide_layout(self, width: int = 1900, height: int = 800) -> None:
        """Only the central panel and, to its right, the loss panel (``main.py render``;
        gui/slide.py)."""
        slide.slide_layout(self, width, height)

    # ------------------------------------------------------------ lifetime
    def dragEnterEvent(self, ev: Any) -> None:
        if dropped_file(ev.mimeData()) is not None:
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dragMoveEvent(self, ev: Any) -> None:
        self.dragEnterEvent(ev)

    def dropEvent(self, ev: Any) -> None:
        self.files.drop(ev)

    def showEvent(self, ev: Any) -> None:
        super().showEvent(ev)
        QTimer.singleShot(0, self, lambda: hide_stray_tab_bars(self))  # once laid out

    def closeEvent(self, ev: Any) -> None:
        if not self.files.maybe_save():
            ev.ignore()
            return
        self.frames.stop()
        self.maps.close_job()  # cancels a map running and joins its thread
        self.surface3d.close_view()  # frees the 3-D view's GL buffers and context
        self.session.close()
        self.settings.save_window(self)
        super().closeEvent(ev)
