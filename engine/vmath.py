"""exp, log1p, softplus and σ that LLVM can vectorise, and the intrinsics they need.

numba lowers ``math.exp`` and ``math.log1p`` to calls into libm, one value per call
(~20 ns per row for the pair, where numpy's vectorised loops take ~5 ns): a loop that
calls them is never vectorised. :func:`vexp`, :func:`vlog1p` and
:func:`softplus_sigmoid_e` are straight-line arithmetic on one float64 (range reduction,
a polynomial, the power of two built in the exponent bits, selects instead of branches),
so a loop over an array of them compiles to AVX-512/AVX2 code.

They use ordinary IEEE operations (no fastmath) and the fused multiply-add
(:func:`fma`, correctly rounded: the same bits on every machine). Accuracy, measured by
tests/test_vmath.py over the whole float64 range against the platform's libm:
``vexp`` within 1 ulp of ``math.exp``; ``vlog1p`` within 1 ulp of ``math.log1p``;
softplus within 2 ulp and σ within 4 ulp of the stable libm formulas (libm itself is
within 1 ulp of the exact values). Special values as libm: NaN gives NaN; ±inf, 0, −1,
overflow to inf and underflow through the subnormals to 0 exactly.

The intrinsics: :func:`f64_bits`/:func:`bits_f64` (bit casts), :func:`fma`,
:func:`radd` (an addition the vectoriser may reassociate: running sums split into
per-lane partial sums; no other fast-math flag), :func:`prefer_wide_vectors` and
:func:`prefetch_item` (for the shuffle).
"""

from __future__ import annotations

from typing import Any

import numba

from engine.jit import intrinsic, jit_inline

INF = float("inf")
NAN = float("nan")

# exp
_LOG2E = 1.4426950408889634  # 1/ln 2
_LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: ln 2 to 32 bits (n·_LN2_HI exact)
_LN2_LO = 1.90821492927058770002e-10  # 0x3dea39ef35793c76: ln 2 − _LN2_HI
_SHIFT = 6755399441055744.0  # 1.5·2^52: (t + _SHIFT) − _SHIFT rounds t to an integer
# 1/k! for k = 13 down to 2: the Taylor polynomial of (e^r − 1 − r)/r² to degree 11
_E13 = 1.0 / 6227020800.0
_E12 = 1.0 / 479001600.0
_E11 = 1.0 / 39916800.0
_E10 = 1.0 / 3628800.0
_E9 = 1.0 / 362880.0
_E8 = 1.0 / 40320.0
_E7 = 1.0 / 5040.0
_E6 = 1.0 / 720.0
_E5 = 1.0 / 120.0
_E4 = 1.0 / 24.0
_E3 = 1.0 / 6.0

# log1p (the coefficients of fdlibm's e_log.c / s_log1p.c: a minimax polynomial in
# s² for (log(1 + f) − f + f²/2)/s − f²/2, s = f/(2 + f), error < 2^-58.45)
_LG1 = 6.666666666666735130e-01  # 0x3FE5555555555593
_LG2 = 3.999999999940941908e-01  # 0x3FD999999997FA04
_LG3 = 2.857142874366239149e-01  # 0x3FD2492494229359
_LG4 = 2.222219843214978396e-01  # 0x3FCC71C51D8E78AF
_LG5 = 1.818357216161805012e-01  # 0x3FC7466496CB03DE
_LG6 = 1.531383769920937332e-01  # 0x3FC39A09D078C69F
_LG7 = 1.479819860511658591e-01  # 0x3FC2F112DF3E5244


# ---------------------------------------------------------------- intrinsics
def _bitcast_codegen(to: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(to))

    return codegen


@intrinsic
def f64_bits(typingctx: Any, x: Any) -> Any:
    """``f64_bits(x)`` in jitted code: the IEEE-754 bits of the float64 ``x`` as an int64."""
    if x != numba.types.float64:
        return None
    return numba.types.int64(numba.types.float64), _bitcast_codegen(numba.types.int64)


@intrinsic
def bits_f64(typingctx: Any, i: Any) -> Any:
    """``bits_f64(i)`` in jitted code: the float64 whose IEEE-754 bits are the int64 ``i``."""
    if i != numba.types.int64:
        return None
    return numba.types.float64(numba.types.int64), _bitcast_codegen(numba.types.float64)


