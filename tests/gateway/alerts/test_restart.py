"""Alert state survives a restart: no second raise, a later clear, unpublished alerts resent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.model import PluginResult
from tests.gateway.alerts.helpers import (
    Clock,
    FakeContext,
    config,
    feed,
    series,
    started,
    times,
    utc,
)

RULE = {"kind": "threshold", "device": "dev1", "channel": "el1", "above": 3.0,
        "hysteresis": 0.5, "for_intervals": 2, "clear_intervals": 2}


async def test_no_second_raise_after_restart(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"power": RULE, "day": {
        "kind": "daily_energy", "device": "dev1", "channel": "el1", "above": 100.0}})
    clock = Clock(utc(2026, 11, 24, 12))
    first = FakeContext()
    plugin = await started(cfg, first, clock)
    await feed(plugin, first, series(utc(2026, 11, 24, 0), [4.0, 4.0, 4.0]))
    assert [a["state"] for a in first.alerts()] == ["raised"]
    await plugin.stop()

    second = FakeContext()
    plugin = await started(cfg, second, clock)
    # The replayed last interval and two more breaches: still active, nothing new.
    await feed(plugin, second, series(utc(2026, 11, 24, 0, 30), [4.0, 4.0, 4.0]))
    assert second.alerts() == []
    # Two normal quarter hours from 01:15Z -> cleared at 01:45Z (02:45 local).
    await feed(plugin, second, series(utc(2026, 11, 24, 1, 15), [1.0, 1.0]))
    assert times(second.alerts()) == [
        ("cleared", "2026-11-24T02:15:00+01:00", "2026-11-24T02:45:00+01:00")]
    assert second.alerts()[0]["peak"] == 4.0
    await plugin.stop()


async def test_day_accumulator_survives_restart(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"day": {"kind": "daily_energy", "device": "dev1",
                                    "channel": "el1", "above": 30.0, "hysteresis": 0.0}})
    clock = Clock(utc(2026, 11, 25))
    ctx = FakeContext()
    plugin = await started(cfg, ctx, clock)
    # Tue 24 Nov: first half at 1.5 kW (18 kWh) before the restart, second half after
    # (18 kWh): 36 kWh > 30 is only known if the first half was kept.
    await feed(plugin, ctx, series(utc(2026, 11, 23, 23), [1.5] * 48))
    await plugin.stop()
    plugin = await started(cfg, ctx, clock)
    await feed(plugin, ctx, series(utc(2026, 11, 24, 11), [1.5] * 48))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T00:00:00+01:00", "2026-11-25T00:00:00+01:00")]
    assert ctx.alerts()[0]["value"] == pytest.approx(36.0)
    await plugin.stop()


class FailingContext(FakeContext):
    async def publish(self, result: PluginResult) -> None:
        raise OSError("database is locked")


async def test_unpublished_alert_is_sent_at_start(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"power": RULE})
    clock = Clock(utc(2026, 11, 24, 12))
    broken = FailingContext()
    plugin = await started(cfg, broken, clock)
    with pytest.raises(OSError):
        await feed(plugin, broken, series(utc(2026, 11, 24, 0), [4.0, 4.0]))
    await plugin.stop()
    ctx = FakeContext()
    plugin = await started(cfg, ctx, clock)
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T01:00:00+01:00", "2026-11-24T01:30:00+01:00")]
    await feed(plugin, ctx, series(utc(2026, 11, 24, 0, 30), [4.0]))
    assert len(ctx.alerts()) == 1
    await plugin.stop()
    plugin = await started(cfg, FakeContext(), clock)   # published now: not again
    assert plugin.counters["published"] == 0
    await plugin.stop()


class FlakyContext(FakeContext):
    """publish fails while `down` is set (e.g. the gateway database is busy)."""

    down = True

    async def publish(self, result: PluginResult) -> None:
        if self.down:
            raise OSError("database is locked")
        await super().publish(result)


async def test_failed_publish_is_retried_on_the_next_tick(tmp_path: Path) -> None:
    ctx, clock = FlakyContext(), Clock(utc(2026, 11, 24, 12))
    plugin = await started(config(tmp_path, {"power": RULE}), ctx, clock)
    with pytest.raises(OSError):
        await feed(plugin, ctx, series(utc(2026, 11, 24, 0), [4.0, 4.0]))
    ctx.down = False
    await plugin.on_schedule(clock.now)
    await plugin.on_schedule(clock.now)          # once only
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T01:00:00+01:00", "2026-11-24T01:30:00+01:00")]
    await plugin.stop()


async def test_old_history_and_sent_mail_are_pruned(tmp_path: Path) -> None:
    from gateway.alerts import store

    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 12))
    cfg = config(tmp_path, {"power": RULE}, keep_days=2, keep_mail_days=1)
    plugin = await started(cfg, ctx, clock)
    await feed(plugin, ctx, series(utc(2026, 11, 20, 0), [4.0, 4.0]))   # raised 20 Nov 00:30Z
    await feed(plugin, ctx, series(utc(2026, 11, 23, 0), [1.0, 1.0]))   # cleared 23 Nov 00:30Z
    assert plugin.db is not None

    def add_mails(conn: object) -> None:
        for status, created in (("sent", 1.0), ("failed", 1.0), ("pending", 1.0),
                                ("sent", clock.now.timestamp())):
            mail_id = store.add_mail(conn, "em", "a@b.it", "s", b"m", created, 10)  # type: ignore[arg-type]
            if status != "pending":
                store.mail_done(conn, mail_id, status)  # type: ignore[arg-type]
    await plugin.db.write(add_mails)
    await plugin.on_schedule(clock.now)
    # Log kept 2 days: the 20 Nov raise goes, the 23 Nov clear stays. Mail kept 1 day: the two
    # old finished ones go; the pending one and today's stay.

    def left(conn: object) -> tuple[list[str], list[str]]:
        log = [r[0] for r in conn.execute("SELECT kind FROM alert_log")]  # type: ignore[attr-defined]
        mail = [r[0] for r in conn.execute("SELECT status FROM alert_mail ORDER BY id")]  # type: ignore[attr-defined]
        return log, mail
    assert await plugin.db.read(left) == (["cleared"], ["pending", "sent"])
    await plugin.stop()


class KilledAfterPublish(FakeContext):
    """The host committed the alert to its outbox, then the gateway died before the plugin
    marked it published (the window between the two transactions)."""

    async def publish(self, result: PluginResult) -> None:
        await super().publish(result)
        raise asyncio.CancelledError


async def test_republish_after_a_crash_carries_the_same_ids(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"power": RULE})
    clock = Clock(utc(2026, 11, 24, 12))
    first = KilledAfterPublish()
    plugin = await started(cfg, first, clock)
    with pytest.raises(asyncio.CancelledError):
        await feed(plugin, first, series(utc(2026, 11, 24, 0), [4.0, 4.0]))
    await plugin.stop()
    again = FakeContext()
    plugin = await started(cfg, again, clock)
    await plugin.stop()
    ids = [(a["alert_id"], a["msg_id"], a["state"]) for a in first.alerts() + again.alerts()]
    # the first row of a fresh alert_log table has id 1
    assert ids == [(1, "alert:1:raised", "raised"), (1, "alert:1:raised", "raised")]
