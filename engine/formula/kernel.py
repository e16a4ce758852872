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
def formula_setup(prog: np.ndarray, r: np.ndarray, segments: int) -> tuple[int, ...]:
    """Check ``prog``'s header and copy its parameters and constants into the registers
    ``r`` (what every evaluation of ``prog`` reads and none writes: a caller evaluating
    it many times sets up once). Returns ``(pc, n, o_f, o_gx, o_gy, o_hxx, o_hxy,
    o_hyy)``: the first instruction, how many run for ``segments`` segments (1: f,
    2: and the gradient, 3: and the Hessian; -1: a malformed header) and the output
    registers."""
    size = prog.shape[0]
    if size < HEADER or prog[MAGIC] != MAGIC_VALUE:
        return 0, -1, 0, 0, 0, 0, 0, 0
    n_init = int(prog[N_INIT])
    n = int(prog[N_F])
    if segments >= 2:
        n += int(prog[N_G])
    if segments >= 3:
        n += int(prog[N_H])
    if not (0 <= n_init <= NREG - 2 and n >= 0 and HEADER + n_init + n <= size):
        return 0, -1, 0, 0, 0, 0, 0, 0
    for i in range(n_init):
        r[2 + i] = prog[HEADER + i]
    o = OUT
    return (
        HEADER + n_init,
        n,
        int(prog[o]) & REG_MASK,
        int(prog[o + 1]) & REG_MASK,
        int(prog[o + 2]) & REG_MASK,
        int(prog[o + 3]) & REG_MASK,
        int(prog[o + 4]) & REG_MASK,
        int(prog[o + 5]) & REG_MASK,
    )


@jit_hot
def formula_eval(prog: np.ndarray, x0: float, x1: float, segments: int) -> F6:
    """Run the first ``segments`` segments (1: f, 2: and the gradient, 3: and the
    Hessian) of ``prog`` at ``(x0, x1)``; outputs not computed are 0.0. A malformed
    header gives NaN everywhere."""
    nan = math.nan
    r = stack_registers()
    pc, n, o0, o1, o2, o3, o4, o5 = formula_setup(prog, r, segments)
    if n < 0:
        return nan, nan, nan, nan, nan, nan
    formula_run(prog, r, pc, n, x0, x1)
    f = r[o0]
    g0 = g1 = h00 = h01 = h11 = 0.0
    if segments >= 2:
        g0 = r[o1]
        g1 = r[o2]
    if segments >= 3:
        h00 = r[o3]
        h01 = r[o4]
        h11 = r[o5]
    return f, g0, g1, h00, h01, h11


@jit_hot
def formula_run(prog: np.ndarray, r: np.ndarray, pc: int, n: int, x0: float, x1: float) -> None:
    """Run ``n`` instructions of ``prog`` from ``pc`` at ``(x0, x1)`` on the registers
    ``r`` (set up by :func:`formula_setup`)."""
    nan = math.nan
    r[0] = x0
    r[1] = x1
    # the last result stays in a machine register too: an operand that is the last
    # destination is read from there (the same value), not back from memory, which
    # takes a chain of dependent instructions off the store-to-load latency
    acc = 0.0
    last = -1
    for k in range(n):
        w = int(prog[pc + k])
        op = w & 63
        d = (w >> 6) & REG_MASK
        a = (w >> 16) & REG_MASK
        b = (w >> 26) & REG_MASK
        c = (w >> 36) & REG_MASK
        u = acc if a == last else r[a]
        v = acc if b == last else r[b]
        if op == ops.MUL:
            z = u * v
        elif op == ops.MUL3:
            z = (u * v) * (acc if c == last else r[c])
        elif op == ops.MULADD:
            z = u * v + (acc if c == last else r[c])
        elif op == ops.MULSUB:
            z = u * v - (acc if c == last else r[c])
        elif op == ops.SUBMUL:
            z = (acc if c == last else r[c]) - u * v
        elif op == ops.ADD:
            z = u + v
        elif op == ops.SUB:
            z = u - v
        elif op == ops.SQ:
            z = u * u
        elif op == ops.DIV:
            z = u / v
        elif op == ops.NEG:
            z = -u
        elif op == ops.POWI:
            z = _powi(u, v)
        elif op == ops.POW:
            z = u**v
        elif op == ops.SIN:
            z = math.sin(u)
        elif op == ops.COS:
            z = math.cos(u)
        elif op == ops.TAN:
            z = math.tan(u)
        elif op == ops.EXP:
            z = math.exp(u)
        elif op == ops.LOG:
            z = math.log(u)
        elif op == ops.LOG1P:
            z = math.log1p(u)
        elif op == ops.SQRT:
            z = math.sqrt(u)
        elif op == ops.ABS:
            z = abs(u)
        elif op == ops.TANH:
            z = math.tanh(u)
        elif op == ops.SINH:
            z = math.sinh(u)
        elif op == ops.COSH:
            z = math.cosh(u)
        elif op == ops.ATAN:
            z = math.atan(u)
        elif op == ops.SIGMOID:
            if u >= 0.0:
                z = 1.0 / (1.0 + math.exp(-u))
            else:
                e = math.exp(u)
                z = e / (1.0 + e)
        elif op == ops.SOFTPLUS:
            z = max(u, 0.0) + math.log1p(math.exp(-abs(u)))
        elif op == ops.MIN:
            z = u if u <= v else (v if v < u else u + v)
        elif op == ops.MAX:
            z = u if u >= v else (v if v > u else u + v)
        elif op == ops.SIGN:
            z = 1.0 if u > 0.0 else (-1.0 if u < 0.0 else u)
        elif op == ops.LE:
            z = 1.0 if u <= v else 0.0
        elif op == ops.SEL:
            z = v if u != 0.0 else (acc if c == last else r[c])
        else:
            z = nan
        r[d] = z
        acc = z
        last = d


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
