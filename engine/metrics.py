"""What a race's recorded rows say: per-run figures, the leaderboard and its rows.

* :class:`RunMetrics`: the summary of one run (:func:`run_metrics`);
* the incremental scan of a run's rows (:class:`ScanCache`): the best loss, when the
  run came and stayed within tolerance, when it met the divergence rule; each call
  scans only the rows recorded since the last one;
* :class:`EpochCache`: a perceptron run's full-set figures at every epoch boundary;
* :func:`leaderboard`: the racers best first; :func:`board_rows`: the cells of the
  leaderboard as the command line prints it and the window shows it (one formatting for
  both).

The :class:`engine.race.Race` methods ``run_metrics``, ``metrics``, ``leaderboard``,
``diverged_step``, ``unbounded_step``, ``overflow_step`` and ``epoch_metrics`` call
these.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.kernel import DIVERGED
from engine.objective import LANDSCAPE_CELLS as LANDSCAPE_CELLS
from engine.objective import PERCEPTRON_CELLS as PERCEPTRON_CELLS

if TYPE_CHECKING:
    from engine.race import Race
    from engine.racer import Trajectory

#: what the board shows for a figure that does not exist (not settled, no minimum, ...)
MISSING = "—"


@dataclass(frozen=True)
class Tolerance:
    """When a run counts as converged, and when as blown up.

    Within tolerance at a step: |f − f*| <= ``loss`` (if f* is known) or |∇f| <= ``grad``.
    ``divergence`` is the factor of the divergence rule (see :func:`blowup`):
    a run whose loss gap grows beyond ``divergence`` × its reference gap at the start has
    diverged (f* unknown: a loss that falls that far is unbounded below).
    """

    loss: float = 1e-6
    grad: float = 1e-6
    divergence: float = 1e6


@dataclass(frozen=True)
class RunMetrics:
    """Per-run summary figures."""

    label: str
    optimizer: str
    steps: int  # updates done
    final_loss: float
    best_loss: float
    best_step: int
    final_grad_norm: float
    # the first step from which every recorded row is within tolerance (None if the last
    # recorded row is not: the run has not settled)
    steps_to_tol: int | None
    tol_kind: str  # "loss" (|f - f*|) or "grad" (|∇f|)
    nearest_minimum: int | None  # index into objective.minima()
    distance_to_minimum: float | None
    diverged_step: int | None  # Race.diverged_step
    final_point: tuple[float, ...]
    first_within_tol: int | None = None  # the first step within tolerance, None if never
    unbounded_step: int | None = None  # Race.unbounded_step (f* unknown only)
    # perceptron only (None otherwise): full-set figures at the final point
    val_loss: float | None = None
    val_accuracy: float | None = None
    train_loss: float | None = None  # full training set (final_loss is the last mini-batch's)
    train_accuracy: float | None = None
    epochs: float | None = None  # updates done / steps per epoch

    def as_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            if isinstance(v, tuple):
                return [clean(u) for u in v]
            return v

        ep = self.epochs is not None  # a run with epochs (a perceptron)
        return {k: clean(v) for k, v in self.__dict__.items() if ep or k not in _PERCEPTRON_ONLY}


_PERCEPTRON_ONLY = ("val_loss", "val_accuracy", "train_loss", "train_accuracy", "epochs")


# ---------------------------------------------------------------------------- the scan
@dataclass
class Scan:
    """What :class:`ScanCache` knows of one run: rows ``[0, n)`` scanned."""

    key: tuple[str, float, float | None, float]  # tolerance kind, value, f*, divergence
    n: int = 0
    best: float = math.nan
    best_step: int = 0
    first: int | None = None  # the first row within tolerance
    last_out: int = -1  # the last row outside tolerance (-1: none)
    f0: float = math.nan  # the loss at the start (row 0)
    limit: float = math.inf  # the divergence rule's bound on the gap
    blowup: int | None = None  # the first row meeting the divergence rule
    blowup_kind: str = ""  # "diverged" or "unbounded"

    def add(self, seg: np.ndarray, gnorm: np.ndarray) -> None:
        """Take in the loss and gradient norm of rows ``[n, n + len(seg))``."""
        _, tol, fstar, factor = self.key
        s = self.n
        if s == 0:
            self.f0 = f0 = float(seg[0])
            if fstar is not None:
                self.limit = factor * max(abs(f0 - fstar), tol, 1e-12)
            else:
                self.limit = factor * max(abs(f0), 1.0)
        k = int(np.argmin(seg))
        lo = float(seg[k])
        if s == 0 or lo < self.best:  # ties keep the earlier step
            self.best, self.best_step = lo, s + k
        within = (np.abs(seg - fstar) if fstar is not None else gnorm) <= tol
        if self.first is None and within.any():
            self.first = s + int(np.argmax(within))
        if not within.all():
            self.last_out = s + seg.shape[0] - 1 - int(np.argmax(~within[::-1]))
        if self.blowup is None:
            base = fstar if fstar is not None else self.f0
            end = seg.shape[0]
            rise = fall = end
            if float(seg.max()) - base > self.limit:
                rise = int(np.argmax(seg - base > self.limit))
            if fstar is None and self.f0 - lo > self.limit:
                fall = int(np.argmax(self.f0 - seg > self.limit))
            if min(rise, fall) < end:
                self.blowup = s + min(rise, fall)
                self.blowup_kind = "diverged" if rise < fall else "unbounded"
        self.n = s + seg.shape[0]


class ScanCache:
    """The scans of a race's runs, by run id (a race holds one).

    :meth:`scan` gives what the metrics need of racer ``i``'s rows: the best loss, the
    first row within tolerance, the last row outside it and the first row meeting the
    divergence rule (see :func:`blowup`). Incremental: the figures
    of each run are cached (by run id and tolerance) and only the rows recorded since the
    last call are scanned, so a leaderboard refresh during a long race costs the new rows,
    not all of them. Same results as a full scan: the earliest minimum (np.argmin's
    choice) and the earliest hit. Safe while another thread advances the race (a reset
    between the reads is retried); the lock is never held by ``advance``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.scans: dict[int, Scan] = {}

    def scan(self, race: Race, i: int) -> tuple[Scan, Trajectory]:
        fstar = race.objective.f_star()
        tol = race.tolerance
        key: tuple[str, float, float | None, float] = (
            ("loss", tol.loss, fstar, tol.divergence)
            if fstar is not None
            else ("grad", tol.grad, None, tol.divergence)
        )
        with self.lock:
            for _attempt in range(100):
                rid = int(race.run_id[i])
                tr = race.trajectory(i)  # count read first: its rows are final
                n = tr.loss.shape[0]
                scan = self.scans.get(rid)
                if scan is None or scan.key != key or scan.n > n:
                    scan = Scan(key)
                elif n > scan.n:
                    scan = replace(scan)  # the cached one changes only on success
                if n > scan.n:
                    scan.add(tr.loss[scan.n : n], tr.grad_norm[scan.n : n])
                if int(race.run_id[i]) != rid:
                    continue  # reset meanwhile: the rows read may be mixed; read again
                if rid not in self.scans:  # a new run: forget those reset or removed
                    live = set(race.run_id.tolist())
                    self.scans = {k: v for k, v in self.scans.items() if k in live}
                self.scans[rid] = scan
                return scan, tr
        raise RuntimeError("the race kept being reset")  # pragma: no cover


