"""Which counter a connection may acknowledge: every frame up to it received here is committed."""

from __future__ import annotations

import bisect
from collections import Counter

__all__ = ["AckTracker"]


class AckTracker:
    """Tracks the counters of one connection's frames from receipt to commit.

    ``acked()`` is the highest committed counter N such that no frame received on this
    connection with a counter <= N is still waiting for its commit or was refused by storage
    (a refused frame must stay in the board's queue, so it blocks every ACK above it). Frames
    dropped as forged or replayed are forgotten: the board did not send them, or they can never
    be stored.
    """

    def __init__(self) -> None:
        self._pending: Counter[int] = Counter()
        self._committed: list[int] = []   # sorted, unique
        self._blocked: set[int] = set()

    def received(self, counter: int) -> None:
        self._pending[counter] += 1

    def _resolve(self, counter: int) -> None:
        self._pending[counter] -= 1
        if self._pending[counter] <= 0:
            del self._pending[counter]

    def committed(self, counter: int) -> None:
        self._resolve(counter)
        self._blocked.discard(counter)   # a resend that did commit unblocks the ACK
        i = bisect.bisect_left(self._committed, counter)
        if i == len(self._committed) or self._committed[i] != counter:
            self._committed.insert(i, counter)

    def dropped(self, counter: int) -> None:
        self._resolve(counter)

    def blocked(self, counter: int) -> None:
        self._resolve(counter)
        self._blocked.add(counter)

    def acked(self) -> int | None:
        limit = min(self._pending, default=None)
        if self._blocked:
            low = min(self._blocked)
            limit = low if limit is None else min(limit, low)
        c = self._committed
        i = len(c) if limit is None else bisect.bisect_left(c, limit)
        if i > 1:
            # Only the largest committed counter below the limit matters; forgetting smaller
            # ones bounds memory on connections that stay up for months. A late resend of an
            # old counter then yields no ACK until it commits, never a wrong one.
            del c[:i - 1]
            i = 1
        return c[i - 1] if i else None
