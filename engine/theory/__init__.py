"""Theory beside the race (issue 15): lecture 5's closed forms for GD and momentum on a
quadratic against the measured runs, and the local quadratic model of any landscape.

* :mod:`engine.theory.quadratic`: a quadratic landscape's A, eigenvalues, κ, 2/λ_max,
  η*, Distill's momentum optimum; each racer's update as a linear map per mode, its
  predicted rate and loss curve (:class:`Quadratic`, :func:`quadratic_of`,
  :func:`method_of`, :func:`predicted_rate`, :func:`predicted_gap`);
* :mod:`engine.theory.measure`: the measured rate of a recorded run (:func:`measured_rate`)
  and the agreement rule (:func:`agreement`: within 1 %);
* :mod:`engine.theory.runs`: summary.json's per-run ``theory`` block (:func:`race_theory`)
  and a run's predicted loss curve (:func:`predicted_curve`);
* :mod:`engine.theory.local`: f, ∇f, H, its eigenvalues, the classification and the
  Newton step at any point (:func:`local_model`), the critical points of a box
  (:func:`critical_points`);
* :mod:`engine.theory.inspect`: what ``python main.py inspect`` prints.
"""

from __future__ import annotations

from engine.theory.local import (
    CriticalPoint,
    LocalModel,
    Scale,
    classify_eigenvalues,
    critical_points,
    local_model,
    scale_of,
)
from engine.theory.measure import Fit, agreement, measured_rate
from engine.theory.quadratic import (
    Method,
    Quadratic,
    method_of,
    predicted_gap,
    predicted_rate,
    quadratic_of,
)
from engine.theory.runs import predicted_curve, race_quadratic, race_theory, run_theory

__all__ = [
    "CriticalPoint",
    "Fit",
    "LocalModel",
    "Method",
    "Quadratic",
    "Scale",
    "agreement",
    "classify_eigenvalues",
    "critical_points",
    "local_model",
    "measured_rate",
    "method_of",
    "predicted_curve",
    "predicted_gap",
    "predicted_rate",
    "quadratic_of",
    "race_quadratic",
    "race_theory",
    "run_theory",
    "scale_of",
]
