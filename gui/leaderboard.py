"""The leaderboard dock: racers ranked by the engine's metrics and worded as the
command line's board words them (engine.metrics.board_rows), refreshed a few times a
second with the metrics computed off the GUI thread.

A refresh rewrites the texts of the table's existing items (rows are added or dropped
only when the number of racers changes), with signals, repaints and the columns' sizing
to their contents held until the table is full: otherwise each text re-measures every
row (64 racers: ~300 ms of GUI thread per refresh instead of ~1 ms).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from engine.metrics import RunMetrics, board_rows
from engine.race import Race
from gui.palette import color_for, line_icon, line_styles

if TYPE_CHECKING:
    from gui.perceptron import EpochSampler

Ranked = list[tuple[int, RunMetrics]]  # racer indices with their metrics, best first

#: the leaderboard's columns, and the tooltips of those that need one
BOARD_COLUMNS = ("#", "racer", "loss", "best / val acc", "steps to tol", "first in tol", "status")
BOARD_TIPS = {
    "steps to tol": "the step from which the run stays within tolerance (—: outside it now)",
    "first in tol": "the step at which the run first came within tolerance (it may have left "
    "it again)",
    "status": "diverged @ k: the loss or gradient overflowed, or the loss gap grew beyond "
    "the divergence factor x its start; unbounded below @ k: the loss fell without bound",
}
BLOWN_COLOR = "#D55E00"
LABEL_COLUMN = BOARD_COLUMNS.index("racer")
STATUS_COLUMN = BOARD_COLUMNS.index("status")


class Leaderboard(QTableWidget):
    """The ranked racers; :meth:`show_rows` fills it, :meth:`refresh_async` and
    :meth:`poll` compute the rows in a worker thread and show them when ready."""

    def __init__(self) -> None:
        super().__init__(0, len(BOARD_COLUMNS))
        self.setHorizontalHeaderLabels(list(BOARD_COLUMNS))
        for col, tip in BOARD_TIPS.items():
            header = self.horizontalHeaderItem(BOARD_COLUMNS.index(col))
            assert header is not None  # setHorizontalHeaderLabels made it
            header.setToolTip(tip)
        self.verticalHeader().hide()
        self.setIconSize(QSize(30, 9))  # gui.palette.line_icon's samples, readable
        self._size_columns()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._job: tuple[Race, threading.Thread, dict[str, Ranked]] | None = None
        self._brushes: dict[str, QBrush] = {}
        self._default_brush = QBrush()

    def _size_columns(self) -> None:
        """Every column as wide as its contents, but the labels', which takes the room."""
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(LABEL_COLUMN, QHeaderView.ResizeMode.Stretch)

    def brush(self, color: str) -> QBrush:
        b = self._brushes.get(color)
        if b is None:
            b = self._brushes[color] = QBrush(QColor(color))
        return b

    def show_rows(self, race: Race, ranked: Ranked, epochs: EpochSampler | None = None) -> None:
        """Show ``ranked`` (``race.leaderboard()``) as engine.metrics.board_rows words
        it; ``epochs``: the window's EpochSampler on a perceptron race (the accuracy and
        epoch shown are then those of the latest epoch evaluated), else None."""
        rows = board_rows(race, epochs.metrics if epochs is not None else None, ranked)
        head = self.horizontalHeader()
        self.setUpdatesEnabled(False)
        self.blockSignals(True)
        # columns sized to their contents would each re-measure every row at each text
        head.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # each racer's line (colour and style) beside its name: colours repeat past 8
        drawn = [c.color or color_for(i) for i, c in enumerate(race.racers)]
        styles = line_styles(drawn)
        try:
            self._resize(len(rows))
            for r, row in enumerate(rows):
                best = getattr(row, race.objective.board_best)
                texts = (row.rank, row.label, row.final_loss, best, row.steps_to_tol,
                         row.first_within_tol, row.status)  # fmt: skip
                colors = {LABEL_COLUMN: drawn[row.index]}
                if row.blown:
                    colors[STATUS_COLUMN] = BLOWN_COLOR
                self._set_row(r, texts, colors)
                self._set_icon(r, line_icon(drawn[row.index], styles[row.index]))
        finally:
            self._size_columns()
            self.blockSignals(False)
            self.setUpdatesEnabled(True)

    def _resize(self, n: int) -> None:
        old = self.rowCount()
        if n == old:
            return
        self.setRowCount(n)
        for r in range(old, n):
            for col in range(len(BOARD_COLUMNS)):
                self.setItem(r, col, QTableWidgetItem())

    def _set_row(self, r: int, texts: tuple[str, ...], colors: dict[int, str]) -> None:
        for col, text in enumerate(texts):
            item = self.item(r, col)
            assert item is not None  # _resize made every row's items
            if item.text() != text:
                item.setText(text)
            c = colors.get(col)
            brush = self.brush(c) if c is not None else self._default_brush
            if item.foreground() != brush:
                item.setForeground(brush)

    def _set_icon(self, r: int, icon: QIcon) -> None:
        item = self.item(r, LABEL_COLUMN)
        assert item is not None  # _resize made every row's items
        if item.icon().cacheKey() != icon.cacheKey():
            item.setIcon(icon)

    # ---------------------------------------------------------------- off the GUI thread
    def refresh_async(self, race: Race | None) -> None:
        """Compute ``race``'s leaderboard in a worker thread; :meth:`poll` shows it.

        The metrics scan only the rows recorded since the last refresh (~0.7 ms for 8
        racers, against ~75 ms for a first scan of 8 x 2M rows); the perceptron's
        full-set evaluation of each racer's point is the rest.
        """
        if race is None or self._job is not None:
            return
        out: dict[str, Ranked] = {}

        def work() -> None:
            # racers added or removed meanwhile may raise: the next refresh redoes it
            with contextlib.suppress(Exception):
                out["rows"] = race.leaderboard()

        job = threading.Thread(target=work, name="leaderboard", daemon=True)
        self._job = (race, job, out)
        job.start()

    def poll(self, race: Race, epochs: EpochSampler | None = None) -> None:
        """Show the worker's rows if it has finished and they are still ``race``'s."""
        if self._job is None or self._job[1].is_alive():
            return
        computed_for, _, out = self._job
        self._job = None
        rows = out.get("rows")
        if rows is not None and computed_for is race and len(rows) == len(race.racers):
            self.show_rows(race, rows, epochs)
