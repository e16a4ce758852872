"""Lecture 5's closed forms for gradient methods on a quadratic f = f* + ½·(x − c)ᵀA(x − c).

In A's eigenbasis (A = Σ λᵢ·uᵢuᵢᵀ, λ₁ ≤ λ₂) the error e = x − c splits into modes
eᵢ = uᵢᵀe that evolve independently, and f − f* = ½·Σ λᵢ·eᵢ². Per mode and per step:

* GD (``sgd`` with momentum 0, constant η): eᵢ ← (1 − ηλᵢ)·eᵢ, so e_t = (I − ηA)^t·e₀.
  Stable iff 0 < η < 2/λ_max; the fastest constant step η* = 2/(λ_min + λ_max) gives the
  rate (κ − 1)/(κ + 1), κ = λ_max/λ_min.
* Heavy ball (torch's ``sgd`` with momentum ρ, dampening τ: b ← ρ·b + (1 − τ)·g,
  x ← x − η·b): the state (eᵢ, bᵢ) goes through the 2×2 matrix
  [[1 − η'λ, −ηρ], [(1 − τ)λ, ρ]], η' = η(1 − τ), whose eigenvalues are those of the
  textbook [[1 + ρ − η'λ, −ρ], [1, 0]] on (e_t, e_{t−1}): heavy ball with (η', ρ).
  torch's first step sets b = g (not (1 − τ)·g): the start state bᵢ = τλeᵢ/ρ gives that.
* The lectures' EMA momentum (``momentum``: v ← βv + (1 − β)·g, x ← x − ηv) is heavy
  ball with (η(1 − β), β) exactly (v = (1 − β)·b, both starting at rest).
* torch's Nesterov (``sgd`` with nesterov): [[1 − ηλ(1 + ρ), −ηρ²], [λ, ρ]] on (e, b).
* The look-ahead NAG (``nag``: v ← ρv − η∇f(x + ρv), x ← x + v):
  [[1 − ηλ, ρ(1 − ηλ)], [−ηλ, ρ(1 − ηλ)]] on (e, v).

The predicted per-step contraction of the ERROR |e| is the largest spectral radius over
the modes the start excites (every mode, unless the start lies on an eigenvector); the
loss gap f − f* contracts at its square (``*_loss_rate``). Distill's optimum for heavy
ball ("Why Momentum Really Works"): η = 4/(√λ₁ + √λ₂)², ρ = ((√κ − 1)/(√κ + 1))², where
every mode contracts at √ρ.

Not covered (the reason is returned instead of a method): any other optimizer, a
learning-rate schedule other than ``constant``, weight decay, gradient noise, and a
quadratic that is not positive definite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.landscapes import Landscape, landscape_fg, landscape_hess

Array = npt.NDArray[np.float64]

# the registered quadratics: the packed slots of (a11, a12, a22) and of (cx, cy, f0)
_PACKED_A = {"quadratic": (6, 7, 8), "quadratic_matrix": (0, 1, 2)}
_PACKED_CENTRE = (3, 4, 5)


@dataclass(frozen=True)
class Quadratic:
    """f(x) = f_star + ½·(x − centre)ᵀ·A·(x − centre) with its eigen-decomposition
    (``lam`` ascending, ``vectors[:, i]`` the unit eigenvector of ``lam[i]``)."""

    A: Array
    centre: Array
    f_star: float
    lam: Array
    vectors: Array

    @classmethod
    def of(cls, A: Array, centre: Array, f_star: float) -> Quadratic:
        a = np.array(A, dtype=np.float64).reshape(2, 2)
        a = 0.5 * (a + a.T)
        lam, vec = np.linalg.eigh(a)
        return cls(a, np.array(centre, dtype=np.float64).reshape(2), float(f_star), lam, vec)

    @property
    def positive_definite(self) -> bool:
        return bool(self.lam[0] > 0.0)

    @property
    def kappa(self) -> float | None:
        """λ_max/λ_min (None unless positive definite)."""
        return float(self.lam[1] / self.lam[0]) if self.positive_definite else None

    @property
    def lr_max_stable(self) -> float | None:
        """GD converges iff 0 < η < 2/λ_max."""
        return float(2.0 / self.lam[1]) if self.positive_definite else None

    @property
    def lr_optimal(self) -> float | None:
        """η* = 2/(λ_min + λ_max), the fastest constant step of GD."""
        return float(2.0 / (self.lam[0] + self.lam[1])) if self.positive_definite else None

    def distill_optimum(self) -> tuple[float, float] | None:
        """Heavy ball's optimal (η, ρ) = (4/(√λ₁ + √λ₂)², ((√κ − 1)/(√κ + 1))²)."""
        if not self.positive_definite:
            return None
        s1, s2 = math.sqrt(self.lam[0]), math.sqrt(self.lam[1])
        return 4.0 / (s1 + s2) ** 2, ((s2 - s1) / (s2 + s1)) ** 2

    def modes(self, x: Array) -> Array:
        """The error ``x − centre`` in the eigenbasis."""
        out: Array = self.vectors.T @ (np.asarray(x, dtype=np.float64) - self.centre)
        return out

    def gap(self, x: Array) -> float:
        """f(x) − f* from the modes: ½·Σ λᵢ·eᵢ²."""
        e = self.modes(x)
        return float(0.5 * np.sum(self.lam * e * e))


