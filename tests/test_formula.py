"""Typed formulas (issue #14): the grammar and its errors, exact derivatives against the
built-in landscapes, the printer's round trip, the compiled program and the interpreter."""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

from engine.formula import FormulaError, formula_f, formula_fgh, parse_formula
from engine.formula import kernel as K
from engine.formula.parser import MAX_DEPTH, MAX_LENGTH
from engine.jit import JIT_OPTIONS
from engine.landscapes import LANDSCAPES, grad, hessian, value

# built-in landscapes typed as formulas (the same function, not the same operation order)
TYPED: dict[str, tuple[str, dict[str, float]]] = {
    "rosenbrock": ("(a - x)**2 + b*(y - x**2)**2", {"a": 1.0, "b": 100.0}),
    "beale": ("(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2", {}),
    "himmelblau": ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", {}),
    "booth": ("(x + 2*y - 7)^2 + (2*x + y - 5)^2", {}),
    "matyas": ("0.26*(x**2 + y**2) - 0.48*x*y", {}),
    "rastrigin": ("2*A + x**2 - A*cos(2*pi*x) + y**2 - A*cos(2*pi*y)", {"A": 10.0}),
    "styblinski_tang": ("0.5*((x1**4 - 16*x1**2 + 5*x1) + (x2**4 - 16*x2**2 + 5*x2))", {}),
    "three_hump_camel": ("2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2", {}),
    "six_hump_camel": ("(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (4*y**2 - 4)*y**2", {}),
    "goldstein_price": (
        "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
        "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))",
        {},
    ),
}
PARAM_SETS: dict[str, list[dict[str, float]]] = {
    "rosenbrock": [{"a": 1.0, "b": 100.0}, {"a": -2.5, "b": 3.0}, {"a": 0.5, "b": 1e4}],
    "rastrigin": [{"A": 10.0}, {"A": 0.25}],
}


def points(name: str, n: int = 300) -> Iterator[tuple[float, float]]:
    rng = np.random.default_rng(14)
    x0, x1, y0, y1 = LANDSCAPES[name].view
    for _ in range(n):
        yield float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))


def close(a: float, b: float, scale: float, rtol: float = 1e-12) -> bool:
    """|a − b| ≤ rtol·max(|b|, scale): relative, bar values that cancel to far below
    the size of their terms (``scale``)."""
    return abs(a - b) <= rtol * max(abs(b), scale)


@pytest.mark.parametrize("name", list(TYPED))
def test_typed_builtins_match_the_landscape_functions(name: str) -> None:
    text, defaults = TYPED[name]
    formula = parse_formula(text, defaults)
    for prm in PARAM_SETS.get(name, [defaults]):
        pts = list(points(name))
        ref = [
            (value(name, prm, x, y), grad(name, prm, x, y), hessian(name, prm, x, y))
            for x, y in pts
        ]
        # the size of each quantity over the box: the floor of the relative test
        fs = max(abs(r[0]) for r in ref) * 1e-4
        gs = max(float(np.abs(r[1]).max()) for r in ref) * 1e-4
        hs = max(float(np.abs(r[2]).max()) for r in ref) * 1e-4
        for (x, y), (f, g, h) in zip(pts, ref, strict=True):
            assert close(formula.f(x, y, prm), f, fs), (name, prm, x, y)
            tg = formula.grad(x, y, prm)
            th = formula.hess(x, y, prm)
            for k in range(2):
                assert close(float(tg[k]), float(g[k]), gs), (name, prm, x, y, k, tg, g)
            for i, j in ((0, 0), (0, 1), (1, 1)):
                assert close(float(th[i, j]), float(h[i, j]), hs), (name, prm, x, y, th, h)


def test_typed_rosenbrock_is_exact_at_the_start_and_minimum() -> None:
    formula = parse_formula(*TYPED["rosenbrock"])
    assert formula.f(-1.5, 2.0) == value("rosenbrock", None, -1.5, 2.0) == 12.5
    assert list(formula.grad(-1.5, 2.0)) == [-155.0, -50.0]
    assert formula.hess(-1.5, 2.0).tolist() == [[1902.0, 600.0], [600.0, 200.0]]
    assert formula.f(1.0, 1.0) == 0.0 and list(formula.grad(1.0, 1.0)) == [0.0, 0.0]


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "himmelblau"])
def test_adam_trajectories_of_typed_and_built_in_agree(name: str) -> None:
    """1,000 Adam steps (lr 0.01, Python-side) on the typed formula and on the built-in
    landscape stay within 1e-10 of each other."""
    text, defaults = TYPED[name]
    formula = parse_formula(text, defaults)
    start = LANDSCAPES[name].start
    paths = []
    for typed in (True, False):
        x = np.array(start, dtype=float)
        m = np.zeros(2)
        v = np.zeros(2)
        path = []
        for t in range(1, 1001):
            g = formula.grad(*x) if typed else grad(name, None, *x)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            x = x - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            path.append(x.copy())
        paths.append(np.array(path))
    assert np.all(np.isfinite(paths[0]))
    assert np.max(np.abs(paths[0] - paths[1])) <= 1e-10


