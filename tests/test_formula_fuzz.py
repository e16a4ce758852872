"""Typed formulas under hypothesis: derived gradients and Hessians against finite
differences on random formulas of the grammar, the printer's round trip on them, and
random and mutated strings of which only a FormulaError may come out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.formula import MAX_LENGTH, FormulaError, ops, parse_formula
from engine.formula.kernel import formula_fgh
from engine.formula.program import compile_program

PARAMS = {"a": 0.7, "b": -1.3}


def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------- random formulas
# Smooth everywhere on the test box: denominators, logs and square roots are kept away
# from their singularities, tan's argument inside (−π/2, π/2), so that finite differences
# are a fair reference.

_LEAVES = st.sampled_from(["x", "y", "x1", "x2", "a", "b", "0.5", "2", "3", "1.5", "pi", "1e-1"])

_UNARY = [
    "sin({})",
    "cos({})",
    "tanh({})",
    "atan({})",
    "arctan({})",
    "sigmoid({})",
    "softplus({})",
    "exp(sin({}))",
    "exp(-({})**2)",
    "log(1 + ({})**2)",
    "log1p(({})**2)",
    "sqrt(2 + ({})**2)",
    "sinh(tanh({}))",
    "cosh(tanh({}))",
    "tan(tanh({}))",
    "-({})",
    "({})^2",
    "({})**3",
    "(1.5 + tanh({}))**-1.5",
    "e**(sin({}))",
]
_BINARY = [
    "({}) + ({})",
    "({}) - ({})",
    "({})*({})",
    "({})/(1 + ({})**2)",
    "(2 + sin({}))**(cos({}))",
]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.tuples(st.sampled_from(_UNARY), children).map(lambda t: t[0].format(t[1]))
    binary = st.tuples(st.sampled_from(_BINARY), children, children).map(
        lambda t: t[0].format(t[1], t[2])
    )
    return unary | binary


SMOOTH = st.recursive(_LEAVES, _combine, max_leaves=8)
POINT = st.floats(-1.5, 1.5, allow_nan=False)


def _parse_or_skip(text: str) -> object:
    try:
        return parse_formula(text, PARAMS)
    except FormulaError as e:  # e.g. powers nested too deep by the composition
        assume("nest too deep" not in e.message)
        raise


def _d5(fn: object, x: float, y: float, axis: int, h: float) -> np.ndarray:
    """The five-point central difference of ``fn`` (returning an array) along ``axis``."""
    assert callable(fn)

    def at(k: int) -> np.ndarray:
        return np.asarray(fn(x + k * h, y) if axis == 0 else fn(x, y + k * h), dtype=float)

    return (at(-2) - 8.0 * at(-1) + 8.0 * at(1) - at(2)) / (12.0 * h)


def _agree(num: np.ndarray, exact: np.ndarray, scale: float) -> bool:
    return bool(np.all(np.abs(num - exact) <= 1e-6 * (scale + np.abs(exact))))


@fuzz(150)
@given(text=SMOOTH, x=POINT, y=POINT)
def test_derivatives_match_finite_differences(text: str, x: float, y: float) -> None:
    f = _parse_or_skip(text)
    assert hasattr(f, "grad")
    v = f.f(x, y)
    g = f.grad(x, y)
    h = f.hess(x, y)
    assert np.all(np.isfinite([v, *g, *h.ravel()])), text
    step = 1e-3
    # the size of f and g around the point: the floor of the relative comparison
    fs = 1.0 + max(abs(f.f(x + dx, y + dy)) for dx in (-0.01, 0, 0.01) for dy in (-0.01, 0, 0.01))
    gs = 1.0 + float(np.abs(g).max()) + float(np.abs(h).max()) * 0.01
    for axis in (0, 1):
        num_g = _d5(lambda s, t: f.f(s, t), x, y, axis, step)
        assert _agree(num_g, np.array(g[axis]), fs), (text, x, y, axis, num_g, g)
        num_h = _d5(lambda s, t: f.grad(s, t), x, y, axis, step)
        assert _agree(num_h, h[:, axis], gs), (text, x, y, axis, num_h, h)
    assert h[0, 1] == h[1, 0]


@fuzz(100)
@given(text=SMOOTH)
def test_printed_formulas_and_derivatives_parse_back(text: str) -> None:
    f = _parse_or_skip(text)
    assert hasattr(f, "f_text")
    x, y = 0.3, -0.6
    prog_values = [f.f(x, y), *f.grad(x, y), *f.hess(x, y)[[0, 0, 1], [0, 1, 1]]]
    for t, want in zip(
        [f.f_text(), *f.gradient_text(), *f.hessian_text()], prog_values, strict=True
    ):
        if len(t) > MAX_LENGTH:
            continue  # printed, but longer than a typed formula may be
        again = parse_formula(t, PARAMS)
        assert again.f_text() == t
        got = again.f(x, y)
        assert got == want or math.isclose(got, want, rel_tol=1e-13, abs_tol=1e-300), (t, got)


@fuzz(150)
@given(text=SMOOTH, x=POINT, y=POINT)
def test_fused_instructions_give_the_unfused_bits(text: str, x: float, y: float) -> None:
    """A fused instruction (a*b + c, (a*b)*c, ...) rounds as the two it replaces, in the
    same order: the program with fusion equals the one-node-one-instruction program
    bit for bit, and is never longer."""
    f = _parse_or_skip(text)
    fused = f.compiled  # type: ignore[attr-defined]
    plain = compile_program(f._graph, f._nodes, fused.n_params, fuse=False)  # type: ignore[attr-defined]
    values = [PARAMS[k] for k in f.params]  # type: ignore[attr-defined]
    a = formula_fgh(fused.with_params(values), x, y, True)
    b = formula_fgh(plain.with_params(values), x, y, True)
    assert np.array(a).tobytes() == np.array(b).tobytes(), (text, a, b)
    assert sum(fused.counts) <= sum(plain.counts)
    # no instruction writes x, y, a parameter or a constant: a caller that evaluates a
    # program many times copies them into the registers once (engine.kernel's SGD loop)
    t = fused.template
    n_fixed = 2 + int(t[0])
    dest = (t[16 + int(t[0]) :].astype(np.int64) >> 6) & 1023
    assert dest.size == 0 or int(dest.min()) >= n_fixed, text


def test_products_of_products_fuse() -> None:
    """(y - x**2)**2 * b is one instruction, (a*b)*c, and so is the gradient's chain."""
    f = parse_formula("(a - x)**2 + b*(y - x**2)**2", {"a": 1.0, "b": 100.0})
    words = f.compiled.template[16 + int(f.compiled.template[0]) :].astype(np.int64)
    assert int(np.sum((words & 63) == ops.MUL3)) >= 2
    assert f.compiled.counts[:2] == (5, 4)  # f, then the rest of the gradient
    assert f.f(-1.5, 2.0) == 12.5 and list(f.grad(-1.5, 2.0)) == [-155.0, -50.0]


