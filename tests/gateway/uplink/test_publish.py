"""End-to-end: outbox → publisher → real mosquitto → persistent QoS 1 subscriber."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway import outbox
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import (
    Subscriber,
    check_delivery,
    fill,
    fleet_readings,
    mqtt_config,
    wait_until,
)
from tests.gateway.uplink.schemas import validate
from tests.support.mosquitto import Mosquitto


async def _drain(db: Database, timeout: float) -> None:
    async def empty() -> None:
        while await db.read(outbox.backlog):
            await asyncio.sleep(0.05)
    await asyncio.wait_for(empty(), timeout)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_every_reading_once_in_order(tmp_path: Path, mosquitto: Mosquitto,
                                           protocol: str) -> None:
    readings = list(fleet_readings(devices=3, intervals=40))        # 240 readings
    sub = Subscriber(mosquitto.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    pub = Publisher(db, mqtt_config(mosquitto.port, protocol=protocol))
    task = asyncio.create_task(pub.run())
    try:
        await _drain(db, 20)
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 240, 10)
        unique, dups = check_delivery(readings, sub.readings())
        assert (unique, dups) == (240, 0)
        for p in sub.readings():
            validate(p)
        assert await db.read(outbox.counts) == {"pending": 0, "delivered": 240,
                                                "quarantined": 0}
        assert pub.stats.delivered == 240
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()
