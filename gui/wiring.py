"""The widgets' edits as session intents.

Each handler turns one widget signal into one call of an :class:`engine.session.Session`
intent; the session changes the scenario and the race, and its events (through
``gui/document.py``'s bridge) redraw the window. A refusal (a SessionError, or a
ValueError for a value the engine does not define) is said where the user looks, the
status bar or the editor, and the widget shows again what runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.changes import copy_racer
from engine.landscapes.typed import NAME as FORMULA
from engine.race import RacerConfig
from engine.scenario import ScenarioError
from engine.session import SessionError
from gui.editors import FloatEditor
from gui.racers import RacerEditor
from gui.scenario_form import DELETE

if TYPE_CHECKING:
    from gui.window import MainWindow


class Intents:
    """The edits of one :class:`gui.window.MainWindow`'s widgets, passed to its session."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.session = win.session

    def connect(self) -> None:
        """The side panel's, the maps' and the scenario form's signals to the intents."""
        win = self.win
        win.landscape_box.currentIndexChanged.connect(self.landscape_chosen)
        win.noise.valueChanged.connect(self.noise)
        win.steps_box.valueChanged.connect(self.steps)
        win.fields.edited.connect(self.edit_field)
        win.restart_on_change.toggled.connect(self.restart_on_change)
        win.landscape.startChosen.connect(self.on_start_chosen)
        win.multiples.startChosen.connect(self.on_start_chosen)
        win.perceptron.startChosen.connect(self.on_weights_chosen)
        win.race_panel.add_button.clicked.connect(self.add_racer)
        win.race_panel.sweep_button.clicked.connect(self.sweep_dialog)
        win.maps.paramsChosen.connect(self.map_params)
        win.maps.startChosen.connect(self.map_start)

    def connect_editor(self, ed: RacerEditor) -> None:
        """A racer editor's edits to the intents on its racer."""
        ed.startChanged.connect(self.racer_start)
        ed.paramsChanged.connect(self.racer_params)
        ed.scheduleChanged.connect(self.racer_schedule)
        ed.optimizerChanged.connect(self.racer_optimizer)
        ed.enabledChanged.connect(self.racer_enabled)
        ed.styleChanged.connect(self.racer_style)
        ed.duplicateRequested.connect(self.duplicate)
        ed.removeRequested.connect(self.remove)

    def refusable(self, intent: Callable[..., Any], *args: Any) -> bool:
        """Call a session intent; a refusal is said in the status bar."""
        try:
            return bool(intent(*args))
        except SessionError as e:
            self.win.statusBar().showMessage(str(e), 8000)
            return False

    def _index(self, ed: RacerEditor) -> int:
        return self.win.editors.index(ed)

    # ------------------------------------------------------------ racers
    def racer_params(self, ed: RacerEditor, params: dict[str, Any]) -> None:
        i = self._index(ed)
        try:
            self.session.set_racer_params(i, params, gesture=FloatEditor.active_drag)
        except ValueError as e:  # a combination the optimizer does not define
            ed.params.set_values(self.session.scenario.racers[i].params)  # shows what runs
            self.win.statusBar().showMessage(f"{ed.cfg.label}: {e}", 10000)

    def racer_schedule(self, ed: RacerEditor, name: str, params: dict[str, Any], unit: str) -> None:
        i = self._index(ed)
        try:
            self.session.set_racer_schedule(i, name, params, unit, gesture=FloatEditor.active_drag)
        except (ValueError, KeyError) as e:
            ed.show_config(copy_racer(self.session.scenario.racers[i]))
            self.win.statusBar().showMessage(f"schedule: {e}", 6000)

    def racer_optimizer(self, ed: RacerEditor, name: str) -> None:
        self.session.set_racer_optimizer(self._index(ed), name)

    def racer_enabled(self, ed: RacerEditor, on: bool) -> None:
        self.session.set_racer_enabled(self._index(ed), on)

    def racer_style(
        self, ed: RacerEditor, label: str | None = None, color: str | None = None
    ) -> None:
        """A new label or colour (default: what the editor's config says)."""
        self.session.set_racer_style(self._index(ed), label or ed.cfg.label, color or ed.cfg.color)

    def racer_start(self, ed: RacerEditor, start: tuple[float, ...] | None) -> None:
        """A racer's own start (None: back to the scenario's); restarts that racer."""
        try:
            self.session.set_racer_start(self._index(ed), start)
        except SessionError as e:
            ed.show_start_error(str(e))

    def add_racer(self) -> None:
        self.refusable(self.session.add_racer)

    def duplicate(self, ed: RacerEditor) -> None:
        self.refusable(self.session.duplicate_racer, self._index(ed))

    def remove(self, ed: RacerEditor) -> None:
        self.session.remove_racer(self._index(ed))

    def sweep_dialog(self) -> None:
        from gui.sweep import SweepDialog

        racers = self.session.scenario.racers
        if not racers:
            return
        dlg = SweepDialog([copy_racer(r) for r in racers], self.win.selected, self.win)
        if dlg.exec():
            self.sweep(dlg.racer.currentIndex(), dlg.result_racers(), dlg.replace.isChecked())

    def sweep(self, i: int, made: list[RacerConfig], replace_racer: bool = True) -> bool:
        """Put the sweep's racers in place of racer ``i`` (or after it): one undo step."""
        return self.refusable(self.session.sweep, i, made, replace_racer)

    # ------------------------------------------------------------ objective and race
    def landscape_chosen(self, _idx: int) -> None:
        name = self.win.landscape_box.currentData()
        if name == FORMULA:  # "Formula…": the editor's formula (gui/formula_editor.py)
            self.win.formula_editor.choose()
        else:
            self.session.set_landscape(name)

    def landscape_param(self, name: str, value: Any) -> None:
        objective = self.session.scenario.objective
        try:
            self.session.set_landscape(
                objective.name, {name: value}, gesture=FloatEditor.active_drag
            )
        except ValueError as e:
            self.win.ls_form.set_values(self.session.scenario.objective.params)
            self.win.statusBar().showMessage(str(e), 6000)

    def noise(self, sigma: float) -> None:
        self.session.set_noise(sigma, gesture=FloatEditor.active_drag)

    def steps(self, steps: int) -> None:
        self.refusable(self.session.set_steps, steps)

    def restart_on_change(self, on: bool) -> None:
        self.session.restart_on_change = bool(on)

    def on_start_chosen(self, x: float, y: float) -> None:
        """A click or a drag of the start marker: restart from (x, y)."""
        self.session.set_start((x, y))

    def on_weights_chosen(self, w1: float, w2: float) -> None:
        """A click in weight space: restart from (w1, w2) with the start's b."""
        self.session.set_start((w1, w2, float(self.session.scenario.objective.start[2])))

    def map_params(self, i: int, params: dict[str, Any]) -> None:
        """A click on a hyperparameter map: racer ``i`` takes that pixel's values."""
        try:
            self.session.set_racer_params(i, params)
        except ValueError as e:  # a combination the optimizer does not define
            self.win.statusBar().showMessage(f"map: {e}", 8000)

    def map_start(self, i: int, x: float, y: float) -> None:
        """A click on a start map: racer ``i`` starts from that pixel's point."""
        self.refusable(self.session.set_racer_start, i, (x, y))

    def view_flag(self, name: str, on: bool) -> None:
        """A user's toggle of a [view] key: a scenario edit and an undo step."""
        self.session.set_view(**{name: bool(on)})

    def edit_field(self, key: str, value: Any) -> bool:
        """Set scenario key ``key`` ("view.x_range"; DELETE removes it) and apply.

        The whole scenario is validated by the engine (the same validation as a file);
        a problem is shown at its field and nothing changes. True when applied.
        """
        from engine.scenario import scenario_from_dict, scenario_to_dict

        scn = self.session.scenario
        d = scenario_to_dict(scn)
        *parents, leaf = key.split(".")
        node = d
        for k in parents:
            node = node.setdefault(k, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
        path = self.win.document.path
        fields = self.win.fields
        try:
            new = scenario_from_dict(
                d,
                source=str(path) if path is not None else "untitled scenario",
                base_dir=path.parent if path is not None else None,
                origin=scn.origin,  # saving keeps the file's comments
            )
            self.session.apply_scenario(new, f"scenario {key}", key)
        except ScenarioError as e:
            fields.show_problems(e.problems)
            return False
        fields.show_problems([])
        return True
