"""View → 3-D view: the landscape as a surface with every racer's trail lifted onto it.

The dock draws, with pyqtgraph.opengl, the landscape over the 2-D panel's home box as a
shaded surface coloured like the heat map (viridis over the same quantity and levels,
:func:`gui.landscape_panel.landscape_image`), the minima as white points, and each
racer's trail and head at the height of f, in the racer's colour. Drag to rotate, the
wheel zooms, *Reset camera* goes back to the default view; *log height* draws
log₁₀(f − f_min + ε) instead of f, for the surface and the trails alike.

This module is the dock: its controls, its messages and when it draws.
:mod:`gui.surface3d_geometry` computes what is drawn (the surface's grid and heights, the
thinned and lifted trails; the rules for heights and trails are there), and
:mod:`gui.surface3d_gl` is the GL view and the scene in it (the world transform, the
OpenGL probe).

Rules:

- Live: the frame loop (gui/frames.py) calls :meth:`Surface3D.on_frame` every frame with
  the race it draws (the replayed one too); with the dock closed that returns at once,
  open it draws every :data:`FRAME_EVERY`-th frame (~20 Hz: under software OpenGL a 3-D
  frame costs about as much as the rest of the window's); a drag repaints at once.
  The dock rebuilds the surface when the 2-D panel's landscape, box or colour scale
  changed, restyles when a racer's colour or switch did, and pulls only the rows added.
- OpenGL is probed once (:func:`gui.surface3d_gl.gl_unavailable`): on the offscreen
  platform, without PyOpenGL or without an OpenGL 2.1 driver the dock shows why in words
  and nothing else changes. A perceptron race has no surface: the dock says so.
- The GL view (:func:`gui.surface3d_gl.make_view`) and its :class:`~gui.surface3d_gl.Scene`
  live only while the dock is open: closing the dock (or the window) frees its buffers
  and its context; opening it builds them anew from the race's rows. The dock does not
  float: the view stays in the main window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.palette import color_for, dash_pattern, line_styles
from gui.surface3d_gl import Scene, camera_home, gl_unavailable, make_view

if TYPE_CHECKING:
    from engine.race import Race
    from gui.window import MainWindow

TITLE = "3-D view"
FRAME_EVERY = 3  # the view follows every 3rd frame of the window's: ~20 Hz


class Surface3D(QWidget):
    """The 3-D view's content: a message, or the controls and the GL view (while open)."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__()
        self.win = win
        self.dock: QDockWidget | None = None  # the dock holding it (install)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.stack = QStackedWidget()
        lay.addWidget(self.stack)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(16)
        self.stack.addWidget(self.message)
        self.page = QWidget()
        pv = self.page_layout = QVBoxLayout(self.page)
        pv.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.log_height = QCheckBox("log height")
        self.log_height.setToolTip(
            "Height log₁₀(f − f_min + ε) instead of f, for the surface and the trails "
            "(ε: 0.1 % of the view's f range): the floor of a valley gets room"
        )
        self.log_height.toggled.connect(self._on_log)
        self.reset_camera = QPushButton("Reset camera")
        self.reset_camera.clicked.connect(self.home_camera)
        hint = QLabel("drag: rotate · wheel: zoom · middle drag: pan")
        hint.setStyleSheet("color: #555")
        bar.addWidget(self.log_height)
        bar.addWidget(self.reset_camera)
        bar.addStretch(1)
        bar.addWidget(hint)
        pv.addLayout(bar)
        self.stack.addWidget(self.page)
        self.view: Any = None  # the GL view (a QOpenGLWindow) while the dock is open and GL works
        self.holder: QWidget | None = None  # the widget holding it
        self.scene: Scene | None = None  # the items in the view, with it
        self._landscape_key: tuple[Any, ...] | None = None
        self._race: Any = None
        self._counts: list[int] = []
        self._tick = -1  # frames seen (on_frame): the first one draws
        self._show_message(None)

    # ------------------------------------------------------------ open / close
    def open(self) -> None:
        """Build the GL view (the dock was opened); or show why there is none."""
        if self.view is not None:
            return
        reason = gl_unavailable()
        if reason is not None:
            self._show_message(
                f"<b>The 3-D view needs OpenGL, which is not available here</b>: {reason}."
                "<br><br>The rest of the window works without it."
            )
            return
        self.view, self.holder = make_view()
        self.page_layout.addWidget(self.holder, 1)
        self.scene = Scene(self.view)
        self.home_camera()
        self._landscape_key = None
        self._race = None
        self._counts = []
        self.stack.setCurrentWidget(self.page)
        self.draw_now()

    def draw_now(self) -> None:
        """Draw the race as the frames show it, now (not waiting for a frame)."""
        if self.view is not None:
            race = self.win.frames.shown_race()
            self._tick = -1
            self.on_frame(race, [int(c) for c in race.count[: len(race.racers)]])

    def close_view(self) -> None:
        """Free the GL view, its buffers and context (the dock was closed)."""
        view = self.view
        if view is None:
            return
        holder, scene = self.holder, self.scene
        assert holder is not None and scene is not None  # made with the view
        if shiboken6.isValid(view):  # (not when Qt tears the window down at exit)
            scene.release()
            self.page_layout.removeWidget(holder)
            holder.hide()
            # deleted where it is: a window container made top-level first crashes Qt at exit
            holder.deleteLater()  # and the GL window it holds, with its context
        self.holder = None
        self.view = None
        self.scene = None
        self._landscape_key = None

    def _show_message(self, text: str | None) -> None:
        if text is None:
            text = "Open the dock to draw the landscape in 3-D."
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def home_camera(self) -> None:
        if self.view is not None:
            camera_home(self.view)

    # ------------------------------------------------------------ frames
    def on_frame(self, race: Race, counts: list[int]) -> None:
        """Draw what changed since the last frame (a no-op while the dock is closed), at
        every FRAME_EVERY-th frame (a 3-D frame costs more than a 2-D one)."""
        scene = self.scene
        if self.view is None or scene is None:
            return
        self._tick += 1
        if self._tick % FRAME_EVERY:
            return
        if race.is_perceptron:
            if self.stack.currentWidget() is not self.message:
                self._show_message(
                    "The 3-D view draws a landscape race; a perceptron race has three "
                    "weights, not a surface over a plane."
                )
            return
        if self.stack.currentWidget() is not self.page:
            self.stack.setCurrentWidget(self.page)
        panel = self.win.landscape
        if panel.home is None or panel.lid < 0:
            return
        log = self.log_height.isChecked()
        key = (panel.lid, panel.packed.tobytes(), panel.home, panel.fmin_known, panel.log_color,
               log)  # fmt: skip
        if key != self._landscape_key:
            self._landscape_key = key
            minima = self.win.race.objective.minima() if not self.win.is_perceptron else []
            scene.set_landscape(panel, minima, log)
            self._counts = []
        colors = [c.color or color_for(i) for i, c in enumerate(race.racers)]
        styles = [
            (color, bool(c.enabled), dash_pattern(dash))
            for color, c, dash in zip(colors, race.racers, line_styles(colors), strict=True)
        ]
        if styles != scene.styles:
            scene.set_racers(styles)
            self._counts = []
        base = getattr(race, "race", race)  # a replayed race (RaceAt): its own race
        if base is not self._race:  # another race (opened, restarted): every trail anew
            self._race = base
            self._counts = []
            scene.restart_trails()
        if counts == self._counts:
            return
        scene.take_rows(race, counts, self._counts, panel.lid, panel.packed)
        self._counts = list(counts)

    def _on_log(self, _on: bool) -> None:
        if self.view is not None:
            self._landscape_key = None  # rebuilt with the new heights
            self.draw_now()


def install(win: MainWindow) -> Surface3D:
    """The "3-D view" dock on ``win``'s left, closed; opening it builds the GL view,
    closing it frees it. Its toggle (for the View menu) is ``dock.toggleViewAction()``."""
    panel = Surface3D(win)
    dock = QDockWidget(TITLE, win)
    dock.setObjectName(TITLE)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetClosable
        | QDockWidget.DockWidgetFeature.DockWidgetMovable
    )
    dock.setWidget(panel)
    win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    dock.hide()
    act = dock.toggleViewAction()
    act.setToolTip("The landscape as a surface, the racers' trails on it (needs OpenGL)")
    act.toggled.connect(lambda on: panel.open() if on else panel.close_view())
    panel.dock = dock
    return panel