# ---------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "x", "y", "expected"),
    [
        ("1e-3 + x", 2.0, 0.0, 2.001),
        ("x1 * x2", 3.0, 4.0, 12.0),
        ("-x**2", 3.0, 0.0, -9.0),  # Python's precedence: -(x**2)
        ("2**-x", 1.0, 0.0, 0.5),
        ("x^2 + y^3", 2.0, 2.0, 12.0),
        ("(x^2)^3", 2.0, 0.0, 64.0),
        ("x - y - 1", 5.0, 1.0, 3.0),  # left associative
        ("x / y / 2", 8.0, 2.0, 2.0),
        (".5*x + 1.*y + 1E1", 2.0, 1.0, 12.0),
        ("pi + e", 0.0, 0.0, math.pi + math.e),
        ("atan(x) - arctan(x) + sigmoid(0) + softplus(0)", 1.0, 0.0, 0.5 + math.log(2.0)),
        ("min(x, y, 3) + max(x, y, -1)", 5.0, 4.0, 8.0),
        ("abs(x) + sqrt(y) + log(e) + log1p(0) + exp(0)", -2.0, 9.0, 7.0),
        ("tanh(0) + sinh(0) + cosh(0) + tan(0) + sin(0) + cos(0)", 0.0, 0.0, 2.0),
        ("x − y·2 × 1", 5.0, 1.0, 3.0),  # typographic minus, times
        ("  x\t+\ny ", 1.0, 2.0, 3.0),
    ],
)
def test_grammar(text: str, x: float, y: float, expected: float) -> None:
    assert parse_formula(text).f(x, y) == pytest.approx(expected, rel=1e-15)


def test_parameters_are_slots_of_the_program() -> None:
    formula = parse_formula("a*x + c", {"a": 2.0, "b": 5.0, "c": 1.0})
    assert formula.params == {"a": 2.0, "b": 5.0, "c": 1.0}
    assert formula.params_used == ("a", "c")
    assert formula.f(3.0, 0.0) == 7.0
    assert formula.f(3.0, 0.0, {"a": -1.0}) == -2.0
    prog = formula.program()
    prog[formula.param_slot("c")] = 10.0  # a slider: one float, nothing recompiled
    assert formula_f(prog, 3.0, 0.0) == 16.0
    with pytest.raises(FormulaError, match=r"unknown parameter 'd'; .* a, b, c"):
        formula.program({"d": 1.0})


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("x + sinn(y)", 5, "unknown function 'sinn' at column 5; did you mean sin?"),
        ("x**y**z", 5, "x**y**z: powers nest too deep at column 5"),
        ("x**2 + (y - 1)) * 3 + ", 15, "unmatched ')' at column 15"),
        ("sin(x) + y * / 2 + 1", 14, "expected a number or a name at column 14"),
        ("x + ", 5, "ends too early at column 5"),
        ("(x + y", 1, "'(' at column 1 is never closed"),
        ("2x", 2, "missing operator at column 2"),
        ("x + z", 5, "unknown name 'z' at column 5"),
        ("x + bb", 5, "unknown name 'bb' at column 5; did you mean b?"),
        ("sin + 1", 1, "sin at column 1 needs an argument"),
        ("x(y)", 1, "'x' at column 1 is not a function"),
        ("sin(x, y)", 1, "sin at column 1 takes one argument, got 2"),
        ("max(x)", 1, "max at column 1 takes two or more arguments"),
        ("x, y", 2, "',' at column 2 outside a function call"),
        ("", 1, "the formula is empty"),
        ("   ", 1, "the formula is empty"),
        ("1e400 * x", 1, "the number 1e400 at column 1 is too large"),
        ("x**1001", 4, "exponent 1001 at column 4 is too large"),
        ("x**-2000.5", 4, "exponent -2000.5 at column 4 is too large"),
        ("2**(2**(2**x))", 10, "powers nest too deep at column 10"),
        ("x % 2", 3, "unexpected '%' at column 3"),
        ("x if y else 1", 3, "'if' at column 3 is a Python keyword"),
        ("b.real", 2, "attribute access is not allowed"),
        ("x\x00", 2, "unexpected '\\x00' at column 2"),
    ],
)
def test_errors_name_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula(text, {"b": 1.0})
    e = info.value
    assert e.column == column
    assert message in e.message
    lines = str(e).splitlines()
    assert lines[0] == e.message
    # the caret line puts the caret under the column's character of the quoted formula
    under = lines[1][lines[2].index("^")] if len(lines[1]) > lines[2].index("^") else ""
    if column <= len(text) and text[column - 1].isprintable():
        assert under == text[column - 1]


