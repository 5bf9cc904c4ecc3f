"""TLS with a CA and a client certificate, username/password, and refused credentials."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
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

PLATFORM = {"username": "platform", "password": "platform pw"}


@dataclass(frozen=True)
class SecureBroker:
    broker: Mosquitto          # plain listener at broker.port: the platform's subscriber
    mtls_port: int             # TLS, client certificate required
    tls_port: int              # TLS, CA only (no client certificate)
    pki: dict[str, Path]


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[SecureBroker]:
    """Passwords required everywhere (allow_anonymous false: with per_listener_settings false,
    the last setting applies to every listener), so a successful connect proves the password
    was checked."""
    pki = make_pki(tmp_path / "pki")
    pw = tmp_path / "passwd"
    pw.write_text(password_line("gateway", "correct horse") + "\n"
                  + password_line(PLATFORM["username"], PLATFORM["password"]) + "\n")
    mtls_port, tls_port = free_port(), free_port()
    tls = [f"cafile {pki['ca']}", f"certfile {pki['server']}", f"keyfile {pki['server_key']}"]
    broker = Mosquitto(tmp_path / "broker", extra_config="\n".join([
        "allow_anonymous false",
        f"password_file {pw}",
        f"listener {mtls_port} 127.0.0.1", *tls, "require_certificate true",
        f"listener {tls_port} 127.0.0.1", *tls,
    ]))
    broker.start(wait_port=tls_port)
    try:
        yield SecureBroker(broker, mtls_port, tls_port, pki)
    finally:
        broker.kill()


def _anonymous_connect(port: int) -> str:
    """Connect without user name: the CONNACK reason (or "no CONNACK")."""
    got: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="anonymous",
                         protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, f, reason, p: got.append(str(reason))
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        wait_until(lambda: got, 5)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else "no CONNACK"


async def _delivers_over_tls(tmp_path: Path, sb: SecureBroker, port: int,
                             tls: dict[str, str]) -> None:
    sub = Subscriber(sb.broker.port, **PLATFORM).start()     # the platform, plain listener
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    readings = list(fleet_readings(devices=2, intervals=20))
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    pub = Publisher(db, mqtt_config(port, username="gateway", password="correct horse",
                                    tls=tls))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 80, 15)
        assert check_delivery(readings, sub.readings()) == (80, 0)
        assert type(pub.link.client.socket()).__name__ == "SSLSocket"
        assert pub.link.refusals == 0
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_tls_client_cert_and_password(tmp_path: Path, secure_broker: SecureBroker) -> None:
    sb = secure_broker
    # the broker really requires a password: an anonymous client is refused
    assert await asyncio.to_thread(_anonymous_connect, sb.broker.port) == "Not authorized"
    await _delivers_over_tls(tmp_path, sb, sb.mtls_port, {
        "ca_file": str(sb.pki["ca"]), "cert_file": str(sb.pki["client"]),
        "key_file": str(sb.pki["client_key"])})


async def test_tls_with_ca_only_and_password(tmp_path: Path,
                                             secure_broker: SecureBroker) -> None:
    """The common case: the server is verified against a private CA, no client certificate."""
    sb = secure_broker
    await _delivers_over_tls(tmp_path, sb, sb.tls_port, {"ca_file": str(sb.pki["ca"])})


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_wrong_password_is_logged_and_retried(tmp_path: Path, secure_broker: SecureBroker,
                                                    caplog: pytest.LogCaptureFixture,
                                                    protocol: str) -> None:
    sb = secure_broker
    db = await Database.open(tmp_path / "g.db")
    await fill(db, list(fleet_readings(devices=1, intervals=2)))
    cfg = mqtt_config(sb.mtls_port, username="gateway", password="wrong", protocol=protocol,
                      reconnect_min_s=0.2, reconnect_max_s=0.8,
                      tls={"ca_file": str(sb.pki["ca"]), "cert_file": str(sb.pki["client"]),
                           "key_file": str(sb.pki["client_key"])})
    pub = Publisher(db, cfg)
    caplog.set_level(logging.INFO, logger="gateway.uplink")
    task = asyncio.create_task(pub.run())
    try:
        await asyncio.sleep(2.5)
        assert not task.done()                              # no crash
        # backoff 0.2, 0.4, 0.8, 0.8 ... halved at worst by jitter: at most 8 tries in 2.5 s
        assert 2 <= pub.link.refusals <= 8
        refused = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert refused and "connection refused" in refused[0]
        # mosquitto 2.0 says "Not authorized" for a wrong password: the hint names both causes
        assert "check mqtt.username / mqtt.password (or mqtt.password_file) against the " \
            "broker's password file" in refused[0]
        assert "allow_anonymous or ACL" in refused[0]
        delays = [float(r.getMessage().split(" in ")[1].split()[0]) for r in caplog.records
                  if r.getMessage().startswith("MQTT reconnecting")]
        assert delays[0] <= 0.2 and max(delays) > 0.2       # exponential, jittered
        assert (await db.read(outbox.counts))["delivered"] == 0
    finally:
        pub.stop()
        await task
        await db.close()


async def test_untrusted_server_certificate(tmp_path: Path, secure_broker: SecureBroker) -> None:
    other = make_pki(tmp_path / "other")
    db = await Database.open(tmp_path / "g.db")
    pub = Publisher(db, mqtt_config(secure_broker.tls_port, tls={"ca_file": str(other["ca"])}))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: pub.link.last_error is not None, 5)
        assert "CERTIFICATE_VERIFY_FAILED" in (pub.link.last_error or "")
        assert not task.done()
    finally:
        pub.stop()
        await task
        await db.close()
