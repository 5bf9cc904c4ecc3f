"""One channel's register rows → series rows and outbox rows, inside the caller's transaction.

Shared by the normaliser task (new readings after its cursor) and by
:mod:`gateway.normaliser.renormalise` (readings again, after the registry was fixed). Readings
it cannot normalise are counted and recorded in ``normalise_skips`` with the reason, so they
can be found and normalised again; readings that succeed lose their skip record.
For gas channels, each gas day (06:00-06:00 Europe/Rome) with a changed row is summed again
and, once its intervals cover it, its totals are queued too (the same msg_id on a correction).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from gateway import registry
from gateway.model import DeviceEvent, Reading
from gateway.normalise.energy import (
    Ignored,
    IntervalAmount,
    RegisterSample,
    interval_amounts,
    rebase_previous,
)
from gateway.normalise.errors import NormaliseError
from gateway.normaliser.convert import (
    ChannelError,
    SiteContext,
    channel_spec,
    check_channel,
    to_reading,
)
from gateway.outbox import add as outbox_add
from gateway.store import series
from gateway.uplink.messages import gas_day_message, gas_day_msg_id, reading_message

__all__ = ["ChannelNormaliser", "Previous", "Step"]

log = logging.getLogger("gateway.normaliser")

Previous = tuple[RegisterSample, int | None]   # last normalised sample and its interval length


@dataclass(slots=True)
class Step:
    """What one transaction produced (handed to plugins and counters after the commit)."""

    readings: list[Reading] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)
    rows: int = 0
    statuses: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recovered: int = 0       # previously skipped readings normalised now
    gas_days: dict[str, bytes] = field(default_factory=dict)   # msg_id -> payload queued


class ChannelNormaliser:
    """Normalises one (device, channel, interval length) group of readings rows."""

    def __init__(self, sites: SiteContext, *, prefix: str | None, live_window_s: int) -> None:
        self.sites = sites
        self.prefix = prefix            # None: no [mqtt], nothing goes upstream
        self.live_window_s = live_window_s

    def normalise(self, conn: sqlite3.Connection, device: registry.Device | None,
                  device_id: str, channel: str, length_s: int, group: list[sqlite3.Row],
                  now: int, step: Step, previous: Previous | None) -> Previous | None:
        """Normalise `group` after `previous`; returns the new previous (None: unchanged).

        `group` rows carry id, unit, interval_start, register, flags, received_at.
        """
        if device is None:
            self._skip(conn, step, group, device_id, channel, "unknown_device",
                       f"device {device_id} is not in the registry", now)
            return None
        try:
            check_channel(device, channel, group[0]["unit"])
        except ChannelError as exc:
            # The whole group, baseline included, waits for the registry to be fixed; the
            # channel's previous sample does not move, so renormalising continues from it.
            if step.skipped[exc.reason] == 0:
                log.warning("channel cannot be normalised", extra={
                    "device": device_id, "channel": channel, "error": str(exc)})
            self._skip(conn, step, group, device_id, channel, exc.reason, str(exc), now)
            return None
        baseline, lumped = (None, None) if previous is None else \
            rebase_previous(previous[0], previous[1], length_s)
        samples = [RegisterSample(datetime.fromtimestamp(row["interval_start"], UTC),
                                  row["register"], series.decode_flags(row["flags"]))
                   for row in group]
        try:
            deltas = interval_amounts(baseline, samples, length_s=length_s,
                                      **_wrap(device.channels, channel))
        except NormaliseError as exc:
            log.error("readings rejected by normalisation", extra={
                "device": device_id, "channel": channel, "error": str(exc)})
            self._skip(conn, step, group, device_id, channel, "invalid", str(exc), now)
            return None
        step.skipped["ignored"] += len(deltas.ignored)
        self._keep_unused(conn, group, deltas.ignored, device_id, channel, now)
        by_start = {row["interval_start"]: row for row in group}
        received = {start: row["received_at"] for start, row in by_start.items()}
        failed: dict[str, list[sqlite3.Row]] = defaultdict(list)
        reasons: dict[str, str] = {}
        done: list[int] = []
        touched: set[tuple[str, str, str, date]] = set()   # gas days with a changed row
        for amount in deltas.amounts:
            if lumped is not None and amount.start == lumped:
                amount = IntervalAmount(amount.start, amount.amount, amount.register,
                                        amount.flags | {"gap"})
            reading, problem = self._reading(device, channel, group[0]["unit"], length_s,
                                             amount, received, step)
            row = by_start.get(int(amount.start.timestamp()))
            if reading is None:
                # An estimated interval has no readings row: its closing sample fails alike.
                if problem is not None and row is not None:
                    failed[problem[0]].append(row)
                    reasons.setdefault(*problem)
                elif row is not None:
                    done.append(row["id"])   # no baseline yet: it is the baseline now
                continue
            if row is not None:
                done.append(row["id"])
            if not series.upsert_reading(conn, reading, now):
                continue
            step.readings.append(reading)
            if self.prefix is not None:
                self._queue_upstream(conn, reading, step)
                if reading.quantity == "gas_volume" and "gas_day" in reading.extra:
                    touched.add((reading.site, reading.device, reading.channel,
                                 date.fromisoformat(reading.extra["gas_day"])))
        for key in sorted(touched):
            self._queue_gas_day(conn, *key, step)
        for reason, rows in failed.items():
            series.record_skips(conn, [(r["id"], device_id, channel, r["interval_start"])
                                       for r in rows], reason, reasons[reason], now)
        step.recovered += series.clear_skips(conn, done)
        if deltas.last is None or (baseline is not None and deltas.last is baseline):
            return None   # nothing new: keep the stored previous (and its length) as it is
        return deltas.last, length_s

    def _skip(self, conn: sqlite3.Connection, step: Step, group: list[sqlite3.Row],
              device_id: str, channel: str, reason: str, detail: str, now: int) -> None:
        step.skipped[reason] += len(group)
        series.record_skips(conn, [(r["id"], device_id, channel, r["interval_start"])
                                   for r in group], reason, detail, now)

    def _keep_unused(self, conn: sqlite3.Connection, group: list[sqlite3.Row],
                     ignored: Iterable[Ignored], device_id: str, channel: str,
                     now: int) -> None:
        """A measured register that reached no series row (it arrived after its interval was
        estimated, or it conflicts with another) is recorded like a skip: retention keeps it,
        status counts it, and `gateway renormalise` can use it. Duplicates carry nothing new."""
        late = {int(i.sample.start.timestamp()): i.reason for i in ignored
                if i.reason in ("stale", "conflict")}
        for reason in sorted(set(late.values())):
            rows = [(r["id"], device_id, channel, r["interval_start"]) for r in group
                    if late.get(r["interval_start"]) == reason]
            series.record_skips(conn, rows, reason, f"{reason} register: not in the series "
                                "(renormalise to use it)", now)

    def _queue_upstream(self, conn: sqlite3.Connection, reading: Reading, step: Step) -> None:
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

    def _queue_gas_day(self, conn: sqlite3.Connection, site: str, device: str, channel: str,
                       day: date, step: Step) -> None:
        """Queue the day's totals if its intervals now cover it (docs/MQTT.md, "Gas day").

        A day already published is published again with the same msg_id when one of its rows
        changed (a correction); an incomplete day is not published."""
        totals = series.gas_daily_totals(conn, device, channel, day, day)
        if not totals or not totals[0].complete:
            return
        try:
            topic, payload = gas_day_message(site, device, channel, totals[0],
                                             prefix=self.prefix or "")
        except ValueError as exc:
            if step.skipped["unpublishable"] == 0:
                log.error("gas day cannot be published", extra={
                    "device": device, "channel": channel, "error": str(exc)})
            step.skipped["unpublishable"] += 1
            return
        msg_id = gas_day_msg_id(device, channel, day)
        if step.gas_days.get(msg_id) == payload:
            return    # already queued in this transaction (another group of the channel)
        step.gas_days[msg_id] = payload
        outbox_add(conn, topic=topic, payload=payload, msg_id=msg_id,
                   stream=f"{device}:{channel}:gas_day")

    def _reading(self, device: registry.Device, channel: str, wire_unit: str, length_s: int,
                 amount: IntervalAmount, received: dict[int, int],
                 step: Step) -> tuple[Reading | None, tuple[str, str] | None]:
        """The Reading, or None and (reason, detail) when the channel cannot be converted."""
        if amount.amount is None:
            step.skipped["no_baseline"] += 1   # first sample or unexplained reset: unknown
            return None, None
        start = int(amount.start.timestamp())
        # Estimated intervals inherit the arrival time of the sample that closed the gap.
        arrived = received.get(start) or max(received.values())
        flags = set(amount.flags)
        if start + length_s < arrived - self.live_window_s:
            flags.add("backfill")
        try:
            return to_reading(self.sites, device, channel, wire_unit, length_s, amount.amount,
                              amount.start, amount.register, frozenset(flags)), None
        except (ChannelError, NormaliseError) as exc:
            reason = exc.reason if isinstance(exc, ChannelError) else "invalid"
            if step.skipped[reason] == 0:
                log.warning("channel cannot be normalised", extra={
                    "device": device.device_id, "channel": channel, "error": str(exc)})
            step.skipped[reason] += 1
            return None, (reason, str(exc))


def _wrap(channels: dict[str, dict[str, Any]], channel: str) -> dict[str, Any]:
    """The register modulus of a channel when its spec declares one (`modulus`, None = never
    wraps, e.g. a 64-bit Modbus register); otherwise the normalise default (2**32)."""
    try:
        spec = channel_spec(channels, channel)
    except ChannelError:
        return {}  # to_reading reports the unknown channel with its reason
    return {"modulus": spec["modulus"]} if "modulus" in spec else {}
