"""engine.vmath: the hand-written exp, log1p, softplus and σ against libm, the bit-level
intrinsics, and the perceptron kernel built on them (non-finite weights still give a
non-finite loss, so the race still detects divergence)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.data import Dataset, generate
from engine.jit import jit
from engine.objective import PerceptronObjective
from engine.perceptron_kernel import PF_TILE, perceptron_fg
from engine.race import Race, RacerConfig
from engine.rng import lemire_pair, mulhi64
from engine.vmath import bits_f64, f64_bits, fma, radd, softplus_sigmoid_e, vexp, vlog1p

INF = math.inf
NAN = math.nan


@jit
def _vexp_all(x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        out[i] = vexp(x[i])


@jit
def _vlog1p_all(x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        out[i] = vlog1p(x[i])


@jit
def _softplus_sigmoid_all(z: np.ndarray, sp: np.ndarray, sg: np.ndarray) -> None:
    for i in range(z.shape[0]):
        sp[i], sg[i] = softplus_sigmoid_e(z[i], vexp(-abs(z[i])))


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place (0 where equal, or both NaN)."""
    ia = a.view(np.int64)
    ib = b.view(np.int64)
    lo = np.int64(-0x8000000000000000)
    ia = np.where(ia < 0, lo - ia, ia)  # monotonic integer order of the floats
    ib = np.where(ib < 0, lo - ib, ib)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    d = np.abs(np.where(same, 0, ia - ib)).astype(np.float64)  # no overflow: same-sign pairs
    d[np.isnan(a) != np.isnan(b)] = np.inf
    return d


def _libm(fn: object, xs: np.ndarray) -> np.ndarray:
    out = np.empty_like(xs)
    for i, v in enumerate(xs.tolist()):
        try:
            out[i] = fn(v)  # type: ignore[operator]
        except OverflowError:
            out[i] = INF
        except ValueError:  # log1p(x <= -1)
            out[i] = -INF if v == -1.0 else NAN
    return out


RNG = np.random.default_rng(20240611)
N = 60_000


def _signed_log_uniform(lo: float, hi: float, n: int) -> np.ndarray:
    return RNG.choice([-1.0, 1.0], n) * 10.0 ** RNG.uniform(lo, hi, n)


EXP_ARGS = np.concatenate([
    RNG.uniform(-750.0, 710.0, N),  # the whole range, overflow and underflow included
    RNG.uniform(-1.0, 1.0, N),
    RNG.uniform(-745.2, -707.0, N),  # results in the subnormals
    _signed_log_uniform(-320.0, 3.5, N),  # from subnormal arguments up to ±3000
    np.array([0.0, -0.0, 5e-324, -5e-324, 1e-300, 1.0, -1.0, 0.5, math.log(2.0), 88.7, -88.7,
              709.782712893384, 709.7827128933841, 709.79, -708.3964185322641,
              -745.1332191019411, -745.1332191019412, -746.0, 720.0, -760.0, 800.0,
              1e300, -1e300, INF, -INF, NAN]),
])  # fmt: skip

LOG1P_ARGS = np.concatenate([
    RNG.uniform(0.0, 1.0, N),  # the perceptron's range (e^−|z|)
    RNG.uniform(-1.0, 1.0, N),
    RNG.uniform(-0.3, 0.42, N),  # around the reduction's split at √2 − 1 and √2/2 − 1
    10.0 ** RNG.uniform(-320.0, 308.0, N),
    -(10.0 ** RNG.uniform(-320.0, 0.0, N)) * 0.9999999,  # down to just above −1
    np.array([0.0, -0.0, 5e-324, -5e-324, 2.0**-53, -(2.0**-53), 1e-300, 1.0, 2.0,
              math.sqrt(2.0) - 1.0, math.sqrt(0.5) - 1.0, -0.9999999999999999, 1e300,
              1.7976931348623157e308, INF, -1.0, -1.5, -1e300, -INF, NAN]),
])  # fmt: skip

