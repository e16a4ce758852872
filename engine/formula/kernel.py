"""The formula interpreter: one numba function evaluates any compiled formula.

A formula is data, a float64 program (``engine.formula.program`` builds it), so a
typed formula never compiles anything: the interpreter is compiled once, ever.

Program layout (all entries float64; integers are exactly representable):

* ``prog[0:HEADER]``: ``N_INIT`` values copied to registers 2.. (the parameters'
  slots first, then the constants), the instruction counts of the three segments
  (``N_F`` for f, ``N_G`` for the rest of the gradient, ``N_H`` for the rest of the
  Hessian) and the six output registers (``OUT``: f, gx, gy, hxx, hxy, hyy);
* ``prog[HEADER:HEADER + N_INIT]``: the initial register values (registers 0 and 1
  hold x and y);
* then the instructions, one float each: ``op | d << 6 | a << 16 | b << 26 | c << 36``
  (``ops`` opcode, destination and argument registers; 46 bits, exact in a double).

Registers live in a fixed stack array of :data:`NREG` doubles (no allocation; every
register index is masked to ``NREG - 1``, and the header is checked against the
array's length, so no program, however corrupted, reads or writes out of bounds).
An operation outside its domain gives NaN or inf, as IEEE arithmetic does (log of a
negative, 0/0): the race marks the racer diverged. Nothing here raises.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba.core import cgutils

from engine.formula import ops
from engine.jit import intrinsic, jit_hot, jit_inline, jit_kernel

NREG = 1024  # registers; indices are 10-bit fields
REG_MASK = NREG - 1
HEADER = 16
N_INIT = 0
N_F = 1
N_G = 2
N_H = 3
OUT = 4  # 4..9: the output registers of f, gx, gy, hxx, hxy, hyy
N_PARAMS = 10
MAGIC = 15
MAGIC_VALUE = 14.0  # issue #14's programs (a landscape's packed parameters never match)

F6 = tuple[float, float, float, float, float, float]


def _stack_registers_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    arrty = signature.return_type
    n = context.get_constant(numba.types.intp, NREG)
    ptr = cgutils.alloca_once(builder, context.get_value_type(numba.types.float64), size=n)
    ary = context.make_array(arrty)(context, builder)
    itemsize = context.get_constant(numba.types.intp, 8)
    context.populate_array(
        ary, data=ptr, shape=[n], strides=[itemsize], itemsize=itemsize, meminfo=None
    )
    return ary._getvalue()


@intrinsic
def stack_registers(typingctx: Any) -> Any:
    """``stack_registers()`` in jitted code: a float64 array of :data:`NREG` elements on
    the caller's stack (uninitialised, no allocation, no reference counting)."""
    return numba.types.Array(numba.types.float64, 1, "C")(), _stack_registers_codegen


