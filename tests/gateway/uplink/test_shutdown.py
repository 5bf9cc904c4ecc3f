"""Clean shutdown, the retained status, and the Last Will when the gateway dies."""

from __future__ import annotations

import asyncio
import os
import signal
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
    fill,
    fleet_readings,
    mqtt_config,
    wait_until,
)
from tests.gateway.uplink.schemas import validate
from tests.support.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[3]
STATUS = f"{PREFIX}/{SITE}/gateway/status"


def _status(port: int, name: str) -> dict:
    sub = Subscriber(port, client_id=name, topic=STATUS).start()
    try:
        assert wait_until(lambda: sub.messages, 5)
        return sub.messages[-1][1]
    finally:
        sub.stop()


async def test_stop_mid_drain_leaves_only_acknowledged_rows_delivered(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    readings = list(fleet_readings(devices=4, intervals=100))               # 800
    sub = Subscriber(mosquitto.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    await db.write(lambda c: c.execute("UPDATE outbox SET created_at = created_at - 86400"))
    pub = Publisher(db, mqtt_config(mosquitto.port, backlog_rate=400, inflight=40))
    task = asyncio.create_task(pub.run())
    await asyncio.to_thread(wait_until, lambda: pub.stats.delivered >= 100, 10)
    pub.stop()
    await asyncio.wait_for(task, 10)
    delivered = (await db.read(outbox.counts))["delivered"]
    assert pub.stats.published == delivered            # every in-flight PUBACK was awaited
    assert 100 <= delivered < 800
    await asyncio.sleep(0.3)
    got = {p["msg_id"] for p in sub.readings()}
    marked = await db.read(lambda c: {r[0] for r in c.execute(
        "SELECT msg_id FROM outbox WHERE state = 'delivered'")})
    assert marked <= got                               # delivered ⇒ the broker had it
    status = await asyncio.to_thread(_status, mosquitto.port, "probe1")
    validate(status)
    assert status["state"] == "offline"
    # restart: the rest goes out, nothing twice except what was unacknowledged
    pub = Publisher(db, mqtt_config(mosquitto.port))
    task = asyncio.create_task(pub.run())
    assert await asyncio.to_thread(wait_until, lambda: len(
        {p["msg_id"] for p in sub.readings()}) >= 800, 10)
    online = await asyncio.to_thread(_status, mosquitto.port, "probe2")
    validate(online)
    assert online["state"] == "online"
    pub.stop()
    await task
    sub.stop()
    await db.close()


async def test_last_will_when_the_gateway_is_killed(tmp_path: Path,
                                                    mosquitto: Mosquitto) -> None:
    db = await Database.open(tmp_path / "g.db")
    await db.close()
    cfg = tmp_path / "uplink.toml"
    cfg.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\nsite = "{SITE}"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.uplink.standalone", "--db", str(tmp_path / "g.db"),
         "--config", str(cfg)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.DEVNULL)
    try:
        assert await asyncio.to_thread(
            wait_until, lambda: _status(mosquitto.port, "p1")["state"] == "online", 10)
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        assert await asyncio.to_thread(
            wait_until, lambda: _status(mosquitto.port, "p2")["state"] == "offline", 10)
    finally:
        if proc.poll() is None:
            proc.kill()
