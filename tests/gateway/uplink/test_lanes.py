"""Live data keeps flowing while a rate-limited backlog drains; per-stream order holds."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from gateway import outbox
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import (
    Subscriber,
    add_readings,
    check_delivery,
    fill,
    fleet_readings,
    mqtt_config,
    wait_until,
)
from tests.support.mosquitto import Mosquitto


async def test_live_rows_overtake_the_backlog_but_not_their_stream(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    backlog = list(fleet_readings(devices=3, intervals=200))              # 1,200 rows
    sub = Subscriber(mosquitto.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, backlog)
    # the rows were queued over the last day while the uplink was down
    await db.write(lambda c: c.execute("UPDATE outbox SET created_at = created_at - 86400"))
    pub = Publisher(db, mqtt_config(mosquitto.port, backlog_rate=500, inflight=50))
    task = asyncio.create_task(pub.run())
    started = time.monotonic()
    try:
        await asyncio.sleep(0.5)
        live = replace(backlog[0], device="0000live", start=backlog[-1].start)
        late = replace(backlog[0], start=backlog[-1].start + timedelta(minutes=15))
        await db.write(add_readings, [live, late])      # a new stream, and a backlog stream
        pub.wake_up()
        t0 = time.monotonic()
        assert await asyncio.to_thread(
            wait_until, lambda: any(p["device"] == "0000live" for p in sub.readings()), 2, 0.005)
        latency = time.monotonic() - t0
        pending_then = await db.read(outbox.backlog)
        assert latency < 0.5, latency
        assert pending_then > 500                        # the backlog is still draining
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 1202, 15)
        elapsed = time.monotonic() - started
        unique, dups = check_delivery([*backlog, live, late], sub.readings())
        assert (unique, dups) == (1202, 0)
        # `late` (same stream as backlog[0]) came after all its stream's older rows
        ids = [p["msg_id"] for p in sub.readings()]
        assert ids.index(late.message_id) > max(
            ids.index(r.message_id) for r in backlog if r.channel == late.channel
            and r.device == late.device)
        assert elapsed >= (1200 - 50) / 500 * 0.9        # rate limit honoured (burst = window)
        assert pub.lanes.sent_live >= 1
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_home_assistant_discovery(tmp_path: Path, mosquitto: Mosquitto) -> None:
    readings = list(fleet_readings(devices=2, intervals=3))               # 4 channels
    sub = Subscriber(mosquitto.port, topic="#").start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    pub = Publisher(db, mqtt_config(mosquitto.port, ha_discovery=True))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 12, 10)
        await asyncio.sleep(0.2)
        with sub.lock:
            msgs = list(sub.messages)
        configs = [(i, t, p) for i, (t, p, _) in enumerate(msgs)
                   if t.startswith("homeassistant/")]
        assert len(configs) == 4
        for i, topic, cfg in configs:
            first = min(j for j, (t, _, _) in enumerate(msgs) if t == cfg["state_topic"])
            assert i < first                              # config before the first state
            assert cfg["state_class"] == "total_increasing"
            assert cfg["device_class"] in ("energy", "gas")
            assert topic.endswith("/config")
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()
    late = Subscriber(mosquitto.port, client_id="ha", topic="homeassistant/#").start()
    try:
        assert await asyncio.to_thread(wait_until, lambda: len(late.messages) >= 4, 5)  # retained
    finally:
        late.stop()
