"""A mail server that accepts the connection and then says nothing: the alert hooks and MQTT
publishing carry on, the e-mail stays queued, and the plugin's snapshot tells the story."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.gateway.alerts.helpers import FakeContext, feed, series, started, utc
from tests.gateway.alerts.smtp_server import MovingClock, free_port, self_signed
from tests.gateway.alerts.test_email import mail_config


async def test_stalled_smtp_server_does_not_hold_up_alerts(tmp_path: Path) -> None:
    connected = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)      # no "220" greeting, ever
        connected.set()

    port = free_port()
    server = await asyncio.start_server(stall, "127.0.0.1", port)
    cert, _ = self_signed(tmp_path)
    ctx = FakeContext()
    # timeout_s = 60: the sender stays stuck for the whole test
    plugin = await started(mail_config(tmp_path, port, cert, timeout_s=60), ctx,
                           MovingClock(utc(2026, 11, 24, 1, 5)))
    sender = asyncio.create_task(plugin.run())
    try:
        # 4 kW at 00:30Z and 00:45Z -> raised: one e-mail each to "em" and "esco".
        await feed(plugin, ctx, series(utc(2026, 11, 24, 0), [1.0, 1.0, 4.0, 4.0]))
        async with asyncio.timeout(10):
            await connected.wait()
        # The sender is now waiting for a greeting that never comes. Back under
        # 3.0 - 0.5 kW for two intervals -> cleared; then 24 more quarter hours.
        t0 = time.monotonic()
        await feed(plugin, ctx, series(utc(2026, 11, 24, 1), [1.0] * 26), batch=1)
        elapsed = time.monotonic() - t0
        assert [a["state"] for a in ctx.alerts()] == ["raised", "cleared"]
        # 26 hooks, each a SQLite commit of the plugin's own file: far below the SMTP timeout
        assert elapsed < 10.0
        snap = plugin.snapshot()
        assert snap["mail"] is not None
        assert (snap["raised"], snap["cleared"], snap["published"], snap["active"]) == (
            1, 1, 2, 0)
        assert snap["mail"]["pending"] == 4 and snap["mail"]["queued"] == 4
        assert snap["mail"]["sent"] == 0 and snap["mail"]["sending"] is True
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await plugin.stop()
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()
