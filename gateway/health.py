"""Health and metrics snapshot: gathered from the components, refreshed in <state_dir>/status.json.

The service's "health" task rewrites ``status.json`` atomically (temp file + rename) every
``gateway.status_interval_s`` seconds; SIGUSR1 logs the same snapshot; ``meterkit gateway
status`` reads the file, so it needs no socket, no privileges beyond reading the state dir, and
works while the service is busy. A file older than three intervals means the service is not
running (or is stuck), and `read_status` says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.outbox import backlog
from gateway.store.db import Database

__all__ = ["STATUS_FILE", "Health", "StatusReport", "read_status", "used_bytes"]

STATUS_FILE = "status.json"
WARN_FRACTION = 0.8     # of storage.max_db_mb: warn while there is still room to act

log = logging.getLogger("gateway.health")

Source = Callable[[], dict[str, Any]]


class Health:
    """Collects a snapshot from named sources; the `run` task keeps status.json fresh."""

    def __init__(self, db: Database, state_dir: Path, *, interval_s: float = 5.0,
                 sources: dict[str, Source] | None = None,
                 max_db_bytes: int | None = None) -> None:
        self.db = db
        self.max_db_bytes = max_db_bytes
        self.size_warning = False       # used bytes >= WARN_FRACTION of the cap
        self.path = Path(state_dir) / STATUS_FILE
        self.interval_s = interval_s
        self.sources: dict[str, Source] = dict(sources or {})
        self.started = time.time()
        self.state = "starting"
        self._last_frames: tuple[float, int] | None = None
        self._stop = asyncio.Event()

    async def snapshot(self) -> dict[str, Any]:
        now = time.time()
        snap: dict[str, Any] = {
            "pid": os.getpid(), "state": self.state, "time": now,
            "uptime_s": round(now - self.started, 1), "interval_s": self.interval_s,
            "db": await self._db(),
        }
        for name, source in self.sources.items():
            try:
                snap[name] = source()
            except Exception as exc:  # a broken counter must not stop the health report
                snap[name] = {"error": repr(exc)}
        snap["frames_per_s"] = self._rate(now, snap.get("ingest", {}))
        return snap

    async def _db(self) -> dict[str, Any]:
        size = sum(p.stat().st_size for p in (self.db.path, Path(f"{self.db.path}-wal"))
                   if p.exists())
        last = self.db.last_commit_monotonic
        try:
            pending = await self.db.read(backlog)
        except sqlite3.Error as exc:
            pending = None
            log.warning("outbox backlog unavailable", extra={"error": repr(exc)})
        out: dict[str, Any] = {
            "path": str(self.db.path), "size_bytes": size, "commits": self.db.commits,
            "last_commit_age_s": None if last is None else round(time.monotonic() - last, 3),
            "outbox_backlog": pending}
        if self.max_db_bytes is not None:
            out.update(await self._cap(self.max_db_bytes))
        return out

    async def _cap(self, cap: int) -> dict[str, Any]:
        """Use of the size cap, measured as the writer measures it (pages in use); logs once
        per crossing of WARN_FRACTION, up or down."""
        try:
            used = await self.db.read(used_bytes)
        except sqlite3.Error as exc:
            log.warning("database size unavailable", extra={"error": repr(exc)})
            return {"cap_bytes": cap, "used_bytes": None}
        fraction = used / cap
        warn = fraction >= WARN_FRACTION
        if warn != self.size_warning:
            self.size_warning = warn
            fields = {"used_bytes": used, "cap_bytes": cap,
                      "used_pct": round(100 * fraction, 1)}
            if warn:
                log.warning("database above 80% of its size cap: at the cap new frames are "
                            "refused", extra={**fields, "hint": "check the outbox backlog "
                            "and readings_held, or raise storage.max_db_mb (docs/GATEWAY.md, "
                            "Sizing)"})
            else:
                log.info("database back below 80% of its size cap", extra=fields)
        return {"cap_bytes": cap, "used_bytes": used,
                "used_pct": round(100 * fraction, 1), "size_warning": warn}

    def _rate(self, now: float, ingest: dict[str, Any]) -> float | None:
        frames = ingest.get("frames_received")
        if not isinstance(frames, int):
            return None
        previous, self._last_frames = self._last_frames, (now, frames)
        if previous is None or now <= previous[0]:
            return None
        return round((frames - previous[1]) / (now - previous[0]), 3)

    async def write(self) -> dict[str, Any]:
        snap = await self.snapshot()
        await asyncio.to_thread(_write_atomic, self.path, snap)
        return snap

    async def log_snapshot(self) -> None:
        """What SIGUSR1 does: one log line with the whole snapshot."""
        log.info("status", extra={"status": await self.write()})

    async def run(self) -> None:
        """The "health" task: refresh status.json until stop()."""
        while not self._stop.is_set():
            try:
                await self.write()
            except OSError as exc:
                log.error("cannot write status file", extra={"path": str(self.path),
                                                             "error": str(exc)})
            try:
                async with asyncio.timeout(self.interval_s):
                    await self._stop.wait()
            except TimeoutError:
                pass

    async def stop(self, state: str = "stopped") -> None:
        self.state = state
        self._stop.set()
        try:
            await self.write()
        except OSError as exc:
            log.error("cannot write status file", extra={"error": str(exc)})


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes in pages that hold data (free pages excluded): what the size cap compares."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * conn.execute("PRAGMA page_size").fetchone()[0])


def _write_atomic(path: Path, snap: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snap, indent=1, default=str, sort_keys=True))
    os.replace(tmp, path)


class StatusReport:
    """What `meterkit gateway status` shows: the snapshot and whether it is current."""

    def __init__(self, path: Path, snap: dict[str, Any] | None, problem: str | None) -> None:
        self.path = path
        self.snap = snap
        self.problem = problem

    @property
    def running(self) -> bool:
        return self.problem is None


def read_status(state_dir: Path, *, now: float | None = None) -> StatusReport:
    """Read status.json and judge its freshness (stale after three refresh intervals)."""
    path = Path(state_dir) / STATUS_FILE
    try:
        snap = json.loads(path.read_text())
    except FileNotFoundError:
        return StatusReport(path, None, "no status file: the gateway has not run here")
    except (OSError, ValueError) as exc:
        return StatusReport(path, None, f"cannot read the status file: {exc}")
    age = (time.time() if now is None else now) - float(snap.get("time", 0))
    if snap.get("state") == "stopped":
        return StatusReport(path, snap, "the gateway stopped (last status below)")
    if age > 3 * float(snap.get("interval_s", 5)) + 1:
        return StatusReport(path, snap, f"status is {age:.0f} s old: the gateway is not "
                            "running or is stuck")
    return StatusReport(path, snap, None)


async def on_demand(trigger: asyncio.Event, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` each time `trigger` is set (SIGUSR1 sets it from the signal handler)."""
    while True:
        await trigger.wait()
        trigger.clear()
        await action()
