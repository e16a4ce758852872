"""The theory beside a race: for each run on a quadratic landscape, the closed forms
(engine.theory.quadratic) next to the measured rate (engine.theory.measure).

:func:`race_theory` gives one block per run (summary.json's ``theory``), None for an
objective without a quadratic landscape (a perceptron, Rosenbrock...). Every block
carries the landscape's figures; a racer the theory does not cover (Adam, a schedule...)
has ``covered`` false, the ``reason``, no prediction, and still its measured rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.theory.measure import agreement, measured_rate
from engine.theory.quadratic import (
    Method,
    Quadratic,
    method_of,
    predicted_gap,
    predicted_rate,
    quadratic_of,
)

_EPS = float(np.finfo(np.float64).eps)
_ULPS = 1e3  # the measured fit stops this many ulps above the round-off floor


def race_quadratic(race: Any) -> Quadratic | None:
    """The quadratic of ``race``'s objective, None if it has none (engine.objective's
    LandscapeObjective carries ``landscape`` and ``params``; other kinds do not)."""
    ls = getattr(race.objective, "landscape", None)
    if ls is None:
        return None
    return quadratic_of(ls, race.objective.params)


def landscape_figures(q: Quadratic) -> dict[str, Any]:
    """What lecture 5 says of the quadratic itself."""
    opt = q.distill_optimum()
    return {
        "lambda": q.lam.tolist(),
        "eigenvectors": q.vectors.T.tolist(),  # row i: the unit eigenvector of lambda[i]
        "centre": q.centre.tolist(),
        "f_star": q.f_star,
        "kappa": q.kappa,
        "lr_max_stable": q.lr_max_stable,
        "lr_optimal": q.lr_optimal,
        "rate_at_lr_optimal": None if q.kappa is None else (q.kappa - 1.0) / (q.kappa + 1.0),
        "distill_optimum": (
            None if opt is None else {"lr": opt[0], "momentum": opt[1], "rate": math.sqrt(opt[1])}
        ),
    }


def fit_floor(q: Quadratic) -> float:
    """The gap below which round-off dominates: 1e3 ulps of f*, and the gap of an error
    of 1e3 ulps of the centre's largest coordinate along the steepest direction."""
    dx = _ULPS * _EPS * float(np.max(np.abs(q.centre)))
    return max(_ULPS * _EPS * abs(q.f_star), 0.5 * float(np.max(np.abs(q.lam))) * dx * dx)


def _method_figures(q: Quadratic, m: Method) -> dict[str, Any]:
    out: dict[str, Any] = {"method": m.kind}
    if m.hb_lr is not None:
        out["equivalent_heavy_ball"] = {"lr": m.hb_lr, "momentum": m.hb_momentum}
        opt = q.distill_optimum()
        if opt is not None:
            lr = opt[0] / (1.0 - opt[1]) if m.kind == "ema" else opt[0]
            if m.kind == "heavy_ball":
                lr /= 1.0 - m.dampening
            out["momentum_optimal"] = opt[1]
            out["lr_optimal_momentum"] = lr  # in the racer's own units (η of its update)
            out["rate_momentum_optimal"] = math.sqrt(opt[1])
    return out


def run_theory(race: Any, i: int, q: Quadratic | None = None) -> dict[str, Any] | None:
    """The theory block of run ``i`` of ``race`` (None: no quadratic landscape)."""
    q = q if q is not None else race_quadratic(race)
    if q is None:
        return None
    cfg = race.racers[i]
    tr = race.trajectory(i)
    block: dict[str, Any] = landscape_figures(q)
    x0 = np.asarray(tr.x[0] if tr.x.shape[0] else race.objective.start, dtype=np.float64)
    m: Method | str = method_of(cfg, x0, float(race.objective.grad_noise))
    if not q.positive_definite:
        m = "not covered: the quadratic has no minimum (its smallest eigenvalue is <= 0)"
    fit = measured_rate(tr.loss, q.f_star, fit_floor(q)) if q.positive_definite else None
    block["covered"] = not isinstance(m, str)
    block["reason"] = m if isinstance(m, str) else None
    block["method"] = None
    pred = None
    if not isinstance(m, str):
        block.update(_method_figures(q, m))
        pred = predicted_rate(q, m, x0)
    block["predicted_rate"] = pred
    block["predicted_loss_rate"] = None if pred is None else pred * pred
    block["measured_rate"] = None if fit is None else fit.rate
    block["measured_loss_rate"] = None if fit is None else fit.loss_rate
    block["fit_rows"] = None if fit is None else [fit.first, fit.last]
    rel = None
    if pred is not None and fit is not None and pred > 0.0:
        rel = (fit.rate - pred) / pred
    block["relative_difference"] = rel
    block["agreement"] = agreement(pred, None if fit is None else fit.rate)
    return block


def race_theory(race: Any) -> list[dict[str, Any]] | None:
    """:func:`run_theory` of every run (None: no quadratic landscape)."""
    q = race_quadratic(race)
    if q is None:
        return None
    return [b for i in range(len(race.racers)) if (b := run_theory(race, i, q)) is not None]


def predicted_curve(race: Any, i: int, q: Quadratic | None = None) -> np.ndarray | None:
    """The closed form's loss gap f(x_t) − f* of run ``i`` for t = 0..race.steps (what
    the window will draw dashed beside the measured curve); None when the theory does
    not cover the run or the landscape is not a positive definite quadratic."""
    q = q if q is not None else race_quadratic(race)
    if q is None or not q.positive_definite:
        return None
    tr = race.trajectory(i)
    x0 = np.asarray(tr.x[0] if tr.x.shape[0] else race.objective.start, dtype=np.float64)
    m = method_of(race.racers[i], x0, float(race.objective.grad_noise))
    if isinstance(m, str):
        return None
    return predicted_gap(q, m, x0, int(race.steps))
