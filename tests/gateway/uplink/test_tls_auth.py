"""TLS with a CA and a client certificate, username/password, and refused credentials."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, int, dict[str, Path]]]:
    pki = make_pki(tmp_path / "pki")
    pw = tmp_path / "passwd"
    pw.write_text(password_line("gateway", "correct horse") + "\n")
    tls_port = free_port()
    broker = Mosquitto(tmp_path / "broker", extra_config="\n".join([
        f"password_file {pw}",
        f"listener {tls_port} 127.0.0.1",
        f"cafile {pki['ca']}", f"certfile {pki['server']}", f"keyfile {pki['server_key']}",
        "require_certificate true",
    ]))
    broker.start(wait_port=tls_port)
    try:
        yield broker, tls_port, pki
    finally:
        broker.kill()


async def test_tls_client_cert_and_password(tmp_path: Path, secure_broker: tuple) -> None:
    broker, tls_port, pki = secure_broker
    sub = Subscriber(broker.port).start()                 # the platform, on the plain listener
    assert await asyncio.to_thread(wait_until, lambda: sub.client.is_connected(), 5)
    readings = list(fleet_readings(devices=2, intervals=20))
    db = await Database.open(tmp_path / "g.db")
    await fill(db, readings)
    cfg = mqtt_config(tls_port, username="gateway", password="correct horse",
                      tls={"ca_file": str(pki["ca"]), "cert_file": str(pki["client"]),
                           "key_file": str(pki["client_key"])})
    pub = Publisher(db, cfg)
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: len(sub.readings()) >= 80, 15)
        assert check_delivery(readings, sub.readings()) == (80, 0)
        assert pub.link.client.socket() is not None
        assert type(pub.link.client.socket()).__name__ == "SSLSocket"
    finally:
        pub.stop()
        await task
        sub.stop()
        await db.close()


async def test_wrong_password_is_logged_and_retried(tmp_path: Path, secure_broker: tuple,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    _broker, tls_port, pki = secure_broker
    db = await Database.open(tmp_path / "g.db")
    await fill(db, list(fleet_readings(devices=1, intervals=2)))
    cfg = mqtt_config(tls_port, username="gateway", password="wrong",
                      reconnect_min_s=0.2, reconnect_max_s=0.8,
                      tls={"ca_file": str(pki["ca"]), "cert_file": str(pki["client"]),
                           "key_file": str(pki["client_key"])})
    pub = Publisher(db, cfg)
    caplog.set_level(logging.INFO, logger="gateway.uplink")
    task = asyncio.create_task(pub.run())
    try:
        await asyncio.sleep(2.5)
        assert not task.done()                              # no crash
        assert 2 <= pub.link.refusals <= 8                  # retried, but backing off
        refused = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert refused and "connection refused" in refused[0].getMessage()
        assert "mqtt.username / mqtt.password" in refused[0].getMessage() or \
            "ACL" in refused[0].getMessage()
        delays = [float(r.getMessage().split(" in ")[1].split()[0]) for r in caplog.records
                  if r.getMessage().startswith("MQTT reconnecting")]
        assert delays[0] <= 0.2 and max(delays) > 0.2       # exponential, jittered
        assert (await db.read(outbox.counts))["delivered"] == 0
    finally:
        pub.stop()
        await task
        await db.close()


async def test_untrusted_server_certificate(tmp_path: Path, secure_broker: tuple) -> None:
    _broker, tls_port, _pki = secure_broker
    other = make_pki(tmp_path / "other")
    db = await Database.open(tmp_path / "g.db")
    pub = Publisher(db, mqtt_config(tls_port, tls={"ca_file": str(other["ca"])}))
    task = asyncio.create_task(pub.run())
    try:
        assert await asyncio.to_thread(wait_until, lambda: pub.link.last_error is not None, 5)
        assert "CERTIFICATE_VERIFY_FAILED" in (pub.link.last_error or "")
        assert not task.done()
    finally:
        pub.stop()
        await task
        await db.close()