def overflow_step(race: Race, i: int) -> int | None:
    """See :meth:`engine.race.Race.overflow_step`."""
    return int(race.t[i]) if race.status[i] == DIVERGED else None


def classify(scan: Scan, tr: Trajectory, stopped: int | None) -> tuple[str, int | None]:
    """("diverged" or "unbounded", step) of a run, or ("", None) (see :func:`blowup`):
    the first row meeting the divergence rule, else the kernel's overflow step
    ``stopped``: unbounded below if f* is unknown and the last finite loss is below the
    start's, diverged otherwise."""
    if scan.blowup is not None:
        return scan.blowup_kind, scan.blowup
    if stopped is None:
        return "", None
    n = tr.loss.shape[0]
    if scan.key[2] is None and n > 0 and tr.loss[n - 1] < scan.f0:
        return "unbounded", stopped
    return "diverged", stopped


def blowup(race: Race, i: int) -> tuple[str, int | None]:
    """("diverged" or "unbounded", step) of racer ``i``, or ("", None).

    A run diverges at the first step k where its loss or gradient is not finite (the
    kernel stops it there: :func:`overflow_step`) or where its loss has risen too far:

    * f* known: f(x_k) − f* > D · max(|f(x_0) − f*|, tol.loss, 1e-12);
    * f* unknown: f(x_k) − f(x_0) > D · max(|f(x_0)|, 1);

    D = ``tolerance.divergence`` (1e6 by default). Where f* is unknown, a run whose loss
    instead falls by more than D · max(|f(x_0)|, 1), or which the kernel stops while its
    last finite loss is below f(x_0), is unbounded below, not diverged; a run is marked
    with the first of the two events it meets. The rule is checked on the recorded rows
    only; the kernel keeps stepping a run that meets it until it overflows or ends.
    """
    stopped = overflow_step(race, i)  # read before the rows: then the rows are final
    scan, tr = race._scan(i)
    return classify(scan, tr, stopped)


