"""Alerts computed from backfill are published as such and not e-mailed as if current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gateway.alerts.helpers import Clock, FakeContext, feed, series, started, utc
from tests.gateway.alerts.smtp_server import self_signed
from tests.gateway.alerts.test_email import mail_config

# Nothing listens on port 9 here and the sender task is not started: e-mails stay queued,
# so the alert_mail table says exactly what would have been sent.


def cfg(tmp_path: Path, **top: Any) -> dict[str, Any]:
    c = mail_config(tmp_path, 9, self_signed(tmp_path)[0], **top)
    c["rules"]["power"] = {"kind": "threshold", "device": "dev1", "channel": "el1",
                           "above": 3.0, "hysteresis": 0.5, "for_intervals": 2,
                           "recipients": ["em"]}
    return c


async def queued(plugin: Any) -> list[str]:
    def subjects(conn: Any) -> list[str]:
        return [r[0] for r in conn.execute("SELECT subject FROM alert_mail ORDER BY id")]
    return list(await plugin.db.read(subjects))


async def test_backfill_batch_is_published_not_mailed(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(cfg(tmp_path), ctx, Clock(utc(2026, 11, 24, 12)))
    await feed(plugin, ctx, series(utc(2026, 11, 24, 2), [4.0, 4.0]), live=False)
    assert [(a["state"], a["backfill"]) for a in ctx.alerts()] == [("raised", True)]
    # Back to normal with live data: nobody was told it started, so no clear either.
    await feed(plugin, ctx, series(utc(2026, 11, 24, 2, 30), [1.0, 1.0]))
    assert [(a["state"], a["backfill"]) for a in ctx.alerts()] == [
        ("raised", True), ("cleared", False)]
    assert await queued(plugin) == []
    assert plugin.counters["backfill_not_mailed"] == 1
    await plugin.stop()


async def test_backfill_flag_in_a_live_batch(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(cfg(tmp_path), ctx, Clock(utc(2026, 11, 24, 12)))
    await feed(plugin, ctx, series(utc(2026, 11, 24, 2), [4.0, 4.0], flags=["backfill"]))
    assert ctx.alerts()[0]["backfill"] is True
    assert await queued(plugin) == []
    await plugin.stop()


async def test_email_backfill_marks_the_subject(tmp_path: Path) -> None:
    ctx = FakeContext()
    c = cfg(tmp_path)
    c["email_backfill"] = True
    plugin = await started(c, ctx, Clock(utc(2026, 11, 24, 12)))
    await feed(plugin, ctx, series(utc(2026, 11, 24, 2), [4.0, 4.0]), live=False)
    assert await queued(plugin) == [
        "[storico] [meterkit] ALLARME attenzione: power – scuola dev1 el1"]
    await plugin.stop()


async def test_live_alert_cleared_by_backfill_is_still_closed_by_mail(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(cfg(tmp_path), ctx, Clock(utc(2026, 11, 24, 12)))
    await feed(plugin, ctx, series(utc(2026, 11, 24, 2), [4.0, 4.0]))
    await feed(plugin, ctx, series(utc(2026, 11, 24, 2, 30), [1.0, 1.0]), live=False)
    assert await queued(plugin) == [
        "[meterkit] ALLARME attenzione: power – scuola dev1 el1",
        "[storico] [meterkit] RIENTRATO attenzione: power – scuola dev1 el1"]
    await plugin.stop()
