"""Gradient Arena benchmarks: ``python -m bench {engine,gui,all} [--quick]``.

Benchmarks measure; tests never time. Machines are shared and noisy (two cores), so every
figure is the median of repeated runs, and every claim is a ratio against a baseline
measured in the same run, in interleaved rounds (so that a burst of load elsewhere hits
the engine and its baseline alike).

* :mod:`bench.engine_bench` — ns per step of every optimizer against a bare numba loop,
  plain Python and torch.optim; warm start, cold compile, ``import gui.window``.
* :mod:`bench.gui_bench` — frames per second, frame-time percentiles and the engine's
  throughput while the window draws, a cProfile of the GUI thread, launch-to-interactive.

The environment is captured here, at import, before any engine module sets
``NUMBA_CACHE_DIR``: subprocesses start from it, as ``python main.py`` would.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_ENV: dict[str, str] = dict(os.environ)
