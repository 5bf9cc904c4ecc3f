"""Normalise a device's stored readings again, e.g. after an operator fixed its channel map.

Readings the normaliser passed over (unknown channel, unit that does not fit the kind, missing
pulse factor, ...) stay in ``readings`` and are listed in ``normalise_skips``; the normaliser's
cursor has moved past them. This recomputes, per channel, every reading from the earliest
skipped one (or from `since`) up to the normaliser's cursor, starting from the reading just
before as the baseline, in one transaction: series rows are upserted (only changed rows go to
the outbox, so it is safe to run twice), skip records of readings that now normalise are
removed, and the channel's baseline moves forward if it was behind.

    report = await renormalise_device(db, config, "0000a1b2", since=None)
    report.changed, report.recovered, report.still_skipped   # counts for the operator

Readings after the cursor are left to the running normaliser. The publisher sends the new
outbox rows on its next wake-up or safety check.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby

from gateway import registry
from gateway.config.model import Config
from gateway.normalise.energy import RegisterSample
from gateway.normaliser.channel import ChannelNormaliser, Previous, Step
from gateway.normaliser.convert import SiteContext
from gateway.store import series
from gateway.store.db import Database

__all__ = ["RenormaliseReport", "renormalise", "renormalise_device"]

_COLS = "id, unit, interval_start, interval_s, register, flags, received_at"


@dataclass(slots=True)
class RenormaliseReport:
    """What a re-normalisation did for one device."""

    device: str
    channels: list[str] = field(default_factory=list)
    readings: int = 0           # readings rows considered
    changed: int = 0            # series rows written (new or different), each queued upstream
    recovered: int = 0          # skipped readings that normalise now
    still_skipped: dict[str, int] = field(default_factory=dict)   # reason -> readings


async def renormalise_device(db: Database, config: Config, device_id: int | str, *,
                             since: datetime | None = None) -> RenormaliseReport:
    """Re-normalise `device_id` (see the module docstring) in one transaction."""
    worker = ChannelNormaliser(SiteContext.from_config(config), prefix=config.mqtt_prefix,
                               live_window_s=config.gateway.live_window_s)
    if since is not None and (since.tzinfo is None or since.utcoffset() is None):
        raise ValueError(f"since={since!r}: give a time with an offset, e.g. "
                         "2026-03-01T00:00+01:00")
    start = None if since is None else int(since.timestamp())
    return await db.write(renormalise, worker, registry.format_device_id(device_id),
                          since=start, now=int(time.time()))


def renormalise(conn: sqlite3.Connection, worker: ChannelNormaliser, device_id: str, *,
                since: int | None, now: int) -> RenormaliseReport:
    """The transaction of :func:`renormalise_device` (sync; runs on the writer thread)."""
    report = RenormaliseReport(device_id)
    cursor = series.get_cursor(conn, "readings")
    if since is None:
        starts = conn.execute(
            "SELECT channel, min(interval_start) FROM normalise_skips WHERE device_id = ? "
            "GROUP BY channel ORDER BY channel", (device_id,)).fetchall()
    else:
        starts = conn.execute(
            "SELECT DISTINCT channel, ? FROM readings WHERE device_id = ? "
            "AND interval_start >= ? AND id <= ? ORDER BY channel",
            (since, device_id, since, cursor)).fetchall()
    device = registry.get_device(conn, device_id)
    step = Step()
    for channel, first in starts:
        report.channels.append(channel)
        rows = conn.execute(
            f"SELECT {_COLS} FROM readings WHERE device_id = ? AND channel = ? "
            "AND interval_start >= ? AND id <= ? ORDER BY interval_start",
            (device_id, channel, first, cursor)).fetchall()
        report.readings += len(rows)
        previous = _baseline(conn, device_id, channel, first, cursor)
        for length_s, run in groupby(rows, key=lambda r: r["interval_s"]):
            moved = worker.normalise(conn, device, device_id, channel, length_s, list(run),
                                     now, step, previous)
            if moved is not None:
                previous = moved
        _advance(conn, device_id, channel, previous)
    report.changed = len(step.readings)
    report.recovered = step.recovered
    report.still_skipped = series.skip_counts(conn, device_id)
    return report


def _baseline(conn: sqlite3.Connection, device_id: str, channel: str, before: int,
              cursor: int) -> Previous | None:
    row = conn.execute(
        f"SELECT {_COLS} FROM readings WHERE device_id = ? AND channel = ? "
        "AND interval_start < ? AND id <= ? ORDER BY interval_start DESC LIMIT 1",
        (device_id, channel, before, cursor)).fetchone()
    if row is None:
        return None
    return (RegisterSample(datetime.fromtimestamp(row["interval_start"], UTC), row["register"],
                           series.decode_flags(row["flags"])), row["interval_s"])


def _advance(conn: sqlite3.Connection, device_id: str, channel: str,
             last: Previous | None) -> None:
    """Move the channel's stored baseline to `last` if it is later (never backwards)."""
    if last is None or last[1] is None:
        return
    stored = series.get_previous(conn, device_id, channel)
    if stored is None or last[0].start >= stored[0].start:
        series.set_previous(conn, device_id, channel, last[0], last[1])
