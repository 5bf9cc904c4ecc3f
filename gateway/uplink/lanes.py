"""Which outbox rows to publish next: a live lane and a rate-limited backlog lane.

Invariant (per-stream order): a row is handed out only when every older pending row of its
stream is already in flight (or is handed out before it in the same batch). Both lanes keep it:

* live lane — among the newest ``live_scan`` pending rows, those added in the last
  ``live_window_s`` whose stream has no older unsent row
  (:func:`gateway.outbox.fetch_newest_heads`): new rows of caught-up streams, status, alerts,
  results. Not rate-limited, but given at most half the free window while a backlog is waiting.
* backlog lane — the oldest pending rows in global id order (:func:`gateway.outbox.fetch_oldest`),
  a prefix of the queue, so the fleet's history catches up chronologically; paced by a token
  bucket at ``backlog_rate`` messages/s (0 = unlimited).

Streams paused after a broker rejection (`held`) are left out of both lanes.
"""

from __future__ import annotations

import functools
import time

from gateway import outbox
from gateway.outbox import OutboxRow
from gateway.store.db import Database

__all__ = ["Lanes", "TokenBucket"]


class TokenBucket:
    """`rate` tokens per second up to `burst`; rate 0 means unlimited."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._tokens = self.burst
        self._at = time.monotonic()

    def available(self) -> int:
        if self.rate <= 0:
            return 1 << 30
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return int(self._tokens)

    def take(self, n: int) -> None:
        if self.rate > 0:
            self._tokens -= n


class Lanes:
    """``await next_batch(free, inflight, held)`` → rows to publish, live lane first."""

    def __init__(self, db: Database, *, backlog_rate: float, burst: int, live_scan: int,
                 live_window_s: float) -> None:
        self.db = db
        self.live_window_s = live_window_s
        self.bucket = TokenBucket(backlog_rate, burst)
        self.live_scan = live_scan
        self.backlog_waiting = False
        self.sent_live = 0
        self.sent_backlog = 0

    async def next_batch(self, free: int, inflight: set[int],
                         held: set[str]) -> list[OutboxRow]:
        if free <= 0:
            return []
        live: list[OutboxRow] = []
        if self.live_scan > 0:
            live = await self.db.read(functools.partial(
                outbox.fetch_newest_heads, limit=free, scan=self.live_scan,
                since=time.time() - self.live_window_s,
                skip=sorted(inflight), held=sorted(held)))
            if self.backlog_waiting and len(live) > max(1, free // 2):
                live = live[: max(1, free // 2)]
        room = min(free - len(live), self.bucket.available())
        backlog: list[OutboxRow] = []
        if room > 0:
            skip = inflight | {r.id for r in live}
            backlog = await self.db.read(functools.partial(
                outbox.fetch_oldest, limit=room, skip=sorted(skip), held=sorted(held)))
            self.bucket.take(len(backlog))
            self.backlog_waiting = len(backlog) == room
        else:
            self.backlog_waiting = True
        self.sent_live += len(live)
        self.sent_backlog += len(backlog)
        return live + backlog
