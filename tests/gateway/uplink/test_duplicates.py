"""A crash between PUBACK and the `delivered` commit duplicates with the same msg_id; a heavy
live load does not starve the backlog."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from gateway import outbox
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import (
    PREFIX,
    SITE,
    Subscriber,
    add_readings,
    check_delivery,
    fill,
    fleet_readings,
    mqtt_config,
    wait_until,
)
from tests.support.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[3]


def _standalone(db: Path, cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.uplink.standalone", "--db", str(db), "--config",
         str(cfg)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def _delivered(path: Path) -> int:
    with sqlite3.connect(path) as c:
        return int(c.execute("SELECT count(*) FROM outbox WHERE state = 'delivered'")
                   .fetchone()[0])


async def test_kill9_after_puback_before_commit_duplicates_same_msg_id(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """The test holds the database's write lock, so the publisher receives every PUBACK but
    cannot commit `delivered`; kill -9 then. After a restart all 200 rows are published again:
    each reading arrives twice, the second time with the same msg_id and payload."""
    readings = list(fleet_readings(devices=2, intervals=50))            # 200
    path = tmp_path / "g.db"
    await (await Database.open(path)).close()          # creates the schema
    cfg = tmp_path / "uplink.toml"
    cfg.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n'
                   f'site = "{SITE}"\nbacklog_rate = 0\nsafety_check_s = 0.2\n'
                   "reconnect_min_s = 0.1\nreconnect_max_s = 0.5\n")
    sub = Subscriber(mosquitto.port, topic=f"{PREFIX}/#").start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    log = tmp_path / "publisher.log"
    proc = _standalone(path, cfg, log)
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        assert await asyncio.to_thread(wait_until, lambda: any(           # connected: online
            p.get("state") == "online" for _, p, _ in list(sub.messages)), 10)
        lock.execute("BEGIN IMMEDIATE")
        add_readings(lock, readings)
        lock.execute("COMMIT")
        lock.execute("BEGIN IMMEDIATE")         # the publisher's `delivered` commit now waits
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 200, 10)
        await asyncio.sleep(0.5)                # its PUBACKs have arrived too
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        lock.execute("ROLLBACK")
        assert _delivered(path) == 0            # acknowledged, but never marked
        proc = _standalone(path, cfg, log)
        assert await asyncio.to_thread(wait_until, lambda: _delivered(path) == 200, 15)
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 400, 10)
        assert check_delivery(readings, sub.readings()) == (200, 200)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, log.read_text()[-2000:]
    finally:
        lock.close()
        if proc.poll() is None:
            proc.kill()
        sub.stop()


async def test_backlog_not_starved_by_heavy_live_load(tmp_path: Path,
                                                      mosquitto: Mosquitto) -> None:
    """New rows keep arriving faster than the broker link takes them; the lanes give the live
    lane at most half of the free window while a backlog waits, so the backlog gets at least
    as many slots as live data, and keeps draining."""
    db = await Database.open(tmp_path / "g.db")
    await fill(db, list(fleet_readings(devices=10, intervals=400)))      # 8,000 old rows
    await db.write(lambda c: c.execute("UPDATE outbox SET created_at = created_at - 86400"))
    pub = Publisher(db, mqtt_config(mosquitto.port, backlog_rate=0, inflight=20))
    task = asyncio.create_task(pub.run())
    flooding = True

    def add_live(c: sqlite3.Connection, first: int, n: int) -> None:
        for i in range(first, first + n):
            outbox.add(c, topic=f"{PREFIX}/{SITE}/live{i}/el1/energy_import", payload=b"{}",
                       stream=f"live{i}:el1", msg_id=f"live{i}:el1:0")

    async def flood() -> None:
        n = 0
        while flooding:
            await db.write(add_live, n, 500)
            n += 500
            pub.wake_up()
            await asyncio.sleep(0.02)

    def split(c: sqlite3.Connection) -> tuple[int, int, int]:
        row = c.execute(
            "SELECT sum(state = 'delivered' AND stream NOT LIKE 'live%'),"
            " sum(state = 'delivered' AND stream LIKE 'live%'),"
            " sum(state = 'pending' AND stream LIKE 'live%') FROM outbox").fetchone()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    producer = asyncio.create_task(flood())
    try:
        assert await asyncio.to_thread(wait_until, lambda: pub.link.connected, 5)
        await asyncio.sleep(3.0)
        backlog_done, live_done, live_waiting = await db.read(split)
        assert live_waiting > 0                  # the live load really was more than the link
        assert live_done > 0                     # live data flows during the drain
        assert backlog_done >= 0.9 * live_done, (backlog_done, live_done)
    finally:
        flooding = False
        await producer
        pub.stop()
        await task
        await db.close()
