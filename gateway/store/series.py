"""The normalised `series` table, the normaliser's per-channel state and its cursors.

``series`` — one row per device, channel NAME and interval start (the Reading's message id):
    value in `unit` (kWh or Smc), kwh equivalent, ARERA band (electric), local date and gas
    day, the cumulative register, flags (bit i = ``gateway.model.FLAG_NAMES[i]``). Upserted, so
    normalising the same readings twice leaves the same rows.
``series_channels`` — the last register sample normalised per device and raw channel: the
    ``previous`` that :func:`gateway.normalise.energy.interval_amounts` needs next time.
``cursors`` — named positions in append-only tables (``readings``, ``device_events``).
All three are written in the normaliser's single transaction, so they never disagree.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from gateway.model import FLAG_NAMES, Reading
from gateway.normalise.energy import RegisterSample
from gateway.store.db import register_schema

__all__ = [
    "SCHEMA_SQL", "decode_flags", "encode_flags", "get_cursor", "get_previous", "query_series",
    "set_cursor", "set_previous", "upsert_reading",
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
    device_id TEXT NOT NULL,
    channel   TEXT NOT NULL,
    start     INTEGER NOT NULL,
    register  INTEGER NOT NULL,
    flags     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, channel)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS cursors (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

register_schema("series", SCHEMA_SQL)

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


def get_previous(conn: sqlite3.Connection, device: str, channel: str) -> RegisterSample | None:
    row = conn.execute(
        "SELECT start, register, flags FROM series_channels WHERE device_id = ? AND channel = ?",
        (device, channel),
    ).fetchone()
    if row is None:
        return None
    return RegisterSample(datetime.fromtimestamp(row["start"], UTC), row["register"],
                          decode_flags(row["flags"]))


def set_previous(conn: sqlite3.Connection, device: str, channel: str,
                 sample: RegisterSample) -> None:
    conn.execute(
        "INSERT INTO series_channels (device_id, channel, start, register, flags) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id, channel) DO UPDATE SET "
        "start = excluded.start, register = excluded.register, flags = excluded.flags",
        (device, channel, int(sample.start.timestamp()), sample.register,
         encode_flags(sample.flags)),
    )


def get_cursor(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def set_cursor(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute(
        "INSERT INTO cursors (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value),
    )

