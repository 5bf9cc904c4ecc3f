"""deploy/mosquitto as shipped (paths and ports adapted): it keeps more than 1,000 messages for
an offline persistent subscriber, its ACL keeps a gateway off its own command topics, and a site
broker with bridge.conf.example carries readings up and commands down."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway import outbox
from gateway.store.db import Database
from gateway.uplink.publisher import Publisher
from tests.gateway.uplink.certs import make_pki, password_line
from tests.gateway.uplink.helpers import (
    Subscriber,
    check_delivery,
    fill,
    fleet_readings,
    mqtt_config,
    wait_until,
)
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"
SITE = "comune-x"                                   # the site of acl.example's gateway user
USERS = {"gw-comune-x": "gw secret", "platform": "platform secret",
         "bridge-comune-x": "bridge secret"}


class DeployBroker(Mosquitto):
    """mosquitto started with deploy/mosquitto/mosquitto.conf and acl.example; only the
    system paths, the ports and the certificates are replaced (each must be found once)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.tls_port = free_port()
        self.pki = make_pki(workdir / "pki")
        self.passwd = workdir / "passwd"
        self.passwd.write_text("".join(password_line(u, p) + "\n" for u, p in USERS.items()))
        self.acl = workdir / "acl"
        shutil.copy(DEPLOY / "acl.example", self.acl)

    def write_config(self) -> None:
        self.config_path.write_text(_adapt((DEPLOY / "mosquitto.conf").read_text(), {
            "persistence_location": f"persistence_location {self.workdir}/",
            "password_file": f"password_file {self.passwd}",
            "acl_file": f"acl_file {self.acl}",
            "listener 1883": f"listener {self.port} 127.0.0.1",
            "listener 8883": f"listener {self.tls_port} 127.0.0.1",
            "cafile": f"cafile {self.pki['ca']}",
            "certfile": f"certfile {self.pki['server']}",
            "keyfile": f"keyfile {self.pki['server_key']}",
        }) + f"log_dest file {self.log_path}\n" + ("user root\n" if os.geteuid() == 0 else ""))
        # (as root, mosquitto would drop to its own user and lose persistence silently)


def _adapt(text: str, swap: dict[str, str]) -> str:
    """`text` with each line starting with a key of `swap` replaced; each key found once."""
    found: dict[str, int] = dict.fromkeys(swap, 0)
    out = []
    for line in text.splitlines():
        key = next((k for k in swap if line == k or line.startswith(k + " ")), None)
        if key is not None:
            found[key] += 1
            line = swap[key]
        out.append(line)
    assert all(n == 1 for n in found.values()), found
    return "\n".join(out) + "\n"


@pytest.fixture
def deploy_broker(tmp_path: Path) -> Iterator[DeployBroker]:
    broker = DeployBroker(tmp_path / "broker")
    broker.start(wait_port=broker.tls_port)
    try:
        yield broker
    finally:
        broker.kill()


def _platform(broker: DeployBroker) -> Subscriber:
    return Subscriber(broker.port, client_id="platform", username="platform",
                      password=USERS["platform"]).start()


async def test_offline_subscriber_gets_more_than_1000_messages(
        tmp_path: Path, deploy_broker: DeployBroker) -> None:
    """mosquitto's default max_queued_messages 1000 would drop 500 of these 1,500 readings
    ("Outgoing messages are being dropped"); the shipped config must keep all of them."""
    sub = _platform(deploy_broker)
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    await asyncio.sleep(0.3)                                    # SUBACK: the session exists
    sub.stop()                                                  # the platform goes offline
    readings = [replace(r, site=SITE) for r in fleet_readings(devices=10, intervals=75)]
    assert len(readings) == 1500
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    cfg = mqtt_config(deploy_broker.tls_port, site=SITE, username="gw-comune-x",
                      password=USERS["gw-comune-x"],
                      tls={"ca_file": str(deploy_broker.pki["ca"])})
    pub = Publisher(db, cfg)
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(
            wait_until, lambda: pub.stats.delivered >= 1500, 30)   # all queued by the broker
        assert (await db.read(outbox.counts))["quarantined"] == 0
    finally:
        pub.stop()
        await task
        await db.close()
    sub = _platform(deploy_broker)                              # back, same session
    try:
        assert await asyncio.to_thread(
            wait_until, lambda: len({p["msg_id"] for p in sub.readings()}) >= 1500, 30)
        assert check_delivery(readings, sub.readings())[0] == 1500
    finally:
        sub.stop()
    assert "being dropped" not in deploy_broker.log_path.read_text()


def _publish_as(broker: DeployBroker, user: str, topic: str) -> str:
    """One QoS 1 PUBLISH over MQTT 5 as `user`; the PUBACK's reason."""
    done = threading.Event()
    reason: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{user}",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(user, USERS[user])

    def on_publish(c: mqtt.Client, u: object, mid: int, rc: object, p: object) -> None:
        reason.append(str(rc))
        done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topic, json.dumps({"name": "reboot"}).encode(), qos=1)
        done.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
    return reason[0] if reason else "no PUBACK"


