"""View → 3-D view: the landscape as a surface with every racer's trail lifted onto it.

The dock draws, with pyqtgraph.opengl, the landscape over the 2-D panel's home box as a
shaded surface coloured like the heat map (viridis over the same quantity and levels,
:func:`gui.landscape_panel.landscape_image`), the minima as white points, and each
racer's trail and head at the height of f, in the racer's colour. Drag to rotate, the
wheel zooms, *Reset camera* goes back to the default view; *log height* draws
log₁₀(f − f_min + ε) instead of f, for the surface and the trails alike (:class:`Heights`).

Rules:

- Heights are data, the look is a transform: the surface's z values are exactly
  ``Heights(f)`` on the grid and a trail point's z exactly ``Heights(f(x, y))`` at a
  recorded row; one transform for the whole scene (the world item) puts the home box in
  a unit square (equal aspect) and the height range in half a unit, and trails and heads
  float a hair (:data:`LIFT` of the height range) above the surface so its facets do not
  hide them.
- A trail is thinned like the 2-D panel's (points closer than a tolerance dropped, the
  tolerance doubled past :data:`TRAIL_CAP` points), its head is the last row. It ends at
  its last point before the racer first leaves the home box widened by half its size on
  each side (its head is then hidden): beyond, over no surface, heights mean little and a
  diverging run's would be huge.
- Live: the frame loop (gui/frames.py) calls :meth:`Surface3D.on_frame` every frame with
  the race it draws (the replayed one too); with the dock closed that returns at once,
  open it draws every :data:`FRAME_EVERY`-th frame (~20 Hz: under software OpenGL a 3-D
  frame costs about as much as the rest of the window's); a drag repaints at once.
  The dock rebuilds the surface when the 2-D panel's landscape, box or colour scale
  changed, restyles when a racer's colour or switch did, and pulls only the rows added.
- OpenGL is probed once (:func:`gl_unavailable`): on the offscreen platform, without
  PyOpenGL or without an OpenGL 2.1 driver the dock shows why in words and nothing else
  changes. A perceptron race has no surface: the dock says so.
- The GL view is a window of its own in a window container (:func:`_make_view`), and it
  lives only while the dock is open: closing the dock (or the window) frees its buffers
  and its context; opening it builds them anew from the race's rows. The dock does not
  float: the view stays in the main window.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
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

from engine.display import rethin, thin_path
from engine.landscapes import landscape_f, landscape_grid
from gui.palette import color_for

if TYPE_CHECKING:
    from engine.race import Race
    from gui.window import MainWindow

TITLE = "3-D view"
GRID_N = 96  # surface vertices per side (the 2-D heat map has gui.axes.GRID)
TRAIL_CAP = 4096  # thinned points per trail at most (then the tolerance doubles)
BUFFER_ROWS = 16  # a trail's thinning buffer, in TRAIL_CAPs: rows thinned per call
HEIGHT = 0.5  # the height range drawn, in units of the home box's longer side
LIFT = 0.03  # trails and heads above the surface, as a fraction of the height range
LOG_EPS = 1e-3  # log height: ε as a fraction of the grid's f range (3 decades of depth)
FRAME_EVERY = 3  # the view follows every 3rd frame of the window's: ~20 Hz
HEAD_PX = 13.0
TRAIL_PX = 2.5
#: the default camera: 45° above the box, from beyond its x₁ = x_min, y = y_min corner
#: (a ravine along x₁ is seen along its length; the box fills the view)
CAMERA = {"elevation": 45.0, "azimuth": -150.0, "distance": 1.6}

_probe: str | bool | None = False  # False: not probed yet


def gl_unavailable() -> str | None:
    """Why this process cannot draw the 3-D view (a sentence), None when it can.

    Probed once: the Qt platform (offscreen and minimal have no OpenGL for widgets),
    pyqtgraph.opengl's import (it needs PyOpenGL), then an OpenGL context made current on
    an offscreen surface, of version 2.1 or later (what pyqtgraph.opengl needs).
    """
    global _probe
    if _probe is not False:
        return _probe if isinstance(_probe, str) else None
    _probe = _probe_gl()
    return _probe


def _probe_gl() -> str | None:
    platform = QGuiApplication.platformName()
    if platform in ("offscreen", "minimal", "minimalegl", "vnc", "linuxfb"):
        return (
            f"the Qt platform '{platform}' has no OpenGL for windows (a headless session); "
            "run on a display with OpenGL (under X11 without a screen: Xvfb with Mesa)"
        )
    try:
        import pyqtgraph.opengl  # noqa: F401  (needs PyOpenGL)
    except Exception as e:  # ImportError, or PyOpenGL failing to load libGL
        return f"pyqtgraph.opengl cannot be imported ({type(e).__name__}: {e}); install PyOpenGL"
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    ctx = QOpenGLContext()
    if not ctx.create():
        return "no OpenGL driver: an OpenGL context could not be created"
    surface = QOffscreenSurface()
    surface.setFormat(ctx.format())
    surface.create()
    try:
        if not ctx.makeCurrent(surface):
            return "no OpenGL driver: an OpenGL context could not be made current"
        version = ctx.format().version()
        if not ctx.isOpenGLES() and version < (2, 1):
            return f"OpenGL {version[0]}.{version[1]} found, 2.1 or later needed"
    finally:
        ctx.doneCurrent()
        surface.destroy()
    return None


class Heights:
    """The height drawn for a loss: f itself, or log₁₀(max(f − f_ref, 0) + ε).

    f_ref is the known minimum f* or the grid's least f, whichever is lower (as the 2-D
    heat map's colour); ε is :data:`LOG_EPS` of the grid's f range (its 99th percentile
    less f_ref). The surface and the trails use the same instance.
    """

    def __init__(self, log: bool, fref: float, eps: float) -> None:
        self.log = log
        self.fref = fref
        self.eps = eps

    @classmethod
    def of_grid(cls, z: np.ndarray, fmin_known: float | None, log: bool) -> Heights:
        finite = z[np.isfinite(z)]
        if finite.size == 0:
            return cls(log, 0.0, 1.0)
        zmin = float(finite.min())
        fref = min(fmin_known if fmin_known is not None else zmin, zmin)
        span = float(np.percentile(finite, 99)) - fref
        return cls(log, fref, max(span * LOG_EPS, 1e-12))

    def __call__(self, f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=float)
        if not self.log:
            return f.copy()
        with np.errstate(invalid="ignore"):
            return np.log10(np.maximum(f - self.fref, 0.0) + self.eps)


def loss_at(lid: int, packed: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """f at each row (x, y) of ``pts``."""
    out = np.empty(pts.shape[0])
    for k in range(pts.shape[0]):
        out[k] = landscape_f(lid, packed, float(pts[k, 0]), float(pts[k, 1]))
    return out


class LiftedTrail:
    """One racer's path thinned for drawing, with f at each kept point (see the module's
    rules: it ends at its last kept point before it first leaves ``box``).

    Rows are thinned (:func:`engine.display.thin_path`) in chunks as long as the buffer
    (BUFFER_ROWS of ``cap``) has room, so a frame's many new rows cost a few calls; the
    box is checked on the points kept only, and f computed for those.
    """

    def __init__(self, cap: int = TRAIL_CAP) -> None:
        self.cap = cap
        self.buf = np.empty((BUFFER_ROWS * cap, 2))
        self.f = np.empty(cap)
        self.n = 0
        self.upto = 0  # rows taken
        self.left = False  # the racer left the box: nothing after is drawn
        self.eps = 0.0
        self.last = (math.nan, math.nan)
        self.head: tuple[float, float, float] | None = None  # (x, y, f) of its last row

    def reset(self, eps: float) -> None:
        self.n = 0
        self.upto = 0
        self.left = False
        self.eps = eps
        self.last = (math.nan, math.nan)
        self.head = None

    def update(
        self,
        xs: np.ndarray,
        count: int,
        lid: int,
        packed: np.ndarray,
        box: tuple[float, float, float, float],
    ) -> bool:
        """Take rows [upto, count) of ``xs``; True if what is drawn changed."""
        if count < self.upto:
            self.reset(self.eps)
        if count == self.upto:
            return False
        start, self.upto = self.upto, count
        if self.left:
            return False
        n_first = self.n
        rethinned = False
        k = start
        while k < count:
            stop = min(count, k + (self.buf.shape[0] - self.n))  # each row adds ≤ 1 point
            n, lx, ly = thin_path(
                xs, k, stop, self.last[0], self.last[1], self.eps, self.buf, self.n
            )
            self.n = int(n)
            self.last = (float(lx), float(ly))
            k = stop
            while self.n > self.cap:
                self.eps = self.eps * 2.0 if self.eps > 0 else 1e-12
                self.n = int(rethin(self.buf, self.n, self.eps))
                self.last = (float(self.buf[self.n - 1, 0]), float(self.buf[self.n - 1, 1]))
                rethinned = True
        new = 0 if rethinned else n_first  # the points not yet checked nor lifted
        x0, x1, y0, y1 = box
        px, py = self.buf[new : self.n, 0], self.buf[new : self.n, 1]
        out = np.flatnonzero((px < x0) | (px > x1) | (py < y0) | (py > y1))
        if out.size:  # the trail ends before its first point outside
            self.n = new + int(out[0])
            self.left = True
            self.head = None
        self.f[new : self.n] = loss_at(lid, packed, self.buf[new : self.n])
        if not self.left:
            hx, hy = float(xs[count - 1, 0]), float(xs[count - 1, 1])
            if math.isfinite(hx) and math.isfinite(hy):
                self.head = (hx, hy, float(landscape_f(lid, packed, hx, hy)))
        return True

    def points(self) -> np.ndarray:
        """(k, 3): x, y, f of the kept points and the head."""
        pts = np.column_stack([self.buf[: self.n], self.f[: self.n]])
        if self.head is not None and (self.n == 0 or tuple(pts[-1, :2]) != self.head[:2]):
            pts = np.vstack([pts, np.array(self.head)[None, :]])
        return pts


def _forget_gl_programs() -> None:
    """Drop pyqtgraph.opengl's shader programs cached at class level: they belong to the
    context that compiled them, and a new view may have a context of its own."""
    from pyqtgraph.opengl import shaders
    from pyqtgraph.opengl.items.GLLinePlotItem import GLLinePlotItem
    from pyqtgraph.opengl.items.GLScatterPlotItem import GLScatterPlotItem

    GLLinePlotItem._shaderProgram = None
    GLScatterPlotItem._shaderProgram = None
    for prog in shaders.ShaderProgram.names.values():
        prog.prog = None


#: the surface's shading: its colour lit from the viewer's upper left, both sides alike
#: (a steep wall seen from below is lit as from above), never darker than AMBIENT of it
AMBIENT = 0.55
SHADER = "gradient_arena_surface"


def _register_shader() -> None:
    """The surface's shader program (pyqtgraph.opengl looks shaders up by name)."""
    from pyqtgraph.opengl import shaders

    if SHADER in shaders.ShaderProgram.names:
        return
    shaders.ShaderProgram(
        SHADER,
        [
            shaders.VertexShader(
                """
                uniform mat4 u_mvp;
                uniform mat3 u_normal;
                attribute vec4 a_position;
                attribute vec3 a_normal;
                attribute vec4 a_color;
                varying vec4 v_color;
                varying vec3 v_normal;
                void main() {
                    v_normal = normalize(u_normal * a_normal);
                    v_color = a_color;
                    gl_Position = u_mvp * a_position;
                }
                """
            ),
            shaders.FragmentShader(
                f"""
                #ifdef GL_ES
                precision mediump float;
                #endif
                varying vec4 v_color;
                varying vec3 v_normal;
                void main() {{
                    float p = abs(dot(normalize(v_normal), normalize(vec3(-0.4, 0.6, 1.0))));
                    vec3 rgb = v_color.rgb * ({AMBIENT} + {1.0 - AMBIENT} * p);
                    gl_FragColor = vec4(rgb, v_color.a);
                }}
                """
            ),
        ],
    )


