"""Daily energy (local days of 23, 24 and 25 hours) and band-share rules."""

from __future__ import annotations

from pathlib import Path

import pytest

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


async def test_daily_energy_above_on_the_25_hour_day(tmp_path: Path) -> None:
    ctx = FakeContext()
    rule = {"kind": "daily_energy", "device": "dev1", "channel": "el1", "above": 24.5,
            "hysteresis": 1.0}
    plugin = await started(config(tmp_path, {"day": rule}), ctx, Clock(utc(2026, 10, 27)))
    # 1 kW all the time: Sat 24 Oct = 96 quarter hours = 24 kWh (hold: 23.5 < 24 <= 24.5),
    # Sun 25 Oct = 100 quarter hours = 25 kWh (breach), Mon 26 Oct at 0.5 kW = 12 kWh.
    # 24 Oct local starts 23 Oct 22:00Z; 26 Oct local ends 26 Oct 23:00Z.
    readings = series(utc(2026, 10, 23, 22), [1.0] * (96 + 100)) + series(
        utc(2026, 10, 25, 23), [0.5] * 96)
    await feed(plugin, ctx, readings)
    assert times(ctx.alerts()) == [
        ("raised", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"),
        ("cleared", "2026-10-26T00:00:00+01:00", "2026-10-27T00:00:00+01:00"),
    ]
    raised, cleared = ctx.alerts()
    assert raised["value"] == pytest.approx(25.0)
    assert raised["details"]["intervals"] == 100 and raised["details"]["complete"] is True
    assert cleared["value"] == pytest.approx(12.0)
    await plugin.stop()


async def test_daily_energy_below_on_the_23_hour_day(tmp_path: Path) -> None:
    ctx = FakeContext()
    rule = {"kind": "daily_energy", "device": "dev1", "channel": "el1", "below": 23.5,
            "hysteresis": 0.2}
    plugin = await started(config(tmp_path, {"day": rule}), ctx, Clock(utc(2026, 3, 31)))
    # Sat 28 Mar: 24 kWh (normal), Sun 29 Mar: 92 quarter hours = 23 kWh (breach),
    # Mon 30 Mar: 24 kWh (normal: >= 23.7). 28 Mar local starts 27 Mar 23:00Z.
    await feed(plugin, ctx, series(utc(2026, 3, 27, 23), [1.0] * (96 + 92 + 96)))
    assert times(ctx.alerts()) == [
        ("raised", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
        ("cleared", "2026-03-30T00:00:00+02:00", "2026-03-31T00:00:00+02:00"),
    ]
    assert ctx.alerts()[0]["value"] == pytest.approx(23.0)
    assert ctx.alerts()[0]["unit"] == "kWh"
    assert ctx.alerts()[0]["message"] == "Energy of the day 23.00 kWh below the limit of " \
        "23.50 kWh"
    await plugin.stop()


async def test_incomplete_day_is_not_too_low(tmp_path: Path) -> None:
    ctx = FakeContext()
    rule = {"kind": "daily_energy", "device": "dev1", "channel": "el1", "below": 20.0}
    plugin = await started(config(tmp_path, {"day": rule}), ctx, Clock(utc(2026, 11, 26)))
    # Tue 24 Nov: only the first 48 quarter hours (12 kWh), then Wed 25 Nov complete.
    day1 = series(utc(2026, 11, 23, 23), [1.0] * 48)
    day2 = series(utc(2026, 11, 24, 23), [1.0] * 96)
    await feed(plugin, ctx, day1 + day2)
    assert ctx.alerts() == []
    await plugin.stop()


async def test_f1_share_above(tmp_path: Path) -> None:
    ctx = FakeContext()
    rule = {"kind": "band_share", "device": "dev1", "channel": "el1", "band": "F1",
            "above": 60.0, "hysteresis": 5.0}
    plugin = await started(config(tmp_path, {"f1": rule}), ctx, Clock(utc(2026, 11, 27)))
    # Tue 24 Nov (working day, CET): F1 = 08-19 local = 07:00-18:00Z, 44 quarter hours.
    # Day 1: 2 kW in F1, 1 kW elsewhere: F1 22 kWh of 22 + 52 x 0.25 = 35 -> 62.857 %.
    # Day 2 (Wed): 1 kW everywhere: F1 11 of 24 kWh = 45.8 % (normal, <= 55 %).
    from_utc_midnight = [2.0 if 7 <= i // 4 < 18 else 1.0 for i in range(92)]
    readings = (series(utc(2026, 11, 23, 23), [1.0] * 4) +          # 00:00-01:00 local
                series(utc(2026, 11, 24, 0), from_utc_midnight) +   # 01:00-24:00 local
                series(utc(2026, 11, 24, 23), [1.0] * 96))
    await feed(plugin, ctx, readings)
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T00:00:00+01:00", "2026-11-25T00:00:00+01:00"),
        ("cleared", "2026-11-25T00:00:00+01:00", "2026-11-26T00:00:00+01:00"),
    ]
    raised, cleared = ctx.alerts()
    assert raised["value"] == pytest.approx(100 * 22 / 35)
    assert cleared["value"] == pytest.approx(100 * 11 / 24)
    assert raised["unit"] == "%" and raised["channel_unit"] == "kWh"
    await plugin.stop()
