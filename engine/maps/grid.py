"""What a map sweeps and the configuration of each of its pixels.

A map sweeps the start point (``over = ("x", "y")``: every point of a box) or one or
two numeric hyperparameters of a racer (a log scale where the registry says so:
``ParamSpec.log``), on a grid or at random points (``search = "random"``: ``budget``
points, log-uniform on log axes). 2-D maps are indexed ``[second, first]`` (``[y, x]``
for starts), like an image; pixel ``p`` of the flat order is ``divmod(p, n_first)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from engine.params import ParamSpec
from engine.race import RacerConfig

#: the most pixels a map may have (its results alone would need ~0.7 GB)
MAX_PIXELS = 2**24
#: bytes of results per pixel (engine.maps.compute.PIXEL_BYTES: metrics, final point)
PIXEL_BYTES = 2 * 8 + 5 * 4 + 2 * 8
DEFAULT_RES = {"start": (128, 128), 1: (64,), 2: (48, 48)}


class MapError(ValueError):
    """A map that cannot be made as asked (one message for the user)."""


@dataclass(frozen=True)
class MapSpec:
    """The pixels of a map: ``axes`` (name -> values, in sweep order), their ``shape``."""

    kind: str  # "start" or "params"
    names: tuple[str, ...]  # ("x", "y") or the hyperparameters swept
    axes: dict[str, np.ndarray] = field(compare=False)
    shape: tuple[int, ...]
    search: str = "grid"  # "grid": the axes' product; "random": one value of each per pixel
    log: tuple[bool, ...] = ()
    ints: tuple[bool, ...] = ()
    lims: tuple[tuple[float, float], ...] = ()  # the range of each axis (LO, HI)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def values(self, p: int) -> tuple[float | int, ...]:
        """The swept values of flat pixel ``p``."""
        if self.search == "random":
            vals = [self.axes[n][p] for n in self.names]
        elif len(self.names) == 1:
            vals = [self.axes[self.names[0]][p]]
        else:
            i2, i1 = divmod(p, self.shape[1])
            vals = [self.axes[self.names[0]][i1], self.axes[self.names[1]][i2]]
        return tuple(int(v) if k else float(v) for v, k in zip(vals, self.ints, strict=True))

    def racer_at(self, base: RacerConfig, p: int) -> RacerConfig:
        """``base`` with pixel ``p``'s start point or hyperparameters."""
        vals = self.values(p)
        if self.kind == "start":  # its settings unchanged: no need to validate them again
            c = base.copy()
            c.start = (float(vals[0]), float(vals[1]))
            return c
        return base.with_params(dict(zip(self.names, vals, strict=True)))

    def racers(self, base: RacerConfig, lo: int, hi: int) -> list[RacerConfig]:
        """The racers of flat pixels ``lo`` to ``hi``."""
        return [self.racer_at(base, p) for p in range(lo, hi)]


def _num(v: float) -> str:
    return f"{v:g}"


def check_size(shape: tuple[int, ...]) -> None:
    """MapError for a map with no pixels or too many (saying the memory it would need)."""
    if any(n < 1 for n in shape):
        raise MapError(
            f"--res: expected at least 1 pixel per axis, got {'x'.join(map(str, shape))}"
        )
    n = math.prod(shape)
    if n > MAX_PIXELS:
        gb = n * PIXEL_BYTES / 1e9
        raise MapError(
            f"--res {'x'.join(map(str, shape))}: {n:,} pixels would need {gb:,.1f} GB for "
            f"their results alone; at most {MAX_PIXELS:,} pixels"
        )


def _axis(lo: float, hi: float, n: int, log: bool) -> np.ndarray:
    if n == 1:
        return np.array([math.sqrt(lo * hi) if log else 0.5 * (lo + hi)])
    if log:
        return np.exp(np.linspace(math.log(lo), math.log(hi), n))
    return np.linspace(lo, hi, n)


def _param_spec(specs: tuple[ParamSpec, ...], name: str, optimizer: str) -> ParamSpec:
    by = {s.name: s for s in specs}
    s = by.get(name)
    numeric = [k for k, v in by.items() if v.kind in ("float", "int")]
    if s is None:
        raise MapError(
            f"--over {name}: {optimizer} has no parameter {name!r}; "
            f"its numeric parameters: {', '.join(numeric)}"
        )
    if s.kind not in ("float", "int"):
        raise MapError(f"--over {name}: not a numeric parameter ({s.range_text()})")
    return s


def _param_range(
    s: ParamSpec, value: Any, given: tuple[float, float] | None
) -> tuple[float, float]:
    """The range swept for parameter ``s``: ``given`` (checked against the registry's
    bounds), else a default: two decades either side of ``value`` on a log axis, the
    registry's bounds (open ends moved in by 1 %; an infinite upper bound: twice the
    value's distance from the lower one, at least 1) on a linear one."""
    if given is not None:
        lo, hi = given
        for v in (lo, hi):
            bad = s.check_number(v)
            if bad is not None:
                raise MapError(f"--range for {s.name}: expected {bad}, got {_num(v)}")
        if not lo < hi:
            raise MapError(f"--range for {s.name}: expected LO < HI, got {_num(lo)} {_num(hi)}")
        if s.log and lo <= 0.0:
            raise MapError(f"--range for {s.name}: a log axis needs LO > 0, got {_num(lo)}")
        return lo, hi
    if s.log:
        v = float(value) if value else 1e-3
        lo, hi = v / 100.0, v * 100.0
        if s.hi < math.inf and hi > s.hi:
            hi = s.hi * (0.99 if s.hi_open else 1.0)
        lo = max(lo, s.lo) if not s.lo_open else max(lo, s.lo + 1e-12)
        return lo, hi
    if not math.isfinite(s.lo):
        raise MapError(f"--over {s.name}: its range is unbounded; give one with --range LO HI")
    hi = s.hi
    if not math.isfinite(hi):  # [lo, inf): up to twice the value's distance from lo, or 1
        hi = s.lo + max(2.0 * abs(float(value) - s.lo), 1.0)
    w = hi - s.lo
    return s.lo + (0.01 * w if s.lo_open else 0.0), hi - (0.01 * w if s.hi_open else 0.0)


