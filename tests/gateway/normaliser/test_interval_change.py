"""A channel whose interval length changes keeps normalising: nothing lost, nothing twice.

Board frames go over real TCP through the writer into SQLite; the normaliser reads them back.
T0 is an hour boundary (UTC). A 15-min register is the count at the END of its interval, so
after quarters ending at T0+3600 with 1300 Wh, an hour T0+3600..T0+7200 ending at 1700 Wh holds
1700 - 1300 = 400 Wh = 0.4 kWh.
"""

from __future__ import annotations

from pathlib import Path

from tests.gateway.ingest.board import T0
from tests.gateway.normaliser.helpers import block, frame, running

EL = {0: {"name": "el1", "kind": "electric", "unit": "Wh"}}
Q, H = 900, 3600


async def test_quarter_hours_then_hours(tmp_path: Path) -> None:
    async with running(tmp_path, EL) as env:
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000, 1100, 1200, 1300])))
        await env.drain()
        await env.send(frame(env.did, 2, block(0, "Wh", H, T0 + H, [1700, 2100])))
        await env.drain()
        assert await env.series("el1") == [
            (T0 + Q, Q, 0.1, []), (T0 + 2 * Q, Q, 0.1, []), (T0 + 3 * Q, Q, 0.1, []),
            (T0 + H, H, 0.4, []), (T0 + 2 * H, H, 0.4, [])]
        assert env.normaliser.counters["skipped_invalid"] == 0
        # and it goes on after the change
        await env.send(frame(env.did, 3, block(0, "Wh", H, T0 + 3 * H, [2600])))
        await env.drain()
        assert (await env.series("el1"))[-1] == (T0 + 3 * H, H, 0.5, [])


async def test_hours_then_quarter_hours(tmp_path: Path) -> None:
    async with running(tmp_path, EL) as env:
        await env.send(frame(env.did, 1, block(0, "Wh", H, T0, [1000, 1400])))
        await env.send(frame(env.did, 2, block(0, "Wh", Q, T0 + 2 * H, [1500, 1650])))
        await env.drain()
        assert await env.series("el1") == [
            (T0 + H, H, 0.4, []), (T0 + 2 * H, Q, 0.1, []), (T0 + 2 * H + Q, Q, 0.15, [])]


async def test_switch_off_the_hour_lumps_the_half_hour_and_flags_it(tmp_path: Path) -> None:
    # Quarters T0 and T0+900 end at T0+1800 (hh:30) with 1100 Wh. The first hour T0+3600
    # ends at 1700: its 600 Wh include hh:30-hh:00 that no interval reported: flagged "gap".
    async with running(tmp_path, EL) as env:
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000, 1100])))
        await env.drain()
        await env.send(frame(env.did, 2, block(0, "Wh", H, T0 + H, [1700, 2000])))
        await env.drain()
        assert await env.series("el1") == [
            (T0 + Q, Q, 0.1, []), (T0 + H, H, 0.6, ["gap"]), (T0 + 2 * H, H, 0.3, [])]
        total_wh = round(sum(v for _s, _n, v, _f in await env.series("el1")) * 1000)
        assert total_wh == 2000 - 1000        # every Wh counted once


async def test_hour_overlapping_normalised_quarters_is_not_counted_twice(tmp_path: Path) -> None:
    async with running(tmp_path, EL) as env:
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000, 1100, 1200, 1300])))
        await env.drain()
        # an hour starting at T0 covers quarters already normalised: ignored, not re-counted
        await env.send(frame(env.did, 2, block(0, "Wh", H, T0, [1300])))
        await env.drain()
        assert [(s, n) for s, n, _v, _f in await env.series("el1")] == [
            (T0 + Q, Q), (T0 + 2 * Q, Q), (T0 + 3 * Q, Q)]
