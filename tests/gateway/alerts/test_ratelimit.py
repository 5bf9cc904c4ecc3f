"""Per-recipient rate limit: the excess goes out as one digest when the window has room."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from tests.gateway.alerts.helpers import Clock, FakeContext, feed, reading, started, utc
from tests.gateway.alerts.smtp_server import Inbox, free_port, self_signed, start_server
from tests.gateway.alerts.test_email import mail_config


async def test_ten_alerts_three_per_hour_then_a_digest(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    inbox, port = Inbox(), free_port()
    server = start_server(inbox, port, cert, key, "starttls")
    cfg = mail_config(tmp_path, port, cert)
    cfg["recipients"]["em"]["max_messages"] = 3          # window_s defaults to 3600
    cfg["recipients"]["esco"]["max_messages"] = 10
    cfg["rules"] = {f"r{i}": {"kind": "threshold", "device": f"d{i}", "channel": "el1",
                              "above": 3.0, "for_intervals": 1, "recipients": ["em", "esco"]}
                    for i in range(10)}
    clock = Clock(utc(2026, 11, 24, 10))
    ctx = FakeContext()
    plugin = await started(cfg, ctx, clock)
    sender = asyncio.create_task(plugin.run())
    try:
        # Ten devices over the limit in the 09:45Z quarter hour: ten alerts at 10:00Z.
        await feed(plugin, ctx, [reading(utc(2026, 11, 24, 9, 45), 4.0, device=f"d{i}")
                                 for i in range(10)])
        await inbox.wait_for(13)
        clock.now += timedelta(minutes=30)
        await plugin.on_schedule(clock.now)              # window still full: no digest
        clock.now = utc(2026, 11, 24, 11)
        await plugin.on_schedule(clock.now)              # 10:00Z sends left the window
        await plugin.on_schedule(clock.now + timedelta(minutes=1))   # nothing left
        await inbox.wait_for(14)
        await asyncio.sleep(0.3)
    finally:
        sender.cancel()
        await plugin.stop()
        server.stop()
    to_em = [m for m in inbox.messages if m["To"] == "energia@comune.genova.it"]
    to_esco = [m for m in inbox.messages if m["To"] == "ops@esco.example.com"]
    assert (len(to_em), len(to_esco), len(inbox.messages)) == (4, 10, 14)
    assert [str(m["Subject"]).split(": ")[1] for m in to_em[:3]] == [
        "r0 – scuola d0 el1", "r1 – scuola d1 el1", "r2 – scuola d2 el1"]
    digest = to_em[3]
    assert str(digest["Subject"]) == (
        "[meterkit] Riepilogo: 7 notifiche non inviate per limite di frequenza")
    lines = [line for line in digest.get_body(("plain",)).get_content().splitlines()
             if line.startswith("- ")]
    assert [line.split(" ALLARME ")[0] for line in lines] == ["- 24/11/2026 11:00 CET"] * 7
    assert [line.split(" ")[5] for line in lines] == [f"r{i}" for i in range(3, 10)]
    assert plugin.counters["suppressed"] == 7 and plugin.counters["digests"] == 1