def _fma_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    from llvmlite import ir
    from numba.core import cgutils

    d = ir.DoubleType()
    fnty = ir.FunctionType(d, [d, d, d])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64")
    return builder.call(fn, list(args))


@intrinsic
def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``fma(a, b, c)`` in jitted code: a·b + c rounded once (LLVM's ``llvm.fma.f64``)."""
    f = numba.types.float64
    if a != f or b != f or c != f:
        return None
    return f(f, f, f), _fma_codegen


def _radd_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    return builder.fadd(args[0], args[1], flags=("reassoc",))


@intrinsic
def radd(typingctx: Any, a: Any, b: Any) -> Any:
    """``radd(a, b)`` in jitted code: a + b carrying LLVM's ``reassoc`` flag, nothing else.

    ``s = radd(s, v)`` in a loop is a running sum that the loop vectoriser may split
    into per-lane partial sums (added together after the loop); without the flag it keeps
    the sequential order and the loop stays scalar. Only this reordering is allowed: no
    nnan/ninf (NaN and inf still propagate, so divergence is still detected), no
    contraction, no approximations.
    """
    f = numba.types.float64
    if a != f or b != f:
        return None
    return f(f, f), _radd_codegen


def _wide_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    # a string attribute, which llvmlite's attribute set does not list: added past its check
    set.add(builder.function.attributes, _PREFER_WIDE)
    return context.get_dummy_value()


_PREFER_WIDE = '"prefer-vector-width"="512"'


@intrinsic
def prefer_wide_vectors(typingctx: Any) -> Any:
    """``prefer_wide_vectors()`` in a jitted function: let LLVM vectorise its loops with
    512-bit vectors where the CPU has them (AVX-512).

    LLVM's x86 cost model prefers 256-bit vectors by default (early AVX-512 chips lowered
    their clock for 512-bit code); the function attribute ``prefer-vector-width`` lifts
    that for this one function. Same arithmetic, same results; on CPUs without AVX-512
    it changes nothing. The perceptron's loops: ~15 % faster per epoch here.
    """
    return numba.types.void(), _wide_codegen


def _prefetch_item_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    from llvmlite import ir
    from numba.core import cgutils

    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], signature.args[1], numba.types.intp)
    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx])
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    builder.call(fn, [ptr, i32(1), i32(3), i32(1)])  # for a write, all cache levels, data
    return context.get_dummy_value()


@intrinsic
def prefetch_item(typingctx: Any, arr: Any, i: Any) -> Any:
    """``prefetch_item(a, i)`` in jitted code: ask the CPU to fetch the cache line of
    ``a[i]`` (1-D) for writing (LLVM's prefetch: no effect on results, no fault on any
    address)."""
    if not (isinstance(arr, numba.types.Array) and arr.ndim == 1):
        return None
    if not isinstance(i, numba.types.Integer):
        return None
    return numba.types.void(arr, i), _prefetch_item_codegen


# ---------------------------------------------------------------- the functions
@jit_inline
def vexp(x: float) -> float:
    """e^x, within 1 ulp of ``math.exp`` (see the module docstring); vectorisable.

    x = n·ln 2 + r with n = round(x/ln 2), |r| <= ln 2/2 (Cody-Waite: n·ln 2 in two
    parts, the first exact); e^r = 1 + r + r²·P(r), P the Taylor polynomial of degree 11
    (truncation < 5e-18 relative), by Estrin's scheme with fused multiply-adds; then the product
    with 2^n, as 2^(n − n//2)·2^(n//2) (two exact scalings, one rounding where the
    result is subnormal). x is clamped to [−760, 720] first: beyond it the product
    rounds to 0 or overflows to inf, as e^x does; NaN gives NaN.
    """
    xc = min(max(x, -760.0), 720.0)  # NaN: replaced at the end
    t = xc * _LOG2E + _SHIFT
    kf = t - _SHIFT
    n = f64_bits(t) - f64_bits(_SHIFT)  # = kf, as an integer
    r = fma(kf, -_LN2_HI, xc)  # exact
    r = fma(kf, -_LN2_LO, r)
    # P(r) = Σ_{k=2}^{13} r^(k−2)/k! by Estrin's scheme (a short dependency chain)
    r2 = r * r
    r4 = r2 * r2
    p01 = fma(_E3, r, 0.5)
    p23 = fma(_E5, r, _E4)
    p45 = fma(_E7, r, _E6)
    p67 = fma(_E9, r, _E8)
    p89 = fma(_E11, r, _E10)
    pab = fma(_E13, r, _E12)
    p03 = fma(p23, r2, p01)
    p47 = fma(p67, r2, p45)
    p8b = fma(pab, r2, p89)
    p = fma(fma(p8b, r4, p47), r4, p03)
    er = 1.0 + fma(r2, p, r)
    n1 = n >> 1
    s1 = bits_f64((n1 + 1023) << 52)
    s2 = bits_f64((n - n1 + 1023) << 52)
    res = er * s1 * s2
    return res if x == x else x


