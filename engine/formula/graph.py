"""The expression graph of a formula: hash-consed nodes, simplifying constructors,
exact symbolic derivatives and a printer back to formula text.

A node is an ``int``, its position in the :class:`Graph`; a node's arguments are
always older (smaller) nodes, so the graph is its own topological order and every
pass below is a loop over node ids, never a recursion (a left-deep sum of a thousand
terms is as cheap as a flat one). Two requests for the same operation on the same
arguments return the same node (hash-consing), so common subexpressions are shared:
the derivatives reuse the nodes of ``f`` (``exp(u)`` is its own derivative's factor,
``u/v`` is reused by the quotient rule) and the compiled program evaluates each once.

The constructors simplify locally: constants fold (in float arithmetic; a result that
overflows, divides by zero or leaves the function's domain is left unfolded, to give
inf/NaN at run time), ``x + 0``, ``x*1``, ``0*x``, ``x - x``, ``--x``, ``x**1``,
``e**u`` (as ``exp(u)``), constant factors are gathered to the front
(``2*(3*x) = 6*x``) and a common power-of-two factor out of sums (``2*p + 2*q =
2*(p + q)``, exact). Each constructor's result is a fixed point of it: building a
node from the printed text of another gives the same node again.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable

from engine.formula import ops

Names = Callable[[int, float], str]


class GraphTooLarge(Exception):
    """More nodes than the graph's limit (a formula too large to differentiate)."""


def _sigmoid(v: float) -> float:
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    z = math.exp(v)
    return z / (1.0 + z)


def _softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _sign(v: float) -> float:
    return 1.0 if v > 0.0 else (-1.0 if v < 0.0 else v)  # 0 and NaN as they are


def _min(a: float, b: float) -> float:
    return a if a <= b else (b if b < a else a + b)  # NaN if either is NaN


def _max(a: float, b: float) -> float:
    return a if a >= b else (b if b > a else a + b)


_FOLD1: dict[int, Callable[[float], float]] = {
    ops.NEG: lambda v: -v,
    ops.SIN: math.sin,
    ops.COS: math.cos,
    ops.TAN: math.tan,
    ops.EXP: math.exp,
    ops.LOG: math.log,
    ops.LOG1P: math.log1p,
    ops.SQRT: math.sqrt,
    ops.ABS: abs,
    ops.TANH: math.tanh,
    ops.SINH: math.sinh,
    ops.COSH: math.cosh,
    ops.ATAN: math.atan,
    ops.SIGMOID: _sigmoid,
    ops.SOFTPLUS: _softplus,
    ops.SIGN: _sign,
}

_FOLD2: dict[int, Callable[[float, float], float]] = {
    ops.ADD: lambda a, b: a + b,
    ops.SUB: lambda a, b: a - b,
    ops.MUL: lambda a, b: a * b,
    ops.DIV: lambda a, b: a / b,
    ops.POW: math.pow,
    ops.MIN: _min,
    ops.MAX: _max,
    ops.LE: lambda a, b: 1.0 if a <= b else 0.0,
}


def _fold(fn: Callable[..., float], *args: float) -> float | None:
    """``fn(*args)`` if it is a finite float, else None (the node stays unfolded)."""
    try:
        v = float(fn(*args))
    except (OverflowError, ValueError, ZeroDivisionError):
        return None
    return v if math.isfinite(v) else None


def _power_of_two(c: float) -> bool:
    """Whether ``c`` is ±2^k, k ≠ 0: ``c·p + c·q`` and ``c·(p + q)`` are the same bits."""
    return c not in (1.0, -1.0) and abs(math.frexp(c)[0]) == 0.5


def number_text(v: float) -> str:
    """A constant as formula text: ``pi``, ``e``, an integer, or Python's shortest repr."""
    if v == math.pi:
        return "pi"
    if v == math.e:
        return "e"
    if v == -math.pi:
        return "-pi"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