def _make_view() -> tuple[Any, QWidget]:
    """The GL view (pyqtgraph's GLViewMixin on a QOpenGLWindow) and the widget holding it.

    A window of its own, not a QOpenGLWidget: with a QOpenGLWidget in it Qt composes the
    whole main window through OpenGL at every repaint, which under software OpenGL costs
    the other panels their frame rate. It forgets pyqtgraph's cached shader programs when
    its context is made (they belong to the context that compiled them).
    """
    from pyqtgraph.opengl.GLViewWidget import GLViewMixin
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QSurfaceFormat
    from PySide6.QtOpenGL import QOpenGLWindow

    _register_shader()

    class SurfaceView(GLViewMixin, QOpenGLWindow):
        def initializeGL(self) -> None:
            _forget_gl_programs()
            super().initializeGL()

        def devicePixelRatioF(self) -> float:  # what GLViewMixin asks a QWidget
            return float(self.devicePixelRatio())

        def rect(self) -> QRect:  # what GLTextItem asks its view
            return QRect(0, 0, self.width(), self.height())

    view = SurfaceView()
    fmt = QSurfaceFormat()
    fmt.setDepthBufferSize(24)  # a window's default may have none: then the last drawn wins
    view.setFormat(fmt)
    view.setBackgroundColor((250, 250, 250, 255))
    holder = QWidget.createWindowContainer(view)
    holder.setMinimumSize(200, 200)
    holder.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    return view, holder


