"""Baselines for the engine's ns/step: the same Rosenbrock GD and Adam written three ways.

* bare numba — one hand-written ``@numba.njit(nogil=True, error_model='numpy')`` loop per
  optimizer that records x, y and the loss of every step into preallocated arrays: the
  least any kernel that records the trajectory must do. A third GD loop also records
  what the engine records (|∇f| and lr, a divergence check, the row count): it shows how
  much of the gap to the minimal loop is the engine's row layout.
* plain Python — the same arithmetic on Python floats, into preallocated lists.
* torch.optim — ``SGD`` / ``Adam`` on a 2-element float64 tensor; the gradient is
  computed in Python and written into ``p.grad`` each step (what a torch-based engine
  would have to do per step for an analytic landscape).

Every loop records row t (the point before update t), then updates, as the engine does.
Each ``*_case`` function returns a ``run()`` for :class:`bench.common.Case`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from bench.common import Stopwatch, Timing

# ---------------------------------------------------------------------------- bare numba


@numba.njit(nogil=True, error_model="numpy")
def bare_gd(
    n: int,
    a: float,
    b: float,
    lr: float,
    x0: float,
    y0: float,
    xs: np.ndarray,
    ys: np.ndarray,
    fs: np.ndarray,
) -> tuple[float, float]:
    x = x0
    y = y0
    for t in range(n):
        u = a - x
        v = y - x * x
        bv = b * v
        f = u * u + bv * v
        gx = -2.0 * u - 4.0 * x * bv
        gy = 2.0 * bv
        xs[t] = x
        ys[t] = y
        fs[t] = f
        x = x - lr * gx
        y = y - lr * gy
    return x, y


@numba.njit(nogil=True, error_model="numpy")
def bare_gd_engine_rows(
    n: int,
    a: float,
    b: float,
    lr: float,
    x0: float,
    y0: float,
    xy: np.ndarray,
    fs: np.ndarray,
    gn: np.ndarray,
    lrs: np.ndarray,
    count: np.ndarray,
) -> tuple[float, float]:
    """GD recording what the engine records: x (n, 2), loss, |∇f|, lr, a divergence
    check and the row count per step (the floor for the engine's row layout)."""
    x = x0
    y = y0
    for t in range(n):
        u = a - x
        v = y - x * x
        bv = b * v
        f = u * u + bv * v
        gx = -2.0 * u - 4.0 * x * bv
        gy = 2.0 * bv
        gn2 = gx * gx + gy * gy
        xy[t, 0] = x
        xy[t, 1] = y
        fs[t] = f
        gn[t] = math.sqrt(gn2)
        lrs[t] = lr
        if not (math.isfinite(f) and math.isfinite(gn2)):
            break
        count[0] = t + 1
        x = x - lr * gx
        y = y - lr * gy
    return x, y


@numba.njit(nogil=True, error_model="numpy")
def bare_adam(
    n: int,
    a: float,
    b: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    x0: float,
    y0: float,
    xs: np.ndarray,
    ys: np.ndarray,
    fs: np.ndarray,
) -> tuple[float, float]:
    x = x0
    y = y0
    mx = 0.0
    my = 0.0
    vx = 0.0
    vy = 0.0
    for t in range(n):
        u = a - x
        v = y - x * x
        bv = b * v
        f = u * u + bv * v
        gx = -2.0 * u - 4.0 * x * bv
        gy = 2.0 * bv
        xs[t] = x
        ys[t] = y
        fs[t] = f
        step = t + 1.0
        mx = beta1 * mx + (1.0 - beta1) * gx
        my = beta1 * my + (1.0 - beta1) * gy
        vx = beta2 * vx + (1.0 - beta2) * gx * gx
        vy = beta2 * vy + (1.0 - beta2) * gy * gy
        bc1 = 1.0 - beta1**step
        bc2 = 1.0 - beta2**step
        x = x - lr * (mx / bc1) / (math.sqrt(vx / bc2) + eps)
        y = y - lr * (my / bc1) / (math.sqrt(vy / bc2) + eps)
    return x, y


def _buffers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # ones, not empty: the pages are faulted in before timing, as the engine's are
    return np.ones(n), np.ones(n), np.ones(n)


def bare_gd_case(
    n: int, a: float, b: float, lr: float, start: tuple[float, float]
) -> Callable[[], Timing]:
    bufs = _buffers(n)

    def run() -> Timing:
        with Stopwatch() as sw:
            bare_gd(n, a, b, lr, start[0], start[1], *bufs)
        return sw.wall, sw.cpu, n

    return run


def bare_gd_rows_case(
    n: int, a: float, b: float, lr: float, start: tuple[float, float]
) -> Callable[[], Timing]:
    xy, fs, gn, lrs = np.ones((n, 2)), np.ones(n), np.ones(n), np.ones(n)
    count = np.zeros(1, dtype=np.int64)

    def run() -> Timing:
        with Stopwatch() as sw:
            bare_gd_engine_rows(n, a, b, lr, start[0], start[1], xy, fs, gn, lrs, count)
        return sw.wall, sw.cpu, n

    return run


def bare_adam_case(
    n: int, a: float, b: float, lr: float, start: tuple[float, float]
) -> Callable[[], Timing]:
    bufs = _buffers(n)

    def run() -> Timing:
        with Stopwatch() as sw:
            bare_adam(n, a, b, lr, 0.9, 0.999, 1e-8, start[0], start[1], *bufs)
        return sw.wall, sw.cpu, n

    return run


# ---------------------------------------------------------------------------- plain Python


def python_gd(
    n: int, a: float, b: float, lr: float, x: float, y: float, xs: list, ys: list, fs: list
) -> tuple[float, float]:
    for t in range(n):
        u = a - x
        v = y - x * x
        bv = b * v
        f = u * u + bv * v
        gx = -2.0 * u - 4.0 * x * bv
        gy = 2.0 * bv
        xs[t] = x
        ys[t] = y
        fs[t] = f
        x = x - lr * gx
        y = y - lr * gy
    return x, y


def python_adam(
    n: int, a: float, b: float, lr: float, x: float, y: float, xs: list, ys: list, fs: list
) -> tuple[float, float]:
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    mx = my = vx = vy = 0.0
    sqrt = math.sqrt
    for t in range(n):
        u = a - x
        v = y - x * x
        bv = b * v
        f = u * u + bv * v
        gx = -2.0 * u - 4.0 * x * bv
        gy = 2.0 * bv
        xs[t] = x
        ys[t] = y
        fs[t] = f
        step = t + 1.0
        mx = beta1 * mx + (1.0 - beta1) * gx
        my = beta1 * my + (1.0 - beta1) * gy
        vx = beta2 * vx + (1.0 - beta2) * gx * gx
        vy = beta2 * vy + (1.0 - beta2) * gy * gy
        bc1 = 1.0 - beta1**step
        bc2 = 1.0 - beta2**step
        x = x - lr * (mx / bc1) / (sqrt(vx / bc2) + eps)
        y = y - lr * (my / bc1) / (sqrt(vy / bc2) + eps)
    return x, y


def python_case(
    which: str, n: int, a: float, b: float, lr: float, start: tuple[float, float]
) -> Callable[[], Timing]:
    fn = python_gd if which == "gd" else python_adam
    bufs = ([0.0] * n, [0.0] * n, [0.0] * n)

    def run() -> Timing:
        with Stopwatch() as sw:
            fn(n, a, b, lr, start[0], start[1], *bufs)
        return sw.wall, sw.cpu, n

    return run


# ---------------------------------------------------------------------------- torch.optim


def torch_case(
    which: str, n: int, a: float, b: float, lr: float, start: tuple[float, float]
) -> Callable[[], Timing] | None:
    """torch.optim.SGD ('gd') or Adam ('adam'); None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None

    xs, ys, fs = [0.0] * n, [0.0] * n, [0.0] * n

    def run() -> Timing:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        p.grad = torch.zeros(2, dtype=torch.float64)
        grad = p.grad
        if which == "gd":
            opt = torch.optim.SGD([p], lr=lr)
        else:
            opt = torch.optim.Adam([p], lr=lr, betas=(0.9, 0.999), eps=1e-8)
        with Stopwatch() as sw:
            _torch_loop(n, a, b, p, grad, opt, xs, ys, fs)
        return sw.wall, sw.cpu, n

    return run


def _torch_loop(
    n: int, a: float, b: float, p: Any, grad: Any, opt: Any, xs: list, ys: list, fs: list
) -> None:
    import torch

    for t in range(n):
        x, y = p.tolist()
        u = a - x
        v = y - x * x
        bv = b * v
        xs[t] = x
        ys[t] = y
        fs[t] = u * u + bv * v
        grad.copy_(torch.tensor((-2.0 * u - 4.0 * x * bv, 2.0 * bv), dtype=torch.float64))
        opt.step()
