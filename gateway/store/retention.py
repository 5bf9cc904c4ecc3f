"""Retention: prune raw frames and readings only once they are normalised and delivered upstream.

    policy = RetentionPolicy(keep_days=400, raw_days=30, batch=2000)
    counts = prune_batch(conn, policy, now)       # sync, one bounded batch, inside db.write
    task = Retention(db, policy, interval_s=3600) # async: await task.run() ... await task.stop()
    task.stats / task.snapshot()                  # rows pruned per kind, runs, errors

What may go (the documented predicates; nothing else is ever deleted):

* ``readings`` row r — ``r.interval_start < now - keep_days`` AND normalised
  (``r.id <= cursors['readings']``, the normaliser's cursor) AND delivered: no outbox row with
  ``msg_id = '<device>:<channel name>:<interval_start>'`` (``gateway.model.Reading.message_id``;
  the channel name from ``devices.channels``, an input plugin's channel as stored) whose state
  is not ``delivered``. Delivered outbox rows may already be pruned by the outbox: a missing
  row after normalisation means delivered or never publishable (rejected by normalisation).
* ``frames.raw`` (the bytes; the row stays for duplicate detection) — ``received_at < now -
  raw_days`` AND none of the frame's readings is still un-normalised.
* ``frames`` row — ``received_at < now - keep_days`` AND none of its readings is left AND none
  of its events is un-normalised (``device_events.id > cursors['device_events']``).
* ``device_events`` row — ``time < now - keep_days`` AND normalised.

If the normaliser's ``cursors`` table or the outbox's ``outbox`` table does not exist, nothing
that depends on them is pruned. Each batch is its own short transaction, so retention never
holds the writer thread long enough to delay ingest ACKs. The size cap is not enforced here:
the writer refuses new data (see :mod:`gateway.writer`) instead of deleting undelivered data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
from gateway.store.db import Database

__all__ = ["Retention", "RetentionPolicy", "prune_batch"]

_DAY = 86400


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    keep_days: int = 400      # readings, events and frame rows older than this may go
    raw_days: int = 30        # raw frame bytes older than this may go (rows stay)
    batch: int = 2000         # rows per kind per transaction

    def __post_init__(self) -> None:
        if self.keep_days < 1 or self.raw_days < 1 or self.batch < 1:
            raise ValueError(f"retention: keep_days, raw_days and batch must be >= 1, got "
                             f"{self.keep_days}, {self.raw_days}, {self.batch}")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def _cursor(conn: sqlite3.Connection, name: str) -> int | None:
    if not _has_table(conn, "cursors"):
        return None
    row = conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


_READINGS_PRUNABLE = """
SELECT r.id FROM readings r LEFT JOIN devices d USING (device_id)
WHERE r.interval_start < :cutoff AND r.id <= :cursor
  AND NOT EXISTS (
    SELECT 1 FROM outbox o
    WHERE o.msg_id = r.device_id || ':'
          || coalesce(json_extract(d.channels, '$."' || r.channel || '".name'), r.channel)
          || ':' || r.interval_start
      AND o.state <> 'delivered')
LIMIT :batch
"""


def prune_batch(conn: sqlite3.Connection, policy: RetentionPolicy, now: float) -> Counter[str]:
    """Prune at most `policy.batch` rows of each kind; returns counts (all zero: done)."""
    out: Counter[str] = Counter()
    keep_cutoff = int(now) - policy.keep_days * _DAY
    raw_cutoff = int(now) - policy.raw_days * _DAY
    r_cursor = _cursor(conn, "readings")
    e_cursor = _cursor(conn, "device_events")
    if r_cursor is not None and _has_table(conn, "outbox"):
        ids = [row[0] for row in conn.execute(
            _READINGS_PRUNABLE, {"cutoff": keep_cutoff, "cursor": r_cursor,
                                 "batch": policy.batch})]
        conn.executemany("DELETE FROM readings WHERE id = ?", [(i,) for i in ids])
        out["readings"] = len(ids)
    if e_cursor is not None:
        out["device_events"] = conn.execute(
            "DELETE FROM device_events WHERE id IN (SELECT id FROM device_events "
            "WHERE time < ? AND id <= ? LIMIT ?)", (keep_cutoff, e_cursor, policy.batch)
        ).rowcount
    if r_cursor is not None:
        out["frame_bytes"] = conn.execute(
            "UPDATE frames SET raw = NULL WHERE id IN (SELECT f.id FROM frames f "
            "WHERE f.received_at < ? AND f.raw IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
            "readings r WHERE r.device_id = f.device_id AND r.frame_counter = f.counter "
            "AND r.id > ?) LIMIT ?)", (raw_cutoff, r_cursor, policy.batch)).rowcount
        out["frames"] = conn.execute(
            "DELETE FROM frames WHERE id IN (SELECT f.id FROM frames f WHERE f.received_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.device_id = f.device_id "
            "AND r.frame_counter = f.counter) "
            "AND NOT EXISTS (SELECT 1 FROM device_events e WHERE e.device_id = f.device_id "
            "AND e.frame_counter = f.counter AND e.id > ?) LIMIT ?)",
            (keep_cutoff, e_cursor if e_cursor is not None else -1, policy.batch)).rowcount
    if _has_table(conn, "outbox"):
        # delivered rows are history only; without this the outbox grows ~35k rows per channel
        # a year until the size cap refuses new frames
        from gateway.outbox import prune_delivered

        out["outbox"] = prune_delivered(conn, keep_days=policy.keep_days, now=now,
                                        limit=policy.batch)
    return out


class Retention:
    """Periodic pruning task: `await run()` until `await stop()`; counters in `stats`."""

    def __init__(self, db: Database, policy: RetentionPolicy | None = None, *,
                 interval_s: float = 3600.0, clock: Callable[[], float] = time.time,
                 logger: logging.Logger | None = None) -> None:
        self.db = db
        self.policy = policy or RetentionPolicy()
        self.interval_s = interval_s
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.retention")
        self.stats: Counter[str] = Counter()
        self._stop = asyncio.Event()

    async def prune_now(self) -> Counter[str]:
        """Prune in batches until nothing more qualifies; return this run's counts."""
        total: Counter[str] = Counter()
        while not self._stop.is_set():
            counts = await self.db.write(prune_batch, self.policy, self.clock())
            total.update(counts)
            if not any(counts.values()):
                break
            await asyncio.sleep(0)  # let ingest commits interleave between batches
        self.stats.update(total)
        self.stats["runs"] += 1
        if any(total.values()):
            self.log.info("retention pruned rows", extra={"pruned": dict(total)})
        return total

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.prune_now()
            except sqlite3.Error as exc:
                self.stats["errors"] += 1
                self.log.error("retention failed: %s", exc, extra={"error": str(exc)})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> dict[str, int]:
        """Counters for health/status: rows pruned per kind, runs, errors."""
        return dict(self.stats)
