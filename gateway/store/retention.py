"""Retention: prune what is normalised, delivered upstream and old; keep everything else.

    policy = RetentionPolicy(keep_days=400, raw_days=30, outbox_days=7, batch=2000)
    counts = prune_batch(conn, policy, now)       # sync, one bounded batch, inside db.write
    task = Retention(db, policy, interval_s=3600) # async: await task.run() ... await task.stop()
    task.stats / task.snapshot()                  # rows pruned per kind, held readings, errors

What may go (the documented predicates; nothing else is ever deleted). "Delivered" for a
message id means: no outbox row with that ``msg_id`` in a state other than ``delivered``
(a missing row was delivered and then pruned after ``outbox_days``, or was never publishable:
no ``[mqtt]`` section, or a name that cannot be a topic level).

* ``readings`` row r — ``r.interval_start < now - keep_days`` AND normalised
  (``r.id <= cursors['readings']``) AND its value reached the series: a ``series`` row for
  (device, channel name, interval start) exists (the channel name from ``devices.channels``,
  an input plugin's channel as stored) AND that message id is delivered. A reading that
  normalisation skipped (unknown channel, unit mismatch, bad calibration, invalid sequence,
  first sample of a channel) has no series row, and is listed in ``normalise_skips``: it is
  KEPT until an operator re-normalises it, and counted as ``readings_held`` in the snapshot.
* ``series`` row s — ``s.interval_start < now - keep_days`` AND its message id delivered, and
  only in a batch where no more readings qualified (so a reading never loses the series row
  that allows its own pruning).
* ``plugin_results`` row p — ``p.created_at < now - keep_days`` AND its message
  ``result:<plugin>:<id>`` delivered.
* ``outbox`` row — state ``delivered`` AND ``delivered_at < now - outbox_days``. Pending and
  quarantined rows are never pruned.
* ``frames.raw`` (the bytes; the row stays for duplicate detection) — ``received_at < now -
  raw_days`` AND none of the frame's readings is still un-normalised.
* ``frames`` row — ``received_at < now - keep_days`` AND none of its readings is left AND none
  of its events is un-normalised (``device_events.id > cursors['device_events']``). Deleted
  through :func:`gateway.store.frames.delete_frames`, which raises the device's replay floor.
* ``device_events`` row — ``time < now - keep_days`` AND normalised.

If the normaliser's ``cursors``/``series`` tables or the ``outbox`` table do not exist, nothing
that depends on them is pruned. Each batch is its own short transaction, so retention never
holds the writer thread long enough to delay ingest ACKs. The size cap is not enforced here:
the writer refuses new data (see :mod:`gateway.writer`) instead of deleting undelivered data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
from gateway.store.db import Database
from gateway.store.frames import delete_frames

__all__ = ["Retention", "RetentionPolicy", "held_readings", "prune_batch"]

_DAY = 86400


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    keep_days: int = 400      # readings, series, results, events, frame rows older than this
    raw_days: int = 30        # raw frame bytes older than this may go (rows stay)
    outbox_days: int | None = None   # delivered outbox rows; None = keep_days
    batch: int = 2000         # rows per kind per transaction

    def __post_init__(self) -> None:
        if self.keep_days < 1 or self.raw_days < 1 or self.batch < 1 or (
                self.outbox_days is not None and self.outbox_days < 1):
            raise ValueError(f"retention: keep_days, raw_days, outbox_days and batch must be "
                             f">= 1, got {self.keep_days}, {self.raw_days}, "
                             f"{self.outbox_days}, {self.batch}")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def _cursor(conn: sqlite3.Connection, name: str) -> int | None:
    if not _has_table(conn, "cursors"):
        return None
    row = conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


# The channel name a board reading is published under (an input plugin's reading carries it).
_NAME = "coalesce(json_extract(d.channels, '$.\"' || r.channel || '\".name'), r.channel)"

_UNDELIVERED = ("EXISTS (SELECT 1 FROM outbox o WHERE o.msg_id = {msg_id} "
                "AND o.state <> 'delivered')")

_READINGS_PRUNABLE = f"""
SELECT r.id FROM readings r LEFT JOIN devices d USING (device_id)
WHERE r.interval_start < :cutoff AND r.id <= :cursor
  AND EXISTS (SELECT 1 FROM series s WHERE s.device_id = r.device_id
              AND s.channel = {_NAME} AND s.interval_start = r.interval_start)
  AND NOT {_UNDELIVERED.format(
      msg_id="r.device_id || ':' || " + _NAME + " || ':' || r.interval_start")}
