"""E-mail to a real SMTP server: STARTTLS + AUTH, implicit TLS, Italian and English bodies
with the chart inline, and retries while the server is down."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from gateway.alerts import store
from tests.gateway.alerts.helpers import FakeContext, feed, series, started, utc
from tests.gateway.alerts.smtp_server import (
    PASSWORD,
    USER,
    Inbox,
    MovingClock,
    free_port,
    self_signed,
    start_server,
)

RULE = {"kind": "threshold", "device": "dev1", "channel": "el1", "above": 3.0,
        "hysteresis": 0.5, "for_intervals": 2, "severity": "critical",
        "recipients": ["em", "esco"], "description": "Potenza impegnata 4,5 kW"}


def mail_config(tmp_path: Path, port: int, cert: Path, security: str = "starttls",
                **smtp: Any) -> dict[str, Any]:
    return {
        "state_db": str(tmp_path / "alerts.db"),
        "smtp": {"host": "127.0.0.1", "port": port, "security": security, "username": USER,
                 "password": PASSWORD, "sender": "meterkit@comune.genova.it",
                 "ca_file": str(cert), "timeout_s": 5, **smtp},
        "recipients": {"em": {"email": "energia@comune.genova.it", "language": "it"},
                       "esco": {"email": "ops@esco.example.com", "language": "en"}},
        "rules": {"power": RULE},
    }


def parts(msg: EmailMessage) -> tuple[str, str, EmailMessage]:
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()   # type: ignore[union-attr]
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    return text, html, images[0]  # type: ignore[return-value]


async def raise_one(plugin: Any, ctx: FakeContext) -> None:
    # 4 kW at 00:30Z and 00:45Z (01:30, 01:45 CET) -> raised at 01:00Z = 02:00 CET.
    await feed(plugin, ctx, series(utc(2026, 11, 23, 12), [1.0] * 50 + [4.0, 4.0]))


async def test_starttls_auth_italian_and_english(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    inbox, port = Inbox(), free_port()
    server = start_server(inbox, port, cert, key, "starttls")
    ctx = FakeContext()
    plugin = await started(mail_config(tmp_path, port, cert), ctx,
                           MovingClock(utc(2026, 11, 24, 1, 5)))
    sender = asyncio.create_task(plugin.run())
    try:
        await raise_one(plugin, ctx)
        await inbox.wait_for(2)
        await asyncio.sleep(0.3)              # nothing else may arrive
    finally:
        sender.cancel()
        await plugin.stop()
        server.stop()
    assert len(inbox.messages) == 2 and inbox.logins == [USER, USER]
    by_to = {str(m["To"]): m for m in inbox.messages}
    it = by_to["energia@comune.genova.it"]
    assert str(it["Subject"]) == ("[meterkit] ALLARME critico: power – scuola dev1 el1")
    text, html, image = parts(it)
    assert "ALLARME: Potenza media 4,00 kW oltre la soglia di 3,00 kW" in text
    assert "Dal 24/11/2026 01:30 CET al 24/11/2026 02:00 CET (ora italiana)" in text
    assert "Regola: power – Potenza impegnata 4,5 kW" in text
    assert 'src="cid:chart@meterkit"' in html and "Andamento delle ultime 48 ore" in html
    assert image["Content-ID"] == "<chart@meterkit>"
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    en = by_to["ops@esco.example.com"]
    assert str(en["Subject"]) == "[meterkit] ALERT critical: power – scuola dev1 el1"
    text, html, _ = parts(en)
    assert "ALERT: Average power 4.00 kW beyond the limit of 3.00 kW" in text
    assert "From 2026-11-24 01:30 CET to 2026-11-24 02:00 CET (Italian time)" in text
    assert "Last 48 hours" in html


# aiosmtpd warns about AUTH without STARTTLS; with implicit TLS the whole session is encrypted.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_implicit_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    inbox, port = Inbox(), free_port()
    server = start_server(inbox, port, cert, key, "ssl")
    ctx = FakeContext()
    cfg = mail_config(tmp_path, port, cert, security="ssl")
    cfg["rules"]["power"] = {**RULE, "recipients": ["esco"]}
    plugin = await started(cfg, ctx, MovingClock(utc(2026, 11, 24, 1, 5)))
    sender = asyncio.create_task(plugin.run())
    try:
        await raise_one(plugin, ctx)
        # Back to normal: 1 kW at 01:00Z and 01:15Z -> cleared at 01:30Z (02:30 CET).
        await feed(plugin, ctx, series(utc(2026, 11, 24, 1), [1.0, 1.0]))
        await inbox.wait_for(2)
        await asyncio.sleep(0.3)
    finally:
        sender.cancel()
        await plugin.stop()
        server.stop()
    assert len(inbox.messages) == 2 and inbox.logins == [USER, USER]
    cleared = inbox.messages[1]
    assert str(cleared["Subject"]).startswith("[meterkit] BACK TO NORMAL critical: power")
    text = cleared.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Back to normal at 2026-11-24 02:30 CET (Italian time)" in text
    assert "Normal since: 2026-11-24 02:00 CET" in text
    assert "Current value: 1.00 kW" in text
    assert "Average power 4.00 kW" in text      # the worst value of the episode


async def test_retried_until_the_server_is_up(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    inbox, port = Inbox(), free_port()        # nothing listens there yet
    ctx = FakeContext()
    cfg = mail_config(tmp_path, port, cert, retry_initial_s=0.2, retry_max_s=0.4)
    cfg["rules"]["power"] = {**RULE, "recipients": ["em"]}
    plugin = await started(cfg, ctx, MovingClock(utc(2026, 11, 24, 1, 5)))
    sender = asyncio.create_task(plugin.run())
    server = None
    try:
        await raise_one(plugin, ctx)
        assert plugin.mail is not None
        for _ in range(200):
            if plugin.mail.counters["retries"] >= 2:
                break
            await asyncio.sleep(0.02)
        assert plugin.mail.counters["retries"] >= 2 and inbox.messages == []
        server = start_server(inbox, port, cert, key, "starttls")
        await inbox.wait_for(1)
        await asyncio.sleep(0.6)              # longer than a retry period: no duplicate
        assert plugin.mail.counters["sent"] == 1
        assert plugin.db is not None
        rows, nxt = await plugin.db.read(store.due_mail, 1e12)
        assert rows == [] and nxt is None     # nothing left pending
    finally:
        sender.cancel()
        await plugin.stop()
        if server is not None:
            server.stop()
    assert len(inbox.messages) == 1
    assert "ALLARME" in str(inbox.messages[0]["Subject"])
