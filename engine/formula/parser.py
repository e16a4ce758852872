"""Formula text to graph nodes: a tokenizer and a recursive-descent parser of the grammar

    expr  := term (('+' | '-') term)*
    term  := unary (('*' | '/') unary)*
    unary := ('+' | '-') unary | power
    power := atom (('**' | '^') unary)?
    atom  := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'

(Python's precedences: ``-x**2`` is ``-(x**2)``, ``2**-x`` is ``2**(-x)``; ``^`` is a
power.) Numbers are decimal (``12``, ``1.5``, ``.5``, ``1e-3``); names are x and y
(also x1 and x2), the parameters, ``pi`` and ``e``, and the functions of
``engine.formula.ops``. Nothing of the text is ever executed: the parser only builds
graph nodes, and refuses everything else with a :class:`FormulaError` that points at
the column: strings, attribute access, subscripts, keywords, lambdas, comprehensions,
unknown names and functions (with the closest known name), and the limits below.

Limits (each refusal is O(length) and the length is checked first): MAX_LENGTH
characters, MAX_DEPTH levels of nesting (parentheses, calls, signs, exponents; the
parser's recursion depth), MAX_NODES operands and operations, constant exponents up
to MAX_EXPONENT in size, and no power chains: ``x**y**z`` (ambiguous to a reader,
and the way to towers like ``9**9**9**9``) and powers more than two deep in
exponents are refused. Constants fold in float arithmetic (``9**9**9`` could not hang:
float powers overflow to inf, which is left unfolded).
"""

from __future__ import annotations

import difflib
import keyword
import re
import string
from dataclasses import dataclass, field

from engine.formula import ops
from engine.formula.errors import FormulaError
from engine.formula.graph import Graph, GraphTooLarge, number_text

MAX_LENGTH = 2_000
MAX_DEPTH = 50
MAX_NODES = 2_000
MAX_EXPONENT = 1_000.0
MAX_EXPONENT_NESTING = 2  # powers inside exponents inside exponents: refused

VARIABLES = {"x": 0, "x1": 0, "y": 1, "x2": 1}
CONSTANTS = {"pi": 3.141592653589793, "e": 2.718281828459045}
RESERVED = frozenset(VARIABLES) | frozenset(CONSTANTS) | frozenset(ops.FUNCTIONS)
RESERVED |= frozenset(ops.VARIADIC)

_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_START = frozenset(string.ascii_letters + "_")
_DIGITS = frozenset(string.digits)
_SPACE = frozenset(" \t\r\n")
_SIMPLE_OPS = frozenset("+-*/^(),")
_ALIASES = {"−": "-", "·": "*", "×": "*"}  # typographic minus and times
_OPERANDS = "a number or a name"

