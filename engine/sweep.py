"""Parameter sweeps: copies of one racer with one hyperparameter over a list or a range.

The lecture notes show the same optimizer with η = .001, .005, .01, .015, .02 side by
side; a sweep builds those racers in one go, labelled with the value and coloured as a
sequential gradient (light = smallest value, dark = largest) so the order reads at a
glance. Pure functions, no Qt: the window, the tests and scripts share them.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from engine.optimizers import get_optimizer
from engine.params import ParamError, ParamSpec
from engine.race import RacerConfig

__all__ = ["SweepError", "gradient_colors", "parse_values", "range_values", "sweep_racers"]

MAX_SWEEP = 32

#: orange -> red -> magenta: monotonic in lightness (smallest value lightest), away from
#: the viridis hues of the heat map, and dark enough to read on its yellow and on white
_ANCHORS = ((0xFF, 0x7F, 0x0E), (0xD6, 0x27, 0x28), (0x9C, 0x17, 0x9E))


class SweepError(ValueError):
    """A sweep cannot be built; the message says which value or field and why."""


def parse_values(text: str) -> list[float]:
    """``"0.001, 0.005, 1e-2"`` -> floats (commas, semicolons or spaces separate)."""
    parts = [t for t in text.replace(";", ",").replace(",", " ").split() if t]
    if not parts:
        raise SweepError("expected a list of numbers such as 0.001, 0.005, 0.01")
    out = []
    for t in parts:
        try:
            v = float(t)
        except ValueError:
            raise SweepError(f"expected a number, got {t!r}") from None
        if not math.isfinite(v):
            raise SweepError(f"expected a finite number, got {t!r}")
        out.append(v)
    if len(out) > MAX_SWEEP:
        raise SweepError(f"expected at most {MAX_SWEEP} values, got {len(out)}")
    return out


def range_values(lo: float, hi: float, count: int, log: bool) -> list[float]:
    """``count`` values from ``lo`` to ``hi`` (both included), evenly or log-spaced.

    Values are rounded to 4 significant digits, so labels and saved files stay readable.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SweepError("expected finite ends of the range")
    if not 1 <= count <= MAX_SWEEP:
        raise SweepError(f"expected between 1 and {MAX_SWEEP} values, got {count}")
    if log and (lo <= 0 or hi <= 0):
        raise SweepError("a log range needs both ends > 0")
    if count == 1:
        return [float(f"{lo:.4g}")]
    out = []
    for k in range(count):
        u = k / (count - 1)
        v = lo * (hi / lo) ** u if log else lo + u * (hi - lo)
        out.append(float(f"{v:.4g}"))
    return out


def gradient_colors(n: int) -> list[str]:
    """``n`` colours along the sweep gradient, as ``#rrggbb``."""
    if n <= 0:
        return []
    out = []
    segs = len(_ANCHORS) - 1
    for k in range(n):
        u = 0.0 if n == 1 else k / (n - 1)
        s = min(int(u * segs), segs - 1)
        t = u * segs - s
        a, b = _ANCHORS[s], _ANCHORS[s + 1]
        rgb = [round(a[c] + t * (b[c] - a[c])) for c in range(3)]
        out.append("#{:02x}{:02x}{:02x}".format(*rgb))
    return out


def sweep_racers(cfg: RacerConfig, param: str, values: list[float]) -> list[RacerConfig]:
    """Copies of ``cfg`` with ``param`` set to each value (validated by the registry)."""
    opt = get_optimizer(cfg.optimizer)
    spec: ParamSpec | None = next((p for p in opt.params if p.name == param), None)
    if spec is None:
        names = ", ".join(p.name for p in opt.params if p.kind in ("float", "int"))
        raise SweepError(f"{cfg.optimizer} has no parameter {param!r}; expected one of: {names}")
    if spec.kind not in ("float", "int"):
        raise SweepError(f"{param} is not a number; only numeric parameters can be swept")
    if not values:
        raise SweepError("expected at least one value")
    if len(values) > MAX_SWEEP:
        raise SweepError(f"expected at most {MAX_SWEEP} values, got {len(values)}")
    # "GD (η = 0.019)" -> "GD": the old value in brackets would contradict the new one
    base = re.sub(r"\s*\([^()]*\)\s*$", "", cfg.label or "") or cfg.optimizer
    out = []
    for v, color in zip(values, gradient_colors(len(values)), strict=True):
        value = int(v) if spec.kind == "int" else float(v)
        if spec.kind == "int" and value != v:
            raise SweepError(f"{param} = {v:g}: expected an integer")
        try:
            params = opt.resolve({**cfg.params, param: value})
        except ParamError as e:
            raise SweepError(f"{param} = {v:g}: {e}") from None
        out.append(
            replace(
                cfg,
                params=params,
                schedule_params=dict(cfg.schedule_params),
                label=f"{base} {spec.symbol or param}={value:g}",
                color=color,
                enabled=True,
            )
        )
    return out
