"""Start the Qt application (``python main.py`` / ``python main.py gui SCENARIO``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Qt and the window load when first used: a bad file fails fast
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QImage

    from engine.scenario import Scenario
    from gui.window import MainWindow


def run_gui(scenario_path: str | None = None, remember: bool = True) -> int:
    """Open the race window on ``scenario_path`` (or the last session's scenario, or the
    embedded default); Qt's exit code (2 for a bad file). ``remember`` False: no settings
    are read or written (``main.py gui --no-settings``)."""
    from PySide6.QtWidgets import QApplication

    from engine.scenario import ScenarioError, load_scenario
    from engine.warmup import kernels_cached

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Gradient Arena")
    note = ""
    if not kernels_cached():  # first start: say so while numba compiles (minutes: never)
        if scenario_path is not None:  # a bad file fails now, not after the warm-up
            try:
                load_scenario(scenario_path)
            except ScenarioError as e:
                print(str(e), file=sys.stderr)
                return 2
        go_on, note = warm_up_with_splash(app)
        if not go_on:
            return 0
    try:
        win = make_window(scenario_path, remember=remember)
    except ScenarioError as e:
        print(str(e), file=sys.stderr)
        return 2
    if note:
        win.statusBar().showMessage(note, 30000)
    win.show()
    return int(app.exec())


def make_window(scenario_path: str | None = None, remember: bool = True) -> MainWindow:
    """The main window on ``scenario_path``; without one, on the scenario open when the
    last session ended if it still loads (else the default, saying why in the status bar).
    ``remember`` False: no settings are read or written (see gui.settings).

    Raises ScenarioError for a bad ``scenario_path``.
    """
    from engine.scenario import ScenarioError, load_scenario
    from gui.settings import Settings
    from gui.window import MainWindow

    settings = Settings(remember=remember)
    scenario = None
    note = ""
    if scenario_path is not None:
        scenario = load_scenario(scenario_path)
    else:
        last = settings.last_scenario()
        if last is not None:
            try:
                scenario = load_scenario(last)
                scenario_path = last
            except ScenarioError as e:
                note = f"could not reopen the last scenario: {e.problems[0]}"
    win = MainWindow(scenario, settings=settings)
    if scenario_path is not None:
        win.files.remember(Path(scenario_path).resolve())
    if note:
        win.statusBar().showMessage(note, 15000)
    return win


@dataclass(frozen=True)
class RenderJob:
    """One picture of :func:`render_pngs`: ``scenario`` run to its end and written to
    ``out`` (a PNG); a ``title`` that is not empty is drawn in a band above the picture."""

    scenario: Scenario
    out: Path
    title: str = ""


def default_size(whole_window: bool) -> tuple[int, int]:
    """A render's size when none is asked: the two panels 2000 x 800, the window 1600 x 1000."""
    return (1600, 1000) if whole_window else (2000, 800)


def check_grid(scenario: Scenario, name: str) -> None:
    """ValueError when ``scenario`` (read from ``name``) has no small multiples."""
    from engine.objective import KINDS

    if not KINDS[scenario.objective.kind].small_multiples:
        raise ValueError(
            f"{name}: --grid: small multiples are for landscape races, and this "
            "is a perceptron race (its data panel already shows every racer's decision line)"
        )


def render_png(
    scenario_path: str,
    out: str,
    steps: int | None = None,
    size: tuple[int, int] | None = None,
    whole_window: bool = False,
    grid: bool = False,
) -> Path:
    """Run a scenario headless and save the landscape + loss panels as a PNG, ``size``
    pixels, default 2000 x 800 (``whole_window``: the window as a user sees it, default
    1600 x 1000; ``grid``: small multiples, one landscape per enabled racer, instead of
    the single landscape).

    Raises ValueError for ``grid`` on a perceptron scenario (it has no small multiples).
    """
    from engine.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    if steps is not None:
        from dataclasses import replace

        scenario = replace(scenario, steps=int(steps))
    if grid:
        check_grid(scenario, scenario_path)
    return render_pngs([RenderJob(scenario, Path(out))], size, whole_window, grid)[0]


