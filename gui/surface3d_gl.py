"""The 3-D view's OpenGL side: whether OpenGL works, the GL view, and the scene in it.

:func:`gl_unavailable` probes OpenGL once; :func:`make_view` builds the view (a
QOpenGLWindow with pyqtgraph's GLViewMixin, in a window container); :class:`Scene` holds
its items (surface, minima, the home box's outline and labels, a line per racer, the
heads) and draws into them what :mod:`gui.surface3d_geometry` computes. pyqtgraph.opengl
is imported only once OpenGL has been found to work.

Rules:

- The look is a transform: one transform for the whole scene (the world item) puts the
  home box in a unit square (equal aspect) and the height range in :data:`HEIGHT` of a
  unit, and trails, heads and minima float a hair (:data:`LIFT` of the height range)
  above the surface so its facets do not hide them.
- The view is a window of its own, not a QOpenGLWidget (:func:`make_view` says why). Its
  GL buffers are freed in its own context (:meth:`Scene.release`), and pyqtgraph's shader
  programs, cached at class level, are forgotten whenever a view makes its context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from gui.surface3d_geometry import (
    Heights,
    LiftedTrail,
    SurfaceGrid,
    dash_segments,
    loss_at,
    surface_grid,
    widened,
)

if TYPE_CHECKING:
    from engine.race import Race
    from gui.landscape_panel import LandscapePanel

HEIGHT = 0.5  # the height range drawn, in units of the home box's longer side
LIFT = 0.03  # trails and heads above the surface, as a fraction of the height range
HEAD_PX = 13.0
TRAIL_PX = 2.5
DASH_UNITS = 150.0  # a dash pattern's unit: the home box's width over this (4 units a dash)
#: the default camera: 45° above the box, from beyond its x₁ = x_min, y = y_min corner
#: (a ravine along x₁ is seen along its length; the box fills the view)
CAMERA = {"elevation": 45.0, "azimuth": -150.0, "distance": 1.6}
#: the surface's shading: its colour lit from the viewer's upper left, both sides alike
#: (a steep wall seen from below is lit as from above), never darker than AMBIENT of it
AMBIENT = 0.55
SHADER = "gradient_arena_surface"

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


def make_view() -> tuple[Any, QWidget]:
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


def camera_home(view: Any) -> None:
    """Put ``view``'s camera where it starts (:data:`CAMERA`)."""
    from pyqtgraph import Vector

    view.setCameraPosition(pos=Vector(0.0, 0.0, 0.25 * HEIGHT), **CAMERA)


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


