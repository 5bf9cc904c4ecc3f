"""Daily gas totals by gas day (06:00-06:00 Europe/Rome), including the 23 h and 25 h days.

Hourly gas frames go over real TCP through the writer and the normaliser into SQLite. Each hour
meters 1000 L = 1 m³. At LODI C = 1.035204 (tests/gateway/service/test_normaliser.py), so an
hour is 1.035204 Smc and round(1.035204 x 9.4227, 6) = 9.754417 kWh.
- Gas day 2026-03-28 runs 06:00 CET Sat (05:00 UTC) to 06:00 CEST Sun 29 (04:00 UTC): 23 h,
  23 x 1.035204 = 23.809692 Smc, 23 x 9.754417 = 224.351591 kWh.
- Gas day 2026-10-24 runs 06:00 CEST Sat (04:00 UTC) to 06:00 CET Sun 25 (05:00 UTC): 25 h,
  25 x 1.035204 = 25.8801 Smc, 25 x 9.754417 = 243.860425 kWh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from gateway.store.series import gas_daily_totals
from tests.gateway.normaliser.helpers import block, frame, running

GAS = {1: {"name": "gas", "kind": "gas", "unit": "L"}}


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


async def totals(env: object, first: date, last: date) -> list[object]:
    return await env.stack.db.read(  # type: ignore[attr-defined]
        gas_daily_totals, env.dev, "gas", first, last)  # type: ignore[attr-defined]


async def test_spring_gas_day_has_23_hours(tmp_path: Path) -> None:
    async with running(tmp_path, GAS) as env:
        # baseline 04:00 UTC (05:00 CET, gas day 27th), 23 hours of the 28th, 1 of the 29th
        n = 1 + 23 + 1
        await env.send(frame(env.did, 1, block(1, "L", 3600, ts(2026, 3, 28, 4),
                                               [50_000 + 1000 * i for i in range(n)])))
        await env.drain()
        days = await totals(env, date(2026, 3, 28), date(2026, 3, 29))
        d28, d29 = days
        assert (d28.day, d28.smc, d28.kwh, d28.m3) == (date(2026, 3, 28), 23.809692,
                                                     224.351591, 23.0)
        assert (d28.covered_s, d28.length_s, d28.complete) == (23 * 3600, 82800, True)
        assert (d29.day, d29.smc, d29.complete) == (date(2026, 3, 29), 1.035204, False)


async def test_autumn_gas_day_has_25_hours(tmp_path: Path) -> None:
    async with running(tmp_path, GAS) as env:
        n = 1 + 25 + 1      # baseline 03:00 UTC (05:00 CEST), 25 h of the 24th, 1 of the 25th
        await env.send(frame(env.did, 1, block(1, "L", 3600, ts(2026, 10, 24, 3),
                                               [50_000 + 1000 * i for i in range(n)])))
        await env.drain()
        (d24,) = await totals(env, date(2026, 10, 24), date(2026, 10, 24))
        assert (d24.smc, d24.kwh, d24.m3) == (25.8801, 243.860425, 25.0)
        assert (d24.covered_s, d24.length_s, d24.complete) == (25 * 3600, 90000, True)
        assert d24.flags == frozenset()


async def test_a_missing_hour_makes_the_day_incomplete(tmp_path: Path) -> None:
    async with running(tmp_path, GAS) as env:
        regs = [50_000 + 1000 * i for i in range(26)]
        start = ts(2026, 10, 24, 3)
        del regs[10]        # hour 13:00 UTC never arrives: the next one closes a gap
        await env.send(frame(env.did, 1, block(1, "L", 3600, start, regs[:10])),
                       frame(env.did, 2, block(1, "L", 3600, start + 11 * 3600, regs[10:])))
        await env.drain()
        (d24,) = await totals(env, date(2026, 10, 24), date(2026, 10, 24))
        # spread over the gap: nothing lost, the estimate is flagged
        assert d24.smc == 25.8801 and d24.complete
        assert {"estimated", "gap"} <= d24.flags
