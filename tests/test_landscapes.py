"""Tests for engine/landscapes/: derivatives against finite differences, critical points,
the lecture quadratics, parameter validation and the numba API contracts."""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import landscapes as L
from engine.jit import JIT_OPTIONS
from engine.landscapes import (
    LANDSCAPES,
    Landscape,
    critical,
    get_landscape,
    landscape_f,
    landscape_fg,
    landscape_grid,
    landscape_hess,
)
from engine.params import ParamError

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the window test

NAMES = list(LANDSCAPES)
EPS = float(np.finfo(np.float64).eps)


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def nonzero(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Values in [-hi, -lo] ∪ [lo, hi]."""
    return st.one_of(floats(lo, hi), floats(-hi, -lo))


_WELL = st.tuples(floats(-3, 3), floats(-3, 3), floats(-2, 2), floats(0.3, 1.5)).map(list)

# Parameter ranges explored by hypothesis (subsets of the valid ranges that keep the
# landscapes well scaled in their view boxes).
PARAMS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "quadratic": st.fixed_dictionaries(
        {
            "lambda1": nonzero(0.01, 50),
            "lambda2": nonzero(0.01, 50),
            "angle": floats(-360, 360),
            "cx": floats(-3, 3),
            "cy": floats(-1, 1),
            "f0": floats(-5, 5),
        }
    ),
    "quadratic_matrix": st.fixed_dictionaries(
        {
            "a11": floats(-5, 5),
            "a12": floats(-5, 5),
            "a22": floats(-5, 5),
            "cx": floats(0, 6),
            "cy": floats(0, 8),
            "f0": floats(-5, 5),
        }
    ).filter(lambda d: abs(d["a11"] * d["a22"] - d["a12"] ** 2) > 1e-3),  # strict extremum
    "rosenbrock": st.fixed_dictionaries({"a": floats(-1.5, 1.5), "b": floats(0.1, 200)}),
    "rastrigin": st.fixed_dictionaries({"A": floats(0, 20)}),
    "ackley": st.fixed_dictionaries({"a": floats(0, 30), "b": floats(0, 1), "c": floats(0.5, 10)}),
    "saddle": st.fixed_dictionaries({"a": floats(0.01, 10), "b": floats(0.01, 10)}),
    "plateau": st.fixed_dictionaries({"h": floats(0.01, 10), "w": floats(0.5, 3)}),
    "gaussian_wells": st.fixed_dictionaries(
        {"bowl": floats(0, 0.3), "wells": st.lists(_WELL, min_size=1, max_size=4)}
    ),
}


def params_for(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return PARAMS.get(name, st.just({}))


def point_in(ls: Landscape) -> st.SearchStrategy[tuple[float, float]]:
    x0, x1, y0, y1 = ls.view
    return st.tuples(floats(x0, x1), floats(y0, y1))


def fg(lid: int, p: np.ndarray, x: float, y: float) -> tuple[float, np.ndarray]:
    g = np.empty(2)
    f = landscape_fg(lid, p, np.array([x, y]), g)
    return f, g


def hess(lid: int, p: np.ndarray, x: float, y: float) -> np.ndarray:
    h = np.empty((2, 2))
    landscape_hess(lid, p, np.array([x, y]), h)
    return h


def d5(fun: Callable[[float], Any], t: float, h: float) -> tuple[Any, Any, float]:
    """Five-point central difference at step h, the same at step 2h (its difference
    estimates the truncation error) and the largest |value| on the stencil."""
    v = {k: np.asarray(fun(t + k * h), dtype=float) for k in (-4, -2, -1, 1, 2, 4)}
    d_h = (v[-2] - 8.0 * v[-1] + 8.0 * v[1] - v[2]) / (12.0 * h)
    d_2h = (v[-4] - 8.0 * v[-2] + 8.0 * v[2] - v[4]) / (24.0 * h)
    big = max(float(np.max(np.abs(a))) for a in v.values())
    return d_h, d_2h, big


def assert_fd_close(analytic: Any, fds: list[tuple[Any, Any, float]], hs: list[float]) -> None:
    """Each column ``analytic[..., k]`` against finite differences along axis k: relative
    1e-6 of the derivative scale, plus round-off (∝ eps·|values|/h), plus twice the
    truncation estimate |d_h − d_2h|."""
    analytic = np.asarray(analytic, dtype=float)
    scale = max(float(np.max(np.abs(analytic))), max(float(np.max(np.abs(d[0]))) for d in fds))
    for k, ((d_h, d_2h, big), h) in enumerate(zip(fds, hs, strict=True)):
        tol = 1e-6 * scale + 1e3 * EPS * big / h + 2.0 * np.abs(d_h - d_2h) + 1e-12
        col = analytic[..., k]
        assert np.all(np.abs(col - d_h) <= tol), (k, col, d_h, tol)


def step(t: float) -> float:
    return 1e-3 * max(1.0, abs(t))


# ---------------------------------------------------------------------------------------
# Derivatives against finite differences
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_gradient_matches_finite_differences(name: str, data: st.DataObject) -> None:
    ls = LANDSCAPES[name]
    p = ls.pack(data.draw(params_for(name), label="params"))
    x, y = data.draw(point_in(ls), label="point")
    if name == "ackley":
        assume(math.hypot(x, y) > 0.1)  # the cusp at the origin is not differentiable
    _, g = fg(ls.lid, p, x, y)
    hx, hy = step(x), step(y)
    fdx = d5(lambda t: landscape_f(ls.lid, p, t, y), x, hx)
    fdy = d5(lambda t: landscape_f(ls.lid, p, x, t), y, hy)
    assert_fd_close(g, [fdx, fdy], [hx, hy])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_hessian_matches_finite_differences(name: str, data: st.DataObject) -> None:
    ls = LANDSCAPES[name]
    p = ls.pack(data.draw(params_for(name), label="params"))
    x, y = data.draw(point_in(ls), label="point")
    if name == "ackley":
        assume(math.hypot(x, y) > 0.1)
    h = hess(ls.lid, p, x, y)
    assert h[0, 1] == h[1, 0]
    hx, hy = step(x), step(y)
    fdx = d5(lambda t: fg(ls.lid, p, t, y)[1], x, hx)  # column ∂g/∂x
    fdy = d5(lambda t: fg(ls.lid, p, x, t)[1], y, hy)
    assert_fd_close(h, [fdx, fdy], [hx, hy])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_fg_and_f_agree_and_hessian_symmetric(name: str, data: st.DataObject) -> None:
    ls = LANDSCAPES[name]
    p = ls.pack(data.draw(params_for(name), label="params"))
    x, y = data.draw(point_in(ls), label="point")
    f, _ = fg(ls.lid, p, x, y)
    assert f == pytest.approx(landscape_f(ls.lid, p, x, y), rel=1e-13, abs=1e-13)
    h = hess(ls.lid, p, x, y)
    assert np.all(np.isfinite(h))
    assert h[0, 1] == h[1, 0]


@pytest.mark.parametrize("name", NAMES)
def test_grid_matches_f(name: str) -> None:
    ls = LANDSCAPES[name]
    p = ls.pack()
    x0, x1, y0, y1 = ls.view
    nx, ny = 7, 5
    out = np.full((ny, nx), np.nan)
    landscape_grid(ls.lid, p, x0, x1, nx, y0, y1, ny, out)
    dx, dy = (x1 - x0) / (nx - 1), (y1 - y0) / (ny - 1)
    for j in range(ny):
        for i in range(nx):
            assert out[j, i] == landscape_f(ls.lid, p, x0 + i * dx, y0 + j * dy)
    one = np.full((1, 1), np.nan)
    landscape_grid(ls.lid, p, x0, x1, 1, y0, y1, 1, one)
    assert one[0, 0] == landscape_f(ls.lid, p, x0, y0)


# ---------------------------------------------------------------------------------------
# Critical points
# ---------------------------------------------------------------------------------------


def check_critical_points(ls: Landscape, prm: dict[str, Any]) -> None:
    p = ls.pack(prm)
    minima, saddles, f_star = ls.minima(prm), ls.saddles(prm), ls.f_star(prm)
    for kind, pts in (("min", minima), ("saddle", saddles)):
        for x, y in pts:
            f, g = fg(ls.lid, p, x, y)
            h = hess(ls.lid, p, x, y)
            lam = np.linalg.eigvalsh(h)
            # machine-precision location: the Newton step from it is at round-off level
            if np.any(lam != 0.0):
                newton = np.linalg.solve(h, g)
                assert np.max(np.abs(newton)) <= 1e-9 * max(1.0, abs(x), abs(y)), (kind, x, y)
            assert np.max(np.abs(g)) <= 1e-8 * max(1.0, float(np.max(np.abs(h)))) * max(
                1.0, abs(x), abs(y)
            ), (kind, x, y, g)
            if kind == "min":
                assert lam[0] > 0.0, (x, y, lam)
            elif ls.name == "monkey_saddle":  # degenerate: zero Hessian, f takes both signs
                assert np.all(h == 0.0)
                assert landscape_f(ls.lid, p, x + 1e-3, y) > f > landscape_f(ls.lid, p, x - 1e-3, y)
            else:
                assert lam[0] < 0.0 < lam[1], (x, y, lam)
    assert len(set(minima)) == len(minima)
    assert len(set(saddles)) == len(saddles)
    if f_star is None:
        assert not minima or ls.name == "gaussian_wells"
        return
    values = [landscape_f(ls.lid, p, x, y) for x, y in minima]
    tol = 1e-12 * max(1.0, abs(f_star))
    if minima:
        assert values[0] == pytest.approx(f_star, abs=tol)
        assert all(v >= f_star - tol for v in values)
    # f* is global: nothing on a grid over the view box is lower
    x0, x1, y0, y1 = ls.view
    grid = np.empty((121, 121))
    landscape_grid(ls.lid, p, x0, x1, 121, y0, y1, 121, grid)
    assert f_star <= float(np.min(grid)) + tol


@pytest.mark.parametrize("name", NAMES)
def test_critical_points_at_defaults(name: str) -> None:
    check_critical_points(LANDSCAPES[name], {})


@pytest.mark.parametrize("name", sorted(PARAMS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_critical_points_over_params(name: str, data: st.DataObject) -> None:
    check_critical_points(LANDSCAPES[name], data.draw(PARAMS[name], label="params"))


EXPECTED_COUNTS = {  # (minima, saddles) at the defaults
    "quadratic": (1, 0),
    "quadratic_matrix": (1, 0),
    "rosenbrock": (1, 0),
    "beale": (1, 2),
    "himmelblau": (4, 4),
    "goldstein_price": (4, 4),
    "six_hump_camel": (6, 7),
    "three_hump_camel": (3, 2),
    "styblinski_tang": (4, 4),
    "saddle": (0, 1),
    "monkey_saddle": (0, 1),
    "plateau": (1, 0),
    "gaussian_wells": (3, 2),
    "easom": (1, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_critical_point_counts(name: str) -> None:
    ls = LANDSCAPES[name]
    assert (len(ls.minima()), len(ls.saddles())) == EXPECTED_COUNTS[name]


def test_known_critical_points() -> None:
    def near(a: list[tuple[float, float]], b: list[tuple[float, float]], tol: float) -> bool:
        return len(a) == len(b) and all(any(math.dist(p, q) < tol for q in b) for p in a)

    assert LANDSCAPES["rosenbrock"].minima({"a": 2.0}) == [(2.0, 4.0)]
    assert LANDSCAPES["beale"].minima() == [(3.0, 0.5)]
    assert LANDSCAPES["himmelblau"].minima()[0] == (3.0, 2.0)
    hb = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    assert near(LANDSCAPES["himmelblau"].minima(), hb, 1e-5)
    # its local maximum (not a minimum or saddle)
    lid = LANDSCAPES["himmelblau"].lid
    pk = critical.newton(lid, np.zeros(0), -0.27, -0.92)
    assert pk is not None and math.dist(pk, (-0.270845, -0.923039)) < 1e-5
    assert critical.classify(lid, np.zeros(0), pk) == "max"
    gp = LANDSCAPES["goldstein_price"]
    assert gp.minima()[0] == (0.0, -1.0) and gp.f_star() == 3.0
    assert gp.value_at({}, 0.0, -1.0) == 3.0
    camel = LANDSCAPES["six_hump_camel"]
    assert near(camel.minima()[:2], [(0.0898, -0.7126), (-0.0898, 0.7126)], 1e-4)
    assert camel.f_star() == pytest.approx(-1.0316284534898774, abs=1e-12)
    st_ = LANDSCAPES["styblinski_tang"]
    assert st_.minima()[0] == pytest.approx((-2.903534, -2.903534), abs=1e-6)
    assert st_.f_star() == pytest.approx(-78.33233140754282, abs=1e-10)
    assert LANDSCAPES["levi13"].minima() == [(1.0, 1.0)]
    assert LANDSCAPES["levi13"].value_at({}, 1.0, 1.0) == pytest.approx(0.0, abs=1e-28)
    assert LANDSCAPES["ackley"].value_at({}, 0.0, 0.0) == 0.0
    assert LANDSCAPES["rastrigin"].value_at({"A": 7.0}, 0.0, 0.0) == 0.0
    for name in ("saddle", "monkey_saddle"):
        assert LANDSCAPES[name].f_star() is None and LANDSCAPES[name].minima() == []
    easom = LANDSCAPES["easom"]
    assert easom.minima() == [(math.pi, math.pi)] and easom.f_star() == -1.0
    assert easom.value_at({}, math.pi, math.pi) == -1.0
    np.testing.assert_allclose(
        L.hessian("easom", None, math.pi, math.pi), 3.0 * np.eye(2), atol=1e-15
    )


def test_quadratic_kinds() -> None:
    q = LANDSCAPES["quadratic"]
    prm = {"lambda1": 3.0, "lambda2": -1.0, "cx": 1.0, "cy": 2.0}
    assert q.minima(prm) == [] and q.saddles(prm) == [(1.0, 2.0)] and q.f_star(prm) is None
    prm = {"lambda1": -3.0, "lambda2": -1.0}
    assert q.minima(prm) == [] and q.saddles(prm) == [] and q.f_star(prm) is None
    prm = {"lambda1": 0.0, "lambda2": 1.0, "f0": 2.5}  # flat valley: minimum, not strict
    assert q.minima(prm) == [(0.0, 0.0)] and q.f_star(prm) == 2.5
    m = LANDSCAPES["quadratic_matrix"]
    assert m.saddles({"a11": 1.0, "a12": 2.0, "a22": 1.0}) == [(3.0, 4.0)]
    assert m.f_star({"a11": 1.0, "a12": 1.0, "a22": 1.0}) == 0.05  # singular, PSD
    assert m.f_star({"a11": -1.0, "a12": 0.0, "a22": -1.0}) is None


def test_gaussian_wells_trap_plain_gd() -> None:
    """The default wells: plain GD from the default start ends in a shallower well."""
    ls = LANDSCAPES["gaussian_wells"]
    p = ls.pack()
    minima = ls.minima()
    assert len({round(ls.value_at({}, *m), 6) for m in minima}) == len(minima)  # depths
    for lr in (0.05, 0.3):
        x = np.array(ls.start, dtype=float)
        g = np.empty(2)
        for _ in range(3000):
            landscape_fg(ls.lid, p, x, g)
            x -= lr * g
        assert math.dist(x, minima[1]) < 1e-6
        assert ls.value_at({}, *x) > ls.f_star() + 0.5


def test_gaussian_wells_without_bowl() -> None:
    ls = LANDSCAPES["gaussian_wells"]
    bumps = {"bowl": 0.0, "wells": [[0.0, 0.0, -1.0, 1.0]]}  # only a bump: inf f = 0
    assert ls.minima(bumps) == [] and ls.f_star(bumps) == 0.0
    well = {"bowl": 0.0, "wells": [[1.0, -1.0, 2.0, 0.5]]}
    (m,) = ls.minima(well)
    assert m == pytest.approx((1.0, -1.0), abs=1e-14)
    assert ls.f_star(well) == pytest.approx(-2.0, abs=1e-14)


def test_plateau_stalls() -> None:
    ls = LANDSCAPES["plateau"]
    f, g = fg(ls.lid, ls.pack(), *ls.start)
    assert f > 0.999 and 0.0 < np.max(np.abs(g)) < 1e-3
    # d/ds tanh(s) = 1 − tanh²(s) is 0.0013 at s = 4: the gradient at radius 2 (s = 4)
    _, g = fg(ls.lid, ls.pack(), 2.0, 0.0)
    assert g[0] == pytest.approx(2.0 * 2.0 * (1.0 - math.tanh(4.0) ** 2), rel=1e-10)
    # far away the gradient underflows to exactly 0 without NaN
    f, g = fg(ls.lid, ls.pack(), 100.0, 0.0)
    assert f == 1.0 and np.all(g == 0.0)


# ---------------------------------------------------------------------------------------
# The lecture quadratics
# ---------------------------------------------------------------------------------------


LECTURE_QUADRATICS = [
    ({}, lambda x, y: x * x + 50.0 * y * y),
    ({"lambda1": 2.0, "lambda2": 2.0}, lambda x, y: x * x + y * y),
    ({"lambda2": 20.0}, lambda x, y: x * x + 10.0 * y * y),
    ({"lambda1": 0.2, "lambda2": 4.0}, lambda x, y: 0.1 * x * x + 2.0 * y * y),
    ({"lambda1": 2.0, "lambda2": 100.0, "angle": 90.0}, lambda x, y: 50.0 * x * x + y * y),
    ({"cx": 1.0, "cy": -2.0, "f0": 3.0}, lambda x, y: 3.0 + (x - 1) ** 2 + 50.0 * (y + 2) ** 2),
]


def lecture_e(w1: float, w2: float) -> float:
    return 0.05 + (w1 - 3) ** 2 / 4 + (w2 - 4) ** 2 / 9 - (w1 - 3) * (w2 - 4) / 6


@pytest.mark.parametrize(("prm", "expected"), LECTURE_QUADRATICS)
@settings(max_examples=30, deadline=None)
@given(x=floats(-5, 5), y=floats(-5, 5))
def test_lecture_quadratics(prm: dict[str, Any], expected: Any, x: float, y: float) -> None:
    got = L.value("quadratic", prm, x, y)
    assert got == pytest.approx(expected(x, y), rel=1e-13, abs=1e-13)


@settings(max_examples=30, deadline=None)
@given(x=floats(-5, 10), y=floats(-5, 10))
def test_lecture_error_function(x: float, y: float) -> None:
    assert L.value("quadratic_matrix", None, x, y) == pytest.approx(
        lecture_e(x, y), rel=1e-13, abs=1e-13
    )


def test_lecture_gradient_step() -> None:
    ls = LANDSCAPES["quadratic_matrix"]
    w = np.array(ls.start, dtype=float)
    assert tuple(w) == (1.5, 2.0)
    g = L.grad("quadratic_matrix", None, *w)
    w1 = w - 0.3 * g
    assert w1[0] == pytest.approx(1.625, abs=1e-12)
    assert w1[1] == pytest.approx(2.0 + 0.7 / 12.0, abs=1e-12)  # 2.058333…
    assert ls.minima() == [(3.0, 4.0)] and ls.f_star() == 0.05
    h = L.hessian("quadratic_matrix", None, 0.0, 0.0)
    np.testing.assert_array_equal(h, [[0.5, -1.0 / 6.0], [-1.0 / 6.0, 2.0 / 9.0]])


# ---------------------------------------------------------------------------------------
# Parameters and registry
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_unknown_param_rejected(name: str) -> None:
    ls = LANDSCAPES[name]
    with pytest.raises(ParamError, match="bogus"):
        ls.pack({"bogus": 1.0})
    with pytest.raises(ParamError):
        ls.resolve({"bogus": 1.0})
    assert ls.resolve(None) == {s.name: s.default for s in ls.params}


@pytest.mark.parametrize(
    ("name", "prm"),
    [
        ("quadratic", {"lambda1": 2e6}),
        ("quadratic", {"angle": math.nan}),
        ("quadratic", {"lambda2": "big"}),
        ("quadratic_matrix", {"a12": math.inf}),
        ("rosenbrock", {"b": 0.0}),
        ("rosenbrock", {"b": -1.0}),
        ("rosenbrock", {"a": True}),
        ("rastrigin", {"A": -1.0}),
        ("ackley", {"c": 0.0}),
        ("saddle", {"a": 0.0}),
        ("plateau", {"w": 0.0}),
        ("plateau", {"h": -1.0}),
        ("gaussian_wells", {"bowl": -0.1}),
        ("gaussian_wells", {"wells": []}),
        ("gaussian_wells", {"wells": [[0.0, 0.0, 1.0]]}),
        ("gaussian_wells", {"wells": [[0.0, 0.0, 1.0, 0.0]]}),
        ("gaussian_wells", {"wells": [[0.0, 0.0, 1.0, 1.0]] * 9}),
    ],
)
def test_out_of_range_rejected(name: str, prm: dict[str, Any]) -> None:
    ls = LANDSCAPES[name]
    with pytest.raises(ParamError, match=next(iter(prm))):
        ls.pack(prm)
    with pytest.raises(ParamError):
        ls.resolve(prm)
    with pytest.raises(ParamError):
        ls.minima(prm)


def test_registry() -> None:
    assert NAMES == [
        "quadratic",
        "quadratic_matrix",
        "rosenbrock",
        "beale",
        "himmelblau",
        "rastrigin",
        "ackley",
        "booth",
        "matyas",
        "goldstein_price",
        "six_hump_camel",
        "three_hump_camel",
        "styblinski_tang",
        "levi13",
        "saddle",
        "monkey_saddle",
        "plateau",
        "gaussian_wells",
        "easom",
    ]
    for i, (name, ls) in enumerate(LANDSCAPES.items()):
        assert ls.name == name and ls.lid == i and get_landscape(name) is ls
        x0, x1, y0, y1 = ls.view
        assert x0 < ls.start[0] < x1 and y0 < ls.start[1] < y1
        assert ls.formula.startswith("f(x, y) = ") and ls.title and ls.description
        for s in ls.params:
            assert s.doc and s.symbol
            s.validate(s.default)
        assert ls.pack().dtype == np.float64
    with pytest.raises(KeyError, match="rosenbrock"):
        get_landscape("banana")


def test_every_module_is_registered() -> None:
    """A landscape is one module of engine/landscapes/ plus its line in MODULES: a module
    left out of MODULES (or listed without a file) fails here."""
    pkg = Path(L.__file__).parent
    helpers = {"base", "critical", "typed"}  # and private modules (_name.py)
    files = {f.stem for f in pkg.glob("*.py") if not f.stem.startswith("_")} - helpers
    assert set(L.MODULES) == files and len(L.MODULES) == len(files)
    for mod in L.MODULES:
        names = [ls.name for ls in importlib.import_module(f"engine.landscapes.{mod}").REGISTER]
        assert names and all(LANDSCAPES[n].name == n for n in names), mod


def test_generated_dispatchers_cover_the_registry() -> None:
    for ls in LANDSCAPES.values():
        f = L.SOURCES["landscape_f"]
        assert f"lid == {ls.lid}:\n            f = f_{ls.name}(p, x0, x1)" in f
        fgh = L.SOURCES["landscape_fgh"]
        assert f"lid == {ls.lid}:\n        f, gx, gy = fg_{ls.name}(p, x0, x1)" in fgh
        assert f"lid == {ls.lid}:\n            hxx, hxy, hyy = h_{ls.name}(p, x0, x1)" in fgh
    n = len(LANDSCAPES)  # the next id is a typed formula's, first in both
    assert n == L.FORMULA_LID
    assert f"lid == {n}:" not in L.SOURCES["landscape_f"] + L.SOURCES["landscape_fgh"]
    assert "if lid == FORMULA_LID:" in L.SOURCES["landscape_f"]
    assert "if lid == FORMULA_LID:" in L.SOURCES["landscape_fgh"]


def test_catalogue_and_readme_list_every_landscape() -> None:
    """`main.py list` (text and --json) and the README table show every registered
    landscape, in registry order."""
    from engine.docs import landscapes_table, render_readme

    root = Path(__file__).resolve().parents[1]
    run = [sys.executable, "main.py", "list"]
    kw: dict[str, Any] = {"cwd": root, "capture_output": True, "text": True, "timeout": 300}
    doc = json.loads(subprocess.run([*run, "--json"], check=True, **kw).stdout)
    assert [d["name"] for d in doc["landscapes"]] == NAMES
    assert [d["formula"] for d in doc["landscapes"]] == [ls.formula for ls in LANDSCAPES.values()]
    text = subprocess.run(run, check=True, **kw).stdout
    for ls in LANDSCAPES.values():
        assert f"  {ls.name}: {ls.formula}\n" in text
    table = landscapes_table()
    assert [row.split("`")[1] for row in table.splitlines()[2:]] == NAMES
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert table in readme and render_readme(readme) == readme


@pytest.mark.gui
def test_window_offers_every_landscape(window: Any) -> None:
    """The window's landscape chooser lists every registered landscape, in order, then
    (after a separator) "Formula…", a typed formula (gui/formula_editor.py)."""
    from PySide6.QtWidgets import QComboBox

    boxes = [
        b
        for b in window.findChildren(QComboBox)
        if "rosenbrock" in [b.itemData(i) for i in range(b.count())]
    ]
    assert len(boxes) == 1
    box = boxes[0]
    assert [box.itemData(i) for i in range(box.count())] == [*NAMES, None, "formula"]
    assert box.itemText(box.count() - 1) == "Formula…"


def test_pack_layout() -> None:
    q = LANDSCAPES["quadratic"].pack({"angle": 30.0})
    th = math.radians(30.0)
    c, s = math.cos(th), math.sin(th)
    a = np.array([[c, -s], [s, c]]) @ np.diag([2.0, 100.0]) @ np.array([[c, s], [-s, c]])
    np.testing.assert_allclose(q[6:], [a[0, 0], a[0, 1], a[1, 1]], rtol=1e-14)
    np.testing.assert_array_equal(q[:6], [2.0, 100.0, 30.0, 0.0, 0.0, 0.0])
    w = LANDSCAPES["gaussian_wells"].pack({"bowl": 0.1, "wells": [[1, 2, 3, 4], [5, 6, 7, 8]]})
    np.testing.assert_array_equal(w, [0.1, 2, 1, 2, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(LANDSCAPES["rosenbrock"].pack({"b": 5}), [1.0, 5.0])


@pytest.mark.parametrize("name", NAMES)
def test_python_wrappers(name: str) -> None:
    ls = LANDSCAPES[name]
    x, y = ls.start
    p = ls.pack()
    _, g = fg(ls.lid, p, x, y)
    assert L.value(name, None, x, y) == landscape_f(ls.lid, p, x, y) == ls.value_at(None, x, y)
    np.testing.assert_array_equal(L.grad(name, {}, x, y), g)
    np.testing.assert_array_equal(L.hessian(name, {}, x, y), hess(ls.lid, p, x, y))


# ---------------------------------------------------------------------------------------
# Robustness and the numba contract
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_extreme_inputs_never_raise(name: str) -> None:
    ls = LANDSCAPES[name]
    p = ls.pack()
    for x, y in [
        (1e300, -1e300),
        (1e154, 1e154),
        (math.inf, 1.0),
        (-math.inf, -math.inf),
        (math.nan, 0.0),
        (0.0, 0.0),
        (5e-324, -5e-324),
    ]:
        landscape_f(ls.lid, p, x, y)
        fg(ls.lid, p, x, y)
        hess(ls.lid, p, x, y)


def test_unknown_lid_gives_nan() -> None:
    p = np.zeros(4)
    assert math.isnan(landscape_f(99, p, 0.0, 0.0))
    f, g = fg(-1, p, 0.0, 0.0)
    assert math.isnan(f) and np.all(np.isnan(g))
    assert np.all(np.isnan(hess(99, p, 0.0, 0.0)))


def test_ackley_cusp() -> None:
    ls = LANDSCAPES["ackley"]
    p = ls.pack()
    f, g = fg(ls.lid, p, 0.0, 0.0)
    assert f == 0.0 and np.all(g == 0.0)
    h = hess(ls.lid, p, 0.0, 0.0)
    assert np.all(np.isfinite(h)) and np.linalg.eigvalsh(h)[0] > 0.0
    # next to the cusp the cone's gradient has magnitude a·b/√2 (no underflow to 0)
    _, g = fg(ls.lid, p, 1e-200, 0.0)
    assert g[0] == pytest.approx(20.0 * 0.2 / math.sqrt(2.0), rel=1e-12) and g[1] == 0.0


@pytest.mark.parametrize("fn", ["landscape_f", "landscape_fg", "landscape_hess"])
def test_dispatchers_have_no_calls_or_refcounting(fn: str) -> None:
    """Every per-landscape helper is inlined into the dispatchers.  A helper that is too
    big to inline leaves a call, which keeps numba's NRT incref/decref of the array
    arguments in the dispatcher: ~20 ns per call for every landscape."""
    own = getattr(L, fn).targetoptions  # the runtime (NRT) as the dispatcher has it
    opts = {**JIT_OPTIONS, "cache": False, **{k: own[k] for k in ("_nrt",) if k in own}}
    fresh = numba.jit(**opts)(getattr(L, fn).py_func)
    p, x, v = np.zeros(16), np.zeros(2), np.zeros(2)
    if fn == "landscape_f":
        fresh(0, p, 0.0, 0.0)
    elif fn == "landscape_fg":
        fresh(0, p, x, v)
    else:
        fresh(0, p, x, np.zeros((2, 2)))
    ir = fresh.inspect_llvm(fresh.signatures[0])
    start = ir.index("define")
    body = ir[start : ir.index("\n}", start)]
    calls = [ln for ln in body.splitlines() if " call " in ln and "@llvm." not in ln]
    # libm (the landscapes' and a typed formula's functions)
    allowed = tuple(
        f"@{m}("
        for m in (
            "hypot",
            "tanh",
            "tan",
            "sinh",
            "cosh",
            "log1p",
            "atan",
            "exp",
            "log",
            "sin",
            "cos",
            "pow",
            "sqrt",
            "expm1",
            "fabs",
        )
    )
    assert all(any(a in ln for a in allowed) for ln in calls), calls
