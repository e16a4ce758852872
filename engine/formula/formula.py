"""A typed formula: parsed, differentiated exactly, compiled to an interpreter program."""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.formula import ops
from engine.formula.errors import FormulaError
from engine.formula.graph import Graph, GraphTooLarge
from engine.formula.kernel import formula_fgh
from engine.formula.parser import _NAME, RESERVED, Parser
from engine.formula.program import Program, ProgramTooLarge, compile_program

MAX_GRAPH_NODES = 200_000  # f, gradient and Hessian together
TEXT_BUDGET = 20_000  # characters of a derivative shown as text
TOO_LONG = "(too long to show)"


@dataclass(frozen=True, eq=False)
class Formula:
    """A parsed formula with its exact gradient and Hessian (:func:`parse_formula`).

    ``params`` are the declared parameters and their default values, in slot order;
    ``params_used`` those the text names, in order of first use.
    """

    text: str
    params: dict[str, float]
    params_used: tuple[str, ...]
    compiled: Program = field(repr=False)
    _graph: Graph = field(repr=False)
    _nodes: tuple[int, int, int, int, int, int] = field(repr=False)

    # ------------------------------------------------------------------ program

    def param_slot(self, name: str) -> int:
        """The index of parameter ``name``'s value in :meth:`program`'s array."""
        if name not in self.params:
            raise self._unknown_param(name)
        return Program.slot(list(self.params).index(name))

    def program(self, param_values: Mapping[str, float] | None = None) -> np.ndarray:
        """The float64 program that ``formula_fgh``/``formula_f`` evaluate, with the
        parameters' values (``param_values`` over the defaults). A new array each call."""
        values = dict(self.params)
        for name, v in (param_values or {}).items():
            if name not in self.params:
                raise self._unknown_param(name)
            v = float(v)
            if not math.isfinite(v):
                raise FormulaError(f"parameter {name} = {v} is not a finite number", self.text)
            values[name] = v
        return self.compiled.with_params(list(values.values()))

    def _unknown_param(self, name: str) -> FormulaError:
        known = ", ".join(self.params) or "none"
        return FormulaError(
            f"unknown parameter '{name}'; the formula's parameters are: {known}", self.text
        )

    @property
    def n_instructions(self) -> tuple[int, int, int]:
        """Instructions of the f, gradient and Hessian segments."""
        return self.compiled.counts

    # ------------------------------------------------------------------ text

    def _name(self, kind: int, val: float) -> str:
        if kind == ops.VAR:
            return "x" if val == 0.0 else "y"
        return list(self.params)[int(val)]

    def _text(self, node: int) -> str:
        s = self._graph.text(node, self._name, TEXT_BUDGET)
        return TOO_LONG if s is None else s

    def f_text(self) -> str:
        """f as simplified formula text (constants folded), parseable back."""
        return self._text(self._nodes[0])

    def gradient_text(self) -> tuple[str, str]:
        """``(∂f/∂x, ∂f/∂y)`` as formula text (TOO_LONG past TEXT_BUDGET characters).
        Parseable back, bar the derivatives of abs, min and max (``sign(u)`` parses,
        ``(a if u <= v else b)`` does not)."""
        return self._text(self._nodes[1]), self._text(self._nodes[2])

    def hessian_text(self) -> tuple[str, str, str]:
        """``(∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)`` as formula text (as gradient_text)."""
        return self._text(self._nodes[3]), self._text(self._nodes[4]), self._text(self._nodes[5])

    # ------------------------------------------------------------------ evaluation

    def _fgh(
        self, x: float, y: float, params: Mapping[str, float] | None, hess: bool
    ) -> tuple[float, float, float, float, float, float]:
        out = formula_fgh(self.program(params), float(x), float(y), hess)
        return (out[0], out[1], out[2], out[3], out[4], out[5])

    def f(self, x: float, y: float, params: Mapping[str, float] | None = None) -> float:
        """f at ``(x, y)`` (through the interpreter)."""
        return float(self._fgh(x, y, params, False)[0])

    def grad(self, x: float, y: float, params: Mapping[str, float] | None = None) -> np.ndarray:
        """The gradient (shape (2,)) at ``(x, y)``."""
        r = self._fgh(x, y, params, False)
        return np.array([r[1], r[2]])

    def hess(self, x: float, y: float, params: Mapping[str, float] | None = None) -> np.ndarray:
        """The Hessian (shape (2, 2)) at ``(x, y)``."""
        r = self._fgh(x, y, params, True)
        return np.array([[r[3], r[4]], [r[4], r[5]]])


def _check_params(text: str, params: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, v in params.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise FormulaError(f"parameter name {name!r} is not a name (letters, digits, _)", text)
        if name in RESERVED or keyword.iskeyword(name) or keyword.issoftkeyword(name):
            raise FormulaError(
                f"parameter name '{name}' is taken (x, y, x1, x2, pi, e, the functions and "
                "Python's keywords are)",
                text,
            )
        try:
            value = float(v)
        except (TypeError, ValueError):
            raise FormulaError(f"parameter {name} = {v!r} is not a number", text) from None
        if not math.isfinite(value):
            raise FormulaError(f"parameter {name} = {v!r} is not a finite number", text)
        out[name] = value
    return out


def parse_formula(text: str, params: Mapping[str, float] | None = None) -> Formula:
    """Parse ``text`` (a formula in x and y and the names of ``params``, which maps each
    parameter to its default value), derive its gradient and Hessian and compile them.

    Raises :class:`FormulaError` (and nothing else) for any text that is not a formula
    of the grammar (``engine.formula.parser``) or is too large.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula is text, not {type(text).__name__}", repr(text))
    declared = _check_params(text, params or {})
    try:
        g = Graph(limit=MAX_GRAPH_NODES)
        parsed = Parser(text, g, list(declared)).parse()
        f = parsed.root
        gx = g.derivative(f, 0)
        gy = g.derivative(f, 1)
        hxx = g.derivative(gx, 0)
        hxy = g.derivative(gx, 1)
        hyy = g.derivative(gy, 1)
        nodes = (f, gx, gy, hxx, hxy, hyy)
        prog = compile_program(g, nodes, len(declared))
    except (GraphTooLarge, ProgramTooLarge) as e:
        raise FormulaError(
            f"the formula is too large to differentiate and run: {e}", text
        ) from None
    except (RecursionError, MemoryError):
        raise FormulaError("the formula is too complex", text) from None
    return Formula(text, declared, tuple(parsed.params_used), prog, g, nodes)
