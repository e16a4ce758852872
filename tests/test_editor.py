"""The scenario as a document in the window: undo/redo, dirty state, files, drag and drop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from engine.scenario import dumps_scenario, load_scenario

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


class Answers:
    """Stands in for QMessageBox.question / warning and records what was asked."""

    def __init__(self, monkeypatch, answer=QMessageBox.StandardButton.Cancel):
        self.answer = answer
        self.questions: list[str] = []
        self.warnings: list[str] = []
        monkeypatch.setattr(QMessageBox, "question", self._question)
        monkeypatch.setattr(QMessageBox, "warning", self._warning)

    def _question(self, _parent, _title, text, *_a, **_k):
        self.questions.append(text)
        return self.answer

    def _warning(self, _parent, _title, text, *_a, **_k):
        self.warnings.append(text)
        return QMessageBox.StandardButton.Ok


def _lr_editor(w, i=0):
    return w.editors[i].params.editors["lr"]


def _type_lr(w, value: str, i=0):
    ed = _lr_editor(w, i)
    ed.text.setText(value)
    ed.text.editingFinished.emit()


def test_opens_clean_with_no_history(window):
    assert not window.document.is_dirty()
    assert not window.isWindowModified()
    assert window.document.stack.count() == 0
    assert "[*]" in window.windowTitle()  # Qt shows "*" there when modified


def test_edit_undo_redo_reaches_the_engine(window):
    race = window.race
    lr0 = race.racers[0].params["lr"]
    _type_lr(window, "0.0123")
    assert race.racers[0].params["lr"] == 0.0123
    assert window.document.stack.count() == 1
    assert window.isWindowModified()
    window.undo_action.trigger()
    assert window.race is race  # a hyperparameter undo keeps the race running
    assert race.racers[0].params["lr"] == lr0
    assert _lr_editor(window).value() == lr0  # the editor shows the restored value
    assert not window.isWindowModified()  # back at the saved state
    window.redo_action.trigger()
    assert race.racers[0].params["lr"] == 0.0123
    assert _lr_editor(window).value() == 0.0123
    assert window.isWindowModified()


def test_slider_drag_is_one_undo_step(window):
    ed = _lr_editor(window)
    lr0 = window.race.racers[0].params["lr"]
    ed.slider.sliderPressed.emit()
    for k in (100, 200, 300, 400, 500):
        ed.slider.setValue(k)
    ed.slider.sliderReleased.emit()
    assert window.document.stack.count() == 1
    assert window.race.racers[0].params["lr"] != lr0
    window.undo_action.trigger()
    assert window.race.racers[0].params["lr"] == lr0
    # two separate drags are two steps
    for _ in range(2):
        ed = _lr_editor(window)
        ed.slider.sliderPressed.emit()
        ed.slider.setValue(ed.slider.value() + 50)
        ed.slider.setValue(ed.slider.value() + 50)
        ed.slider.sliderReleased.emit()
    assert window.document.stack.count() == 2


def test_structural_edits_undo(window):
    race0 = window.race
    labels = [c.label for c in race0.racers]
    window.intents.add_racer()
    assert len(window.race.racers) == 6
    window.intents.remove(window.editors[1])
    assert [c.label for c in window.race.racers][:2] == ["Adam", "NAG"]
    window.landscape_box.setCurrentText("himmelblau")
    assert window.race.objective.name == "himmelblau"
    assert window.document.stack.count() == 3
    window.undo_action.trigger()
    assert window.race.objective.name == "rosenbrock"
    assert window.landscape_box.currentText() == "rosenbrock"
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert [c.label for c in window.race.racers] == labels
    assert not window.isWindowModified()
    window.redo_action.trigger()
    assert len(window.race.racers) == 6


def test_start_click_is_undoable(window):
    window.intents.on_start_chosen(0.5, -0.5)
    assert window.race.objective.start == (0.5, -0.5)
    window.undo_action.trigger()
    assert window.race.objective.start == (-1.5, 2.0)


def test_save_reopen_gives_the_same_race(window, tmp_path, monkeypatch):
    Answers(monkeypatch)
    _type_lr(window, "0.0321")
    window.editors[2].enable.setChecked(False)
    window.noise.setValue(0.25)
    window.noise.valueChanged.emit(0.25)
    path = tmp_path / "mine.toml"
    assert window.files.save_to(path)
    assert not window.isWindowModified()
    assert "mine.toml" in window.windowTitle()
    shown = dumps_scenario(window.current_scenario())
    assert load_scenario(path) == window.current_scenario()
    window.files.new_scenario()
    assert window.document.path is None
    assert window.files.open_path(path)
    assert dumps_scenario(window.current_scenario()) == shown
    assert window.race.racers[0].params["lr"] == 0.0321
    assert not window.race.racers[2].enabled
    assert window.race.objective.grad_noise == 0.25
    assert not window.isWindowModified()
    assert window.files.recent()[0] == str(path.resolve())


def test_save_failure_changes_nothing(window, tmp_path, monkeypatch):
    answers = Answers(monkeypatch)
    _type_lr(window, "0.02")
    target = tmp_path / "no such dir" / "x.toml"
    assert not window.files.save_to(target)
    assert answers.warnings and "no such dir" in answers.warnings[0]
    assert window.isWindowModified()
    assert not target.exists()


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_close_when_dirty_asks(window, qtbot, tmp_path, monkeypatch, answer):
    button = getattr(QMessageBox.StandardButton, answer)
    answers = Answers(monkeypatch, button)
    window.document.path = tmp_path / "s.toml"
    _type_lr(window, "0.02")
    window.close()
    assert len(answers.questions) == 1 and "unsaved" in answers.questions[0]
    if answer == "Cancel":
        assert window.isVisible()
        assert window.runner is not None and window.runner.alive
    else:
        assert not window.isVisible()
        assert window.runner is None
    assert (tmp_path / "s.toml").exists() == (answer == "Save")


def test_opening_another_when_dirty_asks(window, monkeypatch):
    answers = Answers(monkeypatch, QMessageBox.StandardButton.Cancel)
    _type_lr(window, "0.02")
    race = window.race
    assert not window.files.open_path(SCENARIOS[0])
    assert answers.questions
    assert window.race is race
    answers.answer = QMessageBox.StandardButton.Discard
    assert window.files.open_path(SCENARIOS[0])
    assert window.race is not race
    assert window.document.stack.count() == 0


def test_bad_file_shows_its_errors_and_loads_nothing(window, tmp_path, monkeypatch):
    answers = Answers(monkeypatch)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'schema = 1\nname = "x"\n[objective]\nname = "rosenbrok"\n'
        '[[optimizers]]\nname = "adam"\nparams = { lr = inf, betaa = 0.9 }\n'
    )
    race, title = window.race, window.windowTitle()
    assert not window.files.open_path(bad)
    text = answers.warnings[0]
    assert "bad.toml" in text and "rosenbrok" in text and "rosenbrock" in text
    assert "optimizers[0].params.lr" in text and "betaa" in text
    assert window.race is race and window.windowTitle() == title


def test_drop_a_scenario_file_opens_it(window, qtbot):
    target = next(p for p in SCENARIOS if "ravine" in p.name)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(target))])
    ev = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(ev)
    assert window.document.path == target.resolve()
    assert window.scenario.name == load_scenario(target).name
    # something that is not a scenario is refused
    from gui.files import dropped_file

    mime2 = QMimeData()
    mime2.setUrls([QUrl.fromLocalFile("/etc/hostname")])
    assert dropped_file(mime2) is None
    assert QPoint(0, 0) is not None


def test_revert_discards_changes(window, tmp_path, monkeypatch):
    Answers(monkeypatch, QMessageBox.StandardButton.Discard)
    path = tmp_path / "r.toml"
    assert window.files.save_to(path)
    lr0 = window.race.racers[0].params["lr"]
    _type_lr(window, "0.0777")
    assert window.files.revert()
    assert window.race.racers[0].params["lr"] == lr0
    assert not window.isWindowModified()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_library_scenario_opens_clean(window, path):
    assert window.files.open_path(path, ask=False)
    assert not window.document.is_dirty()
    assert window.current_scenario() == load_scenario(path) or _same_but_colours(
        window.current_scenario(), load_scenario(path)
    )


def _same_but_colours(a, b) -> bool:
    for r in a.racers:
        r.color = None
    for r in b.racers:
        r.color = None
    return a == b


def forget_edits(w) -> None:
    """Mark the window's scenario saved, so closing it at teardown does not ask."""
    w.document.forget_changes()


