"""Random numbers of the engine: xoroshiro128+ with its state passed in explicitly.

Seeds go through splitmix64, so every stream (gradient noise, random-search
directions, the perceptron's epoch shuffles) is a pure function of the scenario seed.
"""

from __future__ import annotations

import math

import numpy as np

from engine.jit import jit_inline


@jit_inline
def _rotl(x: np.uint64, k: np.uint64) -> np.uint64:
    return (x << k) | (x >> (np.uint64(64) - k))


@jit_inline
def rng_next(s: np.ndarray, o: int) -> np.uint64:
    """xoroshiro128+ on the two words s[o], s[o+1] (state passed in explicitly)."""
    s0 = s[o]
    s1 = s[o + 1]
    result = s0 + s1
    s1 ^= s0
    s[o] = _rotl(s0, np.uint64(24)) ^ s1 ^ (s1 << np.uint64(16))
    s[o + 1] = _rotl(s1, np.uint64(37))
    return result


@jit_inline
def rng_uniform(s: np.ndarray, o: int) -> float:
    """Uniform double in [0, 1)."""
    return float(rng_next(s, o) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit_inline
def rng_normal(s: np.ndarray, o: int) -> float:
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
