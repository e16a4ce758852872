"""The Maps dock: a racer's map over start points or hyperparameters, computed in the
background, drawn as it arrives, clicked to apply.

The map runs in an :class:`engine.maps.job.MapJob` (one worker thread; compute_map is
never called on this GUI thread). The worker never touches a widget: its callbacks
emit this panel's signals, which Qt queues to the GUI thread. A grid map runs in bands
of rows; each band is drawn as it finishes (the rows not yet computed are transparent),
so the first rows of a large map show long before its end.

Start maps (basins of attraction) are also drawn over the landscape panel, under the
trails (toggle: "on the landscape"), and removed when the landscape, its parameters or
the gradient noise change. Hyperparameter maps have log axes where the parameter is
log-scaled; zooming or panning one (mouse) computes it again over the new range at the
same resolution, 300 ms after the last move. A click on a pixel gives the map's racer
that start or those hyperparameters (``startChosen`` / ``paramsChosen``: the window's
intents make it one undo step). A bad request (a non-numeric parameter, too many
pixels) is said in the status line and nothing starts. :meth:`MapsPanel.close_job`
cancels and joins the worker (the window's closeEvent).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.maps.grid import MapError
from engine.maps.job import CANCELLED, DONE, JobRequest, MapJob, Outcome
from engine.optimizers import get_optimizer
from gui.map_colours import map_rect
from gui.map_picture import COLOUR_NAMES, MapMarks, MapPlot

ZOOM_DELAY_MS = 300
MAX_RES = 8192  # plan() refuses a map with too many pixels, saying why


def _objective_key(s: Any) -> tuple[Any, ...]:
    """What a map depends on besides its racer and start: the landscape (a typed one's
    formula), its parameters, the gradient noise, the tolerance and the seed."""
    o = s.objective
    return (o.kind, o.name, o.formula, sorted(o.params.items()), o.grad_noise, s.tolerance,
            s.seed)  # fmt: skip


def _plain(msg: str) -> str:
    """A planner's message without the command line's dashes (--res: res)."""
    return re.sub(r"--(\w+)", r"\1", msg)


class MapsPanel(QWidget):
    """The Maps dock (module docstring). ``landscape``: the panel start maps overlay."""

    paramsChosen = Signal(int, object)  # racer index, {name: value}
    startChosen = Signal(int, float, float)  # racer index, x, y
    mapShown = Signal()  # a finished map was drawn (tests, the CLI's picture)
    _progressed = Signal(int, int, int)  # from the worker: generation, done, total
    _finished = Signal(object)  # from the worker: Outcome

    def __init__(self, session: Any, landscape: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.landscape = landscape
        self.job = MapJob(on_progress=self._emit_progress, on_done=self._emit_finished)
        self._progressed.connect(self._on_progress)
        self._finished.connect(self._on_finished)
        self.shown: tuple[Any, JobRequest, tuple[Any, ...]] | None = None  # result, req, key
        self._running_key: tuple[Any, ...] | None = None
        self._drawn_rows = 0
        self._zoom_pending: JobRequest | None = None
        self._zooming = False  # the map running is a zoom (the view stays as the user left it)
        self._build()
        self._zoom_timer = QTimer(self)
        self._zoom_timer.setSingleShot(True)
        self._zoom_timer.setInterval(ZOOM_DELAY_MS)
        self._zoom_timer.timeout.connect(self._zoom_now)
        self.plot.zoomed.connect(self._on_zoomed)
        self.plot.pixelClicked.connect(self._on_pixel)
        self.refresh()

    # ------------------------------------------------------------ from the worker thread
    def _emit_progress(self, gen: int, done: int, total: int) -> None:
        with contextlib.suppress(RuntimeError):  # the panel is gone (closed without close_job)
            self._progressed.emit(gen, done, total)  # queued to the GUI thread

    def _emit_finished(self, out: Outcome) -> None:
        with contextlib.suppress(RuntimeError):
            self._finished.emit(out)

    # ------------------------------------------------------------ controls
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QGridLayout()
        self.racer_box = QComboBox()
        self.first = QComboBox()
        self.second = QComboBox()
        self.res = QSpinBox()
        self.res.setRange(1, MAX_RES)
        self.res.setValue(96)
        self.res.setToolTip("pixels per axis (a start map: res × res; a 1-D map: res points)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setSingleStep(100)
        self.colour = QComboBox()
        for k, text in COLOUR_NAMES.items():
            self.colour.addItem(text, k)
        self.res.setPrefix("res ")
        self.steps.setPrefix("steps ")
        rows = (
            ("Racer", self.racer_box, None, None),
            ("Sweep", self.first, QLabel("×"), self.second),
            ("Pixels", self.res, None, self.steps),
            ("Colour", self.colour, None, None),
        )
        for r, (text, a, mid, b) in enumerate(rows):
            form.addWidget(QLabel(text), r, 0)
            form.addWidget(a, r, 1, 1, 1 if b is not None else 3)
            if mid is not None:
                form.addWidget(mid, r, 2)
            if b is not None:
                form.addWidget(b, r, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.compute_button = QPushButton("Compute map")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.overlay_box = QCheckBox("on the landscape")
        self.overlay_box.setChecked(True)
        self.overlay_box.setToolTip("draw start maps over the landscape, under the trails")
        row.addWidget(self.compute_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.overlay_box)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        lay.addWidget(self.progress)
        self.progress.setMaximumHeight(18)
        self.status = QLabel("Choose what to sweep, then Compute map.")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 4)
        lay.addWidget(self.status)
        self.plot = MapPlot()
        lay.addWidget(self.plot, 1)
        self.compute_button.clicked.connect(lambda: self.start_map())
        self.cancel_button.clicked.connect(self.cancel)
        self.colour.currentIndexChanged.connect(lambda _i: self.redraw())
        self.overlay_box.toggled.connect(lambda _on: self._draw_overlay())
        self.racer_box.currentIndexChanged.connect(lambda _i: self._fill_params())
        self.first.currentIndexChanged.connect(lambda _i: self._sync_second())

    def attach(self, bridge: Any) -> None:
        """Follow the session (gui.document.SessionBridge): racers, objective, steps."""
        bridge.reloaded.connect(lambda _race: self._on_reloaded())
        bridge.racersChanged.connect(lambda _changed: self.refresh())
        bridge.scenarioChanged.connect(lambda _s: self._on_scenario())

    def _on_reloaded(self) -> None:
        """A new race (the landscape panel dropped its overlay): the controls anew, the
        map again if it still holds (see _on_scenario)."""
        self.refresh(reset_steps=True)
        self._on_scenario()
        self._draw_overlay()

    def refresh(self, reset_steps: bool = False) -> None:
        """The racer list and the parameters as the session has them."""
        s = self.session.scenario
        labels = [r.label for r in s.racers]
        if [self.racer_box.itemText(k) for k in range(self.racer_box.count())] != labels:
            keep = self.racer_box.currentIndex()
            self.racer_box.blockSignals(True)
            self.racer_box.clear()
            self.racer_box.addItems(labels)
            self.racer_box.setCurrentIndex(min(max(keep, 0), len(labels) - 1))
            self.racer_box.blockSignals(False)
        if reset_steps or self.steps.value() <= 1:
            self.steps.setValue(int(s.steps))
        landscape = s.objective.kind == "landscape"
        self.setEnabled(landscape)
        if not landscape:
            self._say("Maps: landscapes only (not the perceptron yet).")
        elif "landscapes only" in self.status.text():
            self._say("Choose what to sweep, then Compute map.")
        self._fill_params()
        self._show_current()

    def _fill_params(self) -> None:
        s = self.session.scenario
        i = self.racer_box.currentIndex()
        names = []
        if 0 <= i < len(s.racers):
            names = [p.name for p in get_optimizer(s.racers[i].optimizer).params
                     if p.kind in ("float", "int")]  # fmt: skip
        items = ["start", *names]
        if [self.first.itemData(k) for k in range(self.first.count())] != items:
            keep = self.first.currentData()
            self.first.blockSignals(True)
            self.first.clear()
            self.first.addItem("start (x₁, x₂)", "start")
            for n in names:
                self.first.addItem(n, n)
            k = self.first.findData(keep)
            self.first.setCurrentIndex(k if k >= 0 else 0)
            self.first.blockSignals(False)
        self._sync_second()

    def _sync_second(self) -> None:
        first = self.first.currentData()
        names = [self.first.itemData(k) for k in range(1, self.first.count())]
        keep = self.second.currentData()
        self.second.blockSignals(True)
        self.second.clear()
        self.second.addItem("—", "")
        if first != "start":
            for n in names:
                if n != first:
                    self.second.addItem(n, n)
        k = self.second.findData(keep)
        self.second.setCurrentIndex(k if k >= 0 else 0)
        self.second.blockSignals(False)
        self.second.setEnabled(first != "start")
        if first == "start" and self.colour.currentData() == "steps" and self.shown is None:
            self.colour.setCurrentIndex(self.colour.findData("minimum"))

    def request(self) -> JobRequest:
        """The map the controls ask for."""
        first = self.first.currentData() or "start"
        second = self.second.currentData() or ""
        over = first if first == "start" or not second else f"{first},{second}"
        return JobRequest(
            racer=max(self.racer_box.currentIndex(), 0),
            over=over,
            res=(self.res.value(),),
            steps=self.steps.value(),
            colour_by=self.colour.currentData() or "steps",
        )

    # ------------------------------------------------------------ running
    def start_map(self, req: JobRequest | None = None, zoom: bool = False) -> bool:
        """Compute ``req`` (default: the controls' request) in the background; False and
        the reason in the status line if it cannot be made (nothing starts)."""
        req = req if req is not None else self.request()
        scenario = self.session.scenario
        try:
            spec = self.job.start(scenario, req)
        except MapError as e:
            self._say(_plain(str(e)), error=True)
            return False
        self._running_key = _objective_key(scenario)
        self._zooming = zoom
        self._drawn_rows = 0
        self.progress.setRange(0, spec.size)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self._say(f"Computing {spec.size:,} pixels × {req.steps or scenario.steps:,} steps…")
        return True

    def cancel(self) -> None:
        if self.job.cancel():
            self._say("Cancelling…")

    def close_job(self) -> None:
        """Cancel the map running and join the worker thread (the window closes)."""
        self._zoom_timer.stop()
        self.job.close()

    def _on_progress(self, gen: int, done: int, total: int) -> None:
        if gen != self.job.generation:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        part = self.job.partial()
        if part is None or part[0] != gen or part[2] <= self._drawn_rows:
            return
        _, res, rows = part
        first = self._drawn_rows == 0
        self._drawn_rows = rows
        req = self.job.request
        assert req is not None
        self._draw(res, req, rows=rows, frame=first and not self._zooming)

    def _on_finished(self, out: Outcome) -> None:
        if out.generation != self.job.generation:
            return  # superseded by a newer map
        self.cancel_button.setEnabled(False)
        if out.state == DONE and out.result is not None:
            assert self._running_key is not None
            self.shown = (out.result, out.request, self._running_key)
            self.progress.setValue(self.progress.maximum())
            first = self.job.first_seconds
            tail = f"; first rows after {first:.2f} s" if first is not None else ""
            self._say(f"Done in {out.result.wall:.2f} s{tail}. Click a pixel to apply it.")
            self._draw(out.result, out.request, frame=not self._zooming and self._drawn_rows == 0)
            self.mapShown.emit()
            return
        # cancelled or failed: the previous picture again
        self.progress.setValue(0)
        self.redraw()
        if out.state == CANCELLED:
            self._say("Cancelled; the previous map is shown.")
        else:
            self._say(out.message, error=True)

    # ------------------------------------------------------------ drawing
    def marks(self, res: Any, racer: int) -> MapMarks:
        """The ring at the racer's setting; the known minima on a start map."""
        marks = MapMarks(current=self._current(res.spec, racer))
        if getattr(self, "show_theory", False) and res.spec.kind != "start":  # gui.theory_overlay
            from gui.theory_overlay import lr_map_lines

            marks.lines = lr_map_lines(self.session.race, racer, res.spec.names)
        if res.spec.kind == "start":
            minima = self.session.race.objective.minima()
            marks.minima = [tuple(float(v) for v in m) for m in minima]
        return marks

    def _current(self, spec: Any, i: int) -> tuple[float, ...] | None:
        """The racer's setting on the map's axes: its start, or its swept parameters."""
        s = self.session.scenario
        if not 0 <= i < len(s.racers):
            return None
        r = s.racers[i]
        if spec.kind == "start":
            st = r.start if r.start is not None else s.objective.start
            return (float(st[0]), float(st[1]))
        if not all(n in r.params for n in spec.names):
            return None
        try:
            return tuple(float(r.params[n]) for n in spec.names)
        except (TypeError, ValueError):
            return None

    def _draw(self, res: Any, req: JobRequest, rows: int | None = None, frame: bool = True) -> None:
        by = self.colour.currentData() or req.colour_by
        rgba = self.plot.show_map(res, by, self.marks(res, req.racer), rows=rows, frame=frame)
        self._overlay = (rgba, res) if res.spec.kind == "start" else None
        self._draw_overlay()

    def redraw(self) -> None:
        """The finished map shown (e.g. coloured by another figure), or nothing."""
        if self.shown is None:
            self.plot.clear_map()
            self._overlay = None
            self._draw_overlay()
            return
        res, req, _ = self.shown
        self._draw(res, req, frame=False)

    def _draw_overlay(self) -> None:
        if self.landscape is None:
            return
        ov = getattr(self, "_overlay", None)
        if ov is None or not self.overlay_box.isChecked():
            self.landscape.set_map_overlay(None)
            return
        rgba, res = ov
        self.landscape.set_map_overlay(rgba, map_rect(res))

    def _show_current(self) -> None:
        if self.shown is not None and self.plot.result is self.shown[0]:
            res, req, _ = self.shown
            self.plot.set_current(self._current(res.spec, req.racer))

    def _on_scenario(self) -> None:
        """A change of the landscape, its parameters or the noise removes the map."""
        key = _objective_key(self.session.scenario)
        if self.job.running and self._running_key != key:
            self.job.cancel()
        if self.shown is not None and self.shown[2] != key:
            self.shown = None
            self.redraw()
            self._say("The landscape changed: compute the map again.")
        self._show_current()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020" if error else "")
        self.status.setText(text)

    # ------------------------------------------------------------ mouse
    def _on_pixel(self, p: int) -> None:
        if self.shown is None or self.plot.result is not self.shown[0]:
            return
        res, req, _ = self.shown
        s = self.session.scenario
        i = req.racer
        if not (0 <= i < len(s.racers) and s.racers[i].label == res.racer):
            self._say(f"{res.racer!r} is no longer racer {i + 1}: compute the map again.", True)
            return
        vals = res.spec.values(p)
        if res.spec.kind == "start":
            self.startChosen.emit(i, float(vals[0]), float(vals[1]))
        else:
            self.paramsChosen.emit(i, dict(zip(res.spec.names, vals, strict=True)))

    def _on_zoomed(self, lims: list[tuple[float, float]]) -> None:
        if self.shown is None:
            return
        res, req, _ = self.shown
        if res.spec.kind == "start":
            (x0, x1), (y0, y1) = lims
            self._zoom_pending = replace(req, box=(x0, x1, y0, y1), ranges=None)
        else:
            self._zoom_pending = replace(req, ranges=self._clip(res, req, lims), box=None)
        self._zoom_timer.start()

    def _clip(
        self, res: Any, req: JobRequest, lims: list[tuple[float, float]]
    ) -> tuple[float, ...]:
        """The visible ranges within the parameters' bounds (a log axis stays > 0)."""
        s = self.session.scenario
        specs = {p.name: p for p in get_optimizer(s.racers[req.racer].optimizer).params}
        out: list[float] = []
        for name, (lo, hi) in zip(res.spec.names, lims, strict=True):
            ps = specs.get(name)
            if ps is not None:
                eps = 1e-12 * max(abs(ps.lo), 1.0)
                lo = max(lo, ps.lo + (eps if ps.lo_open else 0.0))
                hi = min(hi, ps.hi - (eps if ps.hi_open else 0.0))
            out += [lo, hi]
        return tuple(out)

    def _zoom_now(self) -> None:
        req = self._zoom_pending
        self._zoom_pending = None
        if req is not None:
            self.start_map(req, zoom=True)