def test_error_message_quotes_a_window_of_a_long_formula() -> None:
    text = "x + " * 200 + "sinn(y)"
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    quoted, caret = str(info.value).splitlines()[1:]
    assert len(quoted) < 140 and quoted.strip().startswith("…")
    assert quoted[caret.index("^") :].startswith("sinn(y)")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sin": 1.0}, "parameter name 'sin' is taken"),
        ({"x1": 1.0}, "parameter name 'x1' is taken"),
        ({"for": 1.0}, "parameter name 'for' is taken"),
        ({"2a": 1.0}, "is not a name"),
        ({"a": math.nan}, "not a finite number"),
        ({"a": "one"}, "is not a number"),
    ],
)
def test_bad_parameters(params: dict[str, Any], message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse_formula("x", params)


def test_limits() -> None:
    ok = "x" + "+x" * ((MAX_LENGTH - 1) // 2)
    assert len(ok) <= MAX_LENGTH
    assert parse_formula(ok).f(1.0, 0.0) == float((MAX_LENGTH + 1) // 2)
    with pytest.raises(FormulaError, match="2,001 characters long; the limit is 2,000") as info:
        parse_formula(ok + "+x")
    assert info.value.column == MAX_LENGTH + 1
    deep = "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH
    assert parse_formula(deep).f(2.0, 0.0) == 2.0
    with pytest.raises(FormulaError, match="nesting too deep at column 51"):
        parse_formula("(" + deep + ")")
    with pytest.raises(FormulaError, match="nesting too deep"):
        parse_formula("-" * 60 + "x")
    with pytest.raises(FormulaError, match="nesting too deep"):
        parse_formula("sin(" * 60 + "x" + ")" * 60)


ATTACKS = [
    ("__import__('os').system('touch pwned')", 1, "unknown function '__import__'"),
    ("().__class__.__bases__[0].__subclasses__()", 2, "expected a number or a name"),
    ("x.real", 2, "attribute access is not allowed"),
    ("[x for x in y]", 1, "subscripts and lists are not allowed"),
    ("lambda: 1", 1, "'lambda' at column 1 is a Python keyword"),
    ("9**9**9**9", 5, "powers nest too deep"),
    ("x**99999999999", 4, "exponent 99999999999 at column 4 is too large"),
    ("(" * 100_000 + "x" + ")" * 100_000, MAX_LENGTH + 1, "the limit is 2,000"),
    ("x+" * 500_000 + "x", MAX_LENGTH + 1, "the limit is 2,000"),
    ("open('f').read()", 1, "unknown function 'open' at column 1"),
    ("globals()", 1, "unknown function 'globals'"),
    ("x; import os", 2, "a formula is one expression"),
    ("{x: 1}", 1, "sets and dicts are not allowed"),
    ("f'{x}'", 1, "unknown name 'f' at column 1"),
    ("x'{x}'", 2, "strings are not allowed"),
    ("x @ y", 3, "unexpected '@' at column 3"),
]


@pytest.mark.parametrize(("text", "column", "message"), ATTACKS)
def test_attacks_are_refused_with_the_column_and_nothing_runs(
    text: str, column: int, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("the parser ran Python code")

    monkeypatch.chdir(tmp_path)
    error: FormulaError | None = None
    with monkeypatch.context() as m:
        for fn in ("eval", "exec", "compile"):
            m.setattr(builtins, fn, refuse)
        try:
            parse_formula(text)
        except FormulaError as e:
            error = e
    assert error is not None
    assert error.column == column
    assert message in error.message
    assert list(tmp_path.iterdir()) == []


def test_towers_fold_without_hanging() -> None:
    # (9**9)**9 folds in floats; one more power overflows and is left to give inf
    assert parse_formula("(9**9)**9 + x").f(0.0, 0.0) == pytest.approx(9.0**81)
    f = parse_formula("((9**9)**9)**9 * x")
    assert math.isinf(f.f(1.0, 0.0))
    assert math.isnan(f.f(0.0, 0.0))  # inf * 0


def test_overflow_and_domain_errors_give_inf_or_nan() -> None:
    f = parse_formula("exp(exp(exp(exp(x))))")
    assert math.isinf(f.f(1.0, 0.0))
    assert not np.all(np.isfinite(f.grad(1.0, 0.0)))
    assert f.f(-5.0, 0.0) == pytest.approx(math.exp(math.exp(math.exp(math.exp(-5.0)))))
    assert math.isnan(parse_formula("log(x)").f(-1.0, 0.0))
    assert math.isinf(parse_formula("1/x").f(0.0, 0.0))
    assert math.isnan(parse_formula("sqrt(x)").f(-1.0, 0.0))
    assert math.isinf(parse_formula("sqrt(x)").grad(0.0, 0.0)[0])
    assert math.isnan(parse_formula("x**0.5").f(-2.0, 0.0))
    assert math.isinf(parse_formula("x**1000").f(10.0, 0.0))


# ---------------------------------------------------------------------------- derivatives


@pytest.mark.parametrize(
    ("text", "gradient", "hessian"),
    [
        ("x**2*y", ("2*(x*y)", "x**2"), ("2*y", "2*x", "0")),
        ("sin(x)", ("cos(x)", "0"), ("-sin(x)", "0", "0")),
        ("exp(2*x)", ("2*exp(2*x)", "0"), ("4*exp(2*x)", "0", "0")),
        ("log(x) + y", ("1/x", "1"), ("-(1/x/x)", "0", "0")),
        ("a*x + b", ("a", "0"), ("0", "0", "0")),
        ("x**n", ("n*x**(n - 1)", "0"), ("n*((n - 1)*x**(n - 1 - 1))", "0", "0")),
    ],
)
def test_derivative_texts(text: str, gradient: tuple[str, str], hessian: tuple[str, ...]) -> None:
    f = parse_formula(text, {"a": 1.0, "b": 2.0, "n": 3.0})
    assert f.gradient_text() == gradient
    assert f.hessian_text() == hessian


def test_simplifier() -> None:
    cases = {
        "x*1 + 0 + 0*y": "x",
        "x - x + y": "y",
        "--x": "x",
        "2*(3*x)": "6*x",
        "x*x": "x**2",
        "e**x": "exp(x)",
        "x**1 + x**0": "x + 1",
        "-(x - y)": "y - x",
        "x + -2*y": "x - 2*y",
        "2*x + 2*y - 2*x*y": "2*(x + y - x*y)",  # powers of two factor out (exact)
        "3*x + 3*y": "3*x + 3*y",
        "2 + 3*4 - 2**3": "6",
        "1/0 + x": "1/0 + x",  # left to give inf at run time
    }
    for text, simplified in cases.items():
        assert parse_formula(text).f_text() == simplified, text


ROUND_TRIP = [
    "(a - x)**2 + b*(y - x**2)**2",
    "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    "sin(x)*exp(-y**2) + sigmoid(x*y) + softplus(y) + log(1 + x**2) + sqrt(2 + y**2)",
    "x**y + 2**x + x**0.5 + x**-3 + tanh(x/y) - cosh(y)/sinh(x) + atan(x - y)",
    "-(x + y)**2 - -x*(y - 1e-3) + 1e20*x/(-y) + pi*x - e",
    "x - (y - (x - y)) + x/(y/x) + (x*y)*(x*y*x)",
    "abs(x - y) + log1p(x**2) * tan(y)",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_printer_round_trip(text: str) -> None:
    params = {"a": 1.0, "b": 100.0}
    f = parse_formula(text, params)
    texts = [f.f_text(), *f.gradient_text(), *f.hessian_text()]
    pts = [(0.7, 1.3), (-1.1, 0.4), (2.5, -0.8)]
    for k, t in enumerate(texts):
        again = parse_formula(t, params)
        assert again.f_text() == t  # printing is a fixed point
        for x, y in pts:
            out = formula_fgh(f.program(), x, y, True)
            want = out[[0, 1, 2, 3, 4, 5][k]]
            got = again.f(x, y)
            assert got == want or (math.isnan(got) and math.isnan(want)), (t, x, y)


def test_derivatives_of_kinks() -> None:
    f = parse_formula("abs(x) + min(x, y) + max(x, 2*y)")
    assert list(f.grad(3.0, 1.0)) == [1.0 + 0.0 + 1.0, 1.0 + 0.0]
    assert list(f.grad(-3.0, 1.0)) == [-1.0 + 1.0 + 0.0, 0.0 + 2.0]
    assert list(f.grad(0.0, 5.0)) == [0.0 + 1.0 + 0.0, 2.0]
    assert np.all(f.hess(3.0, 1.0) == 0.0)
    g = parse_formula("abs(x)")
    assert math.isnan(g.f(math.nan, 0.0)) and math.isnan(g.grad(math.nan, 0.0)[0])


def test_fused_instructions_round_like_separate_ones() -> None:
    """A product and a sum run as one instruction, rounded twice (no fused multiply-add:
    the typed formula computes what Python computes)."""
    x, y = 1.0 + 2.0**-30, 1.0 - 2.0**-30  # x*y rounds to 1.0; an FMA would keep -2**-60
    for text, want in [("x*y - 1", x * y - 1.0), ("1 - x*y", 1.0 - x * y), ("x*y + -1", 0.0)]:
        f = parse_formula(text)
        assert sum(f.n_instructions[:1]) == 1, text
        assert f.f(x, y) == want == 0.0, text
    assert parse_formula("(x + 1)**2 - y").n_instructions[0] == 2  # x+1; (x+1)*(x+1) - y


def test_too_large_for_the_registers_or_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = " + ".join(f"sin({k}*x + y)" for k in range(1, 30))
    monkeypatch.setattr(K, "NREG", 16)
    with pytest.raises(FormulaError, match=r"too large to differentiate and run: .* registers"):
        parse_formula(text)
    monkeypatch.undo()
    f = parse_formula(text)
    import engine.formula.formula as module

    monkeypatch.setattr(module, "TEXT_BUDGET", 50)
    assert f.gradient_text()[0] == module.TOO_LONG
    assert parse_formula("x*y").gradient_text() == ("y", "x")


def test_repeated_work_is_shared() -> None:
    # exp(u) is its own derivative's factor: one exp in f, none more in the gradient
    f = parse_formula("exp(x*y)")
    nf, ng, _ = f.n_instructions
    assert (nf, ng) == (2, 2)  # x*y, exp; y*exp, x*exp


# ---------------------------------------------------------------------------- interpreter


def test_hess_false_leaves_the_hessian_zero_and_f_is_the_same_bits() -> None:
    f = parse_formula("sin(x*y) + x**3")
    prog = f.program()
    out = formula_fgh(prog, 0.3, 0.7, False)
    assert out[3:] == (0.0, 0.0, 0.0)
    full = formula_fgh(prog, 0.3, 0.7, True)
    assert full[:3] == out[:3] and full[3] != 0.0
    assert formula_f(prog, 0.3, 0.7) == out[0]


def test_a_malformed_program_gives_nan_not_a_crash() -> None:
    prog = parse_formula("x*y").program()
    for bad in (np.zeros(4), np.zeros(K.HEADER), prog[: len(prog) - 1], np.full(64, 1e300)):
        assert all(math.isnan(v) for v in formula_fgh(bad, 1.0, 2.0, True))
    corrupt = prog.copy()
    corrupt[K.HEADER + int(prog[K.N_INIT]) :] = 2.0**46 - 1.0  # every field at its maximum
    formula_fgh(corrupt, 1.0, 2.0, True)  # registers are masked: no out-of-bounds access


def test_large_formula_fits_the_registers() -> None:
    terms = " + ".join(f"sin({k}*x + y/{k})*exp(-(x - {k % 7})**2/{k})" for k in range(1, 45))
    f = parse_formula(terms)
    assert f.compiled.n_registers <= K.NREG
    x, y = 0.3, -0.2
    want = sum(math.sin(k * x + y / k) * math.exp(-((x - k % 7) ** 2) / k) for k in range(1, 45))
    assert f.f(x, y) == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("fn", ["formula_fgh", "formula_f"])
def test_interpreter_allocates_nothing_and_calls_only_libm(fn: str) -> None:
    """Registers are a stack array: no NRT allocation or reference counting, and every
    call left in the compiled interpreter is a libm function."""
    fresh = numba.jit(**{**JIT_OPTIONS, "cache": False, "_nrt": False})(getattr(K, fn).py_func)
    prog = parse_formula("x").program()
    if fn == "formula_fgh":
        fresh(prog, 0.0, 0.0, True)
    else:
        fresh(prog, 0.0, 0.0)
    ir = fresh.inspect_llvm(fresh.signatures[0])
    start = ir.index("define")
    body = ir[start : ir.index("\n}", start)]  # the function itself, not its wrappers
    assert "NRT_" not in body
    calls = [ln for ln in body.splitlines() if " call " in ln and "@llvm." not in ln]
    libm = ("@sin(", "@cos(", "@tan(", "@exp(", "@log(", "@log1p(", "@tanh(", "@sinh(")
    libm += ("@cosh(", "@atan(", "@pow(", "@sqrt(")
    assert calls and all(any(m in ln for m in libm) for ln in calls), calls
