"""Scenario files: one race (objective, optimizers, view) as a small TOML document.

Everything a user can get wrong in a scenario is checked here, in one place, and
reported as a :class:`ScenarioError` listing every :class:`Problem` found, each naming
the file, the dotted key path (``optimizers[1].params.lr``), the line and what was
expected::

    rosen.toml: optimizers[0].params.beta1: expected a finite number in [0, 1), got 1.0 (line 14)

The modules: :mod:`.model` (the data classes, the limits, the errors), :mod:`.schema`
(the pydantic models of the file's structure, and the "expected ..." they imply),
:mod:`.validate` with :mod:`.checks` and :mod:`.perceptron` (every check),
:mod:`.problems` (collecting problems), :mod:`.toml_io` (reading and writing files),
:mod:`.emit` (the TOML written, with tomlkit) and :mod:`.build` (the race). Nothing but
``ScenarioError`` ever leaves :func:`load_scenario`, :func:`loads_scenario` or
:func:`scenario_from_dict`.

Two kinds of objective. ``kind = "landscape"`` (the default) takes ``name``, ``params``,
``start = [x, y]`` and ``grad_noise``. ``kind = "perceptron"`` (a single sigmoid neuron
trained by mini-batches) takes::

    [objective]
    kind = "perceptron"
    data = { kind = "blobs", n = 1152, separation = 4.0, spread = 1.0, balance = 0.5,
             noise = 0.0, seed = 0 }     # or data = { csv = "points.csv" }
    batch_size = 128                     # an integer >= 1, or "full" (batch gradient descent)
    epochs = 20
    standardize = false                  # scale x1, x2 by the TRAINING mean / std
    validation_fraction = 0.2            # in [0, 0.9]
    start = [0.0, 0.0, 0.0]              # [w1, w2, b]

``data`` defaults to blobs; its ``seed`` defaults to the scenario's. A CSV path is
relative to the scenario file and the file is read (and checked) when the scenario is
loaded. ``data = { rows = [[x1, x2, y], ...] }`` gives the rows in the file itself (1 to
MAX_INLINE_ROWS rows of three finite numbers, y in [0, 1]: a class or a soft label).
The length of a perceptron race is ``epochs``: ``steps`` is derived (epochs ×
ceil(training rows / batch size)) and giving ``steps`` as well is an error.
A racer of an optimizer with a velocity (sgd, momentum, nag) may start moving:
``v0 = [...]`` (its velocity, in the optimizer's units: ``Optimizer.velocity``) or
``x_prev = [...]`` (the point before the start: the previous update led from there).
A racer's schedule may count epochs instead of steps: ``schedule = { name = "exponential",
gamma = 0.9, unit = "epoch" }`` (``unit`` is "step" by default; "epoch" needs a
perceptron objective).
"""

from engine.scenario.build import build_race
from engine.scenario.emit import scenario_to_dict
from engine.scenario.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    MAX_FILE_BYTES,
    MAX_INLINE_ROWS,
    MAX_RACERS,
    MAX_STEPS,
    SCHEMA_VERSION,
    VIEW_FLAGS,
    WINDOW_RACERS,
    MapSettings,
    ObjectiveSpec,
    Origin,
    Problem,
    Scenario,
    ScenarioError,
    ViewSpec,
)
from engine.scenario.toml_io import dumps_scenario, load_scenario, loads_scenario, save_scenario
from engine.scenario.validate import scenario_from_dict

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "MAX_FILE_BYTES",
    "MAX_INLINE_ROWS",
    "MAX_RACERS",
    "MAX_STEPS",
    "SCHEMA_VERSION",
    "VIEW_FLAGS",
    "WINDOW_RACERS",
    "MapSettings",
    "ObjectiveSpec",
    "Origin",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ViewSpec",
    "build_race",
    "dumps_scenario",
    "load_scenario",
    "loads_scenario",
    "save_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
]
