"""Anomaly rules: rolling weekday/time-of-day profile (median, MAD) and baseline residuals."""

from __future__ import annotations

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

NIGHT = {"kind": "anomaly", "device": "dev1", "channel": "el1", "k": 3.0, "clear_k": 2.0,
         "for_intervals": 3, "weeks": 4, "min_weeks": 3, "min_sigma": 0.1,
         "min_rel_sigma": 0.05}


async def test_night_base_load_doubles(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"night": NIGHT}), ctx, Clock(utc(2026, 11, 25)))
    # Tuesday nights 00:00-06:00 local (23:00Z the day before) of three earlier weeks at
    # 1.0, 1.1 and 0.9 kW: median 1.0, MAD 0.1, sigma = 1.4826 x 0.1 = 0.14826 kW.
    # Breach above 1.0 + 3 x 0.14826 = 1.44478; normal at or below 1.0 + 2 x 0.14826 = 1.29652.
    for day, kw in ((3, 1.0), (10, 1.1), (17, 0.9)):
        await feed(plugin, ctx, series(utc(2026, 11, day - 1, 23), [kw] * 24))
    assert ctx.alerts() == []
    # Tue 24 Nov: 1.0 until 02:00 local, 2.0 at 02:00/02:15/02:30 -> raised at 02:45 local;
    # 1.4 (hold) at 02:45 and 03:00, then 1.0 at 03:15/03:30/03:45 -> cleared at 04:00 local.
    night = [1.0] * 8 + [2.0] * 3 + [1.4] * 2 + [1.0] * 11
    await feed(plugin, ctx, series(utc(2026, 11, 23, 23), night))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T02:00:00+01:00", "2026-11-24T02:45:00+01:00"),
        ("cleared", "2026-11-24T03:15:00+01:00", "2026-11-24T04:00:00+01:00"),
    ]
    details = ctx.alerts()[0]["details"]
    assert details["source"] == "profile" and details["samples"] == 3
    assert details["expected"] == pytest.approx(1.0)
    assert details["sigma"] == pytest.approx(0.14826, abs=1e-6)
    # The clear tells the worst interval (2.0 kW, z = 1.0 / 0.14826 = 6.74) with its own
    # expected value, not the expected value and z of the interval that cleared it.
    assert ctx.alerts("cleared")[0]["message"] == (
        "Back to normal. While active: Power 2.00 kW against 1.00 kW expected "
        "(6.7 standard deviations)")
    await plugin.stop()


async def test_profile_needs_min_weeks(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"night": NIGHT}), ctx, Clock(utc(2026, 11, 25)))
    for day in (10, 17):                                  # two weeks only
        await feed(plugin, ctx, series(utc(2026, 11, day - 1, 23), [1.0] * 24))
    await feed(plugin, ctx, series(utc(2026, 11, 23, 23), [5.0] * 24))
    assert ctx.alerts() == []
    await plugin.stop()


async def test_profile_prefilled_from_stored_series(tmp_path: Path) -> None:
    ctx = FakeContext()
    for day, kw in ((3, 1.0), (10, 1.1), (17, 0.9)):     # stored before the plugin starts
        for r in series(utc(2026, 11, day - 1, 23), [kw] * 24):
            ctx.stored.setdefault((r.device, r.channel), {})[r.start] = r
    plugin = await started(config(tmp_path, {"night": NIGHT}), ctx, Clock(utc(2026, 11, 23)))
    await feed(plugin, ctx, series(utc(2026, 11, 23, 23), [1.0] * 8 + [2.0] * 3))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T02:00:00+01:00", "2026-11-24T02:45:00+01:00")]
    await plugin.stop()


def prediction(start: str, kwh: float, sigma: float) -> PluginResult:
    return PluginResult(plugin="baselines", name="expected", device="dev1",
                        payload={"channel": "el1", "length_s": 3600,
                                 "intervals": [{"start": start, "expected": kwh,
                                                "sigma": sigma}]})


@pytest.mark.parametrize("readings_first", [True, False])
async def test_baseline_residual(tmp_path: Path, readings_first: bool) -> None:
    ctx = FakeContext()
    rule = {**NIGHT, "source": "baseline"}
    plugin = await started(config(tmp_path, {"model": rule}), ctx, Clock(utc(2026, 11, 24, 12)))
    # Hourly model: 4 kWh/h = 4 kW, sigma 0.5 kW -> breach above 5.5 kW.
    # Quarter hours from 09:00Z (10:00 local): 6, 6, 6 kW -> raised at 09:45Z (10:45 local).
    readings = series(utc(2026, 11, 24, 9), [6.0, 6.0, 6.0, 4.0])
    results = [prediction("2026-11-24T09:00:00Z", 4.0, 0.5)]
    if readings_first:
        await feed(plugin, ctx, readings)
        assert ctx.alerts() == []                       # waiting for the prediction
        for r in results:
            await plugin.on_result(r)
    else:
        for r in results:
            await plugin.on_result(r)
        await feed(plugin, ctx, readings)
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T10:00:00+01:00", "2026-11-24T10:45:00+01:00")]
    details = ctx.alerts()[0]["details"]
    assert details["source"] == "baseline" and details["z"] == pytest.approx(4.0)
    await plugin.stop()


def predictions(kw: float, sigma: float, *starts: str) -> PluginResult:
    """One result with hourly predictions, as expected_profile publishes its lookback hours."""
    return PluginResult(plugin="expected_profile", name="expected", device="dev1",
                        payload={"channel": "el1", "length_s": 3600,
                                 "intervals": [{"start": s, "expected": kw, "sigma": sigma}
                                               for s in starts]})