def _release(view: Any, items: list[Any]) -> None:
    """Free the GL buffers of ``items`` (and their children) in ``view``'s context."""
    from PySide6.QtOpenGL import QOpenGLBuffer

    if view.context() is None or not view.isValid():
        return
    view.makeCurrent()
    try:
        todo = list(items)
        while todo:
            item = todo.pop()
            todo += item.childItems()
            for v in vars(item).values():
                if isinstance(v, QOpenGLBuffer) and v.isCreated():
                    v.destroy()
    finally:
        view.doneCurrent()


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
        self.world: Any = None  # parent of every item: the home box to the unit box
        self.lifted: Any = None  # in the world, LIFT above it: the trails, heads and minima
        self.surface: Any = None
        self.minima: Any = None
        self.outline: Any = None  # the home box at the floor (GLLinePlotItem)
        self.labels: list[Any] = []  # what its two edges are (GLTextItem)
        self.lines: list[Any] = []  # one GLLinePlotItem per racer
        self.drawn: list[np.ndarray] = []  # what each line was given (float64; GL: float32)
        self.heads: Any = None  # one GLScatterPlotItem for every head
        self.trails: list[LiftedTrail] = []
        self.heights = Heights(False, 0.0, 1.0)
        self.grid_f = np.zeros((0, 0))  # f on the surface's grid, [x index, y index]
        self.grid_x = np.zeros(0)
        self.grid_y = np.zeros(0)
        self.box = (0.0, 1.0, 0.0, 1.0)  # the home box drawn
        self._landscape_key: tuple[Any, ...] | None = None
        self._styles: list[tuple[str, bool]] = []
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
        import pyqtgraph.opengl as gl

        self.view, self.holder = _make_view()
        self.page_layout.addWidget(self.holder, 1)
        self.world = gl.GLGraphicsItem.GLGraphicsItem()
        self.view.addItem(self.world)
        self.lifted = gl.GLGraphicsItem.GLGraphicsItem(parentItem=self.world)
        self.home_camera()
        self._landscape_key = None
        self._styles = []
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
        holder = self.holder
        assert holder is not None  # made with the view
        if shiboken6.isValid(view):  # (not when Qt tears the window down at exit)
            _release(view, [self.world] if self.world is not None else [])
            view.clear()
            self.page_layout.removeWidget(holder)
            holder.hide()
            # deleted where it is: a window container made top-level first crashes Qt at exit
            holder.deleteLater()  # and the GL window it holds, with its context
        self.holder = None
        self.view = self.world = self.lifted = None
        self.surface = self.minima = self.heads = self.outline = None
        self.labels = []
        self.lines = []
        self.drawn = []
        self.trails = []
        self._landscape_key = None

    def _show_message(self, text: str | None) -> None:
        if text is None:
            text = "Open the dock to draw the landscape in 3-D."
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def home_camera(self) -> None:
        if self.view is not None:
            from pyqtgraph import Vector

            self.view.setCameraPosition(pos=Vector(0.0, 0.0, 0.25 * HEIGHT), **CAMERA)

    # ------------------------------------------------------------ frames
    def on_frame(self, race: Race, counts: list[int]) -> None:
        """Draw what changed since the last frame (a no-op while the dock is closed), at
        every FRAME_EVERY-th frame (a 3-D frame costs more than a 2-D one)."""
        if self.view is None:
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
        key = (panel.lid, panel.packed.tobytes(), panel.home, panel.fmin_known, panel.log_color,
               self.log_height.isChecked())  # fmt: skip
        if key != self._landscape_key:
            self._landscape_key = key
            self._set_landscape()
            self._counts = []
        styles = [(c.color or color_for(i), bool(c.enabled)) for i, c in enumerate(race.racers)]
        if styles != self._styles:
            self._set_racers(styles)
        base = getattr(race, "race", race)  # a replayed race (RaceAt): its own race
        if base is not self._race:  # another race (opened, restarted): every trail anew
            self._race = base
            self._counts = []
            for tr, line in zip(self.trails, self.lines, strict=True):
                tr.reset(tr.eps)
                line.setVisible(False)
        if counts == self._counts:
            return
        self._draw_rows(race, counts)
        self._counts = list(counts)

    def _draw_rows(self, race: Race, counts: list[int]) -> None:
        panel = self.win.landscape
        moved = False
        last = self._counts
        for i, c in enumerate(counts):
            if i < len(last) and c == last[i]:
                continue
            if not self._styles[i][1]:
                continue
            tr = self.trails[i]
            if tr.update(race.xs[i], c, panel.lid, panel.packed, self._wide_box()) or (
                i >= len(last)
            ):
                self._show_trail(i)
                moved = True
        if moved:
            self._show_heads()

    # ------------------------------------------------------------ scene
    def _wide_box(self) -> tuple[float, float, float, float]:
        x0, x1, y0, y1 = self.box
        dx, dy = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
        return x0 - dx, x1 + dx, y0 - dy, y1 + dy

    def _set_landscape(self) -> None:
        """The surface over the 2-D panel's home box, coloured as its heat map."""
        import pyqtgraph as pg
        import pyqtgraph.opengl as gl

        from gui.landscape_panel import landscape_image

        panel = self.win.landscape
        assert panel.home is not None
        self.box = panel.home
        x0, x1, y0, y1 = self.box
        n = GRID_N
        z = np.empty((n, n))  # [y index, x index]
        landscape_grid(panel.lid, panel.packed, x0, x1, n, y0, y1, n, z)
        self.grid_x = np.linspace(x0, x1, n)
        self.grid_y = np.linspace(y0, y1, n)
        self.grid_f = z.T.copy()  # GLSurfacePlotItem: [x index, y index]
        self.heights = Heights.of_grid(z, panel.fmin_known, self.log_height.isChecked())
        h = self.heights(self.grid_f)
        finite = np.isfinite(h)
        if finite.any():
            lo, hi = float(h[finite].min()), float(h[finite].max())
        else:
            lo, hi = 0.0, 1.0
        h = np.where(finite, h, hi)  # no f there: a wall at the top
        if not hi > lo:
            hi = lo + 1.0
        img = landscape_image(panel.lid, panel.packed, self.box, n, panel.fmin_known,
                              panel.log_color, panel.levels)  # fmt: skip
        cmap = pg.colormap.get("viridis")
        if img is None:
            colors = np.full((n, n, 4), 0.5)
        else:
            q, (clo, chi), _ = img
            t = np.clip((q.T - clo) / (chi - clo if chi > clo else 1.0), 0.0, 1.0)
            colors = cmap.map(np.nan_to_num(t, nan=1.0), mode="float")
        if self.surface is None:
            self.surface = gl.GLSurfacePlotItem(shader=SHADER, smooth=True,
                                                glOptions="opaque")  # fmt: skip
            self.surface.setParentItem(self.world)
            self.surface.setDepthValue(-1)  # drawn first (the translucent items after)
        self.surface.setData(x=self.grid_x, y=self.grid_y, z=h, colors=colors)
        # the home box in [-0.5, 0.5] along its longer side, heights in [0, HEIGHT]
        s = 1.0 / max(x1 - x0, y1 - y0)
        self.zscale = HEIGHT / (hi - lo)
        self.world.resetTransform()
        self.world.translate(-0.5 * (x0 + x1), -0.5 * (y0 + y1), -lo)
        self.world.scale(s, s, self.zscale, local=False)
        self.lifted.resetTransform()
        self.lifted.translate(0.0, 0.0, LIFT * (hi - lo))
        self._set_frame(lo, hi)
        minima = self.win.race.objective.minima() if not self.win.is_perceptron else []
        pts = [m for m in minima if x0 <= m[0] <= x1 and y0 <= m[1] <= y1]
        if self.minima is None:
            self.minima = gl.GLScatterPlotItem(size=9.0, color=(1.0, 1.0, 1.0, 1.0),
                                               pxMode=True, glOptions="translucent")  # fmt: skip
            self.minima.setParentItem(self.lifted)
        if pts:
            arr = np.array([(m[0], m[1]) for m in pts], dtype=float)
            mf = self.heights(loss_at(panel.lid, panel.packed, arr))
            self.minima.setData(pos=np.column_stack([arr, mf]))
            self.minima.show()
        else:
            self.minima.hide()
        for i, tr in enumerate(self.trails):
            tr.reset((x1 - x0) / 1500.0)
            if i < len(self.lines):
                self.lines[i].hide()
        if self.heads is not None:
            self.heads.hide()

    def _set_frame(self, floor: float, top: float) -> None:
        """The home box's outline at the lowest height drawn, what its edges are, and
        what the height is (at the top of a corner)."""
        import pyqtgraph.opengl as gl
        from PySide6.QtGui import QFont

        x0, x1, y0, y1 = self.box
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        pos = np.array([(x, y, floor) for x, y in corners])
        if self.outline is None:
            self.outline = gl.GLLinePlotItem(color=(0.35, 0.35, 0.35, 1.0), width=1.0,
                                             mode="line_strip", glOptions="opaque")  # fmt: skip
            self.outline.setParentItem(self.world)
            font = QFont()
            font.setPointSize(11)
            self.labels = [
                gl.GLTextItem(color=(40, 40, 40, 255), font=font, glOptions="opaque")
                for _ in range(3)
            ]
            for lab in self.labels:
                lab.setParentItem(self.world)
        self.outline.setData(pos=pos)

        def span(a: float, b: float) -> str:
            return f"{a:g} … {b:g}".replace("-", "−")

        self.labels[0].setData(pos=(0.5 * (x0 + x1), y0, floor), text=f"x₁ {span(x0, x1)}")
        self.labels[1].setData(pos=(x0, 0.5 * (y0 + y1), floor), text=f"x₂ {span(y0, y1)}")
        what = "log₁₀(f − f_min + ε)" if self.heights.log else "f"
        self.labels[2].setData(pos=(x0, y1, top), text=f"height: {what}")

    def _set_racers(self, styles: list[tuple[str, bool]]) -> None:
        """One line per racer in its colour; trails taken anew."""
        import pyqtgraph as pg
        import pyqtgraph.opengl as gl

        self._styles = styles
        for line in self.lines:
            line.setParentItem(None)
        if self.heads is not None:
            self.heads.setParentItem(None)
        _release(self.view, [*self.lines, *([self.heads] if self.heads is not None else [])])
        self.lines = []
        self.drawn = []
        x0, x1, _, _ = self.box
        self.trails = []
        for color, _enabled in styles:  # a racer switched off keeps a hidden line
            line = gl.GLLinePlotItem(color=pg.mkColor(color).getRgbF(), width=TRAIL_PX,
                                     antialias=False, mode="line_strip",
                                     glOptions="translucent")  # fmt: skip
            line.setParentItem(self.lifted)
            line.setVisible(False)
            self.lines.append(line)
            self.drawn.append(np.zeros((0, 3)))
            tr = LiftedTrail()
            tr.reset((x1 - x0) / 1500.0)
            self.trails.append(tr)
        self.heads = gl.GLScatterPlotItem(size=HEAD_PX, pxMode=True, glOptions="translucent")
        self.heads.setParentItem(self.lifted)
        self.heads.hide()
        self._counts = []

    def _show_trail(self, i: int) -> None:
        pts = self.trails[i].points()
        line = self.lines[i]
        if pts.shape[0] < 2:
            line.setVisible(False)
            return
        pos = np.column_stack([pts[:, :2], self.heights(pts[:, 2])])
        self.drawn[i] = pos
        line.setData(pos=pos)
        line.setVisible(True)

    def _show_heads(self) -> None:
        import pyqtgraph as pg

        pos, col = [], []
        for i, tr in enumerate(self.trails):
            if tr.head is None or tr.left or not self._styles[i][1]:
                continue
            hx, hy, hf = tr.head
            pos.append((hx, hy, float(self.heights(np.array([hf]))[0])))
            col.append(pg.mkColor(self._styles[i][0]).getRgbF())
        if not pos:
            self.heads.hide()
            return
        self.heads.setData(pos=np.array(pos), color=np.array(col))
        self.heads.show()

    def _on_log(self, _on: bool) -> None:
        if self.view is not None:
            self._landscape_key = None  # rebuilt with the new heights
            self.draw_now()

    # ------------------------------------------------------------ what is drawn (tests)
    def surface_z(self) -> np.ndarray:
        """The surface's heights, [x index, y index]."""
        assert self.surface is not None
        return np.asarray(self.surface._z)

    def trail_xyz(self, i: int) -> np.ndarray:
        """Racer ``i``'s drawn trail, (k, 3): x, y and height, as given to its line (in
        float64; the GL item holds them in float32)."""
        if not self.lines[i].visible():
            return np.zeros((0, 3))
        return self.drawn[i]


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
