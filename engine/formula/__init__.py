"""Typed formula landscapes (issue #14): a 2-D formula typed by the user, parsed by a
real parser (never evaluated as Python), differentiated exactly, and raced without
compiling anything.

* :func:`parse_formula` ``(text, params) -> Formula``: ``params`` maps the parameter
  names the text may use to their default values. Any problem raises
  :class:`FormulaError` (``.message``, 1-based ``.column``; ``str()`` quotes the
  formula with a caret under the column) and nothing else.
* ``Formula.program(param_values) -> np.ndarray``: the float64 program, the
  formula's ``lp``: the parameters' values sit at ``Formula.param_slot(name)``, so a
  slider writes one float and nothing is recompiled.
* :func:`formula_fgh` ``(prog, x0, x1, hess) -> (f, gx, gy, hxx, hxy, hyy)`` and
  :func:`formula_f` ``(prog, x0, x1) -> f``: the numba interpreter (``jit_hot``, no
  allocation, never raises: out-of-domain points give NaN/inf), the counterparts of
  ``landscape_fgh``/``landscape_f``.
* ``Formula.f_text()``, ``gradient_text()``, ``hessian_text()``: the simplified
  formula and its derivatives as text; ``Formula.f/grad/hess`` evaluate from Python.

Modules: ``parser`` (grammar, limits, messages), ``graph`` (hash-consed nodes,
simplification, derivatives, printer), ``program`` (compiler), ``kernel``
(interpreter), ``formula`` (the API).
"""

from __future__ import annotations

from engine.formula.errors import FormulaError
from engine.formula.formula import Formula, parse_formula
from engine.formula.kernel import formula_f, formula_fgh
from engine.formula.parser import MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "Formula",
    "FormulaError",
    "formula_f",
    "formula_fgh",
    "parse_formula",
]
