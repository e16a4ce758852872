"""Objectives a race can run on: a 2-D landscape (and, later, the perceptron).

An objective knows what the kernel needs (kind id, landscape id, packed params, data)
and what the metrics need (the known minima, f*, the loss at any point).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.kernel import LANDSCAPE
from engine.landscapes import Landscape, get_landscape, landscape_f, landscape_fg


@dataclass
class LandscapeObjective:
    """A 2-D analytic landscape with optional Gaussian gradient noise."""

    landscape: Landscape
    params: dict[str, Any]
    start: tuple[float, float]
    grad_noise: float = 0.0
    kind: int = LANDSCAPE
    dim: int = 2
    coords: tuple[str, ...] = ("x", "y")
    packed: np.ndarray = field(init=False)
    data: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.params = self.landscape.resolve(self.params)
        self.packed = self.landscape.pack(self.params)
        self.data = np.zeros((0, 3))

    @classmethod
    def create(
        cls,
        name: str,
        params: dict[str, Any] | None = None,
        start: tuple[float, float] | None = None,
        grad_noise: float = 0.0,
    ) -> LandscapeObjective:
        """Objective for landscape ``name`` (defaults for anything not given)."""
        ls = get_landscape(name)
        st = tuple(float(v) for v in (start if start is not None else ls.start))
        return cls(ls, dict(params or {}), (st[0], st[1]), float(grad_noise))

    @property
    def lid(self) -> int:
        return self.landscape.lid

    @property
    def name(self) -> str:
        return self.landscape.name

    def minima(self) -> list[tuple[float, ...]]:
        return [tuple(m) for m in self.landscape.minima(self.params)]

    def saddles(self) -> list[tuple[float, ...]]:
        return [tuple(s) for s in self.landscape.saddles(self.params)]

    def f_star(self) -> float | None:
        return self.landscape.f_star(self.params)

    def loss(self, x: np.ndarray) -> float:
        """Loss at ``x`` (noise-free)."""
        return float(landscape_f(self.lid, self.packed, float(x[0]), float(x[1])))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient at ``x`` (noise-free)."""
        g = np.zeros(2)
        landscape_fg(self.lid, self.packed, np.asarray(x, dtype=np.float64), g)
        return g

    def describe(self) -> str:
        return f"{self.landscape.title}: {self.landscape.formula}"
