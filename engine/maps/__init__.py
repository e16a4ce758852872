"""Maps (issue #13): many independent configurations of one racer, each reduced to the
race's metrics without keeping its trajectory.

* :mod:`engine.maps.grid`: what a map sweeps (start points, hyperparameters) and the
  configuration of each pixel (:class:`MapSpec`, :func:`plan`);
* :mod:`engine.maps.compute`: the pixels run in blocks and reduced to metrics
  (:func:`compute_map`), bit for bit what :class:`engine.race.Race` gives;
* :mod:`engine.maps.io`: ``map.npz``, ``map.json`` and ``map.png``, written atomically.
"""

from __future__ import annotations

from engine.maps.compute import METRICS, MapCancelled, MapResult, compute_map, reduce_race
from engine.maps.grid import MapError, MapSpec, plan

__all__ = [
    "METRICS",
    "MapCancelled",
    "MapError",
    "MapResult",
    "MapSpec",
    "compute_map",
    "plan",
    "reduce_race",
]
