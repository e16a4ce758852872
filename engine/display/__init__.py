"""Pure-numeric drawing helpers the GUI calls every frame or on every zoom.

Nothing here knows about Qt: every function takes and returns plain numpy arrays,
laid out so that pyqtgraph can draw them directly. One module per job:

* :mod:`engine.display.contours` — :func:`contour_segments` and :func:`nice_levels`,
  iso-lines of a sampled landscape as point pairs for
  ``PlotCurveItem(xs, ys, connect='pairs')``.
* :mod:`engine.display.trails` — :func:`thin_path`, :func:`rethin` and
  :class:`TrailThinner`, a bounded, thinned copy of a growing optimizer trajectory, so
  drawing cost never grows with trail length; :func:`finite_bounds`.
* :mod:`engine.display.curves` — :func:`minmax_decimate` and :func:`envelope_update`,
  min/max envelopes of a loss-vs-step curve for zoomed views; :func:`log_safe`, log10
  for log-axis plots that never warns; :func:`ema_update`, an exponential moving
  average of a growing curve, incrementally.
* :mod:`engine.display.fields` — :func:`quiver_segments`, gradient-field arrows as
  point pairs; :func:`perceptron_loss_grid`, the perceptron's loss over weight space.

Every numba kernel goes through :func:`engine.jit.jit` (nogil, cached, no fastmath), so
the GUI may call them from any thread. Import from ``engine.display``: the modules are
its parts, not its interface.
"""

from __future__ import annotations

from engine.display.contours import contour_segments, nice_levels
from engine.display.curves import ema_update, envelope_update, log_safe, minmax_decimate
from engine.display.fields import perceptron_loss_grid, quiver_segments
from engine.display.trails import TrailThinner, finite_bounds, rethin, thin_path

__all__ = [
    "TrailThinner",
    "contour_segments",
    "ema_update",
    "envelope_update",
    "finite_bounds",
    "log_safe",
    "minmax_decimate",
    "nice_levels",
    "perceptron_loss_grid",
    "quiver_segments",
    "rethin",
    "thin_path",
]
