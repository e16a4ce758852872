"""Compile a formula's graph (f, its gradient and Hessian) into the interpreter's program.

The six output nodes are split into three segments of instructions, each in node
order (a topological order): what f needs, what the gradient needs beyond that, and
what the Hessian needs beyond both, so that ``formula_fgh(..., hess=False)`` stops
after the second and ``formula_f`` after the first. Every node is one instruction,
computed once (the graph shares common subexpressions). x and y are registers 0 and
1, the parameters registers 2.. (their values at fixed slots of the program: changing
a parameter is writing one float, no recompiling), the constants the next ones; the
temporaries reuse registers once their last reader has run (linear scan). A program
that needs more than ``NREG`` registers or MAX_INSTRUCTIONS instructions is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.formula import kernel as K
from engine.formula import ops
from engine.formula.graph import Graph

MAX_INSTRUCTIONS = 50_000
_LEAVES = (ops.CONST, ops.VAR, ops.PARAM)


class ProgramTooLarge(Exception):
    """The formula needs more registers or instructions than the interpreter has."""


@dataclass(frozen=True)
class Program:
    """A compiled formula: ``template`` is the program with the parameters' slots
    zeroed (``slot(k)`` is parameter k's index in it)."""

    template: np.ndarray
    n_params: int
    counts: tuple[int, int, int]  # instructions of the f, gradient and Hessian segments
    n_registers: int

    @staticmethod
    def slot(k: int) -> int:
        return K.HEADER + k

    def with_params(self, values: Sequence[float]) -> np.ndarray:
        """A copy of the program with the parameters' values in their slots."""
        prog = self.template.copy()
        prog[K.HEADER : K.HEADER + self.n_params] = values
        return prog


def _product(g: Graph, n: int) -> tuple[int, int] | None:
    """The factors of ``n`` if it is a product (``a*b``, or ``a**2`` as ``a*a``)."""
    k = g.kind[n]
    if k == ops.MUL:
        return g.args[n][0], g.args[n][1]
    if k == ops.POW and g.is_const(g.args[n][1], 2.0):
        return g.args[n][0], g.args[n][0]
    return None


def _fuse(
    g: Graph, n: int, uses: dict[int, int], fused: dict[int, tuple[int, tuple[int, ...]]]
) -> tuple[int, tuple[int, ...], int] | None:
    """``(op, (a, b, c), product)`` if the sum, difference or product ``n`` has a product
    operand that nothing else reads and that is a plain product (not itself fused): one
    instruction instead of two, with the same roundings in the same order."""
    k = g.kind[n]
    if k not in (ops.ADD, ops.SUB, ops.MUL):
        return None
    p, q = g.args[n]
    for m, other, first in ((p, q, True), (q, p, False)):
        factors = _product(g, m)
        if factors is None or uses.get(m, 0) != 1 or m == other or m in fused:
            continue
        if k == ops.MUL:
            op = ops.MUL3  # (f0*f1)*other == other*(f0*f1): the product commutes
        elif k == ops.ADD:
            op = ops.MULADD
        else:
            op = ops.MULSUB if first else ops.SUBMUL
        return op, (factors[0], factors[1], other), m
    return None


def _instruction(g: Graph, n: int) -> tuple[int, tuple[int, ...]]:
    """The opcode and argument nodes of node ``n``."""
    k = g.kind[n]
    args = g.args[n]
    if k == ops.POW and g.is_const(args[1]):
        e = g.val[args[1]]
        if e == 2.0:
            return ops.SQ, (args[0],)
        if e.is_integer() and abs(e) <= ops.POWI_MAX:
            return ops.POWI, args
    return k, args


def compile_program(g: Graph, outputs: Sequence[int], n_params: int, fuse: bool = True) -> Program:
    """The program of the six ``outputs`` (f, gx, gy, hxx, hxy, hyy) of graph ``g``;
    ``fuse`` False: one instruction per node (the same results, bit for bit: a fused
    instruction rounds as the two it replaces)."""
    f_nodes = g.reachable(outputs[:1])
    fg_nodes = g.reachable(outputs[:3])
    all_nodes = g.reachable(outputs)
    seen_f, seen_fg = set(f_nodes), set(fg_nodes)
    segments = (
        f_nodes,
        [n for n in fg_nodes if n not in seen_f],
        [n for n in all_nodes if n not in seen_fg],
    )
    # how many readers each node has (the outputs count as one more)
    uses: dict[int, int] = {}
    for n in all_nodes:
        for a in set(g.args[n]):
            uses[a] = uses.get(a, 0) + 1
    for n in outputs:
        uses[n] = uses.get(n, 0) + 1
    fused: dict[int, tuple[int, tuple[int, ...]]] = {}
    into: set[int] = set()  # products computed inside a fused instruction
    for n in all_nodes if fuse else ():  # topological: a product's own fusion comes first
        f = _fuse(g, n, uses, fused)
        if f is not None and f[2] not in into:
            fused[n] = (f[0], f[1])
            into.add(f[2])

    code: list[tuple[int, int, tuple[int, ...]]] = []  # (node, op, arguments)
    counts = []
    for seg in segments:
        before = len(code)
        for n in seg:
            if g.kind[n] not in _LEAVES and n not in into:
                op, args = fused[n] if n in fused else _instruction(g, n)
                code.append((n, op, args))
        counts.append(len(code) - before)
    if len(code) > MAX_INSTRUCTIONS:
        raise ProgramTooLarge(
            f"{len(code):,} instructions; the interpreter runs at most {MAX_INSTRUCTIONS:,}"
        )

    # registers of the leaves: x, y, every parameter (used or not: fixed slots), constants
    reg: dict[int, int] = {g.var(0): 0, g.var(1): 1}
    for k in range(n_params):
        reg[g.param(k)] = 2 + k
    consts: list[float] = []
    for _, _, args in code:
        for a in args:
            if a not in reg and g.kind[a] in _LEAVES:
                reg[a] = 2 + n_params + len(consts)
                consts.append(g.val[a])
    for n in outputs:
        if n not in reg and g.kind[n] in _LEAVES:
            reg[n] = 2 + n_params + len(consts)
            consts.append(g.val[n])
    n_fixed = 2 + n_params + len(consts)

    # linear scan: a temporary's register is free once its last reader has run
    last: dict[int, int] = {}
    for i, (_, _, args) in enumerate(code):
        for a in args:
            last[a] = i
    for n in outputs:
        last[n] = len(code)  # read after the whole program
    free: list[int] = []
    top = n_fixed
    words: list[float] = []
    for i, (n, op, args) in enumerate(code):
        src = [reg[a] for a in args]
        for a in set(args):
            if last[a] == i and g.kind[a] not in _LEAVES:
                free.append(reg[a])
        if free:
            d = free.pop()
        else:
            d = top
            top += 1
        reg[n] = d
        src += [0] * (3 - len(src))
        words.append(float(op | d << 6 | src[0] << 16 | src[1] << 26 | src[2] << 36))
    if top > K.NREG:
        raise ProgramTooLarge(f"{top:,} registers; the interpreter has {K.NREG:,}")

    n_init = n_params + len(consts)
    prog = np.zeros(K.HEADER + n_init + len(code), dtype=np.float64)
    prog[K.N_INIT] = n_init
    prog[K.N_F], prog[K.N_G], prog[K.N_H] = counts
    prog[K.OUT : K.OUT + 6] = [reg[n] for n in outputs]
    prog[K.N_PARAMS] = n_params
    prog[K.MAGIC] = K.MAGIC_VALUE
    prog[K.HEADER + n_params : K.HEADER + n_init] = consts
    prog[K.HEADER + n_init :] = words
    return Program(prog, n_params, (counts[0], counts[1], counts[2]), top)