# ---------------------------------------------------------------------------- figures
def run_metrics(race: Race, i: int) -> RunMetrics:
    """Summary figures of racer ``i`` (see RunMetrics)."""
    cfg = race.racers[i]
    stopped = overflow_step(race, i)  # read before the rows: then the rows are final
    scan, tr = race._scan(i)
    n = tr.loss.shape[0]
    fstar = race.objective.f_star()
    kind, blown = classify(scan, tr, stopped)
    ends = {
        "diverged_step": blown if kind == "diverged" else None,
        "unbounded_step": blown if kind == "unbounded" else None,
    }
    if n == 0:
        return RunMetrics(
            label=cfg.label, optimizer=cfg.optimizer, steps=0, final_loss=math.nan,
            best_loss=math.nan, best_step=0, final_grad_norm=math.nan, steps_to_tol=None,
            tol_kind="loss" if fstar is not None else "grad", nearest_minimum=None,
            distance_to_minimum=None, final_point=tuple(race._start_of(i).tolist()), **ends,
        )  # fmt: skip
    last = tr.x[-1]
    near, dist = None, None
    minima = race.objective.minima()
    if minima:
        # math.hypot scales: no overflow for points far out (e.g. 1e300 on a bounded landscape)
        ds = [math.hypot(*(float(v) for v in last - np.asarray(m))) for m in minima]
        near = int(np.argmin(ds))
        dist = ds[near]
    extra: dict[str, Any] = race.objective.final_figures(last, n - 1, race.batch_size)
    return RunMetrics(
        label=cfg.label,
        optimizer=cfg.optimizer,
        steps=n - 1,
        final_loss=float(tr.loss[-1]),
        best_loss=scan.best,
        best_step=scan.best_step,
        final_grad_norm=float(tr.grad_norm[-1]),
        steps_to_tol=scan.last_out + 1 if scan.last_out + 1 < n else None,
        tol_kind=scan.key[0],
        nearest_minimum=near,
        distance_to_minimum=dist,
        final_point=tuple(float(v) for v in last),
        first_within_tol=scan.first,
        **ends,
        **extra,
    )


def _finite_or_inf(v: float | None) -> float:
    return v if v is not None and math.isfinite(v) else math.inf


