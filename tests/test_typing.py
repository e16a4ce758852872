"""What mypy cannot check by itself: the per-racer arrays :class:`engine.race.Race`
sets with setattr (``Race._show``) are the ones its class annotations declare."""

from __future__ import annotations

import numpy as np

from engine.race import Race, racer_arrays


def test_race_declares_every_per_racer_array_with_its_dtype():
    declared = {n: a for n, a in Race.__annotations__.items() if "NDArray" in str(a)}
    arrays = racer_arrays(2, 3)
    assert set(declared) == set(arrays)
    for name, (_shape, dtype, _fill) in arrays.items():
        assert str(declared[name]) == f"npt.NDArray[np.{np.dtype(dtype).name}]", name
