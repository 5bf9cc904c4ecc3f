"""The "retention" task: applies `[storage] retention_days` in small transactions, hourly.

What ages out: the raw bytes of stored frames (``frames.raw`` set to NULL; the row stays, so
duplicate and replay detection keep working) and outbox rows already delivered upstream.
Readings, series, events and anything not yet delivered are never deleted here: losing
undelivered data to free space is not a trade the gateway makes silently (the writer's size cap
refuses new frames instead, and boards keep them).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

from gateway.outbox import prune_delivered
from gateway.store.db import Database

__all__ = ["Retention", "prune_frames"]

log = logging.getLogger("gateway.retention")

BATCH = 5000        # rows per transaction: keeps each write short next to ingest
PERIOD_S = 3600.0


def prune_frames(conn: sqlite3.Connection, cutoff: int, limit: int = BATCH) -> int:
    """Drop the raw bytes of up to `limit` frames received before `cutoff`; rows changed."""
    return conn.execute(
        "UPDATE frames SET raw = NULL WHERE id IN (SELECT id FROM frames WHERE raw IS NOT NULL "
        "AND received_at < ? ORDER BY id LIMIT ?)", (cutoff, limit),
    ).rowcount


class Retention:
    """Runs one pass at start and then every `period_s` until stop()."""

    def __init__(self, db: Database, retention_days: int, *, period_s: float = PERIOD_S) -> None:
        self.db = db
        self.retention_days = retention_days
        self.period_s = period_s
        self.counters = {"frames_pruned": 0, "outbox_pruned": 0, "passes": 0}
        self._stop = asyncio.Event()

    async def run_once(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        cutoff = int(now - self.retention_days * 86400)
        while (n := await self.db.write(prune_frames, cutoff)) > 0:
            self.counters["frames_pruned"] += n
        while (n := await self.db.write(_prune_outbox, self.retention_days, now)) > 0:
            self.counters["outbox_pruned"] += n
        self.counters["passes"] += 1

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except sqlite3.Error as exc:
                log.error("retention pass failed", extra={"error": str(exc)})
            try:
                async with asyncio.timeout(self.period_s):
                    await self._stop.wait()
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> dict[str, Any]:
        return dict(self.counters)


def _prune_outbox(conn: sqlite3.Connection, keep_days: float, now: float) -> int:
    return prune_delivered(conn, keep_days=keep_days, now=now, limit=BATCH)