def test_acl_keeps_a_gateway_off_command_topics(deploy_broker: DeployBroker) -> None:
    assert _publish_as(deploy_broker, "gw-comune-x",
                       f"meterkit/{SITE}/0000a1b2/command/set") == "Not authorized"
    assert _publish_as(deploy_broker, "gw-comune-x",
                       "meterkit/scuola-verdi/0000a1b2/el1/energy_import") == "Not authorized"
    # the same user may publish its readings; nobody subscribes here: "No matching subscribers"
    assert _publish_as(deploy_broker, "gw-comune-x",
                       f"meterkit/{SITE}/0000a1b2/el1/energy_import") == "No matching subscribers"
    assert _publish_as(deploy_broker, "platform",
                       f"meterkit/{SITE}/0000a1b2/command/set") == "No matching subscribers"


def documented_gateway_topics() -> list[str]:
    """Every topic of docs/MQTT.md's topic table that the gateway publishes, made concrete."""
    table = (DEPLOY.parents[1] / "docs" / "MQTT.md").read_text().split("## Topics", 1)[1]
    values = {"<prefix>": "meterkit", "<site>": SITE, "<device>": "0000a1b2",
              "<channel>": "el1", "<plugin>": "cer", "<name>": "cer_monthly"}
    topics = []
    for line in table.splitlines():
        if not line.startswith("| `<prefix>/") or "**by the platform**" in line:
            continue
        topic = line.split("`")[1]
        for key, value in values.items():
            topic = topic.replace(key, value)
        quantities = ("energy_import", "energy_export", "gas_volume")
        topics += [topic.replace("<quantity>", q) for q in quantities] \
            if "<quantity>" in topic else [topic]
    return topics


def test_the_acl_lets_a_gateway_publish_every_documented_topic(
        deploy_broker: DeployBroker) -> None:
    # a topic missing from acl.example is refused, and mosquitto 2 then drops the connection
    topics = documented_gateway_topics()
    assert len(topics) >= 10 and f"meterkit/{SITE}/0000a1b2/el1/gas_day" in topics
    refused = [t for t in topics
               if _publish_as(deploy_broker, "gw-comune-x", t) != "No matching subscribers"]
    assert refused == []


def test_the_bridge_forwards_every_documented_gateway_topic() -> None:
    bridge = (DEPLOY / "bridge.conf.example").read_text()
    out = [line.split()[1] for line in bridge.splitlines()
           if line.startswith("topic ") and line.split()[2:3] == ["out"]]
    for topic in documented_gateway_topics():
        assert any(mqtt.topic_matches_sub(pattern, topic) for pattern in out), topic


async def test_site_broker_bridges_to_the_platform(tmp_path: Path,
                                                   deploy_broker: DeployBroker) -> None:
    """gateway → site broker (bridge.conf.example) → platform broker (mosquitto.conf, acl.example
    with the bridge user) → platform; a command goes the other way and its result comes back."""
    bridge = _adapt((DEPLOY / "bridge.conf.example").read_text(), {
        "address": f"address 127.0.0.1:{deploy_broker.tls_port}",
        "remote_password": f"remote_password {USERS['bridge-comune-x']}",
        "bridge_cafile": f"bridge_cafile {deploy_broker.pki['ca']}",
    })
    site = Mosquitto(tmp_path / "site", extra_config=bridge)
    site.start()
    sub = _platform(deploy_broker)
    db = await Database.open(tmp_path / "g.db")
    pub = Publisher(db, mqtt_config(site.port, site=SITE))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected()
                                       and pub.link.connected, 10)
        readings = [replace(r, site=SITE) for r in fleet_readings(devices=2, intervals=50)]
        await fill(db, readings)
        pub.wake_up()
        assert await asyncio.to_thread(
            wait_until, lambda: len({p["msg_id"] for p in sub.readings()}) >= 200, 20)
        assert check_delivery(readings, sub.readings())[0] == 200
        assert _publish_as(deploy_broker, "platform",
                           f"meterkit/{SITE}/0000a1b2/command/set") == "Success"
        assert await asyncio.to_thread(wait_until, lambda: any(
            t.endswith("/command/result") for t, _, _ in list(sub.messages)), 10)
        assert (f"meterkit/{SITE}/bridge/status", 1, False) in sub.messages   # bridge is up
        result = next(p for t, p, _ in list(sub.messages) if t.endswith("/command/result"))
        assert (result["status"], result["error"]) == (
            "rejected", "device_id: device 0000a1b2 is not registered")
        await asyncio.sleep(0.5)        # a command sent back out would be refused: no reconnects
        log = deploy_broker.log_path.read_text()
        assert log.count("as bridge-comune-x") == 1, log[-2000:]
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()
        site.kill()
