"""The normalised `series` table, the normaliser's per-channel state and its cursors.

``series`` — one row per device, channel NAME and interval start (the Reading's message id):
    value in `unit` (kWh or Smc), kwh equivalent, ARERA band (electric), local date and gas
    day, the cumulative register, flags (bit i = ``gateway.model.FLAG_NAMES[i]``). Upserted, so
    normalising the same readings twice leaves the same rows.
``series_channels`` — the last register sample normalised per device and raw channel: the
    ``previous`` that :func:`gateway.normalise.energy.interval_amounts` needs next time, and
    its interval length (``interval_s``; NULL in rows written before it was recorded).
``cursors`` — named positions in append-only tables (``readings``, ``device_events``,
    ``status_frames``).
``normalise_skips`` — readings the normaliser passed over (reason ``unknown_device``,
    ``unknown_channel``, ``unit_mismatch``, ``bad_calibration``, ``invalid``), one row per
    ``readings.id``, so they can be found and normalised again once the registry is fixed
    (:func:`gateway.normaliser.renormalise.renormalise`); a row goes when its reading is
    normalised.
All are written in the normaliser's single transaction, so they never disagree.
:func:`gas_daily_totals` sums a gas channel per gas day (06:00-06:00 local, 23 h or 25 h on
DST Sundays) from the series rows' ``extra.gas_day``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.model import FLAG_NAMES, Reading
from gateway.normalise.energy import RegisterSample
from gateway.normalise.gas import gas_day_bounds_utc
from gateway.store.db import AddColumn, register_schema

__all__ = [
    "ADDED_COLUMNS", "SCHEMA_SQL", "GasDay", "clear_skips", "decode_flags", "encode_flags",
    "gas_daily_totals", "get_cursor", "get_previous", "query_series", "record_skips",
    "set_cursor", "set_previous", "skip_counts", "upsert_reading",
]

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS series (
    device_id      TEXT NOT NULL,
    channel        TEXT NOT NULL,
    interval_start INTEGER NOT NULL,
    interval_s     INTEGER NOT NULL,
    site           TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    value          REAL NOT NULL,
    unit           TEXT NOT NULL,
    kwh            REAL,
    band           TEXT,
    register       INTEGER NOT NULL,
    register_unit  TEXT NOT NULL,
    flags          INTEGER NOT NULL DEFAULT 0,
    extra          TEXT NOT NULL DEFAULT '{}',
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (device_id, channel, interval_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS series_site_time ON series (site, interval_start);

CREATE TABLE IF NOT EXISTS series_channels (
    device_id  TEXT NOT NULL,
    channel    TEXT NOT NULL,
    start      INTEGER NOT NULL,
    register   INTEGER NOT NULL,
    flags      INTEGER NOT NULL DEFAULT 0,
    interval_s INTEGER,
    PRIMARY KEY (device_id, channel)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS normalise_skips (
    reading_id     INTEGER PRIMARY KEY,
    device_id      TEXT NOT NULL,
    channel        TEXT NOT NULL,
    interval_start INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    skipped_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS normalise_skips_device
    ON normalise_skips (device_id, channel, interval_start);

CREATE TABLE IF NOT EXISTS cursors (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Columns added after the first release (databases created before get them when they open).
ADDED_COLUMNS = (AddColumn("series_channels", "interval_s", "INTEGER"),)

register_schema("series", SCHEMA_SQL, add_columns=ADDED_COLUMNS)

_COLUMNS = ("device_id, channel, interval_start, interval_s, site, quantity, value, unit, kwh, "
            "band, register, register_unit, flags, extra")
_COMPARED = ("interval_s", "site", "quantity", "value", "unit", "kwh", "band", "register",
             "register_unit", "flags", "extra")


def encode_flags(flags: frozenset[str] | set[str]) -> int:
    return sum(1 << i for i, name in enumerate(FLAG_NAMES) if name in flags)


def decode_flags(bits: int) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(FLAG_NAMES) if bits >> i & 1)


def upsert_reading(conn: sqlite3.Connection, r: Reading, now: int) -> bool:
    """Insert or replace the row of `r`; False when an identical row was already stored."""
    row = {
        "device_id": r.device, "channel": r.channel,
        "interval_start": int(r.start.timestamp()), "interval_s": r.length_s, "site": r.site,
        "quantity": r.quantity, "value": r.value, "unit": r.unit, "kwh": r.kwh, "band": r.band,
        "register": r.register, "register_unit": r.register_unit,
        "flags": encode_flags(r.flags), "extra": json.dumps(r.extra, sort_keys=True),
    }
    old = conn.execute(
        "SELECT * FROM series WHERE device_id = ? AND channel = ? AND interval_start = ?",
        (row["device_id"], row["channel"], row["interval_start"]),
    ).fetchone()
    if old is not None and all(old[k] == row[k] for k in _COMPARED):
        return False
    conn.execute(
        f"INSERT OR REPLACE INTO series ({_COLUMNS}, updated_at) VALUES "
        f"(:{_COLUMNS.replace(', ', ', :')}, :updated_at)", {**row, "updated_at": now},
    )
    return True


def query_series(conn: sqlite3.Connection, device: str, channel: str, start: datetime,
                 end: datetime) -> list[Reading]:
    """Readings of one channel with start <= interval start < end, in time order."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM series WHERE device_id = ? AND channel = ? "
        "AND interval_start >= ? AND interval_start < ? ORDER BY interval_start",
        (device, channel, int(start.timestamp()), int(end.timestamp())),
    )
    return [_reading(row) for row in rows]