Z_ARGS = np.concatenate([
    RNG.uniform(-40.0, 40.0, N),
    RNG.uniform(-1.0, 1.0, N),
    RNG.uniform(-0.9, -0.8, N),  # e^−|z| near √2 − 1: the split of the log's reduction
    _signed_log_uniform(-320.0, 3.0, N),
    np.array([0.0, -0.0, 5e-324, 1e-300, 36.0, -36.0, 37.5, -37.5, 708.0, -708.0, 745.0,
              -745.0, 800.0, -800.0, 1e300, -1e300, INF, -INF, NAN]),
])  # fmt: skip


def test_vexp_is_within_one_ulp_of_libm() -> None:
    got = np.empty_like(EXP_ARGS)
    _vexp_all(EXP_ARGS, got)
    want = _libm(math.exp, EXP_ARGS)
    d = ulps(got, want)
    assert d.max() <= 1.0, (EXP_ARGS[np.argmax(d)], d.max())
    # the special values exactly
    for x, e in ((0.0, 1.0), (-0.0, 1.0), (INF, INF), (-INF, 0.0), (1e300, INF),
                 (-1e300, 0.0), (709.79, INF), (-746.0, 0.0)):  # fmt: skip
        i = np.flatnonzero(x == EXP_ARGS)[0]
        assert got[i] == e, (x, got[i])
    assert math.isnan(got[np.flatnonzero(np.isnan(EXP_ARGS))[0]])
    sub = (want > 0.0) & (want < 2.2250738585072014e-308)
    assert sub.sum() > 1000 and (got[sub] > 0.0).mean() > 0.99, "subnormal results kept"


def test_vlog1p_is_within_one_ulp_of_libm() -> None:
    got = np.empty_like(LOG1P_ARGS)
    _vlog1p_all(LOG1P_ARGS, got)
    want = _libm(math.log1p, LOG1P_ARGS)
    d = ulps(got, want)
    assert d.max() <= 1.0, (LOG1P_ARGS[np.argmax(d)], d.max())
    for x, e in ((INF, INF), (-1.0, -INF), (1e300, math.log1p(1e300)), (5e-324, 5e-324)):
        assert got[np.flatnonzero(x == LOG1P_ARGS)[0]] == e, x
    for x in (-1.5, -1e300, -INF, NAN):
        i = np.flatnonzero((x == LOG1P_ARGS) | (np.isnan(LOG1P_ARGS) & math.isnan(x)))[0]
        assert math.isnan(got[i]), x
    for x in (0.0, -0.0):  # signed zeros as libm
        i = np.flatnonzero((LOG1P_ARGS == 0.0) & (np.signbit(LOG1P_ARGS) == (x < 0 or
                           math.copysign(1.0, x) < 0)))[0]  # fmt: skip
        assert got[i] == 0.0 and math.copysign(1.0, got[i]) == math.copysign(1.0, x)


def test_softplus_and_sigmoid_are_within_2_and_4_ulp_of_libm() -> None:
    sp = np.empty_like(Z_ARGS)
    sg = np.empty_like(Z_ARGS)
    _softplus_sigmoid_all(Z_ARGS, sp, sg)
    want_sp = np.empty_like(Z_ARGS)
    want_sg = np.empty_like(Z_ARGS)
    for i, z in enumerate(Z_ARGS.tolist()):
        e = math.exp(-abs(z))
        want_sp[i] = max(z, 0.0) + math.log1p(e) if z == z else NAN
        want_sg[i] = (1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)) if z == z else NAN
    d = ulps(sp, want_sp)
    assert d.max() <= 2.0, (Z_ARGS[np.argmax(d)], d.max())
    d = ulps(sg, want_sg)
    assert d.max() <= 4.0, (Z_ARGS[np.argmax(d)], d.max())
    at = {
        float(z): (float(a), float(b))
        for z, a, b in zip(Z_ARGS[-19:], sp[-19:], sg[-19:], strict=True)
    }
    assert at[0.0] == (math.log(2.0), 0.5)
    assert at[INF] == (INF, 1.0) and at[-INF] == (0.0, 0.0)
    assert at[1e300] == (1e300, 1.0) and at[-1e300] == (0.0, 0.0)
    assert math.isnan(sp[-1]) and math.isnan(sg[-1])


