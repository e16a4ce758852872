"""Critical points (minima, saddles) by Newton iterations on the analytic gradient and
Hessian of a landscape, through the dispatchers (Python side, not compiled)."""

from __future__ import annotations

import math

import numpy as np

from engine import landscapes as api  # the dispatchers, used at call time only

Point = tuple[float, float]


def fgh(lid: int, p: np.ndarray, x: float, y: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, gradient (2,) and Hessian (2, 2) at ``(x, y)``."""
    xv = np.array([x, y])
    g = np.empty(2)
    h = np.empty((2, 2))
    f = api.landscape_fg(lid, p, xv, g)
    api.landscape_hess(lid, p, xv, h)
    return float(f), g, h


def newton(lid: int, p: np.ndarray, x: float, y: float, iters: int = 40) -> Point | None:
    """Pure Newton iteration on ∇f = 0 from ``(x, y)``; None if it does not converge."""
    polish = 0
    for _ in range(iters):
        _, g, h = fgh(lid, p, x, y)
        # scaled by a power of two (exact) so that det cannot underflow where f is nearly
        # flat (a Gaussian's far tail): there a subnormal det would fake convergence
        top = float(np.max(np.abs(h)))
        if not (math.isfinite(top) and top > 0.0 and np.all(np.isfinite(g))):
            return None
        k = -math.frexp(top)[1]
        h00, h01 = math.ldexp(h[0, 0], k), math.ldexp(h[0, 1], k)
        h10, h11 = math.ldexp(h[1, 0], k), math.ldexp(h[1, 1], k)
        try:
            g0, g1 = math.ldexp(g[0], k), math.ldexp(g[1], k)
        except OverflowError:  # a huge gradient where f is flat: a step to nowhere
            return None
        det = h00 * h11 - h01 * h10
        if not (math.isfinite(det) and det != 0.0):
            return None
        dx = (h11 * g0 - h01 * g1) / det
        dy = (h00 * g1 - h10 * g0) / det
        x -= dx
        y -= dy
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > 1e8:
            return None
        if max(abs(dx), abs(dy)) <= 1e-11 * max(1.0, abs(x), abs(y)):
            polish += 1  # quadratic convergence: one or two more steps reach round-off
            if polish >= 2:
                return (float(x), float(y))
    return None


def descend(lid: int, p: np.ndarray, x: float, y: float, iters: int = 200) -> Point | None:
    """Damped Newton with a positive-definite-modified Hessian and Armijo backtracking:
    goes downhill into the basin of ``(x, y)``, then polishes with pure Newton."""
    f, g, h = fgh(lid, p, x, y)
    for _ in range(iters):
        lam, vec = np.linalg.eigh(h)
        scale = max(1e-300, float(np.max(np.abs(lam))))
        lam = np.maximum(np.abs(lam), 1e-6 * scale)
        step = -(vec @ ((vec.T @ g) / lam))
        slope = float(g @ step)
        if not math.isfinite(slope) or slope >= 0.0:
            break
        t = 1.0
        for _ in range(60):
            fn = api.landscape_f(lid, p, x + t * step[0], y + t * step[1])
            if fn <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        x += t * step[0]
        y += t * step[1]
        f, g, h = fgh(lid, p, x, y)
        if t == 1.0 and float(np.max(np.abs(step))) < 1e-8 * max(1.0, abs(x), abs(y)):
            break
    return newton(lid, p, x, y)


def classify(lid: int, p: np.ndarray, pt: Point) -> str:
    """'min', 'max', 'saddle' or 'degenerate' from the Hessian eigenvalues at ``pt``."""
    _, _, h = fgh(lid, p, pt[0], pt[1])
    if not np.all(np.isfinite(h)):
        return "degenerate"
    lam = np.linalg.eigvalsh(h)
    tol = 1e-9 * max(1e-300, float(np.max(np.abs(lam))))
    if lam[0] > tol:
        return "min"
    if lam[1] < -tol:
        return "max"
    if lam[0] < -tol and lam[1] > tol:
        return "saddle"
    return "degenerate"


def dedupe(points: list[Point]) -> list[Point]:
    """``points`` without near-duplicates (relative 1e-7), first occurrence kept."""
    out: list[Point] = []
    for pt in points:
        tol = 1e-7 * max(1.0, abs(pt[0]), abs(pt[1]))
        if all(abs(pt[0] - q[0]) > tol or abs(pt[1] - q[1]) > tol for q in out):
            out.append(pt)
    return out


def refine(lid: int, p: np.ndarray, guesses: list[Point], kind: str) -> list[Point]:
    """Newton-refine rough ``guesses``; keep converged points of the given ``kind``."""
    out = []
    for gx, gy in guesses:
        pt = newton(lid, p, gx, gy)
        if pt is not None and classify(lid, p, pt) == kind:
            out.append(pt)
    return dedupe(out)


def by_value(lid: int, p: np.ndarray, points: list[Point]) -> list[Point]:
    """Sort by loss (lowest first); ties keep their given order."""
    return sorted(points, key=lambda q: api.landscape_f(lid, p, q[0], q[1]))


def _grid_local_minima(a: np.ndarray) -> list[tuple[int, int]]:
    """Interior (j, i) of ``a`` not above any of their eight neighbours."""
    ny, nx = a.shape
    c = a[1:-1, 1:-1]
    mask = np.ones_like(c, dtype=bool)
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            if dj or di:
                mask &= c <= a[1 + dj : ny - 1 + dj, 1 + di : nx - 1 + di]
    js, is_ = np.nonzero(mask)
    return [(int(j) + 1, int(i) + 1) for j, i in zip(js, is_, strict=True)]


def _grid(
    lid: int, p: np.ndarray, box: tuple[float, float, float, float], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """f on an n x n grid of ``box`` (``[j, i]``), its x and y axes and |∇f|² by finite
    differences."""
    xmin, xmax, ymin, ymax = box
    grid = np.empty((n, n))
    api.landscape_grid(lid, p, xmin, xmax, n, ymin, ymax, n, grid)
    xs = np.linspace(xmin, xmax, n)
    ys = np.linspace(ymin, ymax, n)
    with np.errstate(invalid="ignore", over="ignore"):  # a formula may be NaN/inf in places
        gy_, gx_ = np.gradient(grid, ys, xs)
        g2 = gx_ * gx_ + gy_ * gy_
    return grid, xs, ys, g2


def scan(
    lid: int, p: np.ndarray, box: tuple[float, float, float, float], n: int = 161
) -> tuple[list[Point], list[Point]]:
    """All minima and saddles found from a grid scan of ``box``: grid local minima of f
    seed a descent, grid local minima of |∇f|² (finite differences) seed pure Newton."""
    grid, xs, ys, g2 = _grid(lid, p, box, n)
    minima: list[Point] = []
    saddles: list[Point] = []
    for j, i in _grid_local_minima(grid):
        pt = descend(lid, p, float(xs[i]), float(ys[j]))
        if pt is not None and classify(lid, p, pt) == "min":
            minima.append(pt)
    for j, i in _grid_local_minima(g2)[:400]:
        pt = newton(lid, p, float(xs[i]), float(ys[j]))
        if pt is None:
            continue
        kind = classify(lid, p, pt)
        if kind == "min":
            minima.append(pt)
        elif kind == "saddle":
            saddles.append(pt)
    return by_value(lid, p, dedupe(minima)), dedupe(saddles)


def scan_all(
    lid: int, p: np.ndarray, box: tuple[float, float, float, float], n: int = 161
) -> list[Point]:
    """Every critical point (minimum, maximum, saddle or degenerate: not classified
    here) found inside ``box``: pure Newton from the grid local minima and maxima of f
    and the grid local minima of |∇f|² (finite differences), plus a descent from each
    grid local minimum of f (as :func:`scan`). A seed where ∇f is exactly zero is a
    critical point as it is (a zero Hessian there stops Newton: the monkey saddle)."""
    grid, xs, ys, g2 = _grid(lid, p, box, n)
    found: list[Point] = []
    for j, i in _grid_local_minima(grid):
        pt = descend(lid, p, float(xs[i]), float(ys[j]))
        if pt is not None:
            found.append(pt)
    with np.errstate(invalid="ignore", over="ignore"):
        seeds = _grid_local_minima(-grid)[:400] + _grid_local_minima(g2)[:400]
    for j, i in seeds:
        x, y = float(xs[i]), float(ys[j])
        _, g, _ = fgh(lid, p, x, y)
        pt = (x, y) if g[0] == 0.0 and g[1] == 0.0 else newton(lid, p, x, y)
        if pt is not None:
            found.append(pt)
    xmin, xmax, ymin, ymax = box
    mx, my = 1e-9 * (xmax - xmin), 1e-9 * (ymax - ymin)
    inside = [q for q in found if xmin - mx <= q[0] <= xmax + mx and ymin - my <= q[1] <= ymax + my]
    return dedupe(inside)