@jit_hot
def formula_eval(prog: np.ndarray, x0: float, x1: float, segments: int) -> F6:
    """Run the first ``segments`` segments (1: f, 2: and the gradient, 3: and the
    Hessian) of ``prog`` at ``(x0, x1)``; outputs not computed are 0.0. A malformed
    header gives NaN everywhere."""
    nan = math.nan
    size = prog.shape[0]
    if size < HEADER or prog[MAGIC] != MAGIC_VALUE:
        return nan, nan, nan, nan, nan, nan
    n_init = int(prog[N_INIT])
    n = int(prog[N_F])
    if segments >= 2:
        n += int(prog[N_G])
    if segments >= 3:
        n += int(prog[N_H])
    if not (0 <= n_init <= NREG - 2 and n >= 0 and HEADER + n_init + n <= size):
        return nan, nan, nan, nan, nan, nan
    r = stack_registers()
    r[0] = x0
    r[1] = x1
    for i in range(n_init):
        r[2 + i] = prog[HEADER + i]
    pc = HEADER + n_init
    for k in range(n):
        w = int(prog[pc + k])
        op = w & 63
        d = (w >> 6) & REG_MASK
        a = (w >> 16) & REG_MASK
        b = (w >> 26) & REG_MASK
        if op == ops.MUL:
            r[d] = r[a] * r[b]
        elif op == ops.MULADD:
            r[d] = r[a] * r[b] + r[(w >> 36) & REG_MASK]
        elif op == ops.MULSUB:
            r[d] = r[a] * r[b] - r[(w >> 36) & REG_MASK]
        elif op == ops.SUBMUL:
            r[d] = r[(w >> 36) & REG_MASK] - r[a] * r[b]
        elif op == ops.ADD:
            r[d] = r[a] + r[b]
        elif op == ops.SUB:
            r[d] = r[a] - r[b]
        elif op == ops.SQ:
            v = r[a]
            r[d] = v * v
        elif op == ops.DIV:
            r[d] = r[a] / r[b]
        elif op == ops.NEG:
            r[d] = -r[a]
        elif op == ops.POWI:
            r[d] = _powi(r[a], r[b])
        elif op == ops.POW:
            r[d] = r[a] ** r[b]
        elif op == ops.SIN:
            r[d] = math.sin(r[a])
        elif op == ops.COS:
            r[d] = math.cos(r[a])
        elif op == ops.TAN:
            r[d] = math.tan(r[a])
        elif op == ops.EXP:
            r[d] = math.exp(r[a])
        elif op == ops.LOG:
            r[d] = math.log(r[a])
        elif op == ops.LOG1P:
            r[d] = math.log1p(r[a])
        elif op == ops.SQRT:
            r[d] = math.sqrt(r[a])
        elif op == ops.ABS:
            r[d] = abs(r[a])
        elif op == ops.TANH:
            r[d] = math.tanh(r[a])
        elif op == ops.SINH:
            r[d] = math.sinh(r[a])
        elif op == ops.COSH:
            r[d] = math.cosh(r[a])
        elif op == ops.ATAN:
            r[d] = math.atan(r[a])
        elif op == ops.SIGMOID:
            v = r[a]
            if v >= 0.0:
                r[d] = 1.0 / (1.0 + math.exp(-v))
            else:
                z = math.exp(v)
                r[d] = z / (1.0 + z)
        elif op == ops.SOFTPLUS:
            v = r[a]
            r[d] = max(v, 0.0) + math.log1p(math.exp(-abs(v)))
        elif op == ops.MIN:
            u = r[a]
            v = r[b]
            r[d] = u if u <= v else (v if v < u else u + v)
        elif op == ops.MAX:
            u = r[a]
            v = r[b]
            r[d] = u if u >= v else (v if v > u else u + v)
        elif op == ops.SIGN:
            v = r[a]
            r[d] = 1.0 if v > 0.0 else (-1.0 if v < 0.0 else v)
        elif op == ops.LE:
            r[d] = 1.0 if r[a] <= r[b] else 0.0
        elif op == ops.SEL:
            r[d] = r[b] if r[a] != 0.0 else r[(w >> 36) & REG_MASK]
        else:
            r[d] = nan
    f = r[int(prog[OUT]) & REG_MASK]
    g0 = g1 = h00 = h01 = h11 = 0.0
    if segments >= 2:
        g0 = r[int(prog[OUT + 1]) & REG_MASK]
        g1 = r[int(prog[OUT + 2]) & REG_MASK]
    if segments >= 3:
        h00 = r[int(prog[OUT + 3]) & REG_MASK]
        h01 = r[int(prog[OUT + 4]) & REG_MASK]
        h11 = r[int(prog[OUT + 5]) & REG_MASK]
    return f, g0, g1, h00, h01, h11


@jit_inline
def _powi(a: float, e: float) -> float:
    """``a ** e`` for an integer-valued ``e``, by repeated squaring when |e| is at most
    POWI_MAX (``a*a`` for 2: the same bits as the product), else libm's pow."""
    if not (-ops.POWI_MAX <= e <= ops.POWI_MAX):
        return float(a**e)
    m = int(abs(e))
    acc = 1.0
    base = a
    first = True
    while m > 0:
        if m & 1:
            acc = base if first else acc * base
            first = False
        m >>= 1
        if m > 0:
            base = base * base
    return 1.0 / acc if e < 0.0 else acc


@jit_hot
def formula_fgh(prog: np.ndarray, x0: float, x1: float, hess: bool) -> F6:
    """``(f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)`` of the compiled formula ``prog``
    at ``(x0, x1)``; the Hessian entries only when ``hess`` (else 0.0). The formula
    counterpart of ``engine.landscapes.landscape_fgh``."""
    segments = 3 if hess else 2
    return formula_eval(prog, x0, x1, segments)


@jit_hot
def formula_f(prog: np.ndarray, x0: float, x1: float) -> float:
    """f of the compiled formula ``prog`` at ``(x0, x1)`` (the same bits as formula_fgh's)."""
    # np.int64: not a literal 1, for which numba would compile formula_eval once more
    return formula_eval(prog, x0, x1, np.int64(1))[0]  # type: ignore[arg-type]


@jit_kernel
def formula_fgh_called(prog: np.ndarray, x0: float, x1: float, hess: bool) -> F6:
    """:func:`formula_fgh` compiled as a function of its own, called (not inlined): what
    the landscape dispatchers call, so the interpreter is typed, lowered and optimised
    once instead of once more inside every kernel that evaluates a landscape (the race
    kernel's cold compile)."""
    return formula_fgh(prog, x0, x1, hess)


@jit_kernel
def formula_f_called(prog: np.ndarray, x0: float, x1: float) -> float:
    """:func:`formula_f`, called rather than inlined (see :func:`formula_fgh_called`)."""
    return formula_f(prog, x0, x1)
