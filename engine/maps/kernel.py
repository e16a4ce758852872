"""The maps' batch kernel: N configurations of one racer on a landscape, T steps each,
reduced to the race's metrics on the fly (no trajectories), bit for bit the race's.

Its code is the package engine.maps.batch (the design is described there); this module
is its entry point for engine.maps.fast: :func:`map_chunk` and the layout constants.
"""

from __future__ import annotations

from engine.maps.batch.block import (
    FAM_ADAGRAD,
    FAM_ADAM,
    FAM_MOMENTUM,
    FAM_NAG,
    FAM_RMSPROP,
    FAM_SGD,
    FL_AMSGRAD,
    FL_CENTERED,
    FL_DECOUPLED,
    FL_NESTEROV,
    FL_SIZE,
    HP_ROWS,
    OF_BEST_LOSS,
    OF_FINAL_LOSS,
    OF_SIZE,
    OF_X,
    OF_Y,
    OI_DIVERGED,
    OI_FIRST,
    OI_SIZE,
    OI_STEPS_TO_TOL,
    OI_UNBOUNDED,
    OI_UPDATES,
    ST_ROWS,
    W_SIZE,
    map_chunk,
)

__all__ = [
    "FAM_ADAGRAD",
    "FAM_ADAM",
    "FAM_MOMENTUM",
    "FAM_NAG",
    "FAM_RMSPROP",
    "FAM_SGD",
    "FL_AMSGRAD",
    "FL_CENTERED",
    "FL_DECOUPLED",
    "FL_NESTEROV",
    "FL_SIZE",
    "HP_ROWS",
    "OF_BEST_LOSS",
    "OF_FINAL_LOSS",
    "OF_SIZE",
    "OF_X",
    "OF_Y",
    "OI_DIVERGED",
    "OI_FIRST",
    "OI_SIZE",
    "OI_STEPS_TO_TOL",
    "OI_UNBOUNDED",
    "OI_UPDATES",
    "ST_ROWS",
    "W_SIZE",
    "map_chunk",
]
