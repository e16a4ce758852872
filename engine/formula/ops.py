"""Operation codes shared by the expression graph, the compiler and the interpreter.

A graph node's ``kind`` is one of these; the operations (below 32) are also the
interpreter's opcodes (``POW`` of a constant exponent compiles to ``SQ`` or ``POWI``).
"""

from __future__ import annotations

ADD = 0
SUB = 1
MUL = 2
DIV = 3
NEG = 4
SQ = 5  # instruction only: a * a
POWI = 6  # instruction only: a ** n, n an integer-valued register, |n| <= POWI_MAX
POW = 7
SIN = 8
COS = 9
TAN = 10
EXP = 11
LOG = 12
LOG1P = 13
SQRT = 14
ABS = 15
TANH = 16
SINH = 17
COSH = 18
ATAN = 19
SIGMOID = 20
SOFTPLUS = 21
MIN = 22
MAX = 23
SIGN = 24  # derivative of abs: -1, 0 or 1 (NaN for NaN)
LE = 25  # 1.0 if a <= b else 0.0 (derivatives of min and max)
SEL = 26  # b if a != 0 else c
# instructions only: a product and a sum fused (two roundings, as apart: no FMA)
MULADD = 27  # a*b + c
MULSUB = 28  # a*b - c
SUBMUL = 29  # c - a*b
MUL3 = 30  # (a*b)*c: a product of a product (two roundings, in that order)

N_OPS = 31

# graph leaves (never instructions)
CONST = 60
VAR = 61  # val 0: x, 1: y
PARAM = 62  # val: the parameter's index

POWI_MAX = 1024  # larger integer exponents use POW (libm)

# The one-argument functions of the grammar (and their aliases).
FUNCTIONS: dict[str, int] = {
    "sin": SIN,
    "cos": COS,
    "tan": TAN,
    "exp": EXP,
    "log": LOG,
    "log1p": LOG1P,
    "sqrt": SQRT,
    "abs": ABS,
    "tanh": TANH,
    "sinh": SINH,
    "cosh": COSH,
    "arctan": ATAN,
    "atan": ATAN,
    "sigmoid": SIGMOID,
    "softplus": SOFTPLUS,
    "sign": SIGN,
}
# Functions of two or more arguments.
VARIADIC: dict[str, int] = {"min": MIN, "max": MAX}

# How the printer names the unary functions (one name each).
FUNCTION_NAMES: dict[int, str] = {
    SIN: "sin",
    COS: "cos",
    TAN: "tan",
    EXP: "exp",
    LOG: "log",
    LOG1P: "log1p",
    SQRT: "sqrt",
    ABS: "abs",
    TANH: "tanh",
    SINH: "sinh",
    COSH: "cosh",
    ATAN: "atan",
    SIGMOID: "sigmoid",
    SOFTPLUS: "softplus",
    SIGN: "sign",
    MIN: "min",
    MAX: "max",
}

UNARY = frozenset(FUNCTIONS.values()) | {NEG}
BINARY = frozenset({ADD, SUB, MUL, DIV, POW, MIN, MAX, LE})