# ---------------------------------------------------------------- intrinsics
@jit
def _bits_roundtrip(x: np.ndarray, bits: np.ndarray, back: np.ndarray) -> None:
    for i in range(x.shape[0]):
        bits[i] = f64_bits(x[i])
        back[i] = bits_f64(bits[i])


@jit
def _fma(a: float, b: float, c: float) -> float:
    return fma(a, b, c)


@jit
def _radd_sum(x: np.ndarray) -> float:
    s = 0.0
    for i in range(x.shape[0]):
        s = radd(s, x[i])
    return s


def test_bit_casts_fma_and_reassociable_add() -> None:
    x = np.concatenate([EXP_ARGS, [-0.0, 5e-324]])
    bits = np.empty(x.shape[0], dtype=np.int64)
    back = np.empty_like(x)
    _bits_roundtrip(x, bits, back)
    assert np.array_equal(bits, x.view(np.int64)) and np.array_equal(back.view(np.int64), bits)
    u = 2.0**-52
    assert _fma(1.0 + u, 1.0 - u, -1.0) == -(u * u), "one rounding: the exact product survives"
    assert (1.0 + u) * (1.0 - u) - 1.0 == 0.0
    assert _fma(2.0, 3.0, 1.0) == 7.0 and math.isnan(_fma(INF, 0.0, 1.0))
    v = RNG.uniform(-1.0, 1.0, 1001)
    assert _radd_sum(v) == pytest.approx(math.fsum(v), rel=1e-13, abs=1e-13)
    assert math.isnan(_radd_sum(np.array([1.0, NAN, 2.0] * 40))), "NaN still propagates"
    assert _radd_sum(np.array([1.0, INF] * 40)) == INF


