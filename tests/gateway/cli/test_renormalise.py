"""`meterkit gateway renormalise`: readings skipped for an unknown channel are normalised once
the operator registered the channel, and queued upstream; run as a real subprocess.

Hand calculation (tests/gateway/service/test_normaliser.py): at LODI 1500 L of gas is
1.5 m3 x C 1.035204 = 1.552806 Smc.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from gateway.config import load_config
from gateway.normaliser import Normaliser
from gateway.registry import add_device
from gateway.store.db import Database
from gateway.store.keybox import KeyBox
from tests.gateway.service.conftest import KEY, write_config

DEV = "0000a1b2"
MQTT = '[mqtt]\nhost = "127.0.0.1"\nport = 1\n'
T = int(datetime(2026, 1, 13, 0, tzinfo=UTC).timestamp())


def meterkit(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meterkit", "gateway", *argv],
                          capture_output=True, text=True, timeout=60)


async def _skipped_gas(path: Path) -> None:
    """Channel 0 registered, gas on channel 1 not: its 4 hourly readings are skipped."""
    config = load_config(path, plugins={})
    db = await Database.open(config.gateway.db_path)
    try:
        box = KeyBox.load_or_create(config.gateway.secret_file)
        await db.write(lambda c: add_device(c, box, DEV, KEY, site="lodi", channels={
            0: {"name": "el1", "kind": "electric", "unit": "Wh"}}))

        def insert(conn: object) -> None:
            for i, register in enumerate((1000, 2500, 4000, 5500)):
                conn.execute(  # type: ignore[attr-defined]
                    "INSERT INTO readings (device_id, channel, unit, interval_start, "
                    "interval_s, register, flags, received_at) VALUES (?, '1', 'L', ?, 3600, "
                    "?, 0, ?)", (DEV, T + i * 3600, register, T + (i + 1) * 3600 + 60))
        await db.write(insert)
        normaliser = Normaliser(db, config, committed=asyncio.Event())
        while await normaliser.step():
            pass
        assert normaliser.counters["skipped_unknown_channel"] == 4
    finally:
        await db.close()


async def test_skipped_readings_are_normalised_after_the_fix(tmp_path: Path) -> None:
    path = write_config(tmp_path, extra=MQTT)
    await _skipped_gas(path)
    fixed = meterkit("devices", "add", DEV, "--key", KEY.hex(), "--replace", "--config",
                     str(path), "--channel", "0:el1:electric:Wh", "--channel", "1:gas:gas:L")
    assert fixed.returncode == 0, fixed.stderr
    run = meterkit("renormalise", DEV, "--json", "--config", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    # 4 readings: the first is the baseline, 3 intervals of 1500 L each
    assert (report["readings"], report["changed"], report["still_skipped"]) == (4, 3, {})
    config = load_config(path, plugins={})
    db = await Database.open(config.gateway.db_path)
    try:
        rows = await db.read(lambda c: c.execute(
            "SELECT interval_start, value, unit FROM series WHERE channel = 'gas' "
            "ORDER BY interval_start").fetchall())
        queued = await db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM outbox WHERE stream = ?", (f"{DEV}:gas",)).fetchone()[0])
    finally:
        await db.close()
    assert [(r[0], round(r[1], 6), r[2]) for r in rows] == [
        (T + i * 3600, 1.552806, "Smc") for i in (1, 2, 3)]
    assert queued == 3
    again = meterkit("renormalise", DEV, "--config", str(path))   # safe to repeat
    assert again.returncode == 0 and "still skipped: none" in again.stdout, again.stdout


def test_renormalise_names_a_bad_time_and_an_unknown_device(tmp_path: Path) -> None:
    path = str(write_config(tmp_path))
    bad = meterkit("renormalise", DEV, "--from", "yesterday", "--config", path)
    assert bad.returncode == 2 and "--from 'yesterday'" in bad.stderr
    naive = meterkit("renormalise", DEV, "--from", "2026-03-01T00:00", "--config", path)
    assert naive.returncode == 2 and "with its offset" in naive.stderr
    unknown = meterkit("renormalise", "0000ffff", "--config", path)
    assert unknown.returncode == 1 and "device 0000ffff is not registered" in unknown.stderr
    assert "Traceback" not in bad.stderr + naive.stderr + unknown.stderr
