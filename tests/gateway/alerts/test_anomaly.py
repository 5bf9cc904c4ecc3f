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
