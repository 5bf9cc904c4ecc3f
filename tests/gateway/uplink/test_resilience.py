"""Broker crashes, slow and absent subscribers, a gateway killed with -9, a week offline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gateway import outbox
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import (
    Subscriber,
    acked_after,
    check_delivery,
    fill,
    fleet_readings,
    last_save,
    mqtt_config,
    wait_until,
)
from tests.support.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[3]


async def _wait(pred: object, timeout: float) -> bool:
    return await asyncio.to_thread(wait_until, pred, timeout)


async def _delivered(db: Database) -> int:
    return (await db.read(outbox.counts))["delivered"]


async def _until_delivered(db: Database, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await _delivered(db) < n:
        assert time.monotonic() < deadline, f"only {await _delivered(db)} of {n} delivered"
        await asyncio.sleep(0.05)


async def test_slow_subscriber_that_goes_away(tmp_path: Path, mosquitto: Mosquitto) -> None:
    readings = list(fleet_readings(devices=3, intervals=60))           # 360
    sub = Subscriber(mosquitto.port, delay_s=0.002).start()
    assert await _wait(lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    pub = Publisher(db, mqtt_config(mosquitto.port, backlog_rate=300))
    task = asyncio.create_task(pub.run())
    try:
        assert await _wait(lambda: len(sub.readings()) >= 60, 10)
        sub.stop()                                  # platform offline; its session persists
        got_before = sub.readings()
        await asyncio.sleep(1.0)
        await _until_delivered(db, 360, 20)         # the gateway is done: broker queued the rest
        sub2 = Subscriber(mosquitto.port, delay_s=0.001).start()
        try:
            assert await _wait(lambda: len({p["msg_id"] for p in got_before + sub2.readings()})
                               >= 360, 20)
            unique, dups = check_delivery(readings, got_before + sub2.readings())
            assert unique == 360
            assert dups <= 100     # only redelivery of unacknowledged messages, same msg_id
        finally:
            sub2.stop()
    finally:
        pub.stop()
        await task
        await db.close()


@asynccontextmanager
async def _streaming(tmp_path: Path, broker: Mosquitto, *, settle_s: float = 0.0
                     ) -> AsyncIterator[tuple[list[Any], Subscriber, Database, Publisher]]:
    """600 readings of 4 devices in the outbox, a subscriber connected, the publisher
    draining them at 400/s; everything stopped and closed afterwards."""
    readings = list(fleet_readings(devices=4, intervals=75))           # 600
    sub = Subscriber(broker.port).start()
    assert await _wait(lambda: sub.client.is_connected(), 5)
    await asyncio.sleep(settle_s)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    pub = Publisher(db, mqtt_config(broker.port, backlog_rate=400))
    task = asyncio.create_task(pub.run())
    try:
        yield readings, sub, db, pub
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_broker_killed_mid_stream(tmp_path: Path, durable_mosquitto: Mosquitto) -> None:
    # settle: let the broker save the subscriber's session before the stream starts
    stream = _streaming(tmp_path, durable_mosquitto, settle_s=1.2)
    async with stream as (readings, sub, db, pub):
        await _until_delivered(db, 150, 10)
        durable_mosquitto.kill()                    # SIGKILL mid-stream
        saved = last_save(durable_mosquitto)
        await asyncio.sleep(0.3)                    # PUBACKs received before the kill commit
        at_kill = await _delivered(db)
        await asyncio.sleep(1.5)
        assert await _delivered(db) == at_kill      # nothing marked delivered without a broker
        durable_mosquitto.start()
        await _until_delivered(db, 600, 30)
        # mosquitto's documented loss: what it acknowledged after its last save, nothing else
        may_lose = await acked_after(db, saved)
        assert await _wait(lambda: len({p["msg_id"] for p in sub.readings()} | may_lose) >= 600,
                           15)
        unique, _dups = check_delivery(readings, sub.readings(), may_lose=may_lose)
        assert unique >= 600 - len(may_lose)
        assert await db.read(outbox.counts) == {"pending": 0, "delivered": 600,
                                                "quarantined": 0}
        assert pub.stats.connects >= 2


async def test_broker_stopped_mid_stream_loses_nothing(tmp_path: Path,
                                                      mosquitto: Mosquitto) -> None:
    """SIGTERM: mosquitto saves its store on exit, so after a restart every acknowledged
    message is still queued for the subscriber: nothing missing, duplicates identical."""
    async with _streaming(tmp_path, mosquitto) as (readings, sub, db, pub):
        await _until_delivered(db, 150, 10)
        mosquitto.stop()                            # SIGTERM mid-stream
        await asyncio.sleep(0.3)
        at_stop = await _delivered(db)
        assert at_stop < 600                        # really mid-stream
        await asyncio.sleep(1.5)                    # the pause: both clients retry meanwhile
        assert await _delivered(db) == at_stop
        mosquitto.start()
        await _until_delivered(db, 600, 30)
        assert await _wait(lambda: len({p["msg_id"] for p in sub.readings()}) >= 600, 15)
        unique, dups = check_delivery(readings, sub.readings())   # nothing may be missing
        assert unique == 600
        assert len(sub.readings()) == 600 + dups
        assert pub.stats.connects >= 2


def _standalone(db: Path, cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.uplink.standalone", "--db", str(db), "--config",
         str(cfg)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
        env={**os.environ, "PYTHONPATH": str(ROOT)})


async def test_gateway_kill9_while_broker_down(tmp_path: Path,
                                               durable_mosquitto: Mosquitto) -> None:
    readings = list(fleet_readings(devices=4, intervals=75))           # 600
    sub = Subscriber(durable_mosquitto.port).start()
    assert await _wait(lambda: sub.client.is_connected(), 5)
    await asyncio.sleep(1.2)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    cfg = tmp_path / "uplink.toml"
    cfg.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {durable_mosquitto.port}\n'
                   'site = "comune-test"\nbacklog_rate = 300\ninflight = 100\n'
                   "reconnect_min_s = 0.1\nreconnect_max_s = 0.5\n")
    log = tmp_path / "publisher.log"
    proc = _standalone(tmp_path / "g.db", cfg, log)
    try:
        await _until_delivered(db, 100, 15)
        durable_mosquitto.kill()
        saved = last_save(durable_mosquitto)
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGKILL)            # gateway dies while the broker is down
        proc.wait(5)
        mid = await _delivered(db)
        assert 100 <= mid < 600
        durable_mosquitto.start()
        proc = _standalone(tmp_path / "g.db", cfg, log)
        await _until_delivered(db, 600, 30)
        may_lose = await acked_after(db, saved)     # as in test_broker_killed_mid_stream
        assert await _wait(lambda: len({p["msg_id"] for p in sub.readings()} | may_lose) >= 600,
                           15)
        check_delivery(readings, sub.readings(), may_lose=may_lose)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.stop()
        await db.close()
    assert "Traceback" not in log.read_text()


async def test_site_offline_for_a_week(tmp_path: Path, mosquitto: Mosquitto) -> None:
    sub = Subscriber(mosquitto.port).start()
    assert await _wait(lambda: sub.client.is_connected(), 5)
    await asyncio.sleep(0.2)
    mosquitto.stop()                                # SIGTERM: session saved, broker gone
    db = await Database.open(tmp_path / "g.db")
    pub = Publisher(db, mqtt_config(mosquitto.port, reconnect_max_s=1.0))
    task = asyncio.create_task(pub.run())
    readings = list(fleet_readings(devices=3, intervals=96 * 7))       # 4,032
    try:
        per_day = len(readings) // 7
        for day in range(7):                        # the normaliser commits day by day
            await fill(db, readings[day * per_day:(day + 1) * per_day])
            pub.wake_up()
            await asyncio.sleep(0.05)
        assert await _delivered(db) == 0
        assert pub.link.last_error is not None and "cannot connect" in pub.link.last_error
        mosquitto.start()
        await _until_delivered(db, len(readings), 40)
        assert await _wait(lambda: len({p["msg_id"] for p in sub.readings()}) >= 4032, 20)
        unique, dups = check_delivery(readings, sub.readings())
        assert (unique, dups) == (4032, 0)
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()
