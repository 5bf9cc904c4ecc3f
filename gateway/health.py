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

__all__ = ["STATUS_FILE", "Health", "StatusReport", "read_status"]

STATUS_FILE = "status.json"

log = logging.getLogger("gateway.health")

Source = Callable[[], dict[str, Any]]


class Health:
    """Collects a snapshot from named sources; the `run` task keeps status.json fresh."""

    def __init__(self, db: Database, state_dir: Path, *, interval_s: float = 5.0,
                 sources: dict[str, Source] | None = None) -> None:
        self.db = db
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
        return {"path": str(self.db.path), "size_bytes": size, "commits": self.db.commits,
                "last_commit_age_s": None if last is None else round(time.monotonic() - last, 3),
                "outbox_backlog": pending}

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
