"""Power and energy thresholds: exact raise/clear times, hysteresis, minimum duration, DST."""

from __future__ import annotations

from pathlib import Path

from gateway.alerts.lifecycle import Transition
from gateway.alerts.texts import what
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

RULE = {"kind": "threshold", "device": "dev1", "channel": "el1", "metric": "power",
        "above": 3.0, "hysteresis": 0.5, "for_intervals": 2, "clear_intervals": 2,
        "severity": "critical"}


async def test_raise_once_while_hovering_then_clear(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"power": RULE}), ctx, Clock(utc(2026, 11, 24, 12)))
    # Tue 24 Nov 2026 (CET = UTC+1), quarter hours from 00:00Z = 01:00 local.
    powers = [1.0, 1.0, 1.0, 1.0,            # 00:00-01:00Z normal
              3.5, 3.2,                       # 01:00, 01:15Z breach x2 -> raise at 01:30Z
              2.9, 3.1, 2.8, 3.05, 2.6, 3.3, 2.7, 2.9,   # hovering in (2.5, 3.3]: no clear
              2.4, 3.1,                       # one normal, then a breach resets the run
              2.0, 2.2,                       # 04:00, 04:15Z normal x2 -> clear at 04:30Z
              1.0, 1.0]
    await feed(plugin, ctx, series(utc(2026, 11, 24, 0), powers))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T02:00:00+01:00", "2026-11-24T02:30:00+01:00"),
        ("cleared", "2026-11-24T05:00:00+01:00", "2026-11-24T05:30:00+01:00"),
    ]
    raised, cleared = ctx.alerts()
    assert raised["value"] == 3.2 and raised["limit"] == 3.0 and raised["severity"] == "critical"
    assert cleared["peak"] == 3.5 and cleared["value"] == 2.2
    # value, limit and peak are average power: kW (the channel's energy unit is kWh)
    assert raised["backfill"] is False and raised["unit"] == "kW"
    assert raised["channel_unit"] == "kWh"
    await plugin.stop()


async def test_hovering_without_duration_never_raises(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"power": RULE}), ctx, Clock(utc(2026, 11, 24, 12)))
    # Above the limit every other quarter hour: never two in a row.
    await feed(plugin, ctx, series(utc(2026, 11, 24, 0), [3.4, 2.9] * 24))
    assert ctx.alerts() == []
    await plugin.stop()


async def test_gap_breaks_the_run(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"power": RULE}), ctx, Clock(utc(2026, 11, 24, 12)))
    # Breach at 00:00Z, nothing at 00:15Z, breach at 00:30Z and 00:45Z -> raise at 01:00Z.
    readings = series(utc(2026, 11, 24, 0), [4.0, 0.0, 4.0, 4.0])
    await feed(plugin, ctx, [readings[0], *readings[2:]])
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T01:30:00+01:00", "2026-11-24T02:00:00+01:00")]
    await plugin.stop()


async def test_energy_below_limit(tmp_path: Path) -> None:
    ctx = FakeContext()
    rule = {"kind": "threshold", "device": "dev1", "channel": "el1", "metric": "energy",
            "below": 0.1, "hysteresis": 0.02, "for_intervals": 3}
    plugin = await started(config(tmp_path, {"low": rule}), ctx, Clock(utc(2026, 11, 24, 12)))
    # 0.2 kW = 0.05 kWh per quarter hour < 0.1; 0.5 kW = 0.125 kWh >= 0.1 + 0.02;
    # 0.44 kW = 0.11 kWh is inside the hysteresis band (hold).
    powers = [0.8, 0.2, 0.2, 0.2, 0.44, 0.5, 0.5, 0.5]
    await feed(plugin, ctx, series(utc(2026, 11, 24, 8), powers))
    # Raise: breaches at 08:15, 08:30, 08:45Z -> at 09:00Z; 09:00Z is hold.
    # Clear: normal at 09:15, 09:30, 09:45Z -> at 10:00Z, since 09:15Z.
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T09:15:00+01:00", "2026-11-24T10:00:00+01:00"),
        ("cleared", "2026-11-24T10:15:00+01:00", "2026-11-24T11:00:00+01:00"),
    ]
    await plugin.stop()


async def test_spring_forward_night_is_contiguous(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"power": RULE}), ctx, Clock(utc(2026, 3, 29, 12)))
    # Sun 29 Mar 2026: 00:45Z = 01:45 CET, 01:00Z = 03:00 CEST (02:xx does not exist).
    await feed(plugin, ctx, series(utc(2026, 3, 29, 0), [1.0, 1.0, 1.0, 4.0, 4.0, 1.0, 1.0]))
    assert times(ctx.alerts()) == [
        ("raised", "2026-03-29T01:45:00+01:00", "2026-03-29T03:15:00+02:00"),
        ("cleared", "2026-03-29T03:15:00+02:00", "2026-03-29T03:45:00+02:00"),
    ]
    await plugin.stop()


async def test_fall_back_night_repeated_hour(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"power": RULE}), ctx, Clock(utc(2026, 10, 25, 12)))
    # Sun 25 Oct 2026: 00:45Z = 02:45 CEST, 01:00Z = 02:00 CET (the second 02:00).
    await feed(plugin, ctx, series(utc(2026, 10, 25, 0), [1.0, 1.0, 1.0, 4.0, 4.0, 1.0, 1.0]))
    assert times(ctx.alerts()) == [
        ("raised", "2026-10-25T02:45:00+02:00", "2026-10-25T02:15:00+01:00"),
        ("cleared", "2026-10-25T02:15:00+01:00", "2026-10-25T02:45:00+01:00"),
    ]
    await plugin.stop()


async def test_below_limit_is_worded_as_below(tmp_path: Path) -> None:
    ctx = FakeContext()
    rule = {"kind": "threshold", "device": "dev1", "channel": "el1", "above": 5.0,
            "below": 1.0, "hysteresis": 0.2, "for_intervals": 2}
    plugin = await started(config(tmp_path, {"low": rule}), ctx, Clock(utc(2026, 11, 24, 12)))
    # 0.5, 0.4 below 1.0 -> raised at 01:00Z; 0.9 breach, 1.1 hold (< 1.2), 1.3 and 1.5
    # normal -> cleared at 02:00Z. Worst value: 0.4 (farthest under the limit).
    await feed(plugin, ctx, series(utc(2026, 11, 24, 0),
                                   [2.0, 2.0, 0.5, 0.4, 0.9, 1.1, 1.3, 1.5]))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T01:30:00+01:00", "2026-11-24T02:00:00+01:00"),
        ("cleared", "2026-11-24T02:30:00+01:00", "2026-11-24T03:00:00+01:00"),
    ]
    raised, cleared = ctx.alerts()
    assert raised["message"] == "Average power 0.40 kW below the limit of 1.00 kW"
    assert cleared["message"] == ("Back to normal. While active: Average power 0.40 kW below "
                                  "the limit of 1.00 kW")
    assert raised["unit"] == "kW"
    t = Transition("raised", "low|dev1|el1", "low", "scuola", "dev1", "el1",
                   utc(2026, 11, 24, 1), utc(2026, 11, 24, 0, 30), 0.4, 1.0)
    assert what(t, plugin.rules["low"], "it", "kWh") == \
        "Potenza media 0,40 kW sotto la soglia di 1,00 kW"
    await plugin.stop()