@jit
def _mulhi(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(a.shape[0]):
        out[i] = mulhi64(a[i], b[i])


@jit
def _pairs(x: np.ndarray, b1: np.ndarray, b2: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        j1, j2, ok = lemire_pair(x[i], b1[i], b2[i])
        out[i, 0] = j1
        out[i, 1] = j2
        out[i, 2] = 1 if ok else 0


def test_mulhi_and_lemire_pair_match_big_integers() -> None:
    """lemire_pair is Lemire's exact multiply-shift for one integer J in [0, b1·b2),
    J = ⌊x·b1·b2/2^64⌋ = j1·b2 + j2, accepted iff (x·b1·b2 mod 2^64) >= 2^64 mod (b1·b2):
    checked here with Python's big integers, rejection boundaries included."""
    m64 = 1 << 64
    a = RNG.integers(0, m64, 5000, dtype=np.uint64)
    b = RNG.integers(0, m64, 5000, dtype=np.uint64)
    hi = np.empty(5000, dtype=np.uint64)
    _mulhi(a, b, hi)
    assert [int(h) for h in hi] == [(int(p) * int(q)) >> 64 for p, q in zip(a, b, strict=True)]
    b1 = RNG.integers(1, 1 << 32, 4000, dtype=np.uint64)
    b2 = b1 + np.uint64(1)
    b1[:10] = [1, 1, 2, 3, 1000, 2**32 - 2, 2**32 - 2, 7, 999_999, 2**31]
    b2[:10] = [1, 2, 3, 4, 1, 2**32 - 1, 1, 8, 1_000_000, 2**31 + 1]
    xs = RNG.integers(0, m64, 4000, dtype=np.uint64)
    # x just below and at the rejection threshold: x·p mod 2^64 = t − 1 and = t
    for k in range(10, 40):
        p = int(b1[k]) * int(b2[k])
        t = m64 % p
        target = (t - 1 + (k % 2)) % m64  # wanted x·p mod 2^64
        g = math.gcd(p, m64)
        if target % g == 0:
            xs[k] = (target // g) * pow(p // g, -1, m64 // g) % (m64 // g)
    out = np.empty((4000, 3), dtype=np.uint64)
    _pairs(xs, b1, b2, out)
    n_rejected = 0
    for (j1, j2, ok), x, c1, c2 in zip(
        out.tolist(), xs.tolist(), b1.tolist(), b2.tolist(), strict=True
    ):
        p = c1 * c2
        big_j, low = divmod(x * p, m64)
        assert (j1, j2) == divmod(big_j, c2), (x, c1, c2)
        assert ok == (low >= m64 % p), (x, c1, c2)
        n_rejected += not ok
    assert n_rejected >= 10, "the boundary cases reach the rejection step"


# ---------------------------------------------------------------- the kernel
def test_non_finite_weights_give_a_non_finite_loss() -> None:
    rows = generate("blobs", {"n": 300, "seed": 2})
    perm = np.arange(300, dtype=np.int32)
    tile = np.zeros((PF_TILE, 3))
    g = np.zeros(3)
    bad = ([NAN, 0.0, 0.0], [0.0, 0.0, NAN], [INF, 0.0, 0.0], [-INF, 0.0, 0.0],
           [0.0, 0.0, INF], [0.0, 0.0, -INF], [1e308, 1e308, 0.0], [0.0, 0.0, 1e308])  # fmt: skip
    for x in bad:
        f = perceptron_fg(rows, perm, 0, 300, np.array(x), g, tile)
        assert not math.isfinite(f), (x, f)  # 1e308: z·(1 − y) overflows in the sum
    ob = PerceptronObjective(Dataset(rows, np.empty((0, 3))), 32, 5)
    far = RacerConfig("sgd", {"lr": 0.1}, start=(1e308, 1e308, 0.0))  # z overflows
    race = Race(ob, [far, RacerConfig("sgd", {"lr": 0.1})], steps=ob.total_steps, seed=1)
    race.run()
    assert race.status[0] != 0 and race.status[1] == 0, "the far start diverges, alone"
    assert race.trajectory(0).loss.shape[0] == 0
    assert race.trajectory(1).loss.shape[0] == ob.total_steps + 1


@jit
def _row_losses(rows: np.ndarray, x: np.ndarray, ell: np.ndarray) -> None:
    for k in range(rows.shape[0]):
        z = x[0] * rows[k, 0] + x[1] * rows[k, 1] + x[2]
        sp, _ = softplus_sigmoid_e(z, vexp(-abs(z)))
        ell[k] = sp - rows[k, 2] * z


def _lane_tree_sum(v: list[float], lanes: int, tile: int) -> float:
    """The documented order of perceptron_fg's sums for ``lanes`` partial sums."""
    s = 0.0
    for t0 in range(0, len(v), tile):
        tv = v[t0 : t0 + tile]
        full = len(tv) // lanes * lanes
        if full:
            part = [s] + [0.0] * (lanes - 1)
            for k in range(full):
                part[k % lanes] += tv[k]
            while len(part) > 1:
                h = len(part) // 2
                part = [part[i] + part[i + h] for i in range(h)]
            s = part[0]
        for k in range(full, len(tv)):
            s += tv[k]
    return s


def test_the_sums_follow_the_documented_lane_order() -> None:
    """perceptron_fg's mean loss is, bit for bit, the lane-tree sum of its docstring for
    one lane count L (the CPU's: 8 with AVX-512 or AVX2), whatever the batch size."""
    rng = np.random.default_rng(8)
    tile_rows = PF_TILE * 3 // 5
    fits = {lanes: 0 for lanes in (1, 2, 4, 8, 16, 32)}
    sizes = [int(m) for m in rng.integers(1, 1200, 60)] + [1, 7, 8, 9, 256, 257]
    for m in sizes:
        rows = rng.normal(0.0, 3.0, (m, 3))
        rows[:, 2] = rng.integers(0, 2, m)
        x = rng.normal(0.0, 1.0, 3)
        ell = np.empty(m)
        _row_losses(rows, x, ell)
        f = perceptron_fg(rows, np.arange(m, dtype=np.int32), 0, m, x, np.zeros(3),
                          np.zeros((PF_TILE, 3)))  # fmt: skip
        for lanes in fits:
            fits[lanes] += _lane_tree_sum(ell.tolist(), lanes, tile_rows) / m == f
    assert max(fits.values()) == len(sizes), fits