# ---------------------------------------------------------------- the Scenario fields
def _enter(line_edit, text: str) -> None:
    line_edit.setText(text)
    line_edit.editingFinished.emit()


def test_scenario_fields_edit_and_undo(window):
    f = window.fields
    assert f.name.text() == "Rosenbrock race"
    _enter(f.name, "My race")
    assert window.scenario.name == "My race" and "My race" in window.windowTitle()
    assert window.isWindowModified()
    race = window.race
    _enter(f.tol_grad, "1e-3")
    assert window.race is race  # tolerance applies in place
    assert race.tolerance.grad == 1e-3
    _enter(f.tol_div, "100")
    assert window.race is race and race.tolerance.divergence == 100.0
    window.undo_action.trigger()
    assert race.tolerance.divergence == 1e6 and f.tol_div.text() == "1e+06"
    _enter(f.x_range, "-1, 1")
    assert window.scenario.view.x_range == (-1.0, 1.0)
    assert window.landscape.home[:2] == (-1.0, 1.0)  # shown widened to equal aspect
    x0, x1, _, _ = window.landscape.view_box()
    assert x0 <= -1.0 + 1e-9 and x1 >= 1.0 - 1e-9
    window.undo_action.trigger()
    assert window.scenario.view.x_range is None
    assert f.x_range.text() == ""
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert window.scenario.name == "Rosenbrock race" and f.name.text() == "Rosenbrock race"
    assert not window.isWindowModified()


