"""STATUS and HELLO frames from a real TCP board reach the outbox and a real MQTT subscriber.

Path under test: protocol encoder → TCP → ingest → writer (SQLite file) → normaliser →
outbox → publisher → mosquitto → a separate paho subscriber. Payloads are checked against
the published JSON Schema (docs/schemas/device_status.v1.json) and against the values the board
sent (tests/gateway/ingest/board.py: csq 17, supply 5000 mV, 215 tenths of °C, fw 1.2.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from gateway.config import load_config
from gateway.normaliser import Normaliser
from gateway.uplink.publisher import Publisher
from tests.gateway.ingest.board import Board, hello, status
from tests.gateway.ingest.conftest import CLOCK, make_devices, start_stack
from tests.gateway.service.conftest import write_config
from tests.gateway.uplink.helpers import Subscriber, mqtt_config, wait_until
from tests.gateway.uplink.schemas import validate
from tests.support.mosquitto import Mosquitto

MQTT = '[mqtt]\nhost = "127.0.0.1"\nport = 1\nprefix = "meterkit"\n'


async def outbox(stack: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = await stack.rows("SELECT topic, stream, msg_id, payload FROM outbox ORDER BY id")
    return [(t, s, m, json.loads(p)) for t, s, m, p in rows]


async def drain(normaliser: Normaliser) -> None:
    while await normaliser.step():
        pass


async def test_status_and_hello_go_to_the_outbox_once(tmp_path: Path) -> None:
    devices = make_devices(1)
    (did, key), = devices.items()
    dev = f"{did:08x}"
    stack = await start_stack(tmp_path, devices)
    config = load_config(write_config(tmp_path, extra=MQTT), plugins={})
    woken: list[int] = []
    normaliser = Normaliser(stack.db, config, committed=stack.writer.committed,
                            on_outbox=lambda: woken.append(1))
    try:
        async with Board(did, key, stack.port) as b:
            await b.send(hello(did, 1))
            await b.send(status(did, 2, queue_depth=1))
            await b.send(status(did, 4, queue_depth=7))
            await b.send(status(did, 3, queue_depth=2))   # older STATUS arriving late
            await b.wait_acked(4)
        await drain(normaliser)
        rows = await outbox(stack)
        # The HELLO and the newest STATUS; status 2 and the late 3 never were the current one.
        assert [(s, m) for _t, s, m, _p in rows] == [
            (f"{dev}:status", f"{dev}:status:1"), (f"{dev}:status", f"{dev}:status:4")]
        # consumers de-duplicate on the payload's msg_id (docs/MQTT.md)
        assert [p["msg_id"] for _t, _s, _m, p in rows] == [f"{dev}:status:1", f"{dev}:status:4"]
        assert {t for t, _s, _m, _p in rows} == {f"meterkit/test-site/{dev}/status"}
        for _t, _s, _m, payload in rows:
            validate(payload)
        p = rows[1][3]
        assert (p["device"], p["site"], p["fw"], p["csq"], p["supply_mv"], p["battery_mv"],
                p["temp_c"], p["queue_depth"], p["boot_count"], p["reset_cause"]) == \
            (dev, "test-site", "1.2.3", 17, 5000, 3900, 21.5, 7, 3, "power_on")
        assert p["time_utc"] == "2026-09-21T14:13:20Z"      # CLOCK = 1_790_000_000
        assert p["time"] == "2026-09-21T16:13:20+02:00"
        assert CLOCK == 1_790_000_000 and woken

        # Normalising again publishes nothing new; a newer STATUS publishes once more.
        await drain(normaliser)
        assert len(await outbox(stack)) == 2
        async with Board(did, key, stack.port) as b:
            await b.send(status(did, 5, queue_depth=0))
            await b.wait_acked(5)
        await drain(normaliser)
        rows = await outbox(stack)
        assert [m for _t, _s, m, _p in rows][2:] == [f"{dev}:status:5"]
        assert rows[2][3]["queue_depth"] == 0
    finally:
        await stack.stop()


async def test_status_reaches_an_mqtt_subscriber(tmp_path: Path) -> None:
    devices = make_devices(1)
    (did, key), = devices.items()
    dev = f"{did:08x}"
    with Mosquitto(tmp_path / "broker") as broker:
        sub = Subscriber(broker.port, topic="meterkit/#").start()
        try:
            stack = await start_stack(tmp_path, devices)
            config = load_config(write_config(tmp_path, extra=MQTT), plugins={})
            publisher = Publisher(stack.db, mqtt_config(broker.port))
            normaliser = Normaliser(stack.db, config, committed=stack.writer.committed,
                                    on_outbox=publisher.wake_up)
            tasks = [asyncio.create_task(publisher.run(), name="uplink"),
                     asyncio.create_task(normaliser.run(), name="normaliser")]
            try:
                async with Board(did, key, stack.port) as b:
                    await b.send(status(did, 1, queue_depth=4))
                    await b.wait_acked(1)

                def got() -> list[dict[str, Any]]:
                    with sub.lock:
                        return [p for t, p, _ in sub.messages if t.endswith("/status")
                                and p.get("schema") == "meterkit/device_status/1"]
                assert await asyncio.to_thread(wait_until, lambda: got(), 15.0)
                (msg,) = got()
                validate(msg)
                assert (msg["device"], msg["queue_depth"], msg["frame_counter"]) == (dev, 4, 1)
            finally:
                normaliser.stop()
                publisher.stop()
                for t in tasks:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(t, 10)
                await stack.stop()
        finally:
            sub.stop()
