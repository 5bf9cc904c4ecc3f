"""The normaliser task: new `readings` rows → `series` rows + outbox rows + cursor, one commit.

It wakes on ``writer.committed``, reads readings after its persisted cursor, turns cumulative
registers into interval amounts (:func:`gateway.normalise.energy.interval_amounts`, never
negative), converts units (Wh → kWh; gas L → m³ → Smc → kWh with the site's coefficient C),
adds the ARERA band, local date and gas day, and writes everything plus the new cursor in ONE
transaction. Rows are upserted by (device, channel, interval start), so reprocessing is
harmless; only rows that actually changed go to the outbox and to the plugins. Device events
follow with their own cursor, to the plugins only; new STATUS/HELLO frames put the device's
status in the outbox (:mod:`gateway.normaliser.status`). Data only flows on: the plugin host
receives batches, nothing here is called back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, Protocol

from gateway import registry
from gateway.config.model import Config
from gateway.model import DeviceEvent, ReadingBatch
from gateway.normaliser.channel import ChannelNormaliser, Step
from gateway.normaliser.convert import SiteContext
from gateway.normaliser.status import publish_status
from gateway.store import series
from gateway.store.db import Database

__all__ = ["Normaliser", "Sink"]

log = logging.getLogger("gateway.normaliser")

BATCH_ROWS = 250    # readings per transaction (~70 ms on a slow CPU): bounds how long an ingest
                    # commit waits behind the normaliser on the single writer thread


class Sink(Protocol):
    """Where committed normalised data goes next (the plugin host)."""

    def deliver_readings(self, batch: ReadingBatch) -> None: ...
    def deliver_event(self, event: DeviceEvent) -> None: ...


class Normaliser:
    """Named task "normaliser": run() until stop(); each step is one transaction."""

    def __init__(self, db: Database, config: Config, *, committed: asyncio.Event,
                 sink: Sink | None = None, on_outbox: Any = None) -> None:
        self.db = db
        self.config = config
        self.prefix = config.mqtt_prefix
        self.committed = committed
        self.sink = sink
        self.on_outbox = on_outbox      # called after a commit that added outbox rows
        self.sites = SiteContext.from_config(config)
        self.channels = ChannelNormaliser(self.sites, prefix=self.prefix,
                                          live_window_s=config.gateway.live_window_s)
        self.counters: dict[str, int] = defaultdict(int)
        self.last_run: float | None = None
        self._stopping = False

    async def run(self) -> None:
        failures = 0
        while True:
            self.committed.clear()      # clear first: a commit during the step re-arms it
            try:
                while await self.step():
                    failures = 0
            except Exception as exc:
                # Ingest goes on storing and ACKing; the cursor did not move, so nothing is
                # lost. Retry after the next commit or a growing delay, whichever comes first.
                failures += 1
                self.counters["errors"] += 1
                log.error("normalisation step failed", exc_info=exc,
                          extra={"failures": failures})
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(60.0, 0.5 * 2 ** failures)):
                        await self.committed.wait()
                continue
            if self._stopping:
                return
            await self.committed.wait()

    def stop(self) -> None:
        """Finish the work already committed, then return from run()."""
        self._stopping = True
        self.committed.set()

    async def step(self) -> int:
        """Normalise one batch; returns the number of source rows consumed (0 = caught up)."""
        result = await self.db.write(self._transaction, int(time.time()))
        self.last_run = time.time()
        for reason, n in result.skipped.items():
            self.counters[f"skipped_{reason}"] += n
        if result.recovered:
            self.counters["recovered"] += result.recovered
        self.counters["rows"] += result.rows
        self.counters["series"] += len(result.readings)
        self.counters["statuses"] += result.statuses
        if (result.readings or result.statuses) and self.on_outbox is not None:
            self.on_outbox()
        if self.sink is not None:
            # Consumers judge each channel in time order: batches follow interval starts, a
            # new batch wherever live data and backfill alternate.
            ordered = sorted(result.readings, key=lambda r: r.start)
            for backfill, run in groupby(ordered, key=lambda r: "backfill" in r.flags):
                self.sink.deliver_readings(ReadingBatch(tuple(run), live=not backfill))
            for event in result.events:
                self.sink.deliver_event(event)
        return result.rows

    # -- inside the transaction (writer thread) --------------------------------------------

    def _transaction(self, conn: sqlite3.Connection, now: int) -> Step:
        step = Step()
        self._readings(conn, now, step)
        self._events(conn, step)
        status = publish_status(conn, prefix=self.prefix, default_site=self.config.gateway.site,
                                limit=BATCH_ROWS)
        step.rows += status.scanned
        step.statuses = status.queued
        if status.unpublishable:
            step.skipped["unpublishable"] += status.unpublishable
        return step

    def _readings(self, conn: sqlite3.Connection, now: int, step: Step) -> None:
        cursor = series.get_cursor(conn, "readings")
        rows = conn.execute(
            "SELECT id, device_id, channel, unit, interval_start, interval_s, register, flags, "
            "received_at FROM readings WHERE id > ? ORDER BY id LIMIT ?", (cursor, BATCH_ROWS),
        ).fetchall()
        if not rows:
            return
        groups: dict[tuple[str, str, int], list[sqlite3.Row]] = defaultdict(list)
        for row in rows:
            groups[(row["device_id"], row["channel"], row["interval_s"])].append(row)
        devices: dict[str, registry.Device | None] = {}
        for (device_id, channel, length_s), group in groups.items():
            if device_id not in devices:
                devices[device_id] = registry.get_device(conn, device_id)
            previous = self.channels.normalise(
                conn, devices[device_id], device_id, channel, length_s, group, now, step,
                series.get_previous(conn, device_id, channel))
            if previous is not None:
                series.set_previous(conn, device_id, channel, *previous)
        series.set_cursor(conn, "readings", rows[-1]["id"])
        step.rows += len(rows)

    def _events(self, conn: sqlite3.Connection, step: Step) -> None:
        cursor = series.get_cursor(conn, "device_events")
        rows = conn.execute(
            "SELECT e.id, e.device_id, e.time, e.code, e.channel, e.value, d.site, d.channels "
            "FROM device_events e LEFT JOIN devices d USING (device_id) "
            "WHERE e.id > ? ORDER BY e.id LIMIT ?", (cursor, BATCH_ROWS),
        ).fetchall()
        # Events go to plugins only: which of them are alerts upstream is the alerts plugin's call.
        step.events.extend(self._event(row) for row in rows)
        if rows:
            series.set_cursor(conn, "device_events", rows[-1]["id"])
            step.rows += len(rows)

    def _event(self, row: sqlite3.Row) -> DeviceEvent:
        channel = None
        if row["channel"] is not None:
            spec = json.loads(row["channels"] or "{}").get(str(row["channel"]), {})
            channel = spec.get("name", str(row["channel"]))
        return DeviceEvent(site=row["site"] or self.config.gateway.site, device=row["device_id"],
                           kind=row["code"], time=datetime.fromtimestamp(row["time"], UTC),
                           channel=channel, value=row["value"])

    def snapshot(self) -> dict[str, Any]:
        return {**self.counters, "last_run": self.last_run}