LIMIT :batch
"""

_NOT_SKIPPED = "  AND NOT EXISTS (SELECT 1 FROM normalise_skips k WHERE k.reading_id = r.id)"

# Normalised readings whose value never reached the series: kept, and counted for operators.
_READINGS_HELD = f"""
SELECT r.id FROM readings r LEFT JOIN devices d USING (device_id)
WHERE r.id > :after AND r.id <= :cursor
  AND NOT EXISTS (SELECT 1 FROM series s WHERE s.device_id = r.device_id
                  AND s.channel = {_NAME} AND s.interval_start = r.interval_start)
"""

_SERIES_PRUNABLE = f"""
DELETE FROM series WHERE (device_id, channel, interval_start) IN (
  SELECT s.device_id, s.channel, s.interval_start FROM series s WHERE s.interval_start < ?
  AND NOT {_UNDELIVERED.format(
      msg_id="s.device_id || ':' || s.channel || ':' || s.interval_start")}
  LIMIT ?)
"""

# the outbox msg_id gateway/plugins/results.py gave the result (alerts bring their own)
_RESULT_MSG_ID = ("CASE WHEN p.name = 'alert' AND json_type(p.payload, '$.msg_id') = 'text' "
                  "THEN json_extract(p.payload, '$.msg_id') "
                  "ELSE 'result:' || p.plugin || ':' || p.id END")

_RESULTS_PRUNABLE = f"""
DELETE FROM plugin_results WHERE id IN (SELECT p.id FROM plugin_results p
  WHERE p.created_at < ?
  AND NOT {_UNDELIVERED.format(msg_id=_RESULT_MSG_ID)}
  LIMIT ?)
