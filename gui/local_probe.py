"""The "Local model" dock: the local quadratic model of the landscape at a probed point,
and the critical points of the view (issue 15; engine.theory.local computes both).

Probing: Shift+click on the landscape (``LandscapePanel.probeChosen``), the dock's
x₁/x₂ fields and its Probe button, or a click on a row of the critical points. The dock
shows f, ∇f, the Hessian H, its eigenvalues and the classification (minimum, maximum,
saddle, degenerate); the landscape shows, around the point, the second-order Taylor
model's contours and the Newton step −H⁻¹∇f as an arrow to the model's stationary point
(its minimum only where H is positive definite; no arrow where H is singular): that
drawing is :class:`gui.probe_layer.ProbeLayer`'s. Esc or Clear removes the probe. A new
landscape, new parameters or a new formula recompute it at the same point; a perceptron
race has no landscape, and the dock says so.

The critical points of the visible box (:func:`engine.theory.local.critical_points`) are
listed with their types and marked on the landscape while the dock is shown; they follow
pans and zooms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.theory.local import (
    KINDS,
    CriticalPoint,
    LocalModel,
    critical_points,
    local_model,
    scale_of,
)
from gui.docks import scrolled
from gui.probe_layer import KIND_STYLE, ProbeLayer


def _num(v: float, digits: int = 6) -> str:
    """A number as the dock shows it (a negative zero as 0)."""
    if not math.isfinite(v):
        return str(v)
    return f"{float(v) + 0.0:.{digits}g}"


def _vec(v: Any, digits: int = 6) -> str:
    return "(" + ", ".join(_num(float(u), digits) for u in v) + ")"


def _expanded(c: dict[str, float]) -> str:
    """c + c_x·x₁ + ... (zero terms left out) as the dock shows it."""
    names = (
        ("1", ""),
        ("x", "·x₁"),
        ("y", "·x₂"),
        ("x^2", "·x₁²"),
        ("xy", "·x₁x₂"),
        ("y^2", "·x₂²"),
    )
    out = ""
    for key, name in names:
        v = c[key]
        if v == 0.0 and (name or out):
            continue
        sign = "−" if v < 0 else "+"
        out += (f" {sign} " if out else ("−" if v < 0 else "")) + _num(abs(v), 5) + name
    return out or "0"


NEWTON_NOTE = {
    "minimum": "H is positive definite: the step lands on the model's minimum.",
    "maximum": "H is not positive definite (negative definite): the step goes to the "
    "model's <b>maximum</b>, uphill.",
    "saddle": "H is not positive definite (one negative eigenvalue): the step goes to "
    "the model's <b>saddle</b>, not a minimum.",
    "degenerate": "H is singular (an eigenvalue ≈ 0): the model has no unique stationary "
    "point, so there is no Newton step.",
}


def model_html(m: LocalModel) -> str:
    """The dock's text for the model ``m``."""
    (hxx, hxy), (hyx, hyy) = m.hessian
    kind_colour = KIND_STYLE[m.kind][3]
    gnorm = float(np.hypot(*m.grad))
    crit = " &nbsp;<i>(a critical point)</i>" if m.critical else ""
    lam = m.eigenvalues
    if m.kind == "degenerate" and not np.all(np.isfinite(lam)):
        why = "H is not finite here"
    elif m.kind == "degenerate":
        why = "an eigenvalue ≈ 0: the second-derivative test says nothing"
    else:
        why = {
            "minimum": "both eigenvalues &gt; 0",
            "maximum": "both eigenvalues &lt; 0",
            "saddle": "one eigenvalue &lt; 0, one &gt; 0",
        }[m.kind]
    place = " point" if m.critical else "-shaped here (∇f ≠ 0: not a critical point)"
    head = [
        f"<b>at (x₁, x₂) = {_vec(m.point)}</b>",
        f"f = {_num(m.f, 10)}",
        f"∇f = {_vec(m.grad)} &nbsp; |∇f| = {_num(gnorm)}{crit}",
    ]
    matrix = (
        "<table cellspacing='0' cellpadding='1'><tr><td rowspan='2' valign='middle'>H =&nbsp;"
        f"</td><td>[&nbsp;{_num(hxx)}</td><td>&nbsp;{_num(hxy)}&nbsp;]</td></tr>"
        f"<tr><td>[&nbsp;{_num(hyx)}</td><td>&nbsp;{_num(hyy)}&nbsp;]</td></tr></table>"
    )  # a block of its own: no line break around it
    rows = [
        f"eigenvalues λ₁ = {_num(float(lam[0]))}, λ₂ = {_num(float(lam[1]))}",
        f"<span style='font-size:15pt; color:{kind_colour}'><b>{m.kind}</b></span>{place}: {why}",
    ]
    if m.newton_step is not None and m.newton_point is not None:
        rows.append(f"Newton step −H⁻¹∇f = {_vec(m.newton_step)} → {_vec(m.newton_point)}")
    rows.append(NEWTON_NOTE[m.kind])
    rows.append(
        "model m(x) = f + ∇f·(x − x₀) + ½(x − x₀)ᵀH(x − x₀)<br>&nbsp;&nbsp;= "
        + _expanded(m.coefficients())
    )
    return "<br>".join(head) + matrix + "<br>".join(rows)


