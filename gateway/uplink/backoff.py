"""Exponential reconnect delays with jitter, so a fleet of gateways does not reconnect in step."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """``next()`` gives d/2 + uniform(0, d/2) with d = min(max_s, min_s * 2**n); ``reset()``."""

    def __init__(self, min_s: float, max_s: float, *, rng: random.Random | None = None) -> None:
        self.min_s = min_s
        self.max_s = max(max_s, min_s)
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        d = min(self.max_s, self.min_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return d / 2 + self._rng.uniform(0, d / 2)

    def reset(self) -> None:
        self.attempt = 0