def _reading(row: sqlite3.Row) -> Reading:
    return Reading(
        site=row["site"], device=row["device_id"], channel=row["channel"],
        quantity=row["quantity"], start=datetime.fromtimestamp(row["interval_start"], UTC),
        length_s=row["interval_s"], value=row["value"], unit=row["unit"],
        register=row["register"], register_unit=row["register_unit"],
        flags=decode_flags(row["flags"]), band=row["band"], kwh=row["kwh"],
        extra=json.loads(row["extra"]),
    )


def get_previous(conn: sqlite3.Connection, device: str,
                 channel: str) -> tuple[RegisterSample, int | None] | None:
    """The last sample normalised for a channel and its interval length (None: not recorded)."""
    row = conn.execute(
        "SELECT start, register, flags, interval_s FROM series_channels "
        "WHERE device_id = ? AND channel = ?", (device, channel),
    ).fetchone()
    if row is None:
        return None
    return (RegisterSample(datetime.fromtimestamp(row["start"], UTC), row["register"],
                           decode_flags(row["flags"])), row["interval_s"])


def set_previous(conn: sqlite3.Connection, device: str, channel: str,
                 sample: RegisterSample, interval_s: int) -> None:
    conn.execute(
        "INSERT INTO series_channels (device_id, channel, start, register, flags, interval_s) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, channel) DO UPDATE SET "
        "start = excluded.start, register = excluded.register, flags = excluded.flags, "
        "interval_s = excluded.interval_s",
        (device, channel, int(sample.start.timestamp()), sample.register,
         encode_flags(sample.flags), interval_s),
    )


def record_skips(conn: sqlite3.Connection, rows: Iterable[tuple[int, str, str, int]],
                 reason: str, detail: str, now: int) -> None:
    """Remember skipped readings: (readings.id, device, channel, interval start) rows."""
    conn.executemany(
        "INSERT INTO normalise_skips (reading_id, device_id, channel, interval_start, reason, "
        "detail, skipped_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reading_id) DO UPDATE "
        "SET reason = excluded.reason, detail = excluded.detail, "
        "skipped_at = excluded.skipped_at",
        [(rid, dev, ch, start, reason, detail[:500], now) for rid, dev, ch, start in rows])


def clear_skips(conn: sqlite3.Connection, reading_ids: Iterable[int]) -> int:
    """Forget skip records of readings that have now been normalised; returns rows removed."""
    before = conn.total_changes
    conn.executemany("DELETE FROM normalise_skips WHERE reading_id = ?",
                     [(int(i),) for i in reading_ids])
    return conn.total_changes - before


def skip_counts(conn: sqlite3.Connection, device: str | None = None) -> dict[str, int]:
    """Skipped readings per reason (of one device, or all): what an operator should fix."""
    sql = "SELECT reason, count(*) FROM normalise_skips"
    args: tuple[str, ...] = ()
    if device is not None:
        sql, args = sql + " WHERE device_id = ?", (device,)
    return {str(r): int(n) for r, n in conn.execute(sql + " GROUP BY reason", args)}


def get_cursor(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def set_cursor(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute(
        "INSERT INTO cursors (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value),
    )



@dataclass(frozen=True, slots=True)
class GasDay:
    """One gas day (06:00-06:00 Europe/Rome: 23 h or 25 h on DST Sundays) of one channel."""

    day: date
    smc: float                  # sum of the intervals' Smc
    kwh: float                  # sum of their kWh equivalents
    m3: float                   # sum of their metered m³
    covered_s: int              # seconds of the day with a series row
    length_s: int               # seconds in the day: 82800, 86400 or 90000
    flags: frozenset[str]       # union of the intervals' quality flags

    @property
    def complete(self) -> bool:
        return self.covered_s == self.length_s


def gas_daily_totals(conn: sqlite3.Connection, device: str, channel: str, first: date,
                     last: date) -> list[GasDay]:
    """Daily totals of a gas channel for gas days `first`..`last` (inclusive) that have data.

    A day is summed from the intervals whose ``extra.gas_day`` names it; ``complete`` says
    whether its intervals cover the whole day (an incomplete day is a partial total).
    """
    start, _ = gas_day_bounds_utc(first)
    _, end = gas_day_bounds_utc(last)
    rows = conn.execute(
        "SELECT interval_s, value, kwh, flags, json_extract(extra, '$.gas_day') AS day, "
        "json_extract(extra, '$.m3') AS m3 FROM series WHERE device_id = ? AND channel = ? "
        "AND quantity = 'gas_volume' AND interval_start >= ? AND interval_start < ? "
        "ORDER BY interval_start",
        (device, channel, int(start.timestamp()), int(end.timestamp())))
    acc: dict[str, list[Any]] = {}
    for r in rows:
        a = acc.setdefault(r["day"], [0.0, 0.0, 0.0, 0, 0])
        a[0] += r["value"]
        a[1] += r["kwh"] or 0.0
        a[2] += r["m3"] or 0.0
        a[3] += r["interval_s"]
        a[4] |= r["flags"]
    out = []
    for day_text, (smc, kwh, m3, covered, bits) in acc.items():
        day = date.fromisoformat(day_text)
        lo, hi = gas_day_bounds_utc(day)
        out.append(GasDay(day, round(smc, 6), round(kwh, 6), round(m3, 6), covered,
                          int((hi - lo) / timedelta(seconds=1)), decode_flags(bits)))
    return sorted(out, key=lambda g: g.day)