# ---------------------------------------------------------------------------- hostile strings

_ALPHABET = "xy12e.+-*/^()aAbsinlogpqt_,' \"[]{}:=;@#%<>!~`\\\t\n−·é\x00"
VALID = [
    "(a - x)**2 + b*(y - x**2)**2",
    "sin(x)*cos(y) + exp(-(x**2 + y**2)/2)",
    "min(x, y, 1) + max(abs(x), sqrt(y**2 + 1e-3))",
    "log1p(x^2) - softplus(y) * sigmoid(x*y) / tanh(1 + x)",
    "x1**x2 + 2**-x + atan(x - y)",
    # the attacks of issue #14, mutated
    "__import__('os').system('touch pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "[x for x in y] + (lambda: 1)() + x.real",
    "9**9**9**9 + x**99999999999 + exp(exp(exp(exp(x))))",
]


def _check(text: str) -> None:
    """parse_formula either succeeds, and its formula evaluates, prints and differentiates
    without an error, or raises FormulaError naming a column within the text."""
    try:
        f = parse_formula(text, PARAMS)
    except FormulaError as e:
        assert e.message and str(e).startswith(e.message)
        if e.column is not None:
            assert 1 <= e.column <= len(text) + 1
        return
    for x, y in ((0.5, -0.25), (0.0, 0.0), (-3.0, 1e300)):
        out = [f.f(x, y), *f.grad(x, y), *f.hess(x, y).ravel()]
        assert all(isinstance(v, float) for v in out)
    f.f_text()
    f.gradient_text()
    f.hessian_text()


@fuzz(300)
@given(text=st.text(alphabet=_ALPHABET, max_size=40))
def test_random_strings_raise_only_formula_errors(text: str) -> None:
    _check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        c = draw(st.sampled_from(_ALPHABET))
        if op == "insert":
            text = text[:i] + c + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "replace":
            text = text[:i] + c + text[i + 1 :]
        else:
            j = draw(st.integers(i, len(text)))
            text = text[:i] + text[i:j] * draw(st.integers(2, 30)) + text[j:]
    return text


@fuzz(300)
@given(text=mutated())
def test_mutated_formulas_raise_only_formula_errors(text: str) -> None:
    _check(text)


@pytest.mark.slow
@fuzz(40)
@given(
    text=st.sampled_from(["(", "-", "sin(", "x**(", "+", "x*"]),
    n=st.integers(40, 1200),
    tail=st.sampled_from(["x", "x)", ")" * 40, ""]),
)
def test_deep_and_long_inputs_raise_only_formula_errors(text: str, n: int, tail: str) -> None:
    _check(text * n + tail)
