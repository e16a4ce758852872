"""Random numbers of the engine: xoroshiro128+ with its state passed in explicitly.

Seeds go through splitmix64, so every stream (gradient noise, random-search
directions, the perceptron's epoch shuffles) is a pure function of the scenario seed.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from engine.jit import intrinsic, jit_inline


@jit_inline
def _rotl(x: np.uint64, k: np.uint64) -> np.uint64:
    return (x << k) | (x >> (np.uint64(64) - k))


@jit_inline
def rng_next(s: npt.NDArray[np.uint64], o: int) -> np.uint64:
    """xoroshiro128+ on the two words s[o], s[o+1] (state passed in explicitly)."""
    s0: np.uint64 = s[o]
    s1: np.uint64 = s[o + 1]
    result = s0 + s1
    s1 ^= s0
    s[o] = _rotl(s0, np.uint64(24)) ^ s1 ^ (s1 << np.uint64(16))
    s[o + 1] = _rotl(s1, np.uint64(37))
    return result


@jit_inline
def rng_uniform(s: npt.NDArray[np.uint64], o: int) -> float:
    """Uniform double in [0, 1)."""
    return float(rng_next(s, o) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit_inline
def rng_normal(s: npt.NDArray[np.uint64], o: int) -> float:
    """Standard normal (Box-Muller, one value per call)."""
    u1 = 1.0 - rng_uniform(s, o)
    u2 = rng_uniform(s, o)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def splitmix64(seed: int) -> list[int]:
    """Two 64-bit words from ``seed`` (seeding the xoroshiro state), pure Python."""
    out = []
    z = seed & 0xFFFFFFFFFFFFFFFF
    for _ in range(2):
        z = (z + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        v = z
        v = ((v ^ (v >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        v = ((v ^ (v >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out.append(v ^ (v >> 31))
    return out


@jit_inline
def _splitmix_word(z: np.uint64) -> np.uint64:
    z = z + np.uint64(0x9E3779B97F4A7C15)
    v = z
    v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return v ^ (v >> np.uint64(31))


def _mulhi_codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    from llvmlite import ir

    i128 = ir.IntType(128)
    prod = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
    return builder.trunc(builder.lshr(prod, i128(64)), ir.IntType(64))


@intrinsic
def mulhi64(typingctx: Any, a: Any, b: Any) -> Any:
    """``mulhi64(a, b)`` in jitted code: the high 64 bits of the 128-bit product of two
    uint64 (one ``mul``/``mulx`` instruction on x86-64)."""
    u = numba.types.uint64
    if a != u or b != u:
        return None
    return u(u, u), _mulhi_codegen


@jit_inline
def xoroshiro_step(s0: np.uint64, s1: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64]:
    """One xoroshiro128+ output from the state words (s0, s1): (output, s0', s1')."""
    result = s0 + s1
    s1 ^= s0
    return result, _rotl(s0, np.uint64(24)) ^ s1 ^ (s1 << np.uint64(16)), _rotl(s1, np.uint64(37))


@jit_inline
def lemire_pair(
    x: np.uint64, b1: np.uint64, b2: np.uint64
) -> tuple[np.uint64, np.uint64, np.bool_]:
    """Two bounded integers from one uniform 64-bit ``x``: (j1, j2, accepted).

    With p = b1·b2 <= 2^64 − 1: x·b1 = j1·2^64 + l1, l1·b2 = j2·2^64 + l2, so
    x·p = (j1·b2 + j2)·2^64 + l2 and J = j1·b2 + j2 = ⌊x·p/2^64⌋ (j2 < b2): Lemire's
    multiply-shift for one integer in [0, p), read as two digits in the mixed radix (b1, b2)
    (Brackett-Milbauer and Lemire, "Batched ranged random integer generation", 2024).
    Rejecting x when l2 < 2^64 mod p makes J, hence (j1, j2), exactly uniform on
    [0, b1) × [0, b2); the modulo is computed only when l2 < p (probability p/2^64).
    b2 = 1 is the one-integer case.
    """
    p = b1 * b2
    l1 = x * b1
    l2 = l1 * b2
    ok = l2 >= p or l2 >= (np.uint64(0) - p) % p  # (2^64 − p) mod p = 2^64 mod p
    return mulhi64(x, b1), mulhi64(l1, b2), ok