def plan(
    over: str,
    racer: RacerConfig,
    view: tuple[float, float, float, float],
    res: tuple[int, ...] | None = None,
    ranges: list[float] | None = None,
    box: tuple[float, float, float, float] | None = None,
    search: str = "grid",
    budget: int | None = None,
    seed: int = 0,
    log_axes: tuple[str, ...] | None = None,
) -> MapSpec:
    """The pixels of a map of ``racer`` over ``over`` ("start", "lr", "lr,momentum"...).

    ``view`` (x0, x1, y0, y1): the start box unless ``box`` is given; ``res``: pixels
    per axis (one number: the same on both); ``ranges``: LO HI [LO2 HI2] of the
    hyperparameters; ``search = "random"``: ``budget`` random pixels (``seed``); ``log_axes``:
    the swept hyperparameters spaced (or drawn) on a log scale, the others linearly
    (None: as the registry says for each).
    """
    from engine.optimizers import get_optimizer

    if search not in ("grid", "random"):
        raise MapError(f"--search: expected grid or random, got {search!r}")
    if search == "random" and (budget is None or budget < 1):
        raise MapError("--search random needs --budget K (K >= 1)")
    names = tuple(n.strip() for n in over.split(",") if n.strip())
    if over == "start":
        if ranges:
            raise MapError("--range is for hyperparameter maps; a start map takes --box")
        if log_axes is not None:
            raise MapError("--log is for hyperparameter maps; a start map's axes are x and y")
        x0, x1, y0, y1 = box if box is not None else view
        if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or not (x0 < x1 and y0 < y1):
            raise MapError(f"--box: expected X0 < X1 and Y0 < Y1, got {x0:g} {x1:g} {y0:g} {y1:g}")
        lims = [(x0, x1), (y0, y1)]
        log: tuple[bool, ...] = (False, False)
        ints: tuple[bool, ...] = (False, False)
        names = ("x", "y")
        kind = "start"
    else:
        if box is not None:
            raise MapError("--box is for start maps; a hyperparameter map takes --range")
        if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
            raise MapError(
                f"--over {over}: expected start, one parameter or two distinct parameters"
            )
        opt = get_optimizer(racer.optimizer)
        specs = [_param_spec(opt.params, n, racer.optimizer) for n in names]
        if log_axes is not None:
            stray = [n for n in log_axes if n not in names]
            if stray:
                raise MapError(f"--log {','.join(log_axes)}: {stray[0]} is not swept; expected "
                               f"some of {', '.join(names)}")  # fmt: skip
            specs = [replace(s, log=s.name in log_axes) for s in specs]
        if ranges is not None and len(ranges) != 2 * len(names):
            raise MapError(
                f"--range: expected {2 * len(names)} numbers for {over}, got {len(ranges)}"
            )
        lims = [
            _param_range(s, racer.params.get(s.name, s.default),
                         None if ranges is None else (ranges[2 * k], ranges[2 * k + 1]))
            for k, s in enumerate(specs)
        ]  # fmt: skip
        log = tuple(s.log for s in specs)
        ints = tuple(s.kind == "int" for s in specs)
        kind = "params"
    axes: dict[str, np.ndarray] = {}
    if search == "random":
        assert budget is not None
        check_size((budget,))
        rng = np.random.default_rng(seed)
        for n, (lo, hi), lg, it in zip(names, lims, log, ints, strict=True):
            u = rng.random(budget)
            v = (
                np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
                if lg
                else lo + u * (hi - lo)
            )
            axes[n] = np.clip(np.rint(v), lo, hi).astype(np.int64) if it else v
        return MapSpec(kind, names, axes, (budget,), "random", log, ints, tuple(lims))
    if res is None:
        shape_f = DEFAULT_RES["start" if kind == "start" else len(names)]
    elif len(res) == 1:
        shape_f = tuple(res[0] for _ in names)
    else:
        if len(res) != len(names):
            raise MapError(f"--res: expected one number or {len(names)}, got {len(res)}")
        shape_f = tuple(res)
    check_size(shape_f)
    for n, (lo, hi), lg, it, k in zip(names, lims, log, ints, shape_f, strict=True):
        a = _axis(lo, hi, k, lg)
        axes[n] = np.unique(np.clip(np.rint(a), lo, hi).astype(np.int64)) if it else a
    shape = tuple(axes[n].shape[0] for n in reversed(names))  # [second, first]
    return MapSpec(kind, names, axes, shape, "grid", log, ints, tuple(lims))


def grid_at_budget(spec: MapSpec) -> MapSpec:
    """The grid with about as many pixels as the random search ``spec`` (its budget),
    over the same ranges: what the random search is compared with."""
    k = len(spec.names)
    n = max(1, round(spec.size ** (1.0 / k)))
    axes = {}
    for name, lg, it, (lo, hi) in zip(spec.names, spec.log, spec.ints, spec.lims, strict=True):
        a = _axis(lo, hi, n, lg)
        axes[name] = np.unique(np.rint(a).astype(np.int64)) if it else a
    shape = tuple(axes[nm].shape[0] for nm in reversed(spec.names))
    return MapSpec(spec.kind, spec.names, axes, shape, "grid", spec.log, spec.ints, spec.lims)
