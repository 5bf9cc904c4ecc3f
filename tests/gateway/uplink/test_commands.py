"""Commands down from the platform: validated, queued with gateway.commands, results upstream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway import commands
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import PREFIX, SITE, Subscriber, mqtt_config, wait_until
from tests.gateway.uplink.schemas import validate
from tests.support.mosquitto import Mosquitto

BOARD = "0000a1b2"


def _results(sub: Subscriber) -> list[dict]:
    with sub.lock:
        return [p for t, p, _ in sub.messages if t.endswith("/command/result")]


async def test_commands_queued_rejected_and_answered(tmp_path: Path,
                                                     mosquitto: Mosquitto) -> None:
    db = await Database.open(tmp_path / "g.db")
    await db.write(lambda c: c.execute(
        "INSERT INTO devices (device_id, key_enc, created_at, updated_at)"
        " VALUES (?, x'01', 0, 0)", (BOARD,)))
    sub = Subscriber(mosquitto.port, topic=f"{PREFIX}/{SITE}/+/command/result").start()
    platform = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="platform-cmd",
                           protocol=mqtt.MQTTv5)
    platform.connect("127.0.0.1", mosquitto.port)
    platform.loop_start()
    # a retained command (a platform mistake) would be replayed on every subscribe: refused
    platform.publish(f"{PREFIX}/{SITE}/{BOARD}/command/set",
                     json.dumps({"cmd_id": "p-5", "name": "reboot"}).encode(), qos=1,
                     retain=True).wait_for_publish(5)
    pub = Publisher(db, mqtt_config(mosquitto.port))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: pub.link.connected
                                       and sub.client.is_connected(), 5)
        await asyncio.sleep(0.2)                                  # SUBSCRIBE acknowledged
        topic = f"{PREFIX}/{SITE}/{BOARD}/command/set"
        sends = [
            (topic, {"cmd_id": "p-1", "name": "set_time", "params": {"time": 1790000000}}, False),
            (topic, b"{not json", False),
            (topic, {"cmd_id": "p-3", "name": "set_time", "params": {}}, False),
            (f"{PREFIX}/{SITE}/0000ffff/command/set", {"cmd_id": "p-4", "name": "reboot"}, False),
        ]
        for t, doc, retain in sends:
            body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
            platform.publish(t, body, qos=1, retain=retain).wait_for_publish(5)
        platform.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)   # clear it
        assert await asyncio.to_thread(wait_until, lambda: len(_results(sub)) >= 5, 10)
        got = {r.get("cmd_id"): r for r in _results(sub)}
        for r in got.values():
            validate(r)
        assert got["p-1"]["status"] == "queued" and got["p-1"]["gateway_cmd_id"] == 1
        assert got[None]["status"] == "rejected" and got[None]["error"].startswith("payload: ")
        assert got["p-3"]["error"] == "params.time: set_time needs time"
        assert got["p-4"]["error"] == "device_id: device 0000ffff is not registered"
        assert got["p-5"]["error"].startswith("retain: ")
        rows = await db.read(lambda c: c.execute(
            "SELECT device_id, cmd_id, name, ref, state FROM commands").fetchall())
        assert [tuple(r) for r in rows] == [(BOARD, 1, "set_time", "p-1", "queued")]
        assert pub.commands.queued == 1 and pub.commands.rejected == 4

        # the board answers (recorded by ingest); the result is relayed upstream
        assert await db.write(lambda c: commands.record_result(c, BOARD, 1, "ok"))
        pub.wake_up()
        assert await asyncio.to_thread(
            wait_until, lambda: any(r["status"] == "done" for r in _results(sub)), 5)
        done = next(r for r in _results(sub) if r["status"] == "done")
        validate(done)
        assert (done["cmd_id"], done["gateway_cmd_id"], done["result"]) == \
            ("p-1", 1, {"status": "ok", "detail": 0})
    finally:
        pub.stop()
        await task
        platform.loop_stop()
        sub.stop()
        await db.close()
