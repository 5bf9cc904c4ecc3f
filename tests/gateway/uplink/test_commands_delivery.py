"""Commands are acknowledged only once stored, and a command delivered twice is queued once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway import commands
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import PREFIX, SITE, Subscriber, mqtt_config, wait_until
from tests.gateway.uplink.schemas import validate
from tests.support.mosquitto import Mosquitto

BOARD = "0000a1b2"
TOPIC = f"{PREFIX}/{SITE}/{BOARD}/command/set"


@pytest.fixture
def platform(mosquitto: Mosquitto) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="platform-cmd",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def _send(platform: mqtt.Client, doc: dict) -> None:
    platform.publish(TOPIC, json.dumps(doc).encode(), qos=1).wait_for_publish(5)


def _results(sub: Subscriber) -> list[dict]:
    with sub.lock:
        return [p for t, p, _ in sub.messages if t.endswith("/command/result")]


async def _board(tmp_path: Path) -> Database:
    db = await Database.open(tmp_path / "g.db")
    await db.write(lambda c: c.execute(
        "INSERT INTO devices (device_id, key_enc, created_at, updated_at)"
        " VALUES (?, x'01', 0, 0)", (BOARD,)))
    return db


async def _connected(pub: Publisher, sub: Subscriber) -> None:
    assert await asyncio.to_thread(wait_until, lambda: pub.link.connected
                                   and sub.client.is_connected(), 5)
    await asyncio.sleep(0.3)                                  # SUBSCRIBE acknowledged


def _rows(c: object) -> list[tuple]:
    return [tuple(r) for r in c.execute(  # type: ignore[attr-defined]
        "SELECT cmd_id, name, ref, state FROM commands ORDER BY id").fetchall()]


async def _storage_fails(db: Database, on: bool) -> None:
    """A real SQLite error on every command insert (a full disk, say), or none."""
    await db.write(lambda c: c.execute(
        "CREATE TRIGGER full_disk BEFORE INSERT ON commands "
        "BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END" if on
        else "DROP TRIGGER full_disk"))


async def test_storage_error_is_not_acknowledged_and_redelivered(
        tmp_path: Path, mosquitto: Mosquitto, platform: mqtt.Client) -> None:
    """A real SQLite error while storing the command: no PUBACK, so the broker keeps the
    command in the gateway's session and delivers it again on the next connection."""
    db = await _board(tmp_path)
    await _storage_fails(db, True)
    sub = Subscriber(mosquitto.port, topic=f"{PREFIX}/{SITE}/+/command/result").start()
    pub = Publisher(db, mqtt_config(mosquitto.port))
    pub.commands.STORE_RETRIES_S = ()
    pub.commands._redeliver = lambda: None    # this test: redelivery by a restart alone
    task = asyncio.create_task(pub.run())
    try:
        await _connected(pub, sub)
        _send(platform, {"cmd_id": "p-1", "name": "set_time", "params": {"time": 1790000000}})
        assert await asyncio.to_thread(wait_until, lambda: pub.commands.unstored == 1, 5)
        assert (pub.commands.queued, pub.commands.rejected) == (0, 0)
    finally:
        pub.stop()
        await task
    assert await db.read(_rows) == []
    await _storage_fails(db, False)
    pub = Publisher(db, mqtt_config(mosquitto.port))          # same client id: same session
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: pub.commands.queued == 1, 10)
        assert await db.read(_rows) == [(1, "set_time", "p-1", "queued")]
        assert await asyncio.to_thread(wait_until, lambda: len(_results(sub)) >= 1, 5)
        await asyncio.sleep(0.3)
        assert [(r["cmd_id"], r["status"]) for r in _results(sub)] == [("p-1", "queued")]
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_storage_error_makes_the_publisher_reconnect_for_a_redelivery(
        tmp_path: Path, mosquitto: Mosquitto, platform: mqtt.Client) -> None:
    """Without a reconnect the broker would keep the unacknowledged command in flight until
    some later reconnect, maybe days away: after its retries fail the publisher drops the
    connection, and the command is stored once the storage works again."""
    db = await _board(tmp_path)
    await _storage_fails(db, True)
    sub = Subscriber(mosquitto.port, topic=f"{PREFIX}/{SITE}/+/command/result").start()
    pub = Publisher(db, mqtt_config(mosquitto.port))
    pub.commands.STORE_RETRIES_S = (0.05,)
    task = asyncio.create_task(pub.run())
    try:
        await _connected(pub, sub)
        connects = pub.stats.connects
        _send(platform, {"cmd_id": "p-1", "name": "set_time", "params": {"time": 1790000000}})
        assert await asyncio.to_thread(wait_until, lambda: pub.commands.unstored >= 1, 5)
        await _storage_fails(db, False)
        assert await asyncio.to_thread(wait_until, lambda: pub.commands.queued == 1, 10)
        assert pub.stats.connects > connects
        assert await db.read(_rows) == [(1, "set_time", "p-1", "queued")]
        assert pub.commands.snapshot()["unstored"] == pub.commands.unstored
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_command_delivered_twice_is_queued_once(
        tmp_path: Path, mosquitto: Mosquitto, platform: mqtt.Client) -> None:
    """What the broker does after a gateway crash between commit and PUBACK — the same command
    again — here sent twice by the platform: answered with the existing gateway_cmd_id and the
    same msg_id, never queued twice; reusing a cmd_id for another command is refused."""
    db = await _board(tmp_path)
    sub = Subscriber(mosquitto.port, topic=f"{PREFIX}/{SITE}/+/command/result").start()
    pub = Publisher(db, mqtt_config(mosquitto.port))
    task = asyncio.create_task(pub.run())
    cmd = {"cmd_id": "p-1", "name": "set_time", "params": {"time": 1790000000}}
    try:
        await _connected(pub, sub)
        _send(platform, cmd)
        _send(platform, {"cmd_id": "p-2", "name": "reboot"})
        _send(platform, cmd)
        _send(platform, {**cmd, "params": {"time": 1790000001}})
        assert await asyncio.to_thread(wait_until, lambda: len(_results(sub)) >= 4, 10)
        got = _results(sub)
        for r in got:
            validate(r)
        assert [(r["cmd_id"], r["status"], r["gateway_cmd_id"]) for r in got] == [
            ("p-1", "queued", 1), ("p-2", "queued", 2), ("p-1", "queued", 1),
            ("p-1", "rejected", None)]
        assert got[0]["msg_id"] == got[2]["msg_id"] != got[1]["msg_id"]
        assert got[3]["error"].startswith("cmd_id: 'p-1' was already used for another command")
        assert await db.read(_rows) == [(1, "set_time", "p-1", "queued"),
                                        (2, "reboot", "p-2", "queued")]
        assert (pub.commands.queued, pub.commands.duplicates, pub.commands.rejected) == (2, 1, 1)

        # once the board answered, a late redelivery gets the final result, same msg_id
        assert await db.write(lambda c: commands.record_result(c, BOARD, 1, "ok"))
        pub.wake_up()
        assert await asyncio.to_thread(wait_until, lambda: len(_results(sub)) >= 5, 5)
        _send(platform, cmd)
        assert await asyncio.to_thread(wait_until, lambda: len(_results(sub)) >= 6, 5)
        done, again = _results(sub)[4:6]
        assert (done["status"], again["status"]) == ("done", "done")
        assert done["msg_id"] == again["msg_id"] and again["gateway_cmd_id"] == 1
        assert again["result"] == {"status": "ok", "detail": 0}
        assert len(await db.read(_rows)) == 2
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()
