"""The normaliser task: new `readings` rows → `series` rows + outbox rows + cursor, one commit.

It wakes on ``writer.committed``, reads readings after its persisted cursor, turns cumulative
registers into interval amounts (:func:`gateway.normalise.energy.interval_amounts`, never
negative), converts units (Wh → kWh; gas L → m³ → Smc → kWh with the site's coefficient C),
adds the ARERA band, local date and gas day, and writes everything plus the new cursor in ONE
transaction. Rows are upserted by (device, channel, interval start), so reprocessing is
harmless; only rows that actually changed go to the outbox and to the plugins. Device events
follow with their own cursor, to the plugins only. Data only flows on: the plugin host receives
batches, nothing here is called back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, Protocol

from gateway import registry
from gateway.config.model import Config
from gateway.model import DeviceEvent, Reading, ReadingBatch
from gateway.normalise.energy import IntervalAmount, RegisterSample, interval_amounts
from gateway.normalise.errors import NormaliseError
from gateway.normaliser.convert import ChannelError, SiteContext, channel_spec, to_reading
from gateway.outbox import add as outbox_add
from gateway.store import series
from gateway.store.db import Database
from gateway.uplink.messages import reading_message

__all__ = ["Normaliser", "Sink"]

log = logging.getLogger("gateway.normaliser")

BATCH_ROWS = 250    # readings per transaction (~70 ms on a slow CPU): bounds how long an ingest
                    # commit waits behind the normaliser on the single writer thread


class Sink(Protocol):
    """Where committed normalised data goes next (the plugin host)."""

    def deliver_readings(self, batch: ReadingBatch) -> None: ...
    def deliver_event(self, event: DeviceEvent) -> None: ...


@dataclass(slots=True)
class _Step:
    readings: list[Reading] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))


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
        self.counters["rows"] += result.rows
        self.counters["series"] += len(result.readings)
        if result.readings and self.on_outbox is not None:
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

    def _transaction(self, conn: sqlite3.Connection, now: int) -> _Step:
        step = _Step()
        self._readings(conn, now, step)
        self._events(conn, step)
        return step

    def _readings(self, conn: sqlite3.Connection, now: int, step: _Step) -> None:
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
            self._channel(conn, devices[device_id], device_id, channel, length_s, group, now,
                          step)
        series.set_cursor(conn, "readings", rows[-1]["id"])
        step.rows += len(rows)

    def _channel(self, conn: sqlite3.Connection, device: registry.Device | None, device_id: str,
                 channel: str, length_s: int, group: list[sqlite3.Row], now: int,
                 step: _Step) -> None:
        if device is None:
            step.skipped["unknown_device"] += len(group)
            return
        received = {row["interval_start"]: row["received_at"] for row in group}
        samples = [RegisterSample(datetime.fromtimestamp(row["interval_start"], UTC),
                                  row["register"], series.decode_flags(row["flags"]))
                   for row in group]
        previous = series.get_previous(conn, device_id, channel)
        try:
            deltas = interval_amounts(previous, samples, length_s=length_s,
                                      **_wrap(device.channels, channel))
        except NormaliseError as exc:
            log.error("readings rejected by normalisation", extra={
                "device": device_id, "channel": channel, "error": str(exc)})
            step.skipped["invalid"] += len(group)
            return
        step.skipped["ignored"] += len(deltas.ignored)
        for amount in deltas.amounts:
            reading = self._reading(device, channel, group[0]["unit"], length_s, amount,
                                    received, step)
            if reading is None or not series.upsert_reading(conn, reading, now):
                continue
            step.readings.append(reading)
            if self.prefix is not None:   # None: no [mqtt], nothing goes upstream
                self._queue_upstream(conn, reading, step)
        if deltas.last is not None:
            series.set_previous(conn, device_id, channel, deltas.last)

    def _queue_upstream(self, conn: sqlite3.Connection, reading: Reading, step: _Step) -> None:
        try:
            topic, payload = reading_message(reading, prefix=self.prefix or "",
                                             backfill="backfill" in reading.flags)
        except ValueError as exc:   # e.g. a channel name that cannot be a topic level
            if step.skipped["unpublishable"] == 0:
                log.error("reading cannot be published", extra={
                    "device": reading.device, "channel": reading.channel, "error": str(exc)})
            step.skipped["unpublishable"] += 1
            return
        outbox_add(conn, topic=topic, payload=payload, msg_id=reading.message_id,
                   stream=f"{reading.device}:{reading.channel}")

    def _reading(self, device: registry.Device, channel: str, wire_unit: str, length_s: int,
                 amount: IntervalAmount, received: dict[int, int], step: _Step) -> Reading | None:
        if amount.amount is None:
            step.skipped["no_baseline"] += 1   # first sample or unexplained reset: unknown
            return None
        start = int(amount.start.timestamp())
        # Estimated intervals inherit the arrival time of the sample that closed the gap.
        arrived = received.get(start) or max(received.values())
        flags = set(amount.flags)
        if start + length_s < arrived - self.config.gateway.live_window_s:
            flags.add("backfill")
        try:
            return to_reading(self.sites, device, channel, wire_unit, length_s,
                              amount.amount, amount.start, amount.register, frozenset(flags))
        except (ChannelError, NormaliseError) as exc:
            reason = exc.reason if isinstance(exc, ChannelError) else "invalid"
            if step.skipped[reason] == 0:
                log.warning("channel cannot be normalised", extra={
                    "device": device.device_id, "channel": channel, "error": str(exc)})
            step.skipped[reason] += 1
            return None

    def _events(self, conn: sqlite3.Connection, step: _Step) -> None:
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


def _wrap(channels: dict[str, dict[str, Any]], channel: str) -> dict[str, Any]:
    """The register modulus of a channel when its spec declares one (`modulus`, None = never
    wraps, e.g. a 64-bit Modbus register); otherwise the normalise default (2**32)."""
    try:
        spec = channel_spec(channels, channel)
    except ChannelError:
        return {}  # to_reading reports the unknown channel with its reason
    return {"modulus": spec["modulus"]} if "modulus" in spec else {}