# printer precedences
_SUM, _PROD, _UNARY, _POWER, _ATOM = 1, 2, 3, 4, 5


class Graph:
    """Hash-consed expression nodes (see the module docstring). ``limit`` caps the node
    count: a constructor that would exceed it raises :class:`GraphTooLarge`."""

    def __init__(self, limit: int = 200_000) -> None:
        self.kind: list[int] = []
        self.args: list[tuple[int, ...]] = []
        self.val: list[float] = []
        self.limit = limit
        self._ids: dict[tuple[object, ...], int] = {}
        self._deriv: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.zero = self.const(0.0)
        self.one = self.const(1.0)

    def __len__(self) -> int:
        return len(self.kind)

    # ------------------------------------------------------------------ leaves

    def _new(self, key: tuple[object, ...], kind: int, args: tuple[int, ...], val: float) -> int:
        n = self._ids.get(key)
        if n is not None:
            return n
        if len(self.kind) >= self.limit:
            raise GraphTooLarge(f"more than {self.limit:,} nodes")
        n = len(self.kind)
        self.kind.append(kind)
        self.args.append(args)
        self.val.append(val)
        self._ids[key] = n
        return n

    def const(self, v: float) -> int:
        """The constant ``v`` (0.0 and -0.0 are different constants)."""
        v = float(v)
        return self._new((ops.CONST, struct.pack("<d", v)), ops.CONST, (), v)

    def var(self, i: int) -> int:
        """The variable x (``i == 0``) or y (``i == 1``)."""
        return self._new((ops.VAR, i), ops.VAR, (), float(i))

    def param(self, k: int) -> int:
        """The ``k``-th parameter."""
        return self._new((ops.PARAM, k), ops.PARAM, (), float(k))

    def is_const(self, n: int, v: float | None = None) -> bool:
        """Whether ``n`` is a constant (equal to ``v`` when given)."""
        return self.kind[n] == ops.CONST and (v is None or self.val[n] == v)

    def _op(self, kind: int, *args: int) -> int:
        return self._new((kind, *args), kind, args, 0.0)

    def _comm(self, kind: int, a: int, b: int) -> int:
        """A commutative operation: ``a op b`` and ``b op a`` are one node (the first order
        asked for is the one printed)."""
        key = (kind, min(a, b), max(a, b))
        return self._new(key, kind, (a, b), 0.0)

    def _coef(self, n: int) -> tuple[float, int]:
        """``n`` as ``c * rest`` (``c`` a constant factor in front, else 1)."""
        if self.kind[n] == ops.MUL and self.is_const(self.args[n][0]):
            return self.val[self.args[n][0]], self.args[n][1]
        return 1.0, n

    # ------------------------------------------------------------------ arithmetic

    def add(self, a: int, b: int) -> int:
        ka, kb = self.kind[a], self.kind[b]
        if ka == ops.CONST and kb == ops.CONST:
            v = _fold(_FOLD2[ops.ADD], self.val[a], self.val[b])
            if v is not None:
                return self.const(v)
        if self.is_const(a, 0.0):
            return b
        if self.is_const(b, 0.0):
            return a
        if kb == ops.NEG:
            return self.sub(a, self.args[b][0])
        if ka == ops.NEG:
            return self.sub(b, self.args[a][0])
        if kb == ops.CONST and self.val[b] < 0.0:
            return self.sub(a, self.const(-self.val[b]))
        if ka == ops.CONST and self.val[a] < 0.0:
            return self.sub(b, self.const(-self.val[a]))
        cb, rb = self._coef(b)
        if cb < 0.0:
            return self.sub(a, self.mul(self.const(-cb), rb))
        ca, ra = self._coef(a)
        if ca < 0.0:
            return self.sub(b, self.mul(self.const(-ca), ra))
        if ca == cb and _power_of_two(ca):
            return self.mul(self.const(ca), self.add(ra, rb))
        return self._comm(ops.ADD, a, b)

    def sub(self, a: int, b: int) -> int:
        ka, kb = self.kind[a], self.kind[b]
        if ka == ops.CONST and kb == ops.CONST:
            v = _fold(_FOLD2[ops.SUB], self.val[a], self.val[b])
            if v is not None:
                return self.const(v)
        if a == b:
            return self.zero
        if self.is_const(b, 0.0):
            return a
        if self.is_const(a, 0.0):
            return self.neg(b)
        if kb == ops.NEG:
            return self.add(a, self.args[b][0])
        if kb == ops.CONST and self.val[b] < 0.0:
            return self.add(a, self.const(-self.val[b]))
        cb, rb = self._coef(b)
        if cb < 0.0:
            return self.add(a, self.mul(self.const(-cb), rb))
        ca, ra = self._coef(a)
        if ca == cb and _power_of_two(ca):
            return self.mul(self.const(ca), self.sub(ra, rb))
        return self._op(ops.SUB, a, b)

    def neg(self, a: int) -> int:
        k = self.kind[a]
        if k == ops.CONST:
            return self.const(-self.val[a])
        if k == ops.NEG:
            return self.args[a][0]
        if k == ops.SUB:
            return self.sub(self.args[a][1], self.args[a][0])
        c, rest = self._coef(a)
        if c != 1.0:
            return self.mul(self.const(-c), rest)
        return self._op(ops.NEG, a)

    def mul(self, a: int, b: int) -> int:
        ka, kb = self.kind[a], self.kind[b]
        if ka == ops.CONST and kb == ops.CONST:
            v = _fold(_FOLD2[ops.MUL], self.val[a], self.val[b])
            if v is not None:
                return self.const(v)
        if kb == ops.CONST and ka != ops.CONST:
            a, b, ka, kb = b, a, kb, ka  # the constant factor in front
        if ka == ops.CONST:
            c = self.val[a]
            if c == 0.0:
                return self.zero
            if c == 1.0:
                return b
            if c == -1.0:
                return self.neg(b)
            if kb == ops.NEG:
                return self.mul(self.const(-c), self.args[b][0])
            c2, rest = self._coef(b)
            if c2 != 1.0:
                v = _fold(_FOLD2[ops.MUL], c, c2)
                if v is not None:
                    return self.mul(self.const(v), rest)
            return self._op(ops.MUL, a, b)
        if ka == ops.NEG:
            return self.neg(self.mul(self.args[a][0], b))
        if kb == ops.NEG:
            return self.neg(self.mul(a, self.args[b][0]))
        ca, ra = self._coef(a)
        cb, rb = self._coef(b)
        if ca != 1.0 or cb != 1.0:
            v = _fold(_FOLD2[ops.MUL], ca, cb)
            if v is not None:
                return self.mul(self.const(v), self.mul(ra, rb))
        if a == b:
            return self.pow(a, self.const(2.0))
        return self._comm(ops.MUL, a, b)

    def div(self, a: int, b: int) -> int:
        ka, kb = self.kind[a], self.kind[b]
        if ka == ops.CONST and kb == ops.CONST:
            v = _fold(_FOLD2[ops.DIV], self.val[a], self.val[b])
            if v is not None:
                return self.const(v)
        if self.is_const(a, 0.0):
            return self.zero
        if self.is_const(b, 1.0):
            return a
        if self.is_const(b, -1.0):
            return self.neg(a)
        if a == b:
            return self.one
        if ka == ops.NEG:
            return self.neg(self.div(self.args[a][0], b))
        if kb == ops.NEG:
            return self.neg(self.div(a, self.args[b][0]))
        return self._op(ops.DIV, a, b)

    def pow(self, a: int, b: int) -> int:
        ka, kb = self.kind[a], self.kind[b]
        if ka == ops.CONST and kb == ops.CONST:
            v = _fold(_FOLD2[ops.POW], self.val[a], self.val[b])
            if v is not None:
                return self.const(v)
        if kb == ops.CONST:
            if self.val[b] == 0.0:
                return self.one
            if self.val[b] == 1.0:
                return a
        if self.is_const(a, math.e):
            return self.fn(ops.EXP, b)
        return self._op(ops.POW, a, b)

    def fn(self, kind: int, a: int) -> int:
        """A function of one argument (``ops.FUNCTIONS``' values)."""
        if self.kind[a] == ops.CONST:
            v = _fold(_FOLD1[kind], self.val[a])
            if v is not None:
                return self.const(v)
        if kind == ops.ABS and self.kind[a] in (ops.ABS, ops.NEG):
            return self.fn(ops.ABS, self.args[a][0])
        return self._op(kind, a)

    def minmax(self, kind: int, a: int, b: int) -> int:
        if self.kind[a] == ops.CONST and self.kind[b] == ops.CONST:
            v = _fold(_FOLD2[kind], self.val[a], self.val[b])
            if v is not None:
                return self.const(v)
        if a == b:
            return a
        return self._op(kind, a, b)

    def le(self, a: int, b: int) -> int:
        if self.kind[a] == ops.CONST and self.kind[b] == ops.CONST:
            return self.const(_FOLD2[ops.LE](self.val[a], self.val[b]))
        return self._op(ops.LE, a, b)

    def sel(self, t: int, a: int, b: int) -> int:
        """``a if t != 0 else b``."""
        if a == b:
            return a
        if self.kind[t] == ops.CONST:
            return a if self.val[t] != 0.0 else b
        return self._op(ops.SEL, t, a, b)

    # ------------------------------------------------------------------ derivatives

    def reachable(self, roots: Iterable[int]) -> list[int]:
        """The nodes ``roots`` depend on (themselves included), in increasing order."""
        seen: set[int] = set()
        todo = list(roots)
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self.args[n])
        return sorted(seen)

    def derivative(self, root: int, var: int) -> int:
        """∂root/∂(x if var == 0 else y), exact (memoised: derivatives share nodes)."""
        memo = self._deriv[var]
        for n in self.reachable([root]):
            if n not in memo:
                memo[n] = self._d(n, var, memo)
        return memo[root]

    def _d(self, n: int, var: int, d: dict[int, int]) -> int:
        k = self.kind[n]
        args = self.args[n]
        if k == ops.VAR:
            return self.one if int(self.val[n]) == var else self.zero
        if k in (ops.CONST, ops.PARAM, ops.SIGN, ops.LE):
            return self.zero
        a = args[0]
        da = d[a]
        if k == ops.ADD:
            return self.add(da, d[args[1]])
        if k == ops.SUB:
            return self.sub(da, d[args[1]])
        if k == ops.MUL:
            b = args[1]
            return self.add(self.mul(da, b), self.mul(a, d[b]))
        if k == ops.DIV:  # (da − q·db)/b with q = a/b, the node itself
            return self.div(self.sub(da, self.mul(n, d[args[1]])), args[1])
        if k == ops.POW:
            return self._d_pow(n, a, args[1], da, d[args[1]])
        if k in (ops.MIN, ops.MAX):
            b = args[1]
            t = self.le(a, b) if k == ops.MIN else self.le(b, a)
            return self.sel(t, da, d[b])
        if k == ops.SEL:
            return self.sel(a, d[args[1]], d[args[2]])
        if da == self.zero:
            return self.zero
        return self.mul(self._d_fn(k, n, a), da)

    def _d_pow(self, n: int, a: int, b: int, da: int, db: int) -> int:
        if db == self.zero:  # b·a^(b−1)·da (b a constant or a parameter)
            if da == self.zero:
                return self.zero
            return self.mul(self.mul(b, self.pow(a, self.sub(b, self.one))), da)
        # a^b·(db·log a + b·da/a)
        t = self.mul(db, self.fn(ops.LOG, a))
        if da != self.zero:
            t = self.add(t, self.div(self.mul(b, da), a))
        return self.mul(n, t)

    def _d_fn(self, k: int, n: int, a: int) -> int:
        """d f(a) / da for the one-argument function ``k`` (``n`` is ``f(a)``)."""
        if k == ops.NEG:
            return self.const(-1.0)
        if k == ops.SIN:
            return self.fn(ops.COS, a)
        if k == ops.COS:
            return self.neg(self.fn(ops.SIN, a))
        if k == ops.TAN:
            return self.add(self.one, self.pow(n, self.const(2.0)))
        if k == ops.EXP:
            return n
        if k == ops.LOG:
            return self.div(self.one, a)
        if k == ops.LOG1P:
            return self.div(self.one, self.add(self.one, a))
        if k == ops.SQRT:
            return self.div(self.const(0.5), n)
        if k == ops.ABS:
            return self.fn(ops.SIGN, a)
        if k == ops.TANH:
            return self.sub(self.one, self.pow(n, self.const(2.0)))
        if k == ops.SINH:
            return self.fn(ops.COSH, a)
        if k == ops.COSH:
            return self.fn(ops.SINH, a)
        if k == ops.ATAN:
            return self.div(self.one, self.add(self.one, self.pow(a, self.const(2.0))))
        if k == ops.SIGMOID:
            return self.mul(n, self.sub(self.one, n))
        if k == ops.SOFTPLUS:
            return self.fn(ops.SIGMOID, a)
        raise AssertionError(f"no derivative rule for kind {k}")

    # ------------------------------------------------------------------ printing

    def text(self, root: int, names: Names, budget: int = 20_000) -> str | None:
        """``root`` as formula text that :func:`engine.formula.parse_formula` reads back to
        the same node; None if longer than ``budget`` characters. ``names(kind, val)``
        names the variables and parameters. (A node's text is its arguments' texts and
        more, so the texts of all the nodes it needs are capped together, at 20 times
        the budget: the whole printing is O(budget).)"""
        out: dict[int, tuple[str, int]] = {}
        total = 0
        for n in self.reachable([root]):
            s = self._text1(n, out, names)
            total += len(s[0])
            if len(s[0]) > budget or total > 20 * budget:
                return None
            out[n] = s
        return out[root][0]

    def _text1(self, n: int, out: dict[int, tuple[str, int]], names: Names) -> tuple[str, int]:
        k = self.kind[n]
        args = self.args[n]

        def arg(i: int, parens_at_or_below: int, unary: bool = True) -> str:
            s, p = out[args[i]]
            if p <= parens_at_or_below or (unary and p == _UNARY):
                return f"({s})"
            return s

        if k == ops.CONST:
            s = number_text(self.val[n])
            return s, (_UNARY if s.startswith("-") else _ATOM)
        if k in (ops.VAR, ops.PARAM):
            return names(k, self.val[n]), _ATOM
        if k == ops.ADD:
            return f"{arg(0, 0, False)} + {arg(1, _SUM)}", _SUM
        if k == ops.SUB:
            return f"{arg(0, 0, False)} - {arg(1, _SUM)}", _SUM
        if k == ops.MUL:
            return f"{arg(0, _SUM, False)}*{arg(1, _PROD)}", _PROD
        if k == ops.DIV:
            return f"{arg(0, _SUM, False)}/{arg(1, _PROD)}", _PROD
        if k == ops.NEG:
            return f"-{arg(0, _PROD)}", _UNARY
        if k == ops.POW:
            return f"{arg(0, _POWER)}**{arg(1, _POWER)}", _POWER
        if k in (ops.MIN, ops.MAX):
            return f"{ops.FUNCTION_NAMES[k]}({out[args[0]][0]}, {out[args[1]][0]})", _ATOM
        if k == ops.LE:
            return f"{arg(0, _SUM, False)} <= {arg(1, _SUM, False)}", 0
        if k == ops.SEL:
            return f"({out[args[1]][0]} if {out[args[0]][0]} else {out[args[2]][0]})", _ATOM
        return f"{ops.FUNCTION_NAMES[k]}({out[args[0]][0]})", _ATOM