"""


def prune_batch(conn: sqlite3.Connection, policy: RetentionPolicy, now: float) -> Counter[str]:
    """Prune at most `policy.batch` rows of each kind; returns counts (all zero: done)."""
    out: Counter[str] = Counter()
    keep_cutoff = int(now) - policy.keep_days * _DAY
    raw_cutoff = int(now) - policy.raw_days * _DAY
    r_cursor = _cursor(conn, "readings")
    e_cursor = _cursor(conn, "device_events")
    has_outbox, has_series = _has_table(conn, "outbox"), _has_table(conn, "series")
    readings_done = False
    if r_cursor is not None and has_outbox and has_series:
        sql = _READINGS_PRUNABLE
        if _has_table(conn, "normalise_skips"):   # belt and braces: never a skipped reading
            sql = sql.replace("LIMIT :batch", _NOT_SKIPPED + "\nLIMIT :batch")
        ids = [row[0] for row in conn.execute(
            sql, {"cutoff": keep_cutoff, "cursor": r_cursor, "batch": policy.batch})]
        conn.executemany("DELETE FROM readings WHERE id = ?", [(i,) for i in ids])
        out["readings"] = len(ids)
        readings_done = len(ids) < policy.batch
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
        gone = [row[0] for row in conn.execute(
            "SELECT f.id FROM frames f WHERE f.received_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.device_id = f.device_id "
            "AND r.frame_counter = f.counter) "
            "AND NOT EXISTS (SELECT 1 FROM device_events e WHERE e.device_id = f.device_id "
            "AND e.frame_counter = f.counter AND e.id > ?) LIMIT ?",
            (keep_cutoff, e_cursor if e_cursor is not None else -1, policy.batch))]
        # through frames.delete_frames: it raises the device's replay floor, so a captured
        # frame replayed after its row is gone is still recognised as a replay
        out["frames"] = delete_frames(conn, gone) if gone else 0
    if readings_done:
        # only after the readings: a reading must find its series row to be prunable itself
        out["series"] = conn.execute(_SERIES_PRUNABLE, (keep_cutoff, policy.batch)).rowcount
    if has_outbox and _has_table(conn, "plugin_results"):
        out["plugin_results"] = conn.execute(
            _RESULTS_PRUNABLE, (keep_cutoff, policy.batch)).rowcount
    if has_outbox:
        # delivered rows are history only: at ~22 MB per channel-year they were most of the
        # database (docs/GATEWAY.md, "Sizing")
        from gateway.outbox import prune_delivered

        days = policy.keep_days if policy.outbox_days is None else policy.outbox_days
        out["outbox"] = prune_delivered(conn, keep_days=days, now=now, limit=policy.batch)
    return out


def held_readings(conn: sqlite3.Connection, after: int, upto: int,
                  recheck: Iterable[int] = ()) -> set[int]:
    """Ids of normalised readings with no series row: those with `after` < id <= `upto`
    (capped at the normaliser's cursor) plus those of `recheck` still held (an operator may
    have re-normalised them since)."""
    cursor = _cursor(conn, "readings")
    if cursor is None or not _has_table(conn, "series"):
        return set()
    held = {int(r[0]) for r in conn.execute(
        _READINGS_HELD, {"after": after, "cursor": min(upto, cursor)})}
    old = sorted(recheck)
    for i in range(0, len(old), 500):
        chunk = old[i:i + 500]
        held.update(int(r[0]) for r in conn.execute(
            _READINGS_HELD.replace("r.id > :after", "r.id IN (SELECT value FROM json_each(:ids))"),
            {"ids": json.dumps(chunk), "cursor": cursor}))
    return held


HELD_SCAN_IDS = 20_000   # readings per read call: other readers (health) interleave between


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
        self.held: set[int] = set()     # ids of normalised readings with no series row (kept)
        self.skipped: dict[str, int] = {}   # normalise_skips per reason (fixable by an operator)
        self._held_checked = 0          # readings with id <= this were looked at
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
        await self.count_held()
        return total

    async def count_held(self) -> int:
        """Refresh `held` on the reader connection, incrementally (the held ones again, then
        readings not looked at yet, in slices) and `skipped` (skip records per reason)."""
        skipped_before = sum(self.skipped.values())
        self.skipped = await self.db.read(_skip_counts)
        cursor = await self.db.read(lambda c: _cursor(c, "readings") or 0)
        self.held = await self.db.read(held_readings, 0, 0, self.held)
        while self._held_checked < cursor and not self._stop.is_set():
            upto = min(cursor, self._held_checked + HELD_SCAN_IDS)
            self.held |= await self.db.read(held_readings, self._held_checked, upto)
            self._held_checked = upto
        # Warn about what an operator can act on: readings normalisation recorded as skipped.
        # `held` also counts each channel's first sample (its baseline), which needs nothing.
        skipped = sum(self.skipped.values())
        if skipped > skipped_before:
            self.log.warning("readings kept: normalisation skipped them", extra={
                "readings_held": len(self.held), "new": skipped - skipped_before,
                "skipped": self.skipped,
                "hint": "fix the device's channels, then `meterkit gateway renormalise`"})
        return len(self.held)

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

    def snapshot(self) -> dict[str, Any]:
        """For health/status: rows pruned per kind, runs, errors, readings_held, and
        readings_skipped per reason."""
        return {**self.stats, "readings_held": len(self.held),
                "readings_skipped": dict(self.skipped)}


def _skip_counts(conn: sqlite3.Connection) -> dict[str, int]:
    if not _has_table(conn, "normalise_skips"):
        return {}
    return {str(r): int(n) for r, n in conn.execute(
        "SELECT reason, COUNT(*) FROM normalise_skips GROUP BY reason")}
