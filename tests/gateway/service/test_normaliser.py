"""The normaliser turns stored cumulative registers into exact, hand-calculated series rows.

Readings are inserted into a real SQLite `readings` table as the writer would; each test runs
normaliser steps and checks series rows, outbox rows, flags and what the plugins receive.
Hand calculations:
- electricity: a register step of 100 Wh is 0.1 kWh; ARERA bands (Mon-Fri 08-19 F1, Mon-Fri
  07-08 and 19-23 F2, Saturday 07-23 F2, nights, Sundays and holidays F3), local time.
- gas at LODI (87 m, 2592 GG, zone E, ng 183), ARERA coefficient C, each step rounded to 6
  decimals: pb = 1.01325 (1 - 0.0000225577 * 87)^5.2559 = 1.002842; kp = (pb + 0.02) / 1.01325
  = 1.009467; gg = 2592 / 183 = 14.163934; kt = 288.15 / (295.15 - gg) = 1.025496;
  C = kp * kt = 1.035204. 1500 L = 1.5 m3 -> 1.5 * 1.035204 = 1.552806 Smc
  -> 1.552806 * 9.4227 kWh/Smc = 14.631625 kWh.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from gateway.model import DeviceEvent, ReadingBatch
from gateway.normaliser import Normaliser
from gateway.registry import add_device
from gateway.store import series
from gateway.store.db import Database
from gateway.store.keybox import KeyBox
from tests.gateway.service.conftest import CHANNELS, KEY, write_config

DEV = "0000a1b2"
MQTT = '[mqtt]\nhost = "127.0.0.1"\nport = 1\n'


class Sink:
    def __init__(self) -> None:
        self.batches: list[ReadingBatch] = []
        self.events: list[DeviceEvent] = []

    def deliver_readings(self, batch: ReadingBatch) -> None:
        self.batches.append(batch)

    def deliver_event(self, event: DeviceEvent) -> None:
        self.events.append(event)


@pytest.fixture
async def env(tmp_path: Path) -> Any:
    # An [mqtt] section makes the normaliser queue upstream messages (no broker is needed).
    config = load_config(write_config(tmp_path, extra=MQTT), plugins={})
    db = await Database.open(config.gateway.db_path)
    box = KeyBox.load_or_create(config.gateway.secret_file)
    await db.write(lambda c: add_device(c, box, DEV, KEY, site="lodi", channels=CHANNELS))
    sink = Sink()
    normaliser = Normaliser(db, config, committed=asyncio.Event(), sink=sink)
    yield db, normaliser, sink
    await db.close()


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


async def insert(db: Database, rows: list[tuple[str, str, int, int, int, int]],
                 received: int | None = None) -> None:
    """(channel, unit, interval_start, interval_s, register, flags) rows into `readings`."""
    def write(conn: Any) -> None:
        for channel, unit, start, length, register, flags in rows:
            conn.execute(
                "INSERT INTO readings (device_id, channel, unit, interval_start, interval_s, "
                "register, flags, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (DEV, channel, unit, start, length, register, flags,
                 received if received is not None else start + length + 60))
    await db.write(write)


async def series_rows(db: Database, channel: str) -> list[dict[str, Any]]:
    def read(conn: Any) -> list[dict[str, Any]]:
        rows = conn.execute("SELECT * FROM series WHERE channel = ? ORDER BY interval_start",
                            (channel,)).fetchall()
        return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]
    return await db.read(read)


async def outbox_count(db: Database) -> int:
    return await db.read(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0])


async def drain(normaliser: Normaliser) -> None:
    while await normaliser.step():
        pass


async def test_electric_kwh_and_arera_bands_on_a_weekday(env: Any) -> None:
    db, normaliser, sink = env
    # Monday 23 March 2026 (CET, UTC+1): 15-min registers from 07:30 to 23:15 local time,
    # +100 Wh each interval; the first one is only the baseline.
    start = ts(2026, 3, 23, 6, 30)
    rows = [("0", "Wh", start + i * 900, 900, 50_000 + i * 100, 0) for i in range(64)]
    await insert(db, rows)
    await drain(normaliser)
    got = {datetime.fromtimestamp(r["interval_start"], UTC).strftime("%H:%M"): r
           for r in await series_rows(db, "el1")}
    assert len(got) == 63                     # the baseline interval has no amount
    assert all(r["value"] == 0.1 and r["kwh"] == 0.1 and r["unit"] == "kWh" for r in got.values())
    # UTC start -> local start -> band
    assert got["06:45"]["band"] == "F2"       # 07:45 local, weekday 07-08
    assert got["07:00"]["band"] == "F1"       # 08:00 local
    assert got["17:45"]["band"] == "F1"       # 18:45 local
    assert got["18:00"]["band"] == "F2"       # 19:00 local
    assert got["21:45"]["band"] == "F2"       # 22:45 local
    assert got["22:00"]["band"] == "F3"       # 23:00 local
    r = got["07:00"]
    assert (r["quantity"], r["register"], r["register_unit"], r["site"]) == \
        ("energy_import", 50_000 + 2 * 100, "Wh", "lodi")
    assert series.decode_flags(r["flags"]) == frozenset()
    assert await outbox_count(db) == 63
    delivered = [x for b in sink.batches for x in b.readings]
    assert len(delivered) == 63 and all(b.live for b in sink.batches)
    assert delivered[0].message_id == f"{DEV}:el1:{start + 900}"


async def test_dst_day_electric_and_gas(env: Any) -> None:
    db, normaliser, _sink = env
    # Sunday 29 March 2026: clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    el = [("0", "Wh", ts(2026, 3, 29, 0, 15), 900, 5_000, 0),
          ("0", "Wh", ts(2026, 3, 29, 0, 30), 900, 5_120, 0),   # 01:30 CET
          ("0", "Wh", ts(2026, 3, 29, 0, 45), 900, 5_250, 0),   # 01:45 CET
          ("0", "Wh", ts(2026, 3, 29, 1, 0), 900, 5_390, 0),    # 03:00 CEST
          ("0", "Wh", ts(2026, 3, 29, 1, 15), 900, 5_540, 0)]   # 03:15 CEST
    gas = [("1", "L", ts(2026, 3, 29, 2, 0), 3600, 100_000, 0),  # 04:00 CEST, baseline
           ("1", "L", ts(2026, 3, 29, 3, 0), 3600, 101_500, 0),  # 05:00 CEST: gas day 28th
           ("1", "L", ts(2026, 3, 29, 4, 0), 3600, 103_000, 0)]  # 06:00 CEST: gas day 29th
    await insert(db, el + gas)
    await drain(normaliser)
    e = await series_rows(db, "el1")
    assert [r["value"] for r in e] == [0.12, 0.13, 0.14, 0.15]
    assert [r["band"] for r in e] == ["F3"] * 4                     # Sunday
    assert all(r["flags"] == 0 for r in e)                          # no gap across the jump
    assert {json.loads(r["extra"])["local_date"] for r in e} == {"2026-03-29"}
    g = await series_rows(db, "gas")
    assert [(r["value"], r["unit"], r["kwh"], r["band"]) for r in g] == \
        [(1.552806, "Smc", 14.631625, None)] * 2
    extras = [json.loads(r["extra"]) for r in g]
    assert [x["gas_day"] for x in extras] == ["2026-03-28", "2026-03-29"]
    assert extras[0]["m3"] == 1.5 and extras[0]["c"] == 1.035204
    assert g[0]["quantity"] == "gas_volume"


async def test_gap_reset_and_wire_flags(env: Any) -> None:
    db, normaliser, _sink = env
    t = ts(2026, 3, 24, 10, 0)
    q = 900
    rows = [("0", "Wh", t, q, 1_000, 0),
            ("0", "Wh", t + q, q, 1_100, 0x04),            # power_loss from the board
            ("0", "Wh", t + 4 * q, q, 1_400, 0),           # two intervals missing: spread 300
            ("0", "Wh", t + 5 * q, q, 40, 0x20),           # board says: register reset to 0
            ("0", "Wh", t + 6 * q, q, 10, 0),              # silent drop: unknown, no row
            ("0", "Wh", t + 7 * q, q, 60, 0)]
    await insert(db, rows)
    await drain(normaliser)
    got = [(r["interval_start"] - t, r["value"], sorted(series.decode_flags(r["flags"])))
           for r in await series_rows(db, "el1")]
    assert got == [
        (q, 0.1, ["power_loss"]),
        (2 * q, 0.1, ["estimated"]),
        (3 * q, 0.1, ["estimated"]),
        (4 * q, 0.1, ["estimated", "gap"]),
        (5 * q, 0.04, ["register_reset"]),
        (7 * q, 0.05, []),
    ]
    assert normaliser.counters["skipped_no_baseline"] == 2   # the first and the silent drop
    assert all(r["value"] >= 0 for r in await series_rows(db, "el1"))


async def test_reprocessing_is_harmless_and_late_data_is_backfill(env: Any) -> None:
    db, normaliser, sink = env
    t = ts(2026, 3, 24, 10, 0)
    await insert(db, [("0", "Wh", t, 900, 0, 0), ("0", "Wh", t + 900, 900, 250, 0)])
    # Arrives a day late: older than the 2 h live window when it reached the gateway.
    await insert(db, [("0", "Wh", t + 1800, 900, 500, 0)], received=t + 86400)
    await drain(normaliser)
    before = await series_rows(db, "el1")
    assert [sorted(series.decode_flags(r["flags"])) for r in before] == [[], ["backfill"]]
    assert [b.live for b in sink.batches] == [True, False]   # in interval order
    assert await outbox_count(db) == 2
    # Rewind the cursor and the channel state: the same rows, no new outbox rows.
    await db.write(lambda c: (series.set_cursor(c, "readings", 0),
                              c.execute("DELETE FROM series_channels")))
    sink.batches.clear()
    await drain(normaliser)
    assert await series_rows(db, "el1") == before
    assert await outbox_count(db) == 2 and sink.batches == []


async def test_device_events_reach_the_plugins_with_channel_names(env: Any) -> None:
    db, normaliser, sink = env
    t = ts(2026, 3, 24, 10, 0)
    await db.write(lambda c: c.execute(
        "INSERT INTO device_events (device_id, frame_counter, idx, time, code, channel, value, "
        "received_at) VALUES (?, 7, 0, ?, 'tamper', 1, 3, ?)", (DEV, t, t)))
    await drain(normaliser)
    assert sink.events == [DeviceEvent(site="lodi", device=DEV, kind="tamper",
                                       time=datetime.fromtimestamp(t, UTC) + timedelta(0),
                                       channel="gas", value=3)]


async def test_without_mqtt_nothing_is_queued_upstream(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path), plugins={})
    db = await Database.open(config.gateway.db_path)
    try:
        box = KeyBox.load_or_create(config.gateway.secret_file)
        await db.write(lambda c: add_device(c, box, DEV, KEY, site="lodi", channels=CHANNELS))
        t = ts(2026, 3, 24, 10, 0)
        await insert(db, [("0", "Wh", t, 900, 0, 0), ("0", "Wh", t + 900, 900, 250, 0)])
        await drain(Normaliser(db, config, committed=asyncio.Event()))
        assert [r["value"] for r in await series_rows(db, "el1")] == [0.25]
        assert await outbox_count(db) == 0
    finally:
        await db.close()


async def test_a_failing_step_is_retried_without_losing_rows(env: Any) -> None:
    db, normaliser, sink = env
    t = ts(2026, 3, 24, 10, 0)
    await insert(db, [("0", "Wh", t, 900, 0, 0), ("0", "Wh", t + 900, 900, 300, 0)])
    real = normaliser._transaction
    calls = []

    def flaky(conn: Any, now: int) -> Any:
        calls.append(now)
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")   # rolled back by Database.write
        return real(conn, now)

    normaliser._transaction = flaky   # type: ignore[method-assign]
    task = asyncio.create_task(normaliser.run())
    normaliser.committed.set()
    async with asyncio.timeout(5):
        while not sink.batches:
            await asyncio.sleep(0.02)
    normaliser.stop()
    await task
    assert normaliser.counters["errors"] == 1
    assert [r.value for b in sink.batches for r in b.readings] == [0.3]
