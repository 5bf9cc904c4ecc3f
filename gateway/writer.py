"""The single writer task: a bounded queue of frames and plugin readings, group-committed.

    writer = Writer(db, *, queue_size=4096, max_batch=512, linger_s=0.002,
                    max_db_bytes=None, clock=time.time, logger=None)
    task = asyncio.create_task(writer.run(), name="writer")   # until close()
    fut = await writer.enqueue_frame(item)      # waits while the queue is full (backpressure)
    outcome = await fut                         # resolved after the COMMIT that stored it
    outcome = await writer.submit_frame(item)   # both steps in one
    n_new = await writer.submit_input_readings(rows)   # input plugins (InputReading objects)
    counters = await writer.reserve_downlink("0000a1b2", 32)  # range of fresh counters
    await writer.close()                        # drains what is queued, then run() returns

    writer.committed       asyncio.Event, set after every commit that added readings, events,
                           status or command results. The normaliser (single consumer) does
                           ``await writer.committed.wait(); writer.committed.clear()`` and then
                           reads ``readings WHERE id > cursor``.
    writer.last_reading_id highest readings.id after the last commit.
    writer.stats           Counter: frames_stored, frames_duplicate, frames_replay,
                           frames_refused, frames_error, readings_stored, readings_ignored,
                           input_readings_stored, commits, batch_items, size_cap_refusals,
                           commit_errors, commit_ms (wall time spent in commits).

One ``db.write`` per batch: up to ``max_batch`` items, or whatever arrived within ``linger_s``
after the first one. Each batch first runs under one savepoint; only if an item fails is the
batch replayed with a savepoint per item, so one bad item fails alone without taxing every good
batch. The size cap (``max_db_bytes``) refuses NEW frames and plugin readings with a logged
error and a counter; it never deletes undelivered data (the board keeps refused frames in its
flash queue).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.ingest.inputs import InputRowError, to_input_rows
from gateway.registry import reserve_downlink_counters
from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
from gateway.store.db import Database
from gateway.store.frames import (
    FrameItem,
    FrameOutcome,
    InputRow,
    devices_with_commands,
    store_frame,
    store_input_readings,
)

__all__ = ["FrameItem", "FrameOutcome", "InputRowError", "StorageFull", "Writer", "WriterClosed"]


class WriterClosed(RuntimeError):
    """The writer is closed (shutting down); nothing more is accepted."""


class StorageFull(RuntimeError):
    """The database reached its size cap (`max_db_bytes`); new data is refused, not stored."""

    def __init__(self, max_db_bytes: int) -> None:
        super().__init__(f"database size cap of {max_db_bytes} bytes reached; new data refused "
                         "until retention frees space (raise gateway storage.max_db_mb?)")
        self.max_db_bytes = max_db_bytes


@dataclass(slots=True)
class _Job:
    kind: str                       # "frame" | "input" | "reserve"
    payload: Any                    # FrameItem | list[InputRow] | (device_id, n)
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _BatchResult:
    results: list[Any]
    notify: bool
    last_reading_id: int
    refused: bool


class Writer:
    """Owns every write of ingested data; see the module docstring for the API."""

    def __init__(self, db: Database, *, queue_size: int = 4096, max_batch: int = 512,
                 linger_s: float = 0.002, max_db_bytes: int | None = None,
                 clock: Callable[[], float] = time.time,
                 logger: logging.Logger | None = None) -> None:
        self.db = db
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.max_db_bytes = max_db_bytes
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.writer")
        self.committed = asyncio.Event()
        self.last_reading_id = 0
        self.stats: Counter[str] = Counter()
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue(queue_size)
        self._closing = False

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    async def enqueue_frame(self, item: FrameItem) -> asyncio.Future[FrameOutcome]:
        """Queue a frame (waits while the queue is full); the future resolves after commit."""
        return await self._enqueue("frame", item)

    async def submit_frame(self, item: FrameItem) -> FrameOutcome:
        """Queue a frame and wait until it is committed (or refused)."""
        return await (await self.enqueue_frame(item))

    async def submit_input_readings(self, rows: Sequence[Any]) -> int:
        """Store input-plugin readings (``InputReading`` protocol); return how many were new.

        Raises InputRowError (naming the row and field) for a malformed row before anything is
        stored, StorageFull when the size cap is reached, sqlite3.Error if the commit failed,
        WriterClosed during shutdown. Readings already stored for an interval are ignored.
        """
        clean = to_input_rows(rows)
        if not clean:
            return 0
        return await (await self._enqueue("input", clean))

    async def reserve_downlink(self, device_id: str, n: int) -> range:
        """Reserve `n` downlink counters for a device (group-committed like frames)."""
        return await (await self._enqueue("reserve", (device_id, n)))

    async def _enqueue(self, kind: str, payload: Any) -> asyncio.Future[Any]:
        if self._closing:
            raise WriterClosed("writer is closing; no new data accepted")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(kind, payload, fut))
        return fut

    async def close(self) -> None:
        """Stop accepting work; run() commits what is already queued and returns."""
        if not self._closing:
            self._closing = True
            await self._queue.put(None)

    async def run(self) -> None:
        """The writer task: batch, commit, resolve futures, signal `committed`."""
        pending: list[_Job] = []
        try:
            while True:
                first = await self._queue.get()
                if first is None:
                    return
                pending = [first]
                stop = self._drain(pending)
                if not stop and len(pending) < self.max_batch and self.linger_s > 0:
                    await asyncio.sleep(self.linger_s)
                    stop = self._drain(pending)
                await self._commit(pending)
                pending = []
                if stop:
                    return
        finally:
            for job in pending:
                if not job.future.done():
                    job.future.set_exception(WriterClosed("writer stopped before commit"))
            self._fail_queued()

    def _drain(self, batch: list[_Job]) -> bool:
        """Move queued jobs into `batch` up to max_batch; True if the close marker was seen."""
        while len(batch) < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if job is None:
                return True
            batch.append(job)
        return False

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if job is not None and not job.future.done():
                job.future.set_exception(WriterClosed("writer stopped before commit"))

    async def _commit(self, batch: list[_Job]) -> None:
        now = int(self.clock())
        started = time.perf_counter()
        try:
            res = await self.db.write(_write_batch, batch, now, self.max_db_bytes)
        except (sqlite3.Error, OSError) as exc:
            # The whole transaction rolled back: nothing of this batch is stored or acked.
            self.stats["commit_errors"] += 1
            self.stats["frames_error"] += sum(1 for j in batch if j.kind == "frame")
            self.log.error("batch commit failed: %s", exc,
                           extra={"items": len(batch), "error": str(exc)})
            for job in batch:
                if job.future.done():  # the waiting connection went away
                    continue
                if job.kind == "frame":
                    job.future.set_result(FrameOutcome("error", detail=str(exc)))
                else:
                    job.future.set_exception(exc)
            return
        self.stats["commits"] += 1
        self.stats["batch_items"] += len(batch)
        self.stats["commit_ms"] += round((time.perf_counter() - started) * 1000)
        if res.refused:
            self.stats["size_cap_refusals"] += 1
            self.log.error("database size cap reached: refusing new data (boards keep it)",
                           extra={"max_db_bytes": self.max_db_bytes})
        self.last_reading_id = res.last_reading_id
        for job, result in zip(batch, res.results, strict=True):
            self._count(job, result)
            if job.future.done():  # the waiting connection went away
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
        if res.notify:
            self.committed.set()

    def _count(self, job: _Job, result: Any) -> None:
        if job.kind == "frame" and isinstance(result, FrameOutcome):
            self.stats[f"frames_{result.status}"] += 1
            self.stats["readings_stored"] += result.readings
            self.stats["readings_ignored"] += result.readings_ignored
        elif job.kind == "input" and isinstance(result, int):
            self.stats["input_readings_stored"] += result


def _db_bytes(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return (pages - free) * size


def _write_batch(conn: sqlite3.Connection, batch: list[_Job], now: int,
                 max_db_bytes: int | None) -> _BatchResult:
    """Runs on the writer thread inside one transaction.

    Fast path: the whole batch under one savepoint. If any item fails, that work is rolled
    back and the batch is replayed with one savepoint per item, so only the bad item fails.
    """
    refuse = max_db_bytes is not None and _db_bytes(conn) >= max_db_bytes
    cap = max_db_bytes if refuse else None
    conn.execute("SAVEPOINT batch")
    try:
        results, notify, seen = _store_jobs(conn, batch, now, cap, isolate=False)
    except _ISOLATED_ERRORS:
        conn.execute("ROLLBACK TO batch")
        results, notify, seen = _store_jobs(conn, batch, now, cap, isolate=True)
    conn.execute("RELEASE batch")
    if seen:
        conn.executemany("UPDATE devices SET last_seen = ?, last_peer = ? WHERE device_id = ?",
                         [(t, peer, did) for did, (t, peer) in seen.items()])
    last = conn.execute("SELECT max(id) FROM readings").fetchone()[0] or 0
    return _BatchResult(results, notify, last, refuse)


# What one malformed item may raise; anything else is a bug or a dead database.
_ISOLATED_ERRORS = (sqlite3.Error, OverflowError, ValueError, KeyError, TypeError)


def _store_jobs(conn: sqlite3.Connection, batch: list[_Job], now: int, cap: int | None, *,
                isolate: bool) -> tuple[list[Any], bool, dict[str, tuple[int, str]]]:
    """Store each job; `cap` is set when the size cap is reached (new data is refused)."""
    results: list[Any] = []
    notify = False
    seen: dict[str, tuple[int, str]] = {}
    with_commands = devices_with_commands(conn)
    for job in batch:
        if isolate:
            conn.execute("SAVEPOINT item")
        try:
            if job.kind == "frame":
                item: FrameItem = job.payload
                out = store_frame(conn, item, now, refuse_new=cap is not None,
                                  with_commands=with_commands)
                notify = notify or out.status == "stored"
                seen[item.device_id] = (item.received_at or now, item.peer)
                result: Any = out
            elif job.kind == "reserve":
                device_id, n = job.payload
                result = reserve_downlink_counters(conn, device_id, n)
            elif cap is not None:
                result = StorageFull(cap)
            else:
                rows: list[InputRow] = job.payload
                result = store_input_readings(conn, rows, now)
                notify = notify or result > 0
            if isolate:
                conn.execute("RELEASE item")
        except _ISOLATED_ERRORS as exc:
            if not isolate:
                raise
            conn.execute("ROLLBACK TO item")
            conn.execute("RELEASE item")
            logging.getLogger("gateway.writer").error(
                "item not stored: %s", exc, extra={"kind": job.kind, "error": repr(exc)})
            result = FrameOutcome("error", detail=repr(exc)) if job.kind == "frame" else exc
        results.append(result)
    return results, notify, seen