class LocalModelPanel(QWidget):
    """The dock's contents (module docstring). ``landscape``: the LandscapePanel probed
    and drawn on; :meth:`attach` wires it to the window."""

    COLUMNS = ("type", "x₁", "x₂", "f", "λ₁", "λ₂")

    def __init__(self, landscape: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.landscape = landscape
        self.layer = ProbeLayer(landscape)
        self.point: tuple[float, float] | None = None
        self.model: LocalModel | None = None
        self.criticals: list[CriticalPoint] = []
        self._criticals_box: tuple[Any, ...] | None = None  # (lid, packed bytes, box) scanned
        self.enabled_for_landscape = True
        self.shown = False  # the dock in front (markers and scans only then)
        lay = QVBoxLayout(self)
        self.hint = QLabel(
            "<b>Shift+click</b> the landscape to see its local quadratic model there "
            "(<b>Esc</b> clears), or give a point:"
        )
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        self.x_box, self.y_box = QDoubleSpinBox(), QDoubleSpinBox()
        for label, box in (("x₁", self.x_box), ("x₂", self.y_box)):
            box.setRange(-1e9, 1e9)
            box.setDecimals(5)
            box.setMinimumWidth(90)
            row.addWidget(QLabel(label))
            row.addWidget(box)
        self.probe_button = QPushButton("Probe")
        self.probe_button.clicked.connect(
            lambda: self.probe(self.x_box.value(), self.y_box.value())
        )
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove the probe from the landscape (Esc)")
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.probe_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.text = QLabel("")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # the model above, the critical points below: the reader drags the split
        split = QSplitter(Qt.Orientation.Vertical)
        lay.addWidget(split, 1)
        split.addWidget(scrolled(self.text, horizontal=False))
        bottom = QWidget()
        low = QVBoxLayout(bottom)
        low.setContentsMargins(0, 0, 0, 0)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])  # proportions until the dock is laid out
        head = QHBoxLayout()
        self.cp_label = QLabel("")
        self.cp_label.setWordWrap(True)
        head.addWidget(self.cp_label, 1)
        self.mark_box = QCheckBox("mark on the map")
        self.mark_box.setChecked(True)
        self.mark_box.setToolTip(
            "▼ minimum, ▲ maximum, ◆ saddle, ■ degenerate (while this dock is shown)"
        )
        self.mark_box.toggled.connect(lambda _on: self._show_markers())
        head.addWidget(self.mark_box)
        low.addLayout(head)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Click a row to probe that point")
        self.table.cellClicked.connect(self._on_row)
        low.addWidget(self.table, 1)
        self.clear_action: QAction | None = None
        # pans and zooms: the critical points of the new view, the neighbourhood's size
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(200)
        self._view_timer.timeout.connect(self._on_view)
        # a method, not a lambda: Qt drops the connection with the panel (the landscape
        # outlives it when the window is torn down)
        landscape.plotItem.vb.sigRangeChanged.connect(self._on_range_changed)
        self._show_text()

    # ------------------------------------------------------------ wiring
    def attach(self, bridge: Any, window: QWidget) -> None:
        """Shift+clicks on the landscape probe; a new race recomputes (after the window
        has shown its landscape: connect after the window's own handlers); Esc in
        ``window`` clears while a probe is shown."""
        self.landscape.probeChosen.connect(self.probe_from_map)
        dock = self._dock()
        if dock is not None:  # a tab behind another is not hidden: the dock tells
            dock.visibilityChanged.connect(self._on_dock_visible)
        bridge.reloaded.connect(self.on_reloaded)
        self.clear_action = QAction("Clear the local-model probe", window)
        self.clear_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.clear_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.clear_action.setEnabled(False)  # a disabled shortcut leaves Esc to others
        self.clear_action.triggered.connect(self.clear)
        window.addAction(self.clear_action)

    def on_reloaded(self, race: Any) -> None:
        """A new race: a landscape recomputes the probe at the same point and the critical
        points; a perceptron has none."""
        self.enabled_for_landscape = not race.is_perceptron
        for w in (self.x_box, self.y_box, self.probe_button, self.table, self.mark_box):
            w.setEnabled(self.enabled_for_landscape)
        self._criticals_box = None
        if not self.enabled_for_landscape:
            self.model = None
            self.layer.clear()
            self.layer.show_critical(None)
            self.criticals = []
            self.table.setRowCount(0)
            self.cp_label.setText("")
            self._show_text()
            return
        self.refresh()

    # ------------------------------------------------------------ probing
    def probe_from_map(self, x: float, y: float) -> None:
        """A Shift+click: probe and bring the dock forward."""
        self.probe(x, y)
        dock = self._dock()
        if dock is not None:
            dock.show()
            dock.raise_()

    def probe(self, x: float, y: float) -> None:
        """Probe the landscape at (x, y) (kept across landscape changes until cleared)."""
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"probe: expected a finite point, got ({x}, {y})")
        self.point = (float(x), float(y))
        for box, v in ((self.x_box, x), (self.y_box, y)):
            box.blockSignals(True)
            box.setValue(float(v))
            box.blockSignals(False)
        self.refresh()

    def clear(self) -> None:
        """No probe: the drawing and the numbers go (the critical points stay)."""
        self.point = None
        self.model = None
        self.layer.clear()
        if self.clear_action is not None:
            self.clear_action.setEnabled(False)
        self._show_text()

    def refresh(self) -> None:
        """Recompute the probe (if any) for the landscape and view shown, and the
        critical points if the dock is shown."""
        if not self.enabled_for_landscape or self.landscape.lid < 0:
            return
        box = self.landscape.view_box()
        if self.point is not None:
            scale = scale_of(self.landscape.lid, self.landscape.packed, box)
            self.model = local_model(self.landscape.lid, self.landscape.packed, *self.point, scale)
            self.layer.show(self.model, box)
            if self.clear_action is not None:
                self.clear_action.setEnabled(True)
        self._show_text()
        if self.shown:
            self.refresh_criticals()

    def _show_text(self) -> None:
        if not self.enabled_for_landscape:
            self.text.setText("<i>A perceptron race has no 2-D landscape to probe.</i>")
        elif self.model is None:
            self.text.setText("<i>No point probed.</i>")
        else:
            self.text.setText(model_html(self.model))

    # ------------------------------------------------------------ critical points
    def refresh_criticals(self) -> None:
        """The critical points of the visible box (rescanned only when the landscape or
        the box changed)."""
        if not self.enabled_for_landscape or self.landscape.lid < 0:
            return
        lid, packed = self.landscape.lid, self.landscape.packed
        x0, x1, y0, y1 = self.landscape.view_box()
        box = (float(x0), float(x1), float(y0), float(y1))
        key = (lid, packed.tobytes(), box)
        if key == self._criticals_box:
            self._show_markers()
            return
        self._criticals_box = key
        self.criticals = critical_points(lid, packed, box)
        counts = {k: sum(c.kind == k for c in self.criticals) for k in KINDS}
        plural = {"minimum": "minima", "maximum": "maxima", "saddle": "saddles",
                  "degenerate": "degenerate"}  # fmt: skip
        parts = [f"{n} {k if n == 1 else plural[k]}" for k, n in counts.items() if n]
        self.cp_label.setText(
            f"<b>Critical points in the view: {len(self.criticals)}</b>"
            + (f" ({', '.join(parts)})" if parts else "")
        )
        self.table.setRowCount(len(self.criticals))
        for r, c in enumerate(self.criticals):
            cells = (f"{KIND_STYLE[c.kind][2]} {c.kind}", *(_num(v, 5) for v in (*c.point, c.f,
                     *c.eigenvalues)))  # fmt: skip
            for k, s in enumerate(cells):
                item = QTableWidgetItem(s)
                if k:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(r, k, item)
        self._show_markers()

    def _show_markers(self) -> None:
        shown = self.mark_box.isChecked() and self.shown and self.enabled_for_landscape
        self.layer.show_critical(self.criticals if shown else None)

    def _on_row(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.criticals):
            self.probe(*self.criticals[row].point)

    def _on_range_changed(self, *_: Any) -> None:
        self._view_timer.start()

    def _on_view(self) -> None:
        if self.point is not None and self.model is not None:
            self.layer.show(self.model, self.landscape.view_box())
        if self.shown:
            self.refresh_criticals()

    def _on_dock_visible(self, shown: bool) -> None:
        """The dock's tab came to the front (or went behind another, or closed). The dock
        also hides when the window is torn down, which at exit can be after the landscape's
        items are gone: nothing is drawn then."""
        self.shown = bool(shown)
        if not self.layer.alive():
            return
        if shown:
            self.refresh_criticals()
        else:
            self._show_markers()

    def _dock(self) -> QDockWidget | None:
        w = self.parentWidget()
        while w is not None and not isinstance(w, QDockWidget):
            w = w.parentWidget()
        return w
