"""Messages the broker keeps rejecting are quarantined and reported, not retried forever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import outbox
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.helpers import (
    PREFIX,
    SITE,
    Subscriber,
    add_readings,
    check_delivery,
    fleet_readings,
    mqtt_config,
    wait_until,
)
from tests.gateway.uplink.schemas import validate
from tests.support.mosquitto import Mosquitto

BIG = json.dumps({"schema": "meterkit/plugin_result/1", "blob": "x" * 6000}).encode()


@pytest.fixture
def size_limited(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker", extra_config="message_size_limit 4000\n") as broker:
        yield broker


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    acl = tmp_path / "acl"
    acl.write_text(f"topic readwrite {PREFIX}/{SITE}/+/+/+\n"
                   f"topic readwrite {PREFIX}/{SITE}/gateway/status\n"
                   f"topic read {PREFIX}/#\n")
    with Mosquitto(tmp_path / "broker", extra_config=f"acl_file {acl}\n") as broker:
        yield broker


@pytest.fixture
def packet_limited(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker", extra_config="max_packet_size 4000\n") as broker:
        yield broker


async def _fill_with_big_row(db: Database) -> list:
    readings = list(fleet_readings(devices=2, intervals=25))               # 100
    await db.write(add_readings, readings[:50])
    await db.write(lambda c: outbox.add(c, topic=f"{PREFIX}/{SITE}/results/x/big", payload=BIG,
                                        stream="results:x", msg_id="x:big:1"))
    await db.write(add_readings, readings[50:])
    return readings


def _unique(sub: Subscriber) -> int:
    return len({p["msg_id"] for p in sub.readings()})


def _reports(sub: Subscriber) -> list[dict]:
    """Gateway status messages that report a quarantine."""
    with sub.lock:
        return [p for _, p, _ in sub.messages if p.get("schema") == "meterkit/gateway_status/1"
                and p.get("quarantined") == 1 and "last_quarantined" in p]


async def test_oversize_that_breaks_the_connection_is_quarantined(
        tmp_path: Path, size_limited: Mosquitto) -> None:
    """mosquitto 2.0 answers an over-limit PUBLISH with PUBACK 0x95 and then closes the
    connection; paho resends it first after each reconnect. It must not block the uplink."""
    sub = Subscriber(size_limited.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    readings = await _fill_with_big_row(db)
    pub = Publisher(db, mqtt_config(size_limited.port, max_attempts=3, reject_retry_s=0.2))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(
            wait_until, lambda: pub.stats.quarantined == 1 and _unique(sub) >= 100, 15)
        unique, _dups = check_delivery(readings, sub.readings())   # resends: same msg_id
        assert unique == 100
        row = await db.read(lambda c: c.execute(
            "SELECT state, attempts, last_error FROM outbox WHERE msg_id = 'x:big:1'").fetchone())
        assert (row[0], row[1]) == ("quarantined", 3)
        assert "closed the connection" in row[2]
        assert pub.stats.rejected == 3 and pub.stats.connects >= 4
        assert await asyncio.to_thread(wait_until, lambda: pub.stats.delivered == 101, 5)
        assert await db.read(outbox.counts) == {"pending": 0, "delivered": 101,   # + alert
                                                "quarantined": 1}
        assert await asyncio.to_thread(wait_until, lambda: _reports(sub), 5)
        assert _reports(sub)[0]["last_quarantined"]["msg_id"] == "x:big:1"
        alerts = [p for _, p, _ in sub.messages if p.get("kind") == "uplink_quarantine"]
        assert len(alerts) == 1 and alerts[0]["details"]["msg_id"] == "x:big:1"
        validate(alerts[0])
        validate(_reports(sub)[0])
        assert await db.write(outbox.requeue, [await db.read(
            lambda c: c.execute("SELECT id FROM outbox WHERE msg_id='x:big:1'").fetchone()[0])]) \
            == 1
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_over_maximum_packet_size_quarantined_without_sending(
        tmp_path: Path, packet_limited: Mosquitto) -> None:
    sub = Subscriber(packet_limited.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    readings = await _fill_with_big_row(db)
    pub = Publisher(db, mqtt_config(packet_limited.port, max_attempts=3))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(
            wait_until, lambda: pub.stats.quarantined == 1 and _unique(sub) >= 100, 15)
        assert check_delivery(readings, sub.readings()) == (100, 0)
        assert pub.max_packet == 4000
        assert pub.stats.connects == 1            # the broker never saw it: no disconnect
        row = await db.read(lambda c: c.execute(
            "SELECT state, last_error FROM outbox WHERE msg_id = 'x:big:1'").fetchone())
        assert row[0] == "quarantined" and "Maximum Packet Size 4000" in row[1]
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_puback_reason_code_rejection(tmp_path: Path, acl_broker: Mosquitto) -> None:
    """An MQTT 5 PUBACK with reason code 0x87 (not authorized): retried after a pause of its
    stream only, quarantined after max_attempts; everything else keeps flowing."""
    sub = Subscriber(acl_broker.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    readings = list(fleet_readings(devices=2, intervals=25))               # 100
    await db.write(add_readings, readings[:50])
    await db.write(lambda c: outbox.add(c, topic=f"{PREFIX}/{SITE}/denied/a/b/c", payload=b"{}",
                                        stream="denied", msg_id="denied:1"))
    await db.write(add_readings, readings[50:])
    pub = Publisher(db, mqtt_config(acl_broker.port, max_attempts=3, reject_retry_s=0.3))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(
            wait_until, lambda: pub.stats.quarantined == 1 and _unique(sub) >= 100, 15)
        assert check_delivery(readings, sub.readings())[0] == 100
        row = await db.read(lambda c: c.execute(
            "SELECT state, attempts, last_error FROM outbox WHERE msg_id = 'denied:1'").fetchone())
        assert (row[0], row[1]) == ("quarantined", 3)
        assert "0x87" in row[2]
        assert pub.stats.rejected >= 3      # mosquitto 2.0 also drops the connection each time
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_refused_site_alert_topic_does_not_loop(tmp_path: Path,
                                                      acl_broker: Mosquitto) -> None:
    """The ACL refuses <prefix>/<site>/alert too: the denied row raises one uplink_quarantine
    alert, which is refused and quarantined in turn — and raises nothing more. Quarantined
    rows: exactly 2 (the row and its alert), however long the gateway runs."""
    sub = Subscriber(acl_broker.port).start()
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    db = await Database.open(tmp_path / "g.db")
    readings = list(fleet_readings(devices=1, intervals=10))               # 20
    await db.write(lambda c: outbox.add(c, topic=f"{PREFIX}/{SITE}/denied/a/b/c", payload=b"{}",
                                        stream="denied", msg_id="denied:1"))
    await db.write(add_readings, readings)
    pub = Publisher(db, mqtt_config(acl_broker.port, max_attempts=2, reject_retry_s=0.2))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: pub.stats.quarantined == 2, 20)
        # one more full reject cycle (2 attempts x pause + reconnects) would fit in this time
        await asyncio.sleep(4.0)
        assert pub.stats.quarantined == 2
        assert await db.read(outbox.counts) == {"pending": 0, "delivered": 20,
                                                "quarantined": 2}
        rows = await db.read(lambda c: c.execute(
            "SELECT msg_id, topic FROM outbox WHERE state = 'quarantined' ORDER BY id"
        ).fetchall())
        assert [r[1] for r in rows] == [f"{PREFIX}/{SITE}/denied/a/b/c",
                                        f"{PREFIX}/{SITE}/alert"]
        # the alert's own quarantine is reported in the retained gateway status only
        assert await asyncio.to_thread(wait_until, lambda: any(
            p.get("quarantined") == 2 for p in _statuses(sub)), 10)
        last = [p for p in _statuses(sub) if p.get("quarantined") == 2][-1]
        assert last["last_quarantined"]["msg_id"] == rows[1][0]
        validate(last)
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


def _statuses(sub: Subscriber) -> list[dict]:
    with sub.lock:
        return [p for _, p, _ in sub.messages if p.get("schema") == "meterkit/gateway_status/1"]
