"""The main window: a live race on a landscape, with the side panel and the transport.

Threading: the race runs in one :class:`engine.runner.RaceRunner` thread (numba kernels
with the GIL released). This GUI thread is the only one that touches widgets: a 60 Hz
QTimer pulls the rows added since the last frame from the race's buffers and redraws.
Edits go to the engine between chunks through the Race API.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from engine.race import Race, RacerConfig
from engine.runner import RaceRunner
from engine.scenario import (
    Scenario,
    ScenarioError,
)
from engine.session import MAX_RACE_STEPS, Session, SessionError, copy_racer, snapshot
from gui.axes import LEVELS
from gui.docks import (
    EquationsView,
    LossBox,
    RacePanel,
    Transport,
    reflow,
    scrolled,
    speed_of,
)
from gui.document import ScenarioDocument, SessionBridge
from gui.editors import FloatEditor, ParamForm
from gui.files import ScenarioFiles, default_scenario, dropped_file
from gui.landscape_panel import LandscapePanel
from gui.leaderboard import Leaderboard
from gui.multiples import SmallMultiples
from gui.palette import color_for
from gui.perceptron import EpochSampler, PerceptronPanel
from gui.racers import RacerEditor
from gui.scenario_form import DELETE, ScenarioForm
from gui.settings import Settings

#: [view] keys the window shows without redrawing the map (toggles, not a restart)
SHOWN_FLAGS = (
    "gradient_field", "step_arrows", "equations", "log_y", "loss_gap", "small_multiples",
    "equal_aspect",
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
        self.frame_times: list[float] = []
        self.epochs = EpochSampler()  # per-epoch metrics within a time budget per frame
        self._frame = 0
        self._last_counts: list[int] = []
        self._styles: list[tuple] = []  # (label, colour, enabled) of the racers as drawn
        self._starts: list[tuple[float, ...] | None] = []  # their own starts as drawn
        self.document = ScenarioDocument(self.session, self)
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
        self.timer = QTimer(self)
        # precise: a coarse timer may fire up to 5 % late, which alone caps a 16 ms
        # frame clock below 60 frames/s
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(16)
        self.timer.timeout.connect(self.on_frame)
        self.timer.start()
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
        self.setCentralWidget(self.central)
        self.landscape.startChosen.connect(self.on_start_chosen)
        self.multiples.startChosen.connect(self.on_start_chosen)
        self.perceptron.startChosen.connect(self.on_weights_chosen)
        self._build_docks()
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
        self.side_dock.raise_()
        side.add_button.clicked.connect(self._add_racer)
        side.sweep_button.clicked.connect(self.sweep_dialog)

    def _build_menus(self) -> None:
        self.files.build_menu(self.menuBar().addMenu("&File"))
        em = self.menuBar().addMenu("&Edit")
        self.undo_action, self.redo_action = self.document.make_actions(self)
        em.addAction(self.undo_action)
        em.addAction(self.redo_action)
        em.addSeparator()
        em.addAction("&Sweep a hyperparameter…").triggered.connect(self.sweep_dialog)
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
        vm.addAction(self.aspect_action)
        vm.addSeparator()
        self.multiples_action = QAction("Small &multiples", self, checkable=True)
        self.multiples_action.setShortcut(QKeySequence("Ctrl+M"))
        self.multiples_action.setToolTip(
            "One small landscape per enabled racer, axes linked, each with only its own "
            "trail (landscape races; a perceptron race shows every decision line already)"
        )
        vm.addAction(self.multiples_action)

    def _connect(self) -> None:
        """The widgets' signals to the edits and the views."""
        self.log_y.toggled.connect(self._on_loss_mode)
        self.gap_y.toggled.connect(self._on_loss_mode)
        self.landscape_box.currentIndexChanged.connect(self._on_landscape_chosen)
        self.noise.valueChanged.connect(self._on_noise)
        self.steps_box.valueChanged.connect(self._on_steps)
        self.fields.edited.connect(self.edit_field)
        self.play_action.triggered.connect(self.toggle_play)
        self.step_action.triggered.connect(self.step_once)
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
        )
        for signal, key in flags:
            signal.connect(lambda on, key=key: self._on_view_flag(key, on))

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
        self.restart_on_change.toggled.connect(self._on_restart_on_change)

    def _on_restart_on_change(self, on: bool) -> None:
        self.session.restart_on_change = bool(on)

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
        self._sync_play()

    def _show_landscape(self, objective: Any) -> None:
        ls = objective.landscape
        self.landscape_box.blockSignals(True)
        self.landscape_box.setCurrentText(ls.name)
        self.landscape_box.blockSignals(False)
        self.formula.setText(ls.formula)
        if self.ls_form.specs == ls.params:
            self.ls_form.set_values(objective.params)  # a slider may be dragging in it
        else:
            new_form = ParamForm(ls.params, objective.params)
            self.obj_layout.replaceWidget(self.ls_form, new_form)
            self.ls_form.deleteLater()
            self.ls_form = new_form
            self.ls_form.changed.connect(self._on_landscape_param)
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
        for box, value in ((self.steps_box, race.steps), (self.noise, race.objective.grad_noise)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        start = race.objective.start
        if self.is_perceptron:
            self.perceptron.set_start_marker(*start[:2])
        else:
            self.landscape.set_start_marker(*start[:2])
            self.multiples.set_start_marker(*start[:2])
        self.loss.show_steps(race.steps)
        self._last_counts = [-1] * len(race.racers)
        self.on_frame()

    def _show_scenario(self, scn: Scenario) -> None:
        """After every change: the scenario's fields, description, [view] and title."""
        self.description.setText(reflow(scn.description))
        self._show_view_flags(scn.view)
        self.fields.show_scenario(scn)
        self._update_title()

    def _stop_runner(self) -> None:
        self.session.stop_runner()

    def _rebuild_racers(self) -> None:
        for ed in self.editors:
            self.racer_list.removeWidget(ed)
            ed.deleteLater()
        self.editors = []
        for cfg in self.scenario.racers:
            ed = RacerEditor(copy_racer(cfg), perceptron=self.is_perceptron)
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
        if [(c.label, c.color, c.enabled) for c in racers] != self._styles:
            self._restyle()
            return
        if [c.start for c in racers] != self._starts:
            self._starts = [c.start for c in racers]
            self._last_counts = [-1] * len(racers)
        self._show_equations()

    def _restyle(self) -> None:
        racers = self.scenario.racers
        self._styles = [(c.label, c.color, c.enabled) for c in racers]
        self._starts = [c.start for c in racers]
        labels = [c.label for c in racers]
        colors = [c.color or color_for(i) for i, c in enumerate(racers)]
        self.landscape.set_racers(labels, colors)
        self.multiples.set_racers(labels, colors, [c.enabled for c in racers])
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
    def _update_title(self) -> None:
        if not hasattr(self, "document") or self.race is None:
            return
        doc = self.document
        self.setWindowTitle(f"{self.scenario.name} — {doc.display_name()}[*] — Gradient Arena")
        self.setWindowModified(doc.is_dirty())
        self.files.update_actions()

    def apply_scenario(self, scn: Scenario, text: str = "scenario", key: str = "") -> bool:
        """Show ``scn``, applying only what differs (engine.session): one undo step."""
        return self.session.apply_scenario(scn, text, key)

    def edit_field(self, key: str, value: Any) -> bool:
        """Set scenario key ``key`` ("view.x_range"; DELETE removes it) and apply.

        The whole scenario is validated by the engine (the same validation as a file);
        a problem is shown at its field and nothing changes. True when applied.
        """
        from engine.scenario import scenario_from_dict, scenario_to_dict

        d = scenario_to_dict(self.scenario)
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
                origin=self.scenario.origin,  # saving keeps the file's comments
            )
            self.session.apply_scenario(new, f"scenario {key}", key)
        except ScenarioError as e:
            self.fields.show_problems(e.problems)
            return False
        self.fields.show_problems([])
        return True

    # ------------------------------------------------------------ edits
    def _on_params(self, ed: RacerEditor, params: dict[str, Any]) -> None:
        i = self._index(ed)
        try:
            self.session.set_racer_params(i, params, gesture=FloatEditor.active_drag)
        except ValueError as e:  # a combination the optimizer does not define
            ed.params.set_values(self.scenario.racers[i].params)  # the editors show what runs
            self.statusBar().showMessage(f"{ed.cfg.label}: {e}", 10000)

    def _on_schedule(self, ed: RacerEditor, name: str, params: dict, unit: str) -> None:
        i = self._index(ed)
        try:
            self.session.set_racer_schedule(i, name, params, unit, gesture=FloatEditor.active_drag)
        except (ValueError, KeyError) as e:
            ed.show_config(copy_racer(self.scenario.racers[i]))
            self.statusBar().showMessage(f"schedule: {e}", 6000)

    def _on_optimizer(self, ed: RacerEditor, name: str) -> None:
        self.session.set_racer_optimizer(self._index(ed), name)

    def _on_enabled(self, ed: RacerEditor, on: bool) -> None:
        self.session.set_racer_enabled(self._index(ed), on)

    def _add_racer(self) -> None:
        self._refusable(self.session.add_racer)

    def _duplicate(self, ed: RacerEditor) -> None:
        self._refusable(self.session.duplicate_racer, self._index(ed))

    def _remove(self, ed: RacerEditor) -> None:
        self.session.remove_racer(self._index(ed))

    def _refusable(self, intent: Any, *args: Any) -> bool:
        """Call a session intent; a refusal is said in the status bar."""
        try:
            return bool(intent(*args))
        except SessionError as e:
            self.statusBar().showMessage(str(e), 8000)
            return False

    def _on_racer_start(self, ed: RacerEditor, start: tuple[float, ...] | None) -> None:
        """A racer's own start (None: back to the scenario's); restarts that racer."""
        try:
            self.session.set_racer_start(self._index(ed), start)
        except SessionError as e:
            ed.show_start_error(str(e))

    def _on_view_flag(self, name: str, on: bool) -> None:
        self.session.set_view(**{name: bool(on)})

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

    def _on_style(
        self, ed: RacerEditor, label: str | None = None, color: str | None = None
    ) -> None:
        """A new label or colour (default: what the editor's config says)."""
        self.session.set_racer_style(self._index(ed), label or ed.cfg.label, color or ed.cfg.color)

    def sweep_dialog(self) -> None:
        from gui.sweep import SweepDialog

        if not self.scenario.racers:
            return
        dlg = SweepDialog([copy_racer(r) for r in self.scenario.racers], self.selected, self)
        if dlg.exec():
            self.sweep(dlg.racer.currentIndex(), dlg.result_racers(), dlg.replace.isChecked())

    def sweep(self, i: int, made: list[RacerConfig], replace_racer: bool = True) -> bool:
        """Put the sweep's racers in place of racer ``i`` (or after it): one undo step."""
        return self._refusable(self.session.sweep, i, made, replace_racer)

    def _select(self, ed: RacerEditor) -> None:
        self.selected = self._index(ed)
        for i, e in enumerate(self.editors):
            e.set_selected(i == self.selected)
        self._show_equations()

    def _on_landscape_chosen(self, _idx: int) -> None:
        self.session.set_landscape(self.landscape_box.currentData())

    def _on_landscape_param(self, name: str, value: Any) -> None:
        try:
            self.session.set_landscape(
                self.scenario.objective.name, {name: value}, gesture=FloatEditor.active_drag
            )
        except ValueError as e:
            self.ls_form.set_values(self.scenario.objective.params)
            self.statusBar().showMessage(str(e), 6000)

    def _on_noise(self, sigma: float) -> None:
        self.session.set_noise(sigma, gesture=FloatEditor.active_drag)

    def _on_steps(self, steps: int) -> None:
        self._refusable(self.session.set_steps, steps)

    def on_start_chosen(self, x: float, y: float) -> None:
        """A click or a drag of the start marker: restart from (x, y)."""
        self.session.set_start((x, y))

    def on_weights_chosen(self, w1: float, w2: float) -> None:
        """A click in weight space: restart from (w1, w2) with the start's b."""
        self.session.set_start((w1, w2, float(self.scenario.objective.start[2])))

    # ------------------------------------------------------------ transport
    def toggle_play(self) -> None:
        """Play (a finished race first gets twice the steps) or pause."""
        self.session.toggle_play()
        self._sync_play()

    def play(self) -> None:
        if self.runner is not None and not self.runner.playing:
            self.toggle_play()

    def pause(self) -> None:
        if self.runner is not None and self.runner.playing:
            self.runner.pause()
            self._sync_play()

    def step_once(self) -> None:
        self.session.step(1)
        self._sync_play()

    def reset_race(self) -> None:
        self.session.reset()

    def _sync_play(self) -> None:
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
                self.landscape.show_step_arrows(race, counts)
        if not self.arrows_action.isChecked():
            for i in range(n):
                self.landscape.set_arrows(i, None)
        self._frame += 1
        if self.is_perceptron and (self._frame % 10 == 0 or (changed and self._frame < 3)):
            self._perceptron_slow_updates()
        if self._frame % 15 == 0:  # 4 Hz (the metrics scan only the rows new since the last)
            self.board.refresh_async(race)
        self.board.poll(race, self._board_epochs())
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

    def _update_board(self) -> None:
        """The leaderboard from the race's metrics now (on the GUI thread)."""
        assert self.race is not None
        self.board.show_rows(self.race, self.race.leaderboard(), self._board_epochs())

    def _board_epochs(self) -> EpochSampler | None:
        return self.epochs if self.is_perceptron else None

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
    def dragEnterEvent(self, ev: Any) -> None:
        if dropped_file(ev.mimeData()) is not None:
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dragMoveEvent(self, ev: Any) -> None:
        self.dragEnterEvent(ev)

    def dropEvent(self, ev: Any) -> None:
        self.files.drop(ev)

    def closeEvent(self, ev: Any) -> None:
        if not self.files.maybe_save():
            ev.ignore()
            return
        self.timer.stop()
        self.session.close()
        self.settings.save_window(self)
        super().closeEvent(ev)