def rank_key(m: RunMetrics) -> tuple[int, float, float]:
    """The leaderboard's order (smaller first): see :func:`leaderboard`."""
    div = 1 if m.diverged_step is not None or m.unbounded_step is not None else 0
    if m.epochs is not None:
        tl = _finite_or_inf(m.train_loss)
        vl = _finite_or_inf(m.val_loss)
        return (div, vl if math.isfinite(vl) else tl, tl)
    tol = m.steps_to_tol if m.steps_to_tol is not None else math.inf
    fl = m.final_loss if math.isfinite(m.final_loss) else math.inf
    return (div, tol, fl)


def leaderboard(race: Race) -> list[tuple[int, RunMetrics]]:
    """Racer indices with metrics, best first: the settled runs by steps to tolerance,
    then the others by final loss, diverged and unbounded runs last.

    Perceptron: diverged last, then by the final validation loss (the full training
    loss if there are no validation rows); the last mini-batch loss is too noisy.
    """
    ms = [(i, run_metrics(race, i)) for i in range(len(race.racers))]
    return sorted(ms, key=lambda item: rank_key(item[1]))


# ---------------------------------------------------------------------------- the board
@dataclass(frozen=True)
class BoardRow:
    """One leaderboard row: the racer, its figures, and every cell as shown.

    The cells are strings, formatted once here for the command line and the window
    alike (:data:`MISSING` where a figure does not exist); each shows the columns it
    has room for.
    """

    index: int  # the racer's index in race.racers
    metrics: RunMetrics
    enabled: bool
    blown: bool  # diverged or unbounded below
    rank: str  # "1", "2", ... over the enabled racers; MISSING for a disabled one
    label: str
    optimizer: str
    final_loss: str
    best_loss: str
    steps_to_tol: str
    first_within_tol: str
    dist_to_min: str
    # perceptron (MISSING on a landscape)
    val_accuracy: str
    val_loss: str
    train_loss: str
    epochs: str
    status: str  # "diverged @ k", "unbounded below @ k", "disabled", "done", "running", "epoch k"


# the cells of a landscape race's board and of a perceptron race's, (heading, field),
# are engine.objective's (LANDSCAPE_CELLS, PERCEPTRON_CELLS, imported above); a race's
# are its objective's ``board_cells``


def _num(v: float | int | None) -> str:
    if v is None:
        return MISSING
    if isinstance(v, int):
        return f"{v:,}"
    return format(v, ".4g")


def _pct(v: float | None) -> str:
    return MISSING if v is None or not math.isfinite(v) else f"{100.0 * v:.2f} %"


def board_rows(
    race: Race,
    perceptron_epochs: Callable[[int], dict[str, np.ndarray]] | None = None,
    ranked: list[tuple[int, RunMetrics]] | None = None,
) -> list[BoardRow]:
    """The leaderboard's rows: the enabled racers best first (:func:`leaderboard`), then
    the disabled ones.

    ``perceptron_epochs(i)`` (a perceptron race; e.g. the window's cached
    :meth:`engine.race.Race.epoch_metrics`) gives the accuracy and losses at racer ``i``'s
    latest epoch boundary; without it they are those of the final point (RunMetrics).
    ``ranked`` is ``race.leaderboard()`` if already computed (the window computes it in a
    worker thread).
    """
    if ranked is None:
        ranked = leaderboard(race)
    cfgs = race.racers
    order = sorted(ranked, key=lambda p: not cfgs[p[0]].enabled)  # stable: disabled last
    epochs = race.objective.has_epochs
    out = []
    for rank, (i, m) in enumerate(order, 1):
        enabled = cfgs[i].enabled
        blown = m.diverged_step is not None or m.unbounded_step is not None
        va, vl, tl, ep = m.val_accuracy, m.val_loss, m.train_loss, m.epochs
        if epochs and perceptron_epochs is not None:
            em = perceptron_epochs(i)
            if em["epoch"].size:
                va, vl, tl = (float(em[k][-1]) for k in ("val_accuracy", "val_loss", "train_loss"))
                ep = float(em["epoch"][-1])
        if m.diverged_step is not None:
            status = f"diverged @ {m.diverged_step:,}"
        elif m.unbounded_step is not None:
            status = f"unbounded below @ {m.unbounded_step:,}"
        elif not enabled:
            status = "disabled"
        elif epochs:
            status = f"epoch {int(ep or 0):,}"
        else:
            status = "done" if m.steps >= race.steps else "running"
        out.append(BoardRow(
            index=i, metrics=m, enabled=enabled, blown=blown,
            rank=str(rank) if enabled else MISSING, label=m.label, optimizer=m.optimizer,
            final_loss=_num(m.final_loss), best_loss=_num(m.best_loss),
            steps_to_tol=_num(m.steps_to_tol), first_within_tol=_num(m.first_within_tol),
            dist_to_min=_num(m.distance_to_minimum),
            val_accuracy=_pct(va), val_loss=_num(vl), train_loss=_num(tl), epochs=_num(ep),
            status=status,
        ))  # fmt: skip
    return out