def render_pngs(
    jobs: Sequence[RenderJob],
    size: tuple[int, int] | None = None,
    whole_window: bool = False,
    grid: bool = False,
) -> list[Path]:
    """Write every job's PNG, in order, from one Qt application (what ``main.py render``
    does with several scenarios, a folder or ``--each``); the paths written.

    Each picture is the one a render of that job alone gives (see :func:`pictures` for
    how a window is reused). Each file is written under a temporary name and renamed
    when complete, by a background thread while the next picture is drawn. OSError for a
    file that cannot be written: the batch stops there; the files before it stay written.
    The caller checks ``grid`` (:func:`check_grid`) and the folders beforehand.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    if size is None:
        size = default_size(whole_window)
    written: list[Path] = []
    pending: list[Future[Path]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="png") as saver:
        try:
            for job, img in pictures(jobs, size, whole_window, grid):
                if job.title:
                    img = titled(img, job.title)
                while pending and pending[0].done():
                    written.append(pending.pop(0).result())  # raises a failed write
                pending.append(saver.submit(_save_png, img, job.out))
            for f in pending:
                written.append(f.result())
        finally:
            for f in pending:
                f.cancel()
    return written


def _save_png(img: QImage, out: Path) -> Path:
    """``img`` to ``out`` through a temporary file and a rename (nothing half-written)."""
    tmp = out.with_name(out.name + ".tmp.png")
    # PNG from the suffix: PySide6's stub types the format as bytes, the binding wants str
    if not img.save(str(tmp)):
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write {out}")
    os.replace(tmp, out)
    return out


def pictures(
    jobs: Iterable[RenderJob], size: tuple[int, int], whole_window: bool, grid: bool = False
) -> Iterator[tuple[RenderJob, QImage]]:
    """Each job with its picture (the race run to its end and drawn, as :func:`grab_frame`
    gives it), from one offscreen window while it can be reused.

    A window keeps a [view] flag (gradient field, step arrows, log y, ...) that a scenario
    set when the next scenario leaves it unset, so the next job is drawn in the same window
    only if it sets every flag the scenarios drawn there set; otherwise in a new window.
    Jobs of one landscape scenario (``render --each``) share one window. A perceptron's picture
    gets a window of its own: its panels' layout (the weight slice's colour bar, the
    axes of three plots) keeps traces of an earlier picture that shift its plots by a
    few pixels, and the weight slice and its contours with them.
    """
    from engine.scenario import VIEW_FLAGS

    app = _offscreen_app()
    win: MainWindow | None = None
    flags_set: set[str] = set()
    try:
        for job in jobs:
            sets = {k for k in VIEW_FLAGS if getattr(job.scenario.view, k) is not None}
            perceptron = job.scenario.objective.kind == "perceptron"
            if win is not None and (perceptron or win.is_perceptron or not flags_set <= sets):
                _close(win)
                win = None
            fresh = win is None
            if win is None:
                win = _new_window(job.scenario)
                flags_set = set()
            else:
                win.load(job.scenario)
                _forget_text_sizes(win)
            flags_set |= sets
            _lay_out_and_run(app, win, size, whole_window, grid, fresh)
            yield job, grab_frame(win, whole_window)
    finally:
        if win is not None:
            _close(win)


def titled(img: QImage, title: str) -> QImage:
    """``img`` under a white band with ``title`` centred in it (elided to fit the width)."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter

    w = img.width()
    px = max(14, min(30, w // 60))
    band = 2 * px
    out = QImage(w, img.height() + band, QImage.Format.Format_ARGB32)
    out.fill(Qt.GlobalColor.white)
    font = QFont()
    font.setPixelSize(px)
    text = QFontMetrics(font).elidedText(title, Qt.TextElideMode.ElideRight, w - 2 * px)
    p = QPainter(out)
    p.setFont(font)
    p.setPen(Qt.GlobalColor.black)
    p.drawText(QRect(0, 0, w, band), Qt.AlignmentFlag.AlignCenter, text)
    p.drawImage(0, band, img)
    p.end()
    return out


def _offscreen_app() -> QCoreApplication:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def _new_window(scenario: Scenario) -> MainWindow:
    from gui.settings import Settings
    from gui.window import MainWindow

    # a picture of the scenario alone: no layout of the user's, and nothing kept
    return MainWindow(scenario, start_runner=False, settings=Settings(remember=False))


def _lay_out_and_run(
    app: QCoreApplication,
    win: MainWindow,
    size: tuple[int, int],
    whole_window: bool,
    grid: bool,
    fresh: bool = True,
) -> None:
    """Lay ``win`` out for the picture, run its race to the end and draw it (``fresh``
    False: ``win`` was shown at this size before, and needs no event pass to lay out)."""
    if grid:
        win.multiples_action.setChecked(True)
    if whole_window:
        win.resize(*size)
    else:
        win.slide_layout(*size)
    if fresh:
        win.show()
        app.processEvents()
    assert win.race is not None
    win.race.run()
    win.frames.draw_now()
    app.processEvents()  # the layout follows what was drawn (axes' label widths)...
    win.frames.draw_now()  # ...and the map grid the layout: no timer's timing decides
    app.processEvents()


def _forget_text_sizes(win: MainWindow) -> None:
    """Every axis of ``win`` back to a new axis' tick-text size: pyqtgraph sizes an axis
    by the widest tick label it has drawn (it shrinks only by more than 10 px), so a
    reused window would otherwise lay out the next picture after the last one's labels."""
    import pyqtgraph as pg

    for view in win.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.textWidth, item.textHeight = 30, 18  # AxisItem.__init__'s
                if item.orientation in ("left", "right"):
                    item._updateWidth()
                else:
                    item._updateHeight()
                item.picture = None  # its labels measured again when next drawn
                item.update()


def _close(win: MainWindow) -> None:
    win.document.forget_changes()  # never a "save?" prompt in a headless render
    win.close()


@contextmanager
def offscreen_window(
    scenario: Scenario, size: tuple[int, int], whole_window: bool, grid: bool = False
) -> Iterator[MainWindow]:
    """An offscreen window of ``size`` on ``scenario`` with its race run to the end and
    drawn (``whole_window`` False: laid out as the slide's two panels), closed on exit."""
    app = _offscreen_app()
    win = _new_window(scenario)
    try:
        _lay_out_and_run(app, win, size, whole_window, grid)
        yield win
    finally:
        _close(win)


def grab_frame(win: MainWindow, whole_window: bool) -> QImage:
    """What a render shows of ``win`` now: the whole window or the two panels."""
    return win.grab().toImage() if whole_window else win.compose_image()


# ---------------------------------------------------------------------------- warm-up
@dataclass
class _WarmupState:
    """What the warm-up window saw: the user quit, the last line printed, stderr's end."""

    quit: bool = False
    last: str = "starting"
    err: bytes = b""


def warmup_command() -> list[str]:
    """The command line of the warm-up process the window starts on a cold cache."""
    return [sys.executable, str(Path(__file__).resolve().parents[1] / "main.py"), "warmup"]


def warm_up_with_splash(
    app: QCoreApplication, command: list[str] | None = None
) -> tuple[bool, str]:
    """Run the warm-up (``command``, default :func:`warmup_command`) in a separate
    process while a small window says what is happening: numba compiles for this
    machine once, and the window would otherwise look frozen for that long.

    Returns ``(go_on, note)``: go_on is False when the user quit from it (the process is
    stopped); note is "" or why the warm-up failed (the kernels then compile when
    first used, as without a warm-up).
    """
    import time

    from PySide6.QtCore import QEventLoop, QProcess, Qt, QTimer
    from PySide6.QtGui import QCloseEvent
    from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

    class WarmupBox(QWidget):
        """Closing the box calls ``on_close`` (when set)."""

        on_close: Callable[[], None] | None = None

        def closeEvent(self, ev: QCloseEvent) -> None:
            ev.accept()
            if self.on_close is not None:
                self.on_close()

    cmd = command if command is not None else warmup_command()
    box = WarmupBox()
    box.setObjectName("warmup")
    box.setWindowTitle("Gradient Arena: first start")
    box.setMinimumWidth(560)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    lay = QVBoxLayout(box)
    intro = QLabel(
        "<b>First start on this machine</b><br>"
        "numba is compiling the engine's kernels for this CPU: about 10-20 s, once.<br>"
        "Later starts read them from the disk cache in about a second."
    )
    intro.setTextFormat(Qt.TextFormat.RichText)
    lay.addWidget(intro)
    step = QLabel("starting")
    step.setObjectName("warmup_step")
    lay.addWidget(step)
    bar = QProgressBar()
    bar.setRange(0, 0)  # busy: numba reports no progress within a compilation
    lay.addWidget(bar)
    quit_button = QPushButton("Quit")
    lay.addWidget(quit_button)

    proc = QProcess(box)
    loop = QEventLoop()
    state = _WarmupState()
    t0 = time.monotonic()

    def tick() -> None:
        step.setText(f"{state.last} ... {time.monotonic() - t0:.0f} s")

    def on_stdout() -> None:
        lines = bytes(proc.readAllStandardOutput().data()).decode(errors="replace").splitlines()
        if lines and lines[-1].strip():
            state.last = lines[-1].strip()
            tick()

    def on_stderr() -> None:
        state.err = (state.err + bytes(proc.readAllStandardError().data()))[-4000:]

    def on_quit() -> None:
        state.quit = True
        proc.kill()
        loop.quit()

    proc.readyReadStandardOutput.connect(on_stdout)
    proc.readyReadStandardError.connect(on_stderr)
    proc.finished.connect(lambda *_: loop.quit())
    proc.errorOccurred.connect(lambda *_: loop.quit())
    quit_button.clicked.connect(on_quit)
    timer = QTimer(box)
    timer.timeout.connect(tick)
    timer.start(500)
    box.on_close = on_quit
    box.show()
    proc.start(cmd[0], cmd[1:])
    started = proc.waitForStarted(10000)
    # QProcess signals arrive through the event loop: none can be missed before exec()
    if started and proc.state() != QProcess.ProcessState.NotRunning:
        loop.exec()
    timer.stop()
    if proc.state() != QProcess.ProcessState.NotRunning:
        proc.kill()
        proc.waitForFinished(5000)
    box.on_close = None
    box.close()
    app.processEvents()
    if state.quit:
        return False, ""
    if not started:
        return True, f"could not start the kernel warm-up ({proc.errorString()})"
    if proc.exitStatus() != QProcess.ExitStatus.NormalExit or proc.exitCode() != 0:
        err = state.err.decode(errors="replace").strip().splitlines()
        why = err[-1] if err else proc.errorString()
        return True, f"the kernel warm-up failed ({why}); they compile on first use instead"
    return True, ""
