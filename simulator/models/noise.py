"""Counter-based seeded noise: the same (seed, stream, index) always gives the same number.

Random access (no hidden generator state) keeps every model reproducible whatever order the
simulator evaluates it in, and lets independent processes agree on the same values.
"""

from __future__ import annotations

import hashlib
import math

__all__ = ["derive_seed", "gauss", "uniform"]

_MASK = (1 << 64) - 1


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from any labels, e.g. derive_seed(scenario_seed, "device", 0xA101)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _mix(x: int) -> int:
    """splitmix64 finaliser."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def uniform(seed: int, index: int) -> float:
    """Uniform in [0, 1) for (seed, index)."""
    return (_mix(seed ^ _mix(index & _MASK)) >> 11) * (1.0 / (1 << 53))


def gauss(seed: int, index: int) -> float:
    """Standard normal for (seed, index) by Box-Muller on two uniforms."""
    u1 = uniform(seed, 2 * index) or 1e-300
    u2 = uniform(seed, 2 * index + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
