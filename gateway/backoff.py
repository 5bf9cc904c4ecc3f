"""Exponential backoff with jitter: the uplink's reconnects, Modbus buses and silent devices."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff", "Retry"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay after the n-th consecutive failure: initial x 2^(n-1), capped, minus random jitter.

    ``jitter`` is the fraction of the delay that is random: 0.5 draws from [delay/2, delay], so
    gateways that lost the same TCP-to-RS485 converter do not all come back at once.
    """

    initial_s: float = 5.0
    maximum_s: float = 300.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, failures: int) -> float:
        # the exponent stops where any initial delay has passed any cap: 2**1024 is no float
        ceiling = min(self.maximum_s, self.initial_s * 2.0 ** min(max(0, failures - 1), 64))
        return ceiling - self.rng.uniform(0.0, ceiling * self.jitter)


@dataclass(slots=True)
class Retry:
    """Failure count and earliest next attempt of one bus or device (clock seconds)."""

    failures: int = 0
    not_before: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.not_before

    def failed(self, now: float, backoff: Backoff) -> float:
        """Count a failure; returns the delay until the next attempt."""
        self.failures += 1
        wait = backoff.delay(self.failures)
        self.not_before = now + wait
        return wait

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0
