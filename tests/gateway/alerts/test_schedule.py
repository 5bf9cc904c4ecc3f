"""Closed-building and gas-outside-heating rules: opening hours, holidays, heating season."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

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

CLOSED = {"kind": "closed_building", "device": "dev1", "channel": "el1",
          "open": {"mon-fri": ["08:00-18:00"]}, "base_load_kw": 2.0,
          "base_load_heating_kw": 3.0, "hysteresis": 0.2, "for_intervals": 4,
          "clear_intervals": 4, "closures": ["2026-12-07"]}
# Seed 003, Tabella 2.3: the Genova school's heating clock (Nov-Feb), zone D.
GAS = {"kind": "gas_outside_heating", "device": "dev1", "channel": "gas",
       "heating": {"mon": ["00:00-17:30"], "tue": ["05:00-17:30"], "wed-fri": ["05:00-12:00"]},
       "max_flow": 0.1, "hysteresis": 0.05, "for_intervals": 2}


def quarter_hours(start: datetime, hours: int, power_at: object) -> list[float]:
    return [power_at(start + timedelta(minutes=15 * i)) for i in range(hours * 4)]  # type: ignore[operator]


async def test_heating_ran_all_weekend(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"closed": CLOSED}), ctx, Clock(utc(2026, 12, 1)))
    start = utc(2026, 11, 27, 16)            # Fri 17:00 local, building still open

    def kw(t: datetime) -> float:
        if t < utc(2026, 11, 27, 17):
            return 6.0                       # open: says nothing
        return 5.0 if t < utc(2026, 11, 29, 19) else 1.0   # until Sun 20:00 local
    await feed(plugin, ctx, series(start, quarter_hours(start, 64, kw)))
    # First closed quarter hour: Fri 18:00 local; four of them -> raised at 19:00 local.
    # From Sun 20:00 local, four at 1 kW (<= 3.0 - 0.2, heating season) -> cleared 21:00.
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-27T18:00:00+01:00", "2026-11-27T19:00:00+01:00"),
        ("cleared", "2026-11-29T20:00:00+01:00", "2026-11-29T21:00:00+01:00"),
    ]
    assert ctx.alerts()[0]["limit"] == 3.0  # heating-season base load
    await plugin.stop()


async def test_closed_building_across_the_autumn_clock_change(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"closed": CLOSED}), ctx, Clock(utc(2026, 10, 26)))
    # Sun 25 Oct 2026 (before the zone D season: limit 2.0). From 24 Oct 22:00Z = 00:00 CEST:
    # 1 kW for an hour, 3 kW for 3 real hours (01:00 CEST .. 03:00 CET), then 1 kW.
    powers = [1.0] * 4 + [3.0] * 12 + [1.0] * 8
    await feed(plugin, ctx, series(utc(2026, 10, 24, 22), powers))
    # Raised after 4 quarter hours: 23:00Z + 1 h = 00:00Z = 02:00 CEST (the first 02:00).
    # Cleared after 4 at 1 kW from 02:00Z = 03:00 CET: 03:00Z = 04:00 CET.
    assert times(ctx.alerts()) == [
        ("raised", "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00"),
        ("cleared", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"),
    ]
    await plugin.stop()


async def test_holiday_and_closure_days_are_closed(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"closed": CLOSED}), ctx, Clock(utc(2026, 12, 10)))
    # 10:00-12:00 local at 3.5 kW, then 1 kW, on Mon 7 Dec (closure from the rule),
    # Tue 8 Dec (Immacolata, national) and Wed 9 Dec (an ordinary open day: no alert).
    for day in (7, 8, 9):
        start = utc(2026, 12, day, 9)
        await feed(plugin, ctx, series(start, [3.5] * 8 + [1.0] * 8))
    assert times(ctx.alerts()) == [
        ("raised", "2026-12-07T10:00:00+01:00", "2026-12-07T11:00:00+01:00"),
        ("cleared", "2026-12-07T12:00:00+01:00", "2026-12-07T13:00:00+01:00"),
        ("raised", "2026-12-08T10:00:00+01:00", "2026-12-08T11:00:00+01:00"),
        ("cleared", "2026-12-08T12:00:00+01:00", "2026-12-08T13:00:00+01:00"),
    ]
    await plugin.stop()


async def test_base_load_outside_the_heating_season(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"closed": CLOSED}), ctx, Clock(utc(2026, 7, 1)))
    # 2.5 kW for an hour on Sat 16 May (zone D season ends 15 Apr, limit 2.0), 10:00 CEST
    # = 08:00Z, and on Wed 24 Jun, San Giovanni, Genova's patron saint (a site holiday).
    await feed(plugin, ctx, series(utc(2026, 5, 16, 8), [2.5] * 4 + [1.0] * 4))
    await feed(plugin, ctx, series(utc(2026, 6, 24, 8), [2.5] * 4 + [1.0] * 4))
    # The same on Sat 28 Nov (heating season, limit 3.0): nothing.
    await feed(plugin, ctx, series(utc(2026, 11, 28, 9), [2.5] * 4 + [1.0] * 4))
    assert times(ctx.alerts()) == [
        ("raised", "2026-05-16T10:00:00+02:00", "2026-05-16T11:00:00+02:00"),
        ("cleared", "2026-05-16T11:00:00+02:00", "2026-05-16T12:00:00+02:00"),
        ("raised", "2026-06-24T10:00:00+02:00", "2026-06-24T11:00:00+02:00"),
        ("cleared", "2026-06-24T11:00:00+02:00", "2026-06-24T12:00:00+02:00"),
    ]
    assert [a["limit"] for a in ctx.alerts("raised")] == [2.0, 2.0]
    await plugin.stop()


async def test_gas_after_the_heating_clock(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"gas": GAS}), ctx, Clock(utc(2026, 11, 26)))

    def hourly(day_start: datetime, on_hours: range) -> list[float]:
        return [3.0 if h in on_hours else 0.0 for h in range(24)]
    # Mon 23 Nov: gas 00-18 local; the 17:00 hour overlaps the 17:30 stop: no alert.
    # Wed 25 Nov: gas 05-15 local; the clock stops at 12:00 -> 12:00 and 13:00 breach.
    mon, wed = utc(2026, 11, 22, 23), utc(2026, 11, 24, 23)
    await feed(plugin, ctx, series(mon, hourly(mon, range(0, 18)), length_s=3600,
                                   channel="gas", unit="Smc"))
    await feed(plugin, ctx, series(wed, hourly(wed, range(5, 15)), length_s=3600,
                                   channel="gas", unit="Smc"))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-25T12:00:00+01:00", "2026-11-25T14:00:00+01:00"),
        ("cleared", "2026-11-25T15:00:00+01:00", "2026-11-25T17:00:00+01:00"),
    ]
    assert ctx.alerts()[0]["value"] == 3.0 and ctx.alerts()[0]["unit"] == "Smc/h"
    await plugin.stop()


async def test_gas_outside_the_heating_season(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"gas": GAS}), ctx, Clock(utc(2026, 5, 21)))
    # Wed 20 May (outside 1 Nov - 15 Apr): 2 Smc/h at 06:00 and 07:00 CEST (04:00Z, 05:00Z).
    flows = [0.0] * 4 + [2.0, 2.0] + [0.0] * 4
    await feed(plugin, ctx, series(utc(2026, 5, 20, 0), flows, length_s=3600, channel="gas",
                                   unit="Smc"))
    assert times(ctx.alerts()) == [
        ("raised", "2026-05-20T06:00:00+02:00", "2026-05-20T08:00:00+02:00"),
        ("cleared", "2026-05-20T08:00:00+02:00", "2026-05-20T10:00:00+02:00"),
    ]
    await plugin.stop()
