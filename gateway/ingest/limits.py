"""Per-connection limits of the ingest server and the token bucket that paces frames."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["IngestLimits", "TokenBucket"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestLimits:
    """Bounds on what one TCP connection may cost the gateway.

    Memory per connection stays below ``max_buffered_bytes`` + ``read_size`` + one frame:
    once the frames awaiting commit plus the deframer's partial frame reach
    ``max_buffered_bytes``, the connection stops reading (TCP backpressure) until the writer
    catches up. Frames beyond ``max_frames_per_s`` (after a ``burst``) are paced the same way.
    """

    idle_timeout_s: float = 300.0      # no bytes for this long: close (modems hold idle sockets)
    # no authentic frame this long after connecting: close, so sockets that never authenticate
    # cannot hold every max_connections slot for idle_timeout_s
    auth_timeout_s: float = 60.0
    max_buffered_bytes: int = 64 * 1024
    max_frames_per_s: float = 100.0
    burst: int = 200
    max_failures: int = 5              # consecutive dropped frames before the connection closes
    max_garbage_bytes: int = 16 * 1024  # bytes skipped since the last good frame: close
    read_size: int = 4096
    max_connections: int = 10_000
    ack_write_timeout_s: float = 30.0  # a peer that does not read its ACKs is closed
    drain_timeout_s: float = 10.0      # on EOF: wait this long for in-flight commits to ACK them
    downlink_block: int = 32           # downlink counters reserved per registry write

    @classmethod
    def from_settings(cls, settings: object) -> IngestLimits:
        """Take every field that `settings` (e.g. config ``IngestSettings``) has by name."""
        names = [f for f in cls.__dataclass_fields__ if hasattr(settings, f)]
        return cls(**{name: getattr(settings, name) for name in names})

    def __post_init__(self) -> None:
        for name in ("idle_timeout_s", "auth_timeout_s", "max_frames_per_s",
                     "ack_write_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ingest limits: {name} must be > 0, got {getattr(self, name)}")
        for name in ("max_buffered_bytes", "burst", "max_failures", "read_size",
                     "max_connections", "downlink_block"):
            if getattr(self, name) < 1:
                raise ValueError(f"ingest limits: {name} must be >= 1, got {getattr(self, name)}")
        if self.max_buffered_bytes < 1047:
            raise ValueError("ingest limits: max_buffered_bytes must hold one frame (>= 1047), "
                             f"got {self.max_buffered_bytes}")


class TokenBucket:
    """`await take()` returns at once while tokens last, else sleeps until one refills."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self.waits = 0

    async def take(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            self.waits += 1
            await asyncio.sleep((1 - self._tokens) / self.rate)
            self._tokens = 1.0
            self._at = self.clock()
        self._tokens -= 1
