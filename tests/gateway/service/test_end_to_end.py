"""Board frame → ingest → normaliser → outbox → publisher → a real mosquitto → a subscriber.

The whole service composition in one process against a local broker: the values that arrive
upstream are the hand-calculated ones (0.25 kWh per 250 Wh step; 1500 L of gas at LODI is
1.552806 Smc and 14.631625 kWh, see test_normaliser.py), and every outbox row ends delivered.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.gateway.ingest.board import Board
from tests.gateway.service.conftest import DEVICE, KEY
from tests.gateway.uplink.helpers import Subscriber


def frame(counter: int, channel: int, unit: str, length: int, start: int,
          registers: list[int]) -> dict[str, Any]:
    return {"type": "readings", "device_id": DEVICE, "counter": counter, "blocks": [{
        "channel": channel, "unit": unit, "interval_s": length, "start": start,
        "registers": registers, "flags": [0] * len(registers)}]}


async def test_frames_reach_the_broker_as_normalised_readings(running_gateway: Any,
                                                               mosquitto: Any) -> None:
    subscriber = Subscriber(mosquitto.port, topic="meterkit/#").start()
    extra = f"""
[mqtt]
host = "127.0.0.1"
port = {mosquitto.port}
reconnect_min_s = 0.1
reconnect_max_s = 0.5
"""
    # Recent intervals that have ended: within the 2 h live window, so not backfill.
    hour = int(time.time()) // 3600 * 3600
    try:
        async with running_gateway(extra) as gw:
            async with Board(DEVICE, KEY, gw.ingest.port) as board:
                await board.send(frame(1, 0, "Wh", 900, hour - 3600,
                                       [10_000, 10_250, 10_500, 10_750]))
                await board.send(frame(2, 1, "L", 3600, hour - 3 * 3600,
                                       [100_000, 101_500, 103_000]))
                await board.wait_acked(2)
            async with asyncio.timeout(10):
                while len(subscriber.readings()) < 5:
                    await asyncio.sleep(0.05)
                while await gw.db.read(lambda c: c.execute(
                        "SELECT count(*) FROM outbox WHERE state <> 'delivered'").fetchone()[0]):
                    await asyncio.sleep(0.05)
    finally:
        subscriber.stop()
    got = {(m["channel"], m["start_utc"]): m for m in subscriber.readings()}
    assert len(got) == 5
    el = [m for (ch, _), m in sorted(got.items()) if ch == "el1"]
    assert [(m["value"], m["unit"], m["quantity"]) for m in el] == \
        [(0.25, "kWh", "energy_import")] * 3
    assert all(m["band"] in ("F1", "F2", "F3") and not m["backfill"] for m in el)
    gas = [m for (ch, _), m in sorted(got.items()) if ch == "gas"]
    assert [(m["value"], m["unit"], m["kwh"], m["band"]) for m in gas] == \
        [(1.552806, "Smc", 14.631625, None)] * 2
    assert gas[0]["msg_id"] == f"{DEVICE:08x}:gas:{hour - 2 * 3600}"
