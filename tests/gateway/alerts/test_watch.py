"""No-data (wall clock) and device-event rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tests.gateway.alerts.helpers import (
    Clock,
    FakeContext,
    config,
    event,
    feed,
    reading,
    started,
    times,
    utc,
)

NO_DATA = {"kind": "no_data", "device": "dev1", "channel": "el1", "max_intervals": 4}


async def test_silent_channel_raises_at_the_deadline_and_clears_on_data(tmp_path: Path) -> None:
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 10, 15))
    plugin = await started(config(tmp_path, {"silent": NO_DATA}), ctx, clock)
    await feed(plugin, ctx, [reading(utc(2026, 11, 24, 10), 1.0)])   # ends 10:15Z
    # Deadline: 10:15Z + 4 x 15 min = 11:15Z (12:15 local).
    for minute in (0, 14):
        await plugin.on_schedule(utc(2026, 11, 24, 11, minute))
    assert ctx.alerts() == []
    await plugin.on_schedule(utc(2026, 11, 24, 11, 16))
    await plugin.on_schedule(utc(2026, 11, 24, 11, 30))    # still silent: no second raise
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T11:15:00+01:00", "2026-11-24T12:15:00+01:00")]
    assert ctx.alerts()[0]["value"] == 4.0   # whole intervals missing at 11:16Z
    assert ctx.alerts()[0]["unit"] == "intervals"
    # The device comes back at 12:05Z with backfill: cleared at arrival (wall clock).
    clock.now = utc(2026, 11, 24, 12, 5)
    await feed(plugin, ctx, [reading(utc(2026, 11, 24, 10, 15), 1.0)], live=False)
    assert times(ctx.alerts("cleared")) == [
        ("cleared", "2026-11-24T11:15:00+01:00", "2026-11-24T13:05:00+01:00")]
    assert ctx.alerts("cleared")[0]["backfill"] is False
    await plugin.stop()


async def test_never_seen_channel(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"silent": NO_DATA}), ctx, Clock(utc(2026, 11, 24)))
    await plugin.on_schedule(utc(2026, 11, 24, 9))          # the watch starts here
    await plugin.on_schedule(utc(2026, 11, 24, 9, 59))
    assert ctx.alerts() == []
    await plugin.on_schedule(utc(2026, 11, 24, 10))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T10:00:00+01:00", "2026-11-24T11:00:00+01:00")]
    assert ctx.alerts()[0]["details"]["never_seen"] is True
    await plugin.stop()


async def test_tamper_raises_once_and_clears_when_quiet(tmp_path: Path) -> None:
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 10))
    rules = {"tamper": {"kind": "device_event", "events": ["tamper", "queue_overflow"],
                        "quiet_s": 3600, "severity": "critical"}}
    plugin = await started(config(tmp_path, rules), ctx, clock)
    await plugin.on_event(event("tamper", utc(2026, 11, 24, 9, 50)))
    await plugin.on_event(event("tamper", utc(2026, 11, 24, 10, 20)))   # repeat: no raise
    await plugin.on_event(event("tamper", utc(2026, 11, 24, 9, 55), device="dev2"))
    await plugin.on_schedule(utc(2026, 11, 24, 11, 0))   # dev2: 09:55 + 1 h -> cleared
    await plugin.on_schedule(utc(2026, 11, 24, 11, 19))
    await plugin.on_schedule(utc(2026, 11, 24, 11, 21))  # dev1: 10:20 + 1 h -> cleared
    got = [(a["device"], a["state"], a["time"]) for a in ctx.alerts()]
    assert got == [
        ("dev1", "raised", "2026-11-24T10:50:00+01:00"),
        ("dev2", "raised", "2026-11-24T10:55:00+01:00"),
        ("dev2", "cleared", "2026-11-24T11:55:00+01:00"),
        ("dev1", "cleared", "2026-11-24T12:20:00+01:00"),
    ]
    assert ctx.alerts()[0]["details"]["event"] == "tamper"
    await plugin.stop()


async def test_power_fail_cleared_by_restore_and_old_events_are_backfill(tmp_path: Path) -> None:
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 12))
    rules = {"power": {"kind": "device_event", "device": "dev1", "events": ["power_fail"],
                       "clear_on": ["power_restore"]}}
    plugin = await started(config(tmp_path, rules), ctx, clock)
    await plugin.on_event(event("power_fail", utc(2026, 11, 24, 11, 30)))
    await plugin.on_event(event("reboot", utc(2026, 11, 24, 11, 40)))       # not listed
    await plugin.on_event(event("power_restore", utc(2026, 11, 24, 11, 45)))
    await plugin.on_event(event("power_fail", utc(2026, 11, 24, 11, 50), device="other"))
    # More than live_window_s (7200 s) old when it arrives: backfill.
    await plugin.on_event(event("power_fail", utc(2026, 11, 24, 9, 59)))
    got = [(a["state"], a["time"], a["backfill"]) for a in ctx.alerts()]
    assert got == [
        ("raised", "2026-11-24T12:30:00+01:00", False),
        ("cleared", "2026-11-24T12:45:00+01:00", False),
        ("raised", "2026-11-24T10:59:00+01:00", True),
    ]
    await plugin.stop()


async def test_backlog_catching_up_after_an_alert_raises_and_clears_once(tmp_path: Path) -> None:
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 10, 15))
    plugin = await started(config(tmp_path, {"silent": NO_DATA}), ctx, clock)
    await feed(plugin, ctx, [reading(utc(2026, 11, 24, 10), 1.0)])   # ends 10:15Z

    async def tick(t: datetime) -> None:
        clock.now = t
        await plugin.on_schedule(t)

    for minute in range(16, 61):                       # silent: raised at 10:15Z + 1 h
        await tick(utc(2026, 11, 24, 10, minute) if minute < 60 else utc(2026, 11, 24, 11))
    await tick(utc(2026, 11, 24, 11, 15))
    # The board is back at 12:00Z and uploads its flash backlog, one interval per minute
    # (10:15Z ... 11:45Z, 7 intervals), with schedule ticks in between: its newest interval
    # stays more than 4 intervals old until the live 12:00Z quarter hour at 12:15Z.
    for i in range(7):
        clock.now = utc(2026, 11, 24, 12, i)
        await feed(plugin, ctx, [reading(utc(2026, 11, 24, 10, 15) + timedelta(minutes=15 * i),
                                         1.0, flags=["backfill"])], live=False)
        await tick(utc(2026, 11, 24, 12, i, 30))
    for minute in range(7, 15):
        await tick(utc(2026, 11, 24, 12, minute))
    clock.now = utc(2026, 11, 24, 12, 15)
    await feed(plugin, ctx, [reading(utc(2026, 11, 24, 12), 1.0)])
    for minute in range(16, 60):
        await tick(utc(2026, 11, 24, 12, minute))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T11:15:00+01:00", "2026-11-24T12:15:00+01:00"),
        ("cleared", "2026-11-24T11:15:00+01:00", "2026-11-24T13:00:00+01:00")]
    await plugin.stop()


async def test_gateway_restart_after_a_long_outage_is_no_alert_storm(tmp_path: Path) -> None:
    rules = {f"silent_{d}": {**NO_DATA, "device": d} for d in ("dev1", "dev2", "dev3")}
    cfg = config(tmp_path, rules)
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 10))
    plugin = await started(cfg, ctx, clock)
    await feed(plugin, ctx, [reading(utc(2026, 11, 24, 9, 45), 1.0, device=d)
                             for d in ("dev1", "dev2", "dev3")])        # all end 10:00Z
    await plugin.on_schedule(utc(2026, 11, 24, 10, 1))
    await plugin.stop()
    # The gateway was off for six hours (24 intervals, six times max_intervals).
    clock.now = utc(2026, 11, 24, 16)
    plugin = await started(cfg, ctx, clock)
    for minute in range(0, 90):
        now = utc(2026, 11, 24, 16) + timedelta(minutes=minute)
        clock.now = now
        if minute == 10:     # dev1 reconnects and uploads its backlog
            await feed(plugin, ctx, [reading(utc(2026, 11, 24, 10) + timedelta(minutes=15 * i),
                                             1.0, device="dev1", flags=["backfill"])
                                     for i in range(24)], live=False)
        if minute == 40:     # dev2 reconnects later, still within the grace
            await feed(plugin, ctx, [reading(utc(2026, 11, 24, 16, 15), 1.0, device="dev2")])
        if minute % 15 == 0 and minute > 0:    # then both send live quarter hours
            await feed(plugin, ctx, [reading(now - timedelta(minutes=15), 1.0, device=d)
                                     for d in ("dev1", "dev2")[:1 if minute < 40 else 2]])
        await plugin.on_schedule(now)
    # Only dev3, which never came back, is raised: one deadline (1 h) after the start,
    # silent since its last interval ended at 10:00Z; 28 quarter hours missing at 17:00Z.
    got = [(a["device"], a["state"], a["since"], a["time"], a["value"]) for a in ctx.alerts()]
    assert got == [("dev3", "raised", "2026-11-24T11:00:00+01:00",
                    "2026-11-24T18:00:00+01:00", 28.0)]
    await plugin.stop()