class Scene:
    """The items of one GL view and what they show: built with the view (into it),
    released with it. Racers are styled by (colour, switched on) pairs; a racer switched
    off keeps a hidden line."""

    def __init__(self, view: Any) -> None:
        import pyqtgraph.opengl as gl

        self.view = view
        self.world = gl.GLGraphicsItem.GLGraphicsItem()  # the home box to the unit box
        view.addItem(self.world)
        # in the world, LIFT above it: the trails, heads and minima
        self.lifted = gl.GLGraphicsItem.GLGraphicsItem(parentItem=self.world)
        self.surface: Any = None
        self.minima: Any = None
        self.outline: Any = None  # the home box at the floor (GLLinePlotItem)
        self.labels: list[Any] = []  # what its two edges are and the height (GLTextItem)
        self.lines: list[Any] = []  # one GLLinePlotItem per racer
        self.drawn: list[np.ndarray] = []  # what each line was given (float64; GL: float32)
        self.heads: Any = None  # one GLScatterPlotItem for every head
        self.trails: list[LiftedTrail] = []
        # (colour, switched on, dash pattern: () solid) per racer
        self.styles: list[tuple[str, bool, tuple[float, ...]]] = []
        self.heights = Heights(False, 0.0, 1.0)
        self.grid: SurfaceGrid | None = None  # the surface's
        self.box = (0.0, 1.0, 0.0, 1.0)  # the home box drawn

    def release(self) -> None:
        """Free the items' GL buffers (in the view's context) and take them out of it."""
        _release(self.view, [self.world])
        self.view.clear()

    def set_landscape(
        self, panel: LandscapePanel, minima: list[tuple[float, ...]], log: bool
    ) -> None:
        """The surface over the 2-D panel's home box, coloured as its heat map, with the
        ``minima`` in it; heights f or (``log``) its log. Trails are taken anew."""
        import pyqtgraph as pg
        import pyqtgraph.opengl as gl

        from gui.landscape_panel import landscape_image

        assert panel.home is not None
        self.box = panel.home
        x0, x1, y0, y1 = self.box
        g = self.grid = surface_grid(panel.lid, panel.packed, self.box, panel.fmin_known, log)
        self.heights = g.heights
        lo, hi = g.lo, g.hi
        n = g.x.size
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
        self.surface.setData(x=g.x, y=g.y, z=g.z, colors=colors)
        # the home box in [-0.5, 0.5] along its longer side, heights in [0, HEIGHT]
        s = 1.0 / max(x1 - x0, y1 - y0)
        self.zscale = HEIGHT / (hi - lo)
        self.world.resetTransform()
        self.world.translate(-0.5 * (x0 + x1), -0.5 * (y0 + y1), -lo)
        self.world.scale(s, s, self.zscale, local=False)
        self.lifted.resetTransform()
        self.lifted.translate(0.0, 0.0, LIFT * (hi - lo))
        self._set_frame(lo, hi)
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
            tr.reset(self._trail_tol())
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

    def set_racers(self, styles: list[tuple[str, bool, tuple[float, ...]]]) -> None:
        """One line per racer in its colour and dash pattern; trails taken anew."""
        import pyqtgraph as pg
        import pyqtgraph.opengl as gl

        self.styles = styles
        for line in self.lines:
            line.setParentItem(None)
        if self.heads is not None:
            self.heads.setParentItem(None)
        _release(self.view, [*self.lines, *([self.heads] if self.heads is not None else [])])
        self.lines = []
        self.drawn = []
        self.trails = []
        for color, _enabled, dash in styles:  # a racer switched off keeps a hidden line
            line = gl.GLLinePlotItem(color=pg.mkColor(color).getRgbF(), width=TRAIL_PX,
                                     antialias=False, mode="lines" if dash else "line_strip",
                                     glOptions="translucent")  # fmt: skip
            line.setParentItem(self.lifted)
            line.setVisible(False)
            self.lines.append(line)
            self.drawn.append(np.zeros((0, 3)))
            tr = LiftedTrail()
            tr.reset(self._trail_tol())
            self.trails.append(tr)
        self.heads = gl.GLScatterPlotItem(size=HEAD_PX, pxMode=True, glOptions="translucent")
        self.heads.setParentItem(self.lifted)
        self.heads.hide()

    def _trail_tol(self) -> float:
        """A trail's first thinning tolerance: 1/1500 of the home box's width."""
        x0, x1, _, _ = self.box
        return (x1 - x0) / 1500.0

    def restart_trails(self) -> None:
        """Every trail anew (another race), at its current tolerance, hidden."""
        for tr, line in zip(self.trails, self.lines, strict=True):
            tr.reset(tr.eps)
            line.setVisible(False)

    def take_rows(
        self, race: Race, counts: list[int], last: list[int], lid: int, packed: np.ndarray
    ) -> None:
        """Draw the rows of ``race`` up to ``counts`` (racer by racer) on the landscape
        ``lid``, ``last`` the counts drawn before (fewer racers: the others are new)."""
        moved = False
        for i, c in enumerate(counts):
            if i < len(last) and c == last[i]:
                continue
            if not self.styles[i][1]:
                continue
            tr = self.trails[i]
            if tr.update(race.xs[i], c, lid, packed, widened(self.box)) or (i >= len(last)):
                self._show_trail(i)
                moved = True
        if moved:
            self._show_heads()

    def _show_trail(self, i: int) -> None:
        pts = self.trails[i].points()
        line = self.lines[i]
        if pts.shape[0] < 2:
            line.setVisible(False)
            return
        pos = np.column_stack([pts[:, :2], self.heights(pts[:, 2])])
        self.drawn[i] = pos
        dash = self.styles[i][2]
        if dash:  # cut into dashes by the distance travelled: DASH_UNITS to the box's width
            x0, x1, _, _ = self.box
            pos = dash_segments(pos, dash, (x1 - x0) / DASH_UNITS)
        line.setData(pos=pos)
        line.setVisible(True)

    def _show_heads(self) -> None:
        import pyqtgraph as pg

        pos, col = [], []
        for i, tr in enumerate(self.trails):
            if tr.head is None or tr.left or not self.styles[i][1]:
                continue
            hx, hy, hf = tr.head
            pos.append((hx, hy, float(self.heights(np.array([hf]))[0])))
            col.append(pg.mkColor(self.styles[i][0]).getRgbF())
        if not pos:
            self.heads.hide()
            return
        self.heads.setData(pos=np.array(pos), color=np.array(col))
        self.heads.show()

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