@pytest.mark.parametrize(
    ("field", "text", "key", "expect"),
    [
        ("seed", "-3", "seed", "0"),
        ("seed", "abc", "seed", "integer"),
        ("tol_loss", "nan", "tolerance.loss", "finite"),
        ("tol_div", "0.5", "tolerance.divergence", "> 1"),
        ("start", "1, 2, 3", "objective.start", "two finite numbers"),
        ("x_range", "1", "view.x_range", "two finite numbers"),
        ("levels", "1000", "view.levels", "200"),
        ("name", "", "name", "non-empty"),
    ],
)
def test_bad_field_shows_error_there_and_changes_nothing(window, field, text, key, expect):
    f = window.fields
    before = dumps_scenario(window.current_scenario())
    race = window.race
    _enter(getattr(f, field), text)
    err = f.error_text(key)
    assert err and expect in err
    assert f.inputs[key].styleSheet()  # marked red
    assert window.race is race and dumps_scenario(window.current_scenario()) == before
    assert window.document.stack.count() == 0
    # others fields show no error; fixing it clears the error
    assert all(not f.error_text(k) for k in f.errors if k != key)
    window.fields.show_scenario(window.current_scenario())
    assert not f.error_text(key)


def test_perceptron_fields(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from gui.window import MainWindow

    w = MainWindow(load_scenario(ROOT / "scenarios" / "perceptron_minibatch.toml"))
    qtbot.addWidget(w, before_close_func=forget_edits)
    f = w.fields
    assert not f.data_box.isHidden() and f.view_box.isHidden()
    _enter(f.batch, "full")
    assert w.race.objective.mode == "batch"
    _enter(f.epochs, "3")
    assert w.race.steps == 3  # batch: one update per epoch
    f.data_kind.setCurrentIndex(f.data_kind.findData("xor"))
    f.data_kind.activated.emit(f.data_kind.currentIndex())
    assert w.scenario.objective.data["kind"] == "xor"
    _enter(f.batch, "0")
    assert f.error_text("objective.batch_size")
    for _ in range(3):
        w.undo_action.trigger()
    assert w.race.objective.mode == "mini-batch"
    assert not w.isWindowModified()


def test_next_launch_reopens_the_last_scenario(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from gui.app import make_window

    target = next(p for p in SCENARIOS if "ravine" in p.name)
    w = make_window(str(target))
    qtbot.addWidget(w, before_close_func=forget_edits)
    w.close()
    w2 = make_window()
    qtbot.addWidget(w2, before_close_func=forget_edits)
    assert w2.document.path == target.resolve()
    assert w2.scenario.name == load_scenario(target).name
    # a last scenario that no longer loads: the default, and the status bar says why
    bad = tmp_path / "gone.toml"
    bad.write_text("schema = 1\nname = 'x'\n")
    w2.settings.setValue("last_scenario", str(bad))
    w2.settings.sync()
    w3 = make_window()
    qtbot.addWidget(w3, before_close_func=forget_edits)
    assert w3.scenario.name == "Rosenbrock race"
    assert "gone.toml" in w3.statusBar().currentMessage()


@pytest.mark.parametrize(
    ("text", "expect"), [("-1", "expected a finite number in (0"), ("abc", "expected a number")]
)
def test_bad_hyperparameter_shows_error_at_the_field(window, text, expect):
    ed = _lr_editor(window)
    lr0 = window.race.racers[0].params["lr"]
    _type_lr(window, text)
    assert not ed.error.isHidden() and expect in ed.error.text()
    assert ed.error.text().startswith("lr: ")
    assert window.race.racers[0].params["lr"] == lr0
    assert window.document.stack.count() == 0
    _type_lr(window, "0.002")
    assert ed.error.isHidden()
    assert window.race.racers[0].params["lr"] == 0.002


def test_racer_own_start(window):
    ed = window.editors[1]
    assert ed.unit_box.isHidden()  # a landscape's schedules count steps
    _enter(ed.start, "0.5, 0.25")
    race = window.race
    assert race.racers[1].start == (0.5, 0.25)
    assert tuple(race.xs[1, 0]) == (0.5, 0.25) and tuple(race.xs[0, 0]) == (-1.5, 2.0)
    assert window.current_scenario().racers[1].start == (0.5, 0.25)
    _enter(window.editors[1].start, "1, 2, 3")
    assert "2 finite numbers" in window.editors[1].start_error.text()
    assert window.race.racers[1].start == (0.5, 0.25)
    window.undo_action.trigger()
    assert window.race.racers[1].start is None
    assert tuple(window.race.xs[1, 0]) == (-1.5, 2.0)
    assert window.editors[1].start.text() == ""


def test_perceptron_schedule_can_count_epochs(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", str(tmp_path / "s.ini"))
    from gui.window import MainWindow

    w = MainWindow(load_scenario(ROOT / "scenarios" / "perceptron_minibatch.toml"))
    qtbot.addWidget(w, before_close_func=forget_edits)
    ed = w.editors[0]
    assert not ed.unit_box.isHidden()
    ed.unit_box.setCurrentIndex(ed.unit_box.findData("epoch"))
    ed.unit_box.activated.emit(ed.unit_box.currentIndex())
    assert w.race.racers[0].schedule_unit == "epoch"
    assert w.current_scenario().racers[0].schedule_unit == "epoch"
    w.undo_action.trigger()
    assert w.race.racers[0].schedule_unit == "step"


def test_an_undefined_combination_is_refused_at_the_editor(window):
    """SGD: Nesterov needs momentum > 0 and no dampening (torch refuses it too)."""
    sgd = window.editors[4]
    assert sgd.cfg.optimizer == "sgd" and sgd.cfg.params["momentum"] == 0.0
    box = sgd.params.editors["nesterov"]
    box.setChecked(True)  # emits the change
    assert "Nesterov momentum needs momentum > 0" in window.statusBar().currentMessage()
    assert window.race.racers[4].params["nesterov"] is False
    assert not box.isChecked()  # the editor shows what runs
    assert window.document.stack.count() == 0


def test_devnull_settings_remember_nothing_and_leave_dev_null_alone(
    qapp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GRADIENT_ARENA_SETTINGS=/dev/null (headless renders, the warm-up test): nothing is
    kept between windows, and /dev/null stays the device (QSettings saves by renaming a
    new file over the old one: as root that once replaced /dev/null with a regular file)."""
    import os
    import stat

    from gui.settings import Settings

    monkeypatch.setenv("GRADIENT_ARENA_SETTINGS", os.devnull)
    s = Settings()
    assert not s.remember
    s.setValue("state", "slide layout")
    s.sync()
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert Settings().value("state") is None


def test_remember_nothing_reads_and_writes_no_settings(qtbot, tmp_path, monkeypatch):
    """Settings(remember=False): open, save and close a window, and no QSettings was
    ever made (nothing read or written anywhere); the session still has its recent
    files."""
    import gui.settings
    from gui.settings import Settings
    from gui.window import MainWindow

    made: list[tuple] = []
    monkeypatch.setattr(gui.settings, "QSettings", lambda *a: made.append(a))
    monkeypatch.delenv("GRADIENT_ARENA_SETTINGS", raising=False)
    w = MainWindow(settings=Settings(remember=False))
    qtbot.addWidget(w)
    path = tmp_path / "kept.toml"
    assert w.files.save_to(path)
    assert w.files.open_path(path)
    assert w.files.recent() == [str(path.resolve())]
    assert w.settings.last_scenario() == str(path.resolve())
    w.close()
    assert made == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.toml"]


def test_render_remembers_nothing(qapp, tmp_path, monkeypatch):
    """A headless render neither reads the user's window layout nor keeps its own."""
    import gui.settings
    from gui.app import render_png

    made: list[tuple] = []
    monkeypatch.setattr(gui.settings, "QSettings", lambda *a: made.append(a))
    monkeypatch.delenv("GRADIENT_ARENA_SETTINGS", raising=False)
    out = render_png(str(SCENARIOS[0]), str(tmp_path / "r.png"), steps=50)
    assert out.stat().st_size > 0
    assert made == []