# ---------------------------------------------------------------------------- epochs
class EpochTable:
    """Per-epoch figures of one run: rows = epochs 0, 1, ...; columns train loss,
    validation loss, validation accuracy, training accuracy (a doubling buffer)."""

    def __init__(self) -> None:
        self.buf = np.empty((16, 4))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + rows.shape[0]
        if need > self.buf.shape[0]:
            buf = np.empty((max(need, 2 * self.buf.shape[0]), 4))
            buf[: self.n] = self.buf[: self.n]
            self.buf = buf
        self.buf[self.n : need] = rows
        self.n = need

    def as_dict(self, spe: int) -> dict[str, np.ndarray]:
        ep = np.arange(self.n, dtype=np.int64)
        t = self.buf[: self.n]
        return {
            "epoch": ep,
            "step": ep * spe,
            "train_loss": t[:, 0].copy(),
            "val_loss": t[:, 1].copy(),
            "val_accuracy": t[:, 2].copy(),
            "train_accuracy": t[:, 3].copy(),
        }


class EpochCache:
    """The per-epoch figures of a race's runs, by run id (a race holds one).

    :meth:`metrics` gives racer ``i``'s full-set figures at every epoch boundary reached
    so far: entry ``e`` is the state after ``e`` epochs (recorded row
    ``e × steps_per_epoch``; epoch 0 is the start): arrays ``epoch``, ``step``,
    ``train_loss``, ``val_loss``, ``val_accuracy`` and ``train_accuracy`` (fresh copies).
    Computed lazily from the recorded parameters and cached per run: each call evaluates
    only the epochs reached since the last call. Safe while another thread advances the
    race (the race lock is not taken; a reset between the reads is detected and
    retried); the lock is never held by ``advance``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tables: dict[int, EpochTable] = {}

    def metrics(self, race: Race, i: int) -> dict[str, np.ndarray]:
        if not race.objective.has_epochs:
            raise ValueError("epoch metrics exist only for an objective with epochs (a perceptron)")
        spe = race.steps_per_epoch
        with self.lock:
            for _attempt in range(100):
                rid = int(race.run_id[i])
                table = self.tables.get(rid) or EpochTable()
                c = int(race.count[i])  # count before the buffer: rows < c are valid in it
                xs = race.xs
                n_ep = (c - 1) // spe + 1 if c > 0 else 0
                new = None
                if n_ep > table.n:
                    new = race.objective.evaluate(xs[i, np.arange(table.n, n_ep) * spe])
                if int(race.run_id[i]) != rid:
                    continue  # reset meanwhile: the rows read may be mixed; read again
                if new is not None:
                    table.append(new)
                live = set(race.run_id.tolist())
                self.tables = {k: v for k, v in self.tables.items() if k in live}
                self.tables[rid] = table
                return table.as_dict(spe)
        raise RuntimeError("the race kept being reset")  # pragma: no cover