def quadratic_of(ls: Landscape, params: dict[str, Any] | None) -> Quadratic | None:
    """The quadratic form of landscape ``ls`` with ``params``, or None if it is not one.

    ``quadratic`` and ``quadratic_matrix`` read A, the centre and f₀ from their
    parameters. Any other landscape (a typed formula, booth, matyas...) is a quadratic
    when its Hessian is the same at the centre and the corners of its view and f agrees
    with the second-order Taylor model there (relative 1e-9); its centre is the Newton
    point x − A⁻¹∇f (None if A is singular) and f* the loss there.
    """
    p = ls.pack(params)
    if ls.name in _PACKED_A and ls.typed is None:
        i, j, k = _PACKED_A[ls.name]
        a = np.array([[p[i], p[j]], [p[j], p[k]]])
        cx, cy, f0 = (float(p[m]) for m in _PACKED_CENTRE)
        return Quadratic.of(a, np.array([cx, cy]), f0)
    x0, x1, y0, y1 = ls.view
    ref = np.array([0.5 * (x0 + x1), 0.5 * (y0 + y1)])
    g = np.empty(2)
    h = np.empty((2, 2))
    f_ref = float(landscape_fg(ls.lid, p, ref, g))
    landscape_hess(ls.lid, p, ref, h)
    g_ref, a = g.copy(), h.copy()
    if not (math.isfinite(f_ref) and np.all(np.isfinite(a)) and np.all(np.isfinite(g_ref))):
        return None
    for pt in ((x0, y0), (x0, y1), (x1, y0), (x1, y1), (0.7 * x0 + 0.3 * x1, y0)):
        q = np.array(pt, dtype=np.float64)
        f = float(landscape_fg(ls.lid, p, q, g))
        landscape_hess(ls.lid, p, q, h)
        d = q - ref
        model = f_ref + float(g_ref @ d) + 0.5 * float(d @ a @ d)
        scale = (
            abs(f)
            + abs(f_ref)
            + float(np.abs(g_ref) @ np.abs(d))
            + float(np.abs(d) @ np.abs(a) @ np.abs(d))
        )
        if not np.allclose(h, a, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(a)) + 1e-300)):
            return None
        if not abs(f - model) <= 1e-9 * max(scale, 1e-300):
            return None
    det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    if det == 0.0 or not math.isfinite(det):
        return None
    centre = ref - np.linalg.solve(a, g_ref)
    f_star = ls.f_star(params)
    if f_star is None:
        f_star = float(landscape_fg(ls.lid, p, centre, g))
    return Quadratic.of(a, centre, f_star)


# ---------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A racer's update as a linear map per mode (see the module docstring).

    ``kind``: "gd", "heavy_ball" (torch's sgd with momentum), "ema" (the lectures'
    momentum), "nesterov" (torch's sgd with nesterov) or "nag" (look-ahead). ``lr`` and
    ``momentum`` are the racer's own; ``hb_lr`` and ``hb_momentum`` the heavy ball it
    equals (None for gd, nesterov and nag). ``v0`` is the initial velocity in the
    optimizer's own units (None: at rest, as torch starts).
    """

    kind: str
    lr: float
    momentum: float = 0.0
    dampening: float = 0.0
    v0: tuple[float, ...] | None = None

    @property
    def hb_lr(self) -> float | None:
        if self.kind == "heavy_ball":
            return self.lr * (1.0 - self.dampening)
        return self.lr * (1.0 - self.momentum) if self.kind == "ema" else None

    @property
    def hb_momentum(self) -> float | None:
        return self.momentum if self.kind in ("heavy_ball", "ema") else None

    def matrix(self, lam: float) -> Array:
        """The 2×2 map of one mode's (error, velocity) for curvature ``lam``."""
        eta, rho = self.lr, self.momentum
        if self.kind == "gd":
            return np.array([[1.0 - eta * lam, 0.0], [0.0, 0.0]])
        if self.kind in ("heavy_ball", "ema"):
            k = 1.0 - (self.dampening if self.kind == "heavy_ball" else rho)
            return np.array([[1.0 - eta * k * lam, -eta * rho], [k * lam, rho]])
        if self.kind == "nesterov":
            return np.array([[1.0 - eta * lam * (1.0 + rho), -eta * rho * rho], [lam, rho]])
        a = 1.0 - eta * lam  # nag
        return np.array([[a, rho * a], [-eta * lam, rho * a]])

    def rate(self, lam: float) -> float:
        """Spectral radius of :meth:`matrix`: the mode's asymptotic per-step contraction."""
        m = self.matrix(lam)
        if self.kind == "gd":
            return abs(float(m[0, 0]))
        tr = float(m[0, 0] + m[1, 1])
        det = float(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])
        disc = tr * tr - 4.0 * det
        if disc < 0.0:  # a complex pair: both of modulus √det
            return math.sqrt(det)
        r = math.sqrt(disc)
        return 0.5 * max(abs(tr + r), abs(tr - r))

    def start_state(self, q: Quadratic, x0: Array) -> Array:
        """(k, 2): each mode's (error, velocity) before the first update."""
        e = q.modes(x0)
        s = np.zeros((2, 2))
        s[:, 0] = e
        if self.kind == "gd":
            return s
        if self.v0 is not None:  # the velocity, in the optimizer's units, to the eigenbasis
            s[:, 1] = q.vectors.T @ np.asarray(self.v0, dtype=np.float64)
        elif self.kind == "heavy_ball" and self.momentum > 0.0:
            s[:, 1] = self.dampening * q.lam * e / self.momentum  # torch's first b = g
        return s