# what the tokenizer says about a character outside the grammar
_REFUSED = {
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "[": "subscripts and lists are not allowed",
    "]": "subscripts and lists are not allowed",
    "{": "sets and dicts are not allowed",
    "}": "sets and dicts are not allowed",
    ".": "attribute access is not allowed",
    "=": "assignments, keyword arguments and comparisons are not allowed",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "comparisons are not allowed",
    ":": "lambdas, slices and annotations are not allowed",
    ";": "a formula is one expression",
}


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "op", "end", "bad"
    text: str
    pos: int  # 0-based


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` (which is at most MAX_LENGTH long), ending with an "end", or
    with a "bad" token (its text the message) at the first character outside the grammar:
    the parser reports it when it gets there, so errors come in reading order."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER.match(text, i)
            assert m is not None
            out.append(Token("num", m.group(), i))
            i = m.end()
        elif c in _NAME_START:
            m = _NAME.match(text, i)
            assert m is not None
            out.append(Token("name", m.group(), i))
            i = m.end()
        elif text.startswith("**", i):
            out.append(Token("op", "**", i))
            i += 2
        elif c in _SIMPLE_OPS or c in _ALIASES:
            out.append(Token("op", _ALIASES.get(c, c), i))
            i += 1
        else:
            shown = c if c.isprintable() else repr(c)[1:-1]
            why = _REFUSED.get(
                c,
                "expected a number, a name, an operator (+ - * / ** ^), a parenthesis or a comma",
            )
            out.append(Token("bad", f"unexpected '{shown}' at column {i + 1}: {why}", i))
            return out
    out.append(Token("end", "", n))
    return out


def did_you_mean(name: str, known: list[str]) -> str:
    """``"; did you mean NAME?"`` for the closest of ``known``, or ``""``."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


@dataclass
class Parsed:
    """The parser's result: the root node and the parameters the text names."""

    root: int
    params_used: list[str] = field(default_factory=list)


class Parser:
    """One parse of ``text`` into ``graph`` (see the module docstring)."""

    def __init__(self, text: str, graph: Graph, params: list[str]) -> None:
        self.text = text
        self.g = graph
        self.params = {name: k for k, name in enumerate(params)}
        self.used: list[str] = []
        self.depth = 0
        self.exp_depth = 0
        self.chain = False  # parsing the operand of '**' directly (no parentheses)
        self.nodes = 0
        self.toks: list[Token] = []
        self.i = 0

    # ---------------------------------------------------------------- helpers

    def error(self, message: str, pos: int) -> FormulaError:
        return FormulaError(message, self.text, pos + 1)

    def at(self, pos: int) -> str:
        return f"at column {pos + 1}"

    @property
    def tok(self) -> Token:
        t = self.toks[self.i]
        if t.kind == "bad":
            raise self.error(t.text, t.pos)
        return t

    def take(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def is_op(self, *ops_: str) -> bool:
        t = self.toks[self.i]  # a peek: a "bad" token is reported where it is taken
        return t.kind == "op" and t.text in ops_

    def count(self, tok: Token) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(
                f"the formula is too large {self.at(tok.pos)}: more than {MAX_NODES:,} "
                "numbers, names and operations",
                tok.pos,
            )

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"nesting too deep {self.at(tok.pos)}: more than {MAX_DEPTH} levels of "
                "parentheses, function calls, signs and powers",
                tok.pos,
            )

    def found(self, t: Token) -> str:
        return "the end of the formula" if t.kind == "end" else f"'{t.text}'"

    # ---------------------------------------------------------------- grammar

    def parse(self) -> Parsed:
        if len(self.text) > MAX_LENGTH:
            raise FormulaError(
                f"the formula is {len(self.text):,} characters long; the limit is {MAX_LENGTH:,}",
                self.text,
                MAX_LENGTH + 1,
            )
        self.toks = tokenize(self.text)
        if self.tok.kind == "end":
            raise FormulaError(
                "the formula is empty: write an expression in x and y, e.g. "
                "(1 - x)**2 + 100*(y - x**2)**2",
                self.text,
                1,
            )
        try:
            root = self.expr()
        except GraphTooLarge:
            raise self.error("the formula is too large", self.tok.pos) from None
        t = self.tok
        if t.kind != "end":
            raise self.unexpected_after_operand(t)
        return Parsed(root, self.used)

    def unexpected_after_operand(self, t: Token) -> FormulaError:
        """The error for token ``t`` where an operator, ')' or the end was expected."""
        if t.kind == "op" and t.text == ")":
            return self.error(f"unmatched ')' {self.at(t.pos)}", t.pos)
        if t.kind == "op" and t.text == ",":
            return self.error(f"',' {self.at(t.pos)} outside a function call", t.pos)
        if t.kind == "name" and (keyword.iskeyword(t.text) or keyword.issoftkeyword(t.text)):
            return self.error(
                f"'{t.text}' {self.at(t.pos)} is a Python keyword, not part of a formula", t.pos
            )
        if t.kind in ("num", "name") or t.text == "(":
            return self.error(
                f"missing operator {self.at(t.pos)} before '{t.text}' (a product is "
                "written with *, e.g. 2*x)",
                t.pos,
            )
        return self.error(f"expected an operator {self.at(t.pos)}, found {self.found(t)}", t.pos)

    def expr(self) -> int:
        node = self.term()
        while self.is_op("+", "-"):
            t = self.take()
            self.count(t)
            rhs = self.term()
            node = self.g.add(node, rhs) if t.text == "+" else self.g.sub(node, rhs)
        return node

    def term(self) -> int:
        node = self.unary()
        while self.is_op("*", "/"):
            t = self.take()
            self.count(t)
            rhs = self.unary()
            node = self.g.mul(node, rhs) if t.text == "*" else self.g.div(node, rhs)
        return node

    def unary(self) -> int:
        if self.is_op("+", "-"):
            t = self.take()
            self.count(t)
            self.enter(t)
            node = self.unary()
            self.depth -= 1
            return self.g.neg(node) if t.text == "-" else node
        return self.power()

    def power(self) -> int:
        base = self.atom()
        if not self.is_op("**", "^"):
            return base
        t = self.take()
        self.count(t)
        if self.chain:
            raise self.error(
                f"x**y**z: powers nest too deep {self.at(t.pos)} (write (x**y)**z, or "
                "x**(y**z) with parentheses)",
                t.pos,
            )
        if self.exp_depth >= MAX_EXPONENT_NESTING:
            raise self.error(
                f"powers nest too deep {self.at(t.pos)}: a power in the exponent of a power "
                "in an exponent",
                t.pos,
            )
        self.enter(t)
        self.exp_depth += 1
        self.chain = True
        start = self.tok.pos
        exponent = self.unary()
        self.chain = False
        self.exp_depth -= 1
        self.depth -= 1
        if self.g.is_const(exponent) and abs(self.g.val[exponent]) > MAX_EXPONENT:
            raise self.error(
                f"exponent {number_text(self.g.val[exponent])} {self.at(start)} is too "
                f"large: constant exponents are at most {MAX_EXPONENT:g} in size",
                start,
            )
        return self.g.pow(base, exponent)

    def atom(self) -> int:
        t = self.take()
        self.count(t)
        if t.kind == "num":
            v = float(t.text)
            if v == float("inf"):
                raise self.error(f"the number {t.text} {self.at(t.pos)} is too large", t.pos)
            return self.g.const(v)
        if t.kind == "name":
            if self.is_op("("):
                return self.call(t)
            return self.name(t)
        if t.kind == "op" and t.text == "(":
            self.enter(t)
            chain, self.chain = self.chain, False
            node = self.expr()
            self.chain = chain
            self.depth -= 1
            self.close(t)
            return node
        if t.kind == "end":
            raise self.error(
                f"the formula ends too early {self.at(t.pos)}: expected {_OPERANDS}", t.pos
            )
        raise self.error(f"expected {_OPERANDS} {self.at(t.pos)}, found {self.found(t)}", t.pos)

    def close(self, opening: Token) -> None:
        """Consume the ')' that closes ``opening``."""
        t = self.tok
        if t.kind == "op" and t.text == ")":
            self.i += 1
            return
        if t.kind == "end":
            raise self.error(f"'(' {self.at(opening.pos)} is never closed", opening.pos)
        raise self.unexpected_after_operand(t)

    def known_names(self) -> list[str]:
        return [*VARIABLES, *self.params, *CONSTANTS]

    def name(self, t: Token) -> int:
        s = t.text
        if s in VARIABLES:
            return self.g.var(VARIABLES[s])
        if s in self.params:
            if s not in self.used:
                self.used.append(s)
            return self.g.param(self.params[s])
        if s in CONSTANTS:
            return self.g.const(CONSTANTS[s])
        if s in ops.FUNCTIONS or s in ops.VARIADIC:
            raise self.error(f"{s} {self.at(t.pos)} needs an argument: {s}(...)", t.pos)
        if keyword.iskeyword(s) or keyword.issoftkeyword(s):
            raise self.error(
                f"'{s}' {self.at(t.pos)} is a Python keyword, not part of a formula", t.pos
            )
        params = ", ".join(self.params)
        expected = f"x, y, a parameter ({params}), pi or e" if params else "x, y, pi or e"
        hint = did_you_mean(s, self.known_names())
        raise self.error(f"unknown name '{s}' {self.at(t.pos)}{hint}; expected {expected}", t.pos)

    def call(self, t: Token) -> int:
        s = t.text
        if s not in ops.FUNCTIONS and s not in ops.VARIADIC:
            if s in VARIABLES or s in self.params or s in CONSTANTS:
                raise self.error(
                    f"'{s}' {self.at(t.pos)} is not a function (a product is written with *, "
                    f"e.g. {s}*(...))",
                    t.pos,
                )
            if keyword.iskeyword(s) or keyword.issoftkeyword(s):
                raise self.error(
                    f"'{s}' {self.at(t.pos)} is a Python keyword, not part of a formula", t.pos
                )
            names = sorted({*ops.FUNCTIONS, *ops.VARIADIC})
            hint = did_you_mean(s, names) or f"; the functions are {', '.join(names)}"
            raise self.error(f"unknown function '{s}' {self.at(t.pos)}{hint}", t.pos)
        opening = self.take()
        self.enter(opening)
        chain, self.chain = self.chain, False
        args = [self.expr()]
        while self.is_op(","):
            self.count(self.take())
            args.append(self.expr())
        self.chain = chain
        self.depth -= 1
        self.close(opening)
        if s in ops.VARIADIC:
            if len(args) < 2:
                raise self.error(
                    f"{s} {self.at(t.pos)} takes two or more arguments, got one", t.pos
                )
            node = args[0]
            for a in args[1:]:
                node = self.g.minmax(ops.VARIADIC[s], node, a)
            return node
        if len(args) != 1:
            raise self.error(f"{s} {self.at(t.pos)} takes one argument, got {len(args)}", t.pos)
        return self.g.fn(ops.FUNCTIONS[s], args[0])