async def test_auto_waits_for_a_late_prediction_then_falls_back_to_the_profile(
        tmp_path: Path) -> None:
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 20))
    plugin = await started(config(tmp_path, {"auto": NIGHT}), ctx, clock)
    # Three earlier Tuesdays: 6 kW from 09:00Z to 10:00Z, 4 kW from 10:00Z to 12:00Z.
    for day in (3, 10, 17):
        await feed(plugin, ctx, series(utc(2026, 11, day, 9), [6.0] * 4 + [4.0] * 8))
    # Tue 24 Nov: the baseline has spoken for this channel (an earlier hour) ...
    clock.now = utc(2026, 11, 24, 9)
    await plugin.on_result(predictions(4.0, 0.5, "2026-11-24T08:00:00Z"))
    # ... so the readings wait for theirs instead of being judged by the profile, which
    # would call 6 kW at 09:xxZ normal.
    clock.now = utc(2026, 11, 24, 10)
    await feed(plugin, ctx, series(utc(2026, 11, 24, 9), [6.0, 6.0, 6.0, 4.0]))
    assert ctx.alerts() == []
    # The hourly prediction arrives after its readings: 4 kW, sigma 0.5 -> z = 4 > 3 for
    # 09:00, 09:15, 09:30Z -> raised at 09:45Z; 09:45Z at 4 kW is normal (run of 1).
    clock.now = utc(2026, 11, 24, 10, 5)
    await plugin.on_result(predictions(4.0, 0.5, "2026-11-24T09:00:00Z"))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T10:00:00+01:00", "2026-11-24T10:45:00+01:00")]
    assert ctx.alerts()[0]["details"]["source"] == "baseline"
    # No prediction ever comes for 10:00-12:00Z: each reading waits 3 h after its end, then
    # the profile (median 4 kW) judges it normal. 10:00Z ends 10:15Z -> judged at 13:15Z;
    # 10:15Z at 13:30Z completes three normal intervals -> cleared at 10:30Z (11:30 local).
    clock.now = utc(2026, 11, 24, 12)
    await feed(plugin, ctx, series(utc(2026, 11, 24, 10), [4.0] * 8))
    for t in (utc(2026, 11, 24, 12, 1), utc(2026, 11, 24, 13, 14), utc(2026, 11, 24, 13, 15)):
        clock.now = t
        await plugin.on_schedule(t)
    assert len(ctx.alerts()) == 1
    clock.now = utc(2026, 11, 24, 13, 30)
    await plugin.on_schedule(clock.now)
    assert times(ctx.alerts("cleared")) == [
        ("cleared", "2026-11-24T10:45:00+01:00", "2026-11-24T11:30:00+01:00")]
    assert ctx.alerts("cleared")[0]["details"]["source"] == "profile"
    await plugin.stop()


async def test_baseline_mode_clears_when_the_residual_is_back(tmp_path: Path) -> None:
    ctx, clock = FakeContext(), Clock(utc(2026, 11, 24, 11))
    plugin = await started(config(tmp_path, {"model": {**NIGHT, "source": "baseline"}}),
                           ctx, clock)
    # 4 kW expected, sigma 0.5: breach above 5.5 kW, normal at or below 5.0 kW, hold between.
    # 6, 6, 6 -> raised at 09:45Z; 5.2 (z = 2.4) holds; 4, 4, 4 -> cleared at 10:45Z.
    await feed(plugin, ctx, series(utc(2026, 11, 24, 9), [6.0, 6.0, 6.0, 5.2, 4.0, 4.0, 4.0]))
    assert ctx.alerts() == []
    await plugin.on_result(predictions(4.0, 0.5, "2026-11-24T09:00:00Z",
                                       "2026-11-24T10:00:00Z"))
    assert times(ctx.alerts()) == [
        ("raised", "2026-11-24T10:00:00+01:00", "2026-11-24T10:45:00+01:00"),
        ("cleared", "2026-11-24T11:00:00+01:00", "2026-11-24T11:45:00+01:00")]
    await plugin.stop()


async def test_profile_on_the_dst_sunday_judges_both_0200_hours(tmp_path: Path) -> None:
    ctx = FakeContext()
    plugin = await started(config(tmp_path, {"night": NIGHT}), ctx, Clock(utc(2026, 10, 26)))
    # Sundays 4, 11, 18 Oct (CEST): 00:00-06:00 local = 22:00Z the day before, 24 quarter
    # hours at 1.0, 1.1, 0.9 kW -> median 1.0, sigma 0.14826: breach above 1.44478 kW.
    for day, kw in ((3, 1.0), (10, 1.1), (17, 0.9)):
        await feed(plugin, ctx, series(utc(2026, 10, day, 22), [kw] * 24))
    # Sunday 25 Oct 2026, clocks go back at 03:00 CEST: 00:00 local to 06:00 CET is 7 hours.
    # The first 02:xx (CEST, 00:00-01:00Z) is normal; the second (CET, 01:00-02:00Z) at 3 kW
    # -> raised at 02:45 CET after three; 03:00, 03:15, 03:30 CET normal -> cleared 03:45.
    night = [1.0] * 12 + [3.0] * 4 + [1.0] * 12
    await feed(plugin, ctx, series(utc(2026, 10, 24, 22), night))
    assert times(ctx.alerts()) == [
        ("raised", "2026-10-25T02:00:00+01:00", "2026-10-25T02:45:00+01:00"),
        ("cleared", "2026-10-25T03:00:00+01:00", "2026-10-25T03:45:00+01:00")]
    assert ctx.alerts()[0]["details"]["expected"] == pytest.approx(1.0)
    await plugin.stop()
