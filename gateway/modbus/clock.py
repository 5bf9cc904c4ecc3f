"""Wall-clock time for the poll loops, injectable so tests need not wait a quarter of an hour."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "next_boundary"]

_MAX_NAP_S = 30.0


class Clock(Protocol):
    """What the pollers need of time: UTC seconds now, and a way to wait for a given instant."""

    def now(self) -> float:
        """Unix seconds (UTC)."""

    async def sleep_until(self, when: float) -> None:
        """Return once now() >= `when`."""


class SystemClock:
    """The real wall clock (``time.time``)."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        # Naps of at most 30 s: the event loop sleeps on a monotonic clock, so a wall-clock
        # step (NTP setting a mini-PC's clock after boot) is noticed within one nap.
        while (left := when - time.time()) > 0:
            await asyncio.sleep(min(left, _MAX_NAP_S))


def next_boundary(now: float, period_s: float) -> float:
    """The first multiple of `period_s` (UTC, since the epoch) strictly after `now`."""
    return (math.floor(now / period_s) + 1) * period_s