@jit_inline
def vlog1p(x: float) -> float:
    """log(1 + x), within 1 ulp of ``math.log1p`` (see the module docstring); vectorisable.

    fdlibm's s_log1p.c without its branches: 1 + x = 2^k·(1 + f), √2/2 <= 1 + f < √2,
    from the bits of u = fl(1 + x), with the rounding error of u put back by
    c = (x − (u − 1))/u (k < 2) or (1 − (u − x))/u (2 <= k < 54; 0 beyond); k = 0 uses
    f = x exactly. log(1 + f) = f − f²/2 + s·(f²/2 + R(s²)), s = f/(2 + f), R the
    minimax polynomial of fdlibm (error < 2^-58.45); the result is summed as fdlibm sums
    it: (((s·(f²/2 + R) + (k·ln2_lo + c)) − f²/2) + f) + k·ln2_hi.
    x = −1 gives −inf, x < −1 NaN, ±0 ±0, +inf inf, NaN NaN.
    """
    u = 1.0 + x
    iu = f64_bits(u)
    hu = (iu >> 32) + (0x3FF00000 - 0x3FE6A09E)
    k = (hu >> 20) - 0x3FF
    c = (1.0 - (u - x) if k >= 2 else x - (u - 1.0)) / u
    c = c if k < 54 else 0.0
    hu = (hu & 0x000FFFFF) + 0x3FE6A09E
    f: float = bits_f64((hu << 32) | (iu & 0xFFFFFFFF)) - 1.0
    if k == 0:
        f = x
        c = 0.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    dk = float(k)
    res = s * (hfsq + (t2 + t1)) + (dk * _LN2_LO + c) - hfsq + f + dk * _LN2_HI
    res = res if x < INF and x != 0.0 else x  # +inf, NaN and ±0 as they came
    if x <= -1.0:
        res = -INF if x == -1.0 else NAN
    return res


_U_SPLIT = 1.4142131805419922  # 0x3FF6A09E00000000: fdlibm's split of 1 + e at ~√2


@jit_inline
def softplus_sigmoid_e(z: float, e: float) -> tuple[float, float]:
    """(softplus(z), σ(z)) from z and e = e^−|z|, in the stable forms max(z, 0) + log1p(e)
    and (1/(1 + e) for z >= 0, e/(1 + e) else). Split from the exp so that a loop can do
    the two halves in two passes (shorter dependency chains: more rows in flight).

    log1p(e), e in [0, 1], as in :func:`vlog1p` (there k is 0 or 1), with its two
    divisions and 1/(1 + e) taken from one: q = 1/((1 + e)·(2 + f)), then
    1/(1 + e) = (2 + f)·q and s = f/(2 + f) = f·((1 + e)·q). Accuracy (tests/test_vmath.py):
    softplus within 2 ulp of ``max(z, 0) + math.log1p(math.exp(−|z|))``, σ within 4 ulp
    of the same formula in libm; NaN gives NaN, ±inf give (inf, 1) and (0, 0).
    """
    u = 1.0 + e
    k1 = u >= _U_SPLIT  # 1 + e = 2·(1 + f)
    f = 0.5 * u - 1.0 if k1 else e  # exact in both cases
    den = 2.0 + f
    q = 1.0 / (u * den)
    inv = den * q  # 1/(1 + e)
    s = f * (u * q)  # f/(2 + f)
    c = (e - (u - 1.0)) * inv if k1 else 0.0  # the rounding error of 1 + e, over 1 + e
    dk = 1.0 if k1 else 0.0
    hfsq = 0.5 * f * f
    z2 = s * s
    w = z2 * z2
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z2 * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    lg = s * (hfsq + (t2 + t1)) + (dk * _LN2_LO + c) - hfsq + f + dk * _LN2_HI
    return max(z, 0.0) + lg, (inv if z >= 0.0 else e * inv)
