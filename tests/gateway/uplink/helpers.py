"""Test helpers for the uplink: a simulated fleet's readings, an outbox filler, a subscriber."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway import outbox
from gateway.model import Reading
from gateway.store.db import Database
from gateway.uplink.config import MqttConfig, validate_mqtt
from gateway.uplink.messages import reading_message
from tests.support.mosquitto import Mosquitto

SITE = "comune-test"
PREFIX = "meterkit"
T0 = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)   # spans the switch to CEST in Europe/Rome


def fleet_readings(devices: int, intervals: int, *, start: datetime = T0,
                   channels: tuple[str, ...] = ("el1", "gas")) -> Iterator[Reading]:
    """Readings in the order a gateway would store them: interval by interval, device by device."""
    registers = {(d, c): 1000 * d for d in range(devices) for c in channels}
    for i in range(intervals):
        t = start + timedelta(minutes=15 * i)
        for d in range(devices):
            for ch in channels:
                gas = ch == "gas"
                value = 0.01 * ((d + i) % 7) if gas else 0.25 + 0.001 * ((d * 31 + i) % 100)
                registers[d, ch] += int(value * 1000)
                yield Reading(
                    site=SITE, device=f"{d:08x}", channel=ch,
                    quantity="gas_volume" if gas else "energy_import", start=t, length_s=900,
                    value=round(value, 6), unit="Smc" if gas else "kWh",
                    register=registers[d, ch], register_unit="L" if gas else "Wh",
                    flags=frozenset({"gap"}) if i % 50 == 49 else frozenset(),
                    band=None if gas else ("F1" if 8 <= t.hour < 19 else "F3"),
                    kwh=round(value * 10.5, 6) if gas else round(value, 6))


def add_readings(conn: object, readings: list[Reading], backfill: bool = False) -> int:
    for r in readings:
        topic, payload = reading_message(r, prefix=PREFIX, backfill=backfill)
        outbox.add(conn, topic=topic, payload=payload,  # type: ignore[arg-type]
                   stream=f"{r.device}:{r.channel}", msg_id=r.message_id)
    return len(readings)


async def fill(db: Database, readings: list[Reading], chunk: int = 2000) -> None:
    for i in range(0, len(readings), chunk):
        await db.write(add_readings, readings[i:i + chunk])


def mqtt_config(port: int, **over: object) -> MqttConfig:
    table: dict[str, object] = {
        "host": "127.0.0.1", "port": port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5,
        "backlog_rate": 0, "inflight": 200, "safety_check_s": 2, "shutdown_grace_s": 2,
        "keepalive_s": 5,
    }
    table.update(over)
    cfg, errs = validate_mqtt(table, site=SITE)
    assert cfg is not None, errs
    return cfg


class Subscriber:
    """A platform-side consumer: separate paho client, persistent session, QoS 1."""

    def __init__(self, port: int, *, client_id: str = "platform", delay_s: float = 0.0,
                 topic: str = f"{PREFIX}/#", username: str | None = None,
                 password: str | None = None, **tls: object) -> None:
        self.port = port
        self.delay_s = delay_s
        self.topic = topic
        self.messages: list[tuple[str, dict, bool]] = []   # (topic, payload, dup flag)
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(**tls)  # type: ignore[arg-type]

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: object, props: object) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object,
                    msg: mqtt.MQTTMessage) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload), bool(msg.dup)))

    def start(self) -> Subscriber:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect_async("127.0.0.1", self.port, 30, clean_start=False,
                                  properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def readings(self) -> list[dict]:
        with self.lock:
            return [p for _, p, _ in self.messages   # (bridge notifications are bare 0/1)
                    if isinstance(p, dict) and p.get("schema") == "meterkit/reading/1"]


def wait_until(pred: object, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(step)
    return bool(pred())  # type: ignore[operator]


def check_delivery(expected: list[Reading], got: list[dict], *,
                   may_lose: set[str] = frozenset()) -> tuple[int, int]:  # type: ignore[assignment]
    """Assert every expected reading arrived (except possibly those in `may_lose`), same
    payload per msg_id, in order per stream (first occurrences); returns (unique, duplicates)."""
    want = {r.message_id: r for r in expected}
    first: dict[str, dict] = {}
    order: dict[str, list[str]] = {}
    dups = 0
    for p in got:
        mid = p["msg_id"]
        assert mid in want, f"unexpected message {mid}"
        if mid in first:
            assert first[mid] == p, f"duplicate {mid} differs"
            dups += 1
            continue
        first[mid] = p
        order.setdefault(f"{p['device']}:{p['channel']}", []).append(mid)
    missing = set(want) - set(first)
    assert missing <= may_lose, \
        f"{len(missing - may_lose)} readings missing, e.g. {sorted(missing - may_lose)[:3]}"
    for stream, mids in order.items():
        exp = [r.message_id for r in expected if f"{r.device}:{r.channel}" == stream
               and r.message_id not in missing]
        assert mids == exp, f"stream {stream} out of order"
    return len(first), dups


def last_save(broker: Mosquitto) -> float:
    """When the broker last wrote its persistence file (call right after killing it).

    mosquitto is single-threaded: it writes the whole store at the end of a loop iteration
    (mosquitto.db.new, renamed), so every message it acknowledged before that write is in the
    file, and only messages acknowledged after it can die with a SIGKILL."""
    return (broker.workdir / "mosquitto.db").stat().st_mtime


async def acked_after(db: Database, t: float) -> set[str]:
    """msg_ids the gateway marked delivered after time `t` (a PUBACK received after `t`).

    With `t` = :func:`last_save` of a SIGKILLed broker this is exactly the set mosquitto may
    have lost (it sends PUBACK before it saves); the crash tests allow those and nothing else.
    The gateway commits `delivered` after the PUBACK arrived, so a message acknowledged after
    the save always has ``delivered_at`` > `t`."""
    rows = await db.read(lambda c: c.execute(
        "SELECT msg_id FROM outbox WHERE delivered_at > ?", (t,)).fetchall())
    return {r[0] for r in rows}


def db_path(tmp: Path) -> Path:
    return tmp / "gateway.db"