def method_of(cfg: Any, start: Array, grad_noise: float = 0.0) -> Method | str:
    """The :class:`Method` of racer ``cfg`` (an engine.racer.RacerConfig) starting at
    ``start``, or why the theory does not cover it (a sentence)."""
    name, p = cfg.optimizer, cfg.params
    if grad_noise > 0.0:
        return "not covered: the gradient is noisy"
    if name not in ("sgd", "momentum", "nag"):
        return f"not covered: {name} is not a linear method (theory: GD, heavy ball, NAG)"
    if cfg.schedule != "constant":
        return f"not covered: the learning rate follows a schedule ({cfg.schedule})"
    if float(p.get("weight_decay", 0.0)) != 0.0:
        return "not covered: weight decay moves the minimum"
    v0 = _velocity(cfg, start)
    lr, mom = float(p["lr"]), float(p.get("momentum", 0.0))
    if name == "momentum":
        return Method("ema", lr, mom, v0=v0)
    if name == "nag":
        return Method("nag", lr, mom, v0=v0)
    if mom == 0.0:
        return Method("gd", lr)
    if p.get("nesterov", False):
        return Method("nesterov", lr, mom, v0=v0)
    return Method("heavy_ball", lr, mom, float(p.get("dampening", 0.0)), v0=v0)


def _velocity(cfg: Any, start: Array) -> tuple[float, ...] | None:
    """The racer's initial velocity in its optimizer's units (set_velocity's rule)."""
    if cfg.v0 is not None:
        return tuple(float(v) for v in cfg.v0)
    if cfg.x_prev is None:
        return None
    dx = [float(a) - float(b) for a, b in zip(start, cfg.x_prev, strict=True)]
    if cfg.optimizer == "nag":
        return tuple(dx)
    return tuple(-d / float(cfg.params["lr"]) for d in dx)


# ---------------------------------------------------------------------------- predictions
def excited(q: Quadratic, m: Method, x0: Array) -> npt.NDArray[np.bool_]:
    """The modes the start moves: a non-zero error or velocity (relative 1e-12)."""
    s = m.start_state(q, x0)
    size = float(np.max(np.abs(s))) if s.size else 0.0
    mask: npt.NDArray[np.bool_] = np.any(np.abs(s) > 1e-12 * size, axis=1)
    return mask


def predicted_rate(q: Quadratic, m: Method, x0: Array) -> float:
    """The predicted asymptotic per-step contraction of |x − c| (>1: it grows): the
    largest mode rate among the excited modes (0.0 if the start is the minimum)."""
    mask = excited(q, m, x0)
    rates = [m.rate(float(lam)) for lam, on in zip(q.lam, mask, strict=True) if on]
    return max(rates, default=0.0)


def predicted_gap(q: Quadratic, m: Method, x0: Array, steps: int) -> Array:
    """f(x_t) − f* for t = 0..steps from the closed form: GD's (1 − ηλᵢ)^t per mode, the
    others' 2×2 matrix powers per mode (by doubling: row n..2n−1 = Mⁿ·rows 0..n−1)."""
    s0 = m.start_state(q, x0)
    t = np.arange(steps + 1, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if m.kind == "gd":
            e = np.power((1.0 - m.lr * q.lam)[:, None], t[None, :]) * s0[:, :1]
        else:
            states = np.empty((2, steps + 1, 2))
            states[:, 0] = s0
            power = np.stack([m.matrix(float(lam)) for lam in q.lam])
            n = 1
            while n <= steps:
                k = min(n, steps + 1 - n)
                states[:, n : n + k] = np.einsum("mij,mtj->mti", power, states[:, :k])
                power = power @ power
                n *= 2
            e = states[:, :, 0]
        out: Array = 0.5 * np.sum(q.lam[:, None] * e * e, axis=0)
    return out
