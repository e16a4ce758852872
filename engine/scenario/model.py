"""What a validated scenario is: plain data classes, the limits, and the error types."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from engine.metrics import Tolerance
from engine.race import RacerConfig

SCHEMA_VERSION: Final = 1
MAX_FILE_BYTES = 1 << 20  # 1 MiB of TOML
MAX_STEPS = 10_000_000
MAX_RACERS = 10_000  # racers in one scenario file (`main.py run`; the race refuses by memory)
WINDOW_RACERS = 64  # racers the window draws (engine.session refuses more)
MAX_SEED = 2**63 - 1
MAX_DEPTH = 32  # nesting of tables/arrays; a scenario needs 4
MAX_INT_BITS = 64  # larger integers are refused before any float conversion
MAX_INLINE_ROWS = 1_000  # data = { rows = [...] } (worked examples); larger sets belong in a CSV
DEFAULT_BATCH_SIZE = 128
DEFAULT_EPOCHS = 20

#: the true/false keys of [view] (None when the file does not say)
VIEW_FLAGS = (
    "log_color", "gradient_field", "step_arrows", "equations", "log_y", "loss_gap",
    "equal_aspect", "small_multiples", "theory", "legend_params",
)  # fmt: skip


# ---------------------------------------------------------------------------- errors
@dataclass
class Problem:
    """One thing wrong with a scenario: where (file, key path, line) and what."""

    file: str
    key: str  # dotted path such as "optimizers[1].params.lr"; "" for the whole file
    message: str  # what was expected and what was found
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}: " if self.key else f"{self.file}: "
        text = where + self.message
        if self.line is not None and f"line {self.line}" not in self.message:
            text += f" (line {self.line})"
        return text


class ScenarioError(Exception):
    """A scenario could not be read, validated or written; ``problems`` lists why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


# ---------------------------------------------------------------------------- data
@dataclass
class ObjectiveSpec:
    """What the race runs on: a 2-D landscape or the perceptron (``kind``).

    For the perceptron ``name`` is "perceptron", ``params`` is empty, ``start`` is
    (w1, w2, b), and the perceptron fields below are set (None for a landscape). A typed
    landscape has ``name`` "formula", its text in ``formula``, its named constants in
    ``params`` and the minima the file lists (None: found by a scan) in ``minima``.
    """

    kind: str
    name: str
    params: dict[str, Any]  # resolved: every parameter of the landscape
    start: tuple[float, ...]
    grad_noise: float = 0.0
    # {"kind": <generator>, <every param>}, {"csv": path} or {"rows": [[x1, x2, y], ...]}
    data: dict[str, Any] | None = None
    batch_size: int | str | None = None  # an integer >= 1 or "full"
    epochs: int | None = None
    standardize: bool | None = None
    validation_fraction: float | None = None
    rows: np.ndarray | None = field(default=None, compare=False, repr=False)  # CSV/inline rows
    csv_path: Path | None = field(default=None, compare=False, repr=False)  # resolved path
    formula: str | None = None
    minima: tuple[tuple[float, float], ...] | None = None


@dataclass
class ViewSpec:
    """Optional hints for the plot; None means "let the GUI decide"."""

    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    levels: int | None = None
    log_color: bool | None = None
    # what the window shows (None: the user's last choice)
    gradient_field: bool | None = None  # the quiver of −∇f
    step_arrows: bool | None = None  # gradient / update / momentum arrows at each head
    equations: bool | None = None  # the update-equations panel
    log_y: bool | None = None  # loss panel on a log scale
    loss_gap: bool | None = None  # loss panel plots |f − f*| (where f* is known)
    equal_aspect: bool | None = None  # 1:1 data units on the maps (None: on)
    small_multiples: bool | None = None  # one small landscape per racer instead of one map
    theory: bool | None = None  # the quadratic's theory beside the race (gui/theory_overlay.py)
    legend_params: bool | None = None  # the legend shows each racer's hyperparameters


@dataclass(frozen=True)
class MapSettings:
    """The file's ``[map]`` table: what ``main.py map`` and the window's Maps panel
    compute when not told otherwise (the names of ``main.py map``'s options).

    ``over``: "start", a hyperparameter ("lr") or two ("lr,momentum"); ``racer``: a
    racer's label (None: every enabled racer); ``res``: pixels per axis (one number: the
    same on both); ``ranges``: LO HI [LO2 HI2] of the hyperparameters; ``box``: X0 X1
    Y0 Y1 of a start map; ``steps``: None for the scenario's; ``search``: "grid" or
    "random" (with ``budget`` points); ``log``: the swept hyperparameters on a log scale
    (None: as the registry says).
    """

    over: str
    racer: str | None = None
    res: tuple[int, ...] | None = None
    ranges: tuple[float, ...] | None = None
    box: tuple[float, float, float, float] | None = None
    steps: int | None = None
    search: str = "grid"
    budget: int | None = None
    log: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Origin:
    """The TOML text a scenario was read from, so that writing it keeps the file's
    comments and layout: only what changed since is rewritten.

    ``plain`` is :func:`scenario_to_dict` of the scenario as read (what the text says);
    ``base_dir`` is where the text's relative CSV path starts.
    """

    text: str
    plain: dict[str, Any] = field(compare=False, repr=False)
    base_dir: Path | None = None


@dataclass
class Scenario:
    """A validated scenario. ``source`` (its file) and ``origin`` are not compared.

    ``origin`` is set when the scenario was read from TOML text; ``dataclasses.replace``
    carries it along, so an edited copy is written back into the same commented text.
    """

    schema: int
    name: str
    description: str
    steps: int
    seed: int
    tolerance: Tolerance
    objective: ObjectiveSpec
    view: ViewSpec
    racers: list[RacerConfig]
    map: MapSettings | None = None
    source: Path | None = field(default=None, compare=False)
    origin: Origin | None = field(default=None, compare=False, repr=False)
