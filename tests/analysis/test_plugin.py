"""The analysis plugins against a fake host context: config checks, results, errors."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gateway.alerts.anomaly import Predictions
from gateway.analysis.plugin import BaselinePlugin, ExpectedProfilePlugin
from gateway.model import PluginResult, Reading
from gateway.plugins.hookspecs import HOOKS


class FakeContext:
    """What the host gives a plugin: series() over in-memory readings, publish() collects."""

    def __init__(self, data: dict[tuple[str, str], list[Reading]]) -> None:
        self.name = "analysis-test"
        self.logger = logging.getLogger("test")
        self.data = data
        self.published: list[PluginResult] = []

    async def publish(self, result: PluginResult) -> None:
        self.published.append(result)

    async def series(self, *, device: str, channel: str, start: datetime,
                     end: datetime) -> list[Reading]:
        return [r for r in self.data.get((device, channel), []) if start <= r.start < end]

    def sites(self) -> dict[str, dict[str, Any]]:
        return {}


def _reading(device: str, channel: str, start: datetime, length: int, value: float,
             unit: str) -> Reading:
    return Reading(site="s", device=device, channel=channel, quantity="gas_volume",
                   start=start, length_s=length, value=value, unit=unit, register=0,
                   register_unit="L")


def _gas_site(days: int, savings_from: date | None) -> dict[tuple[str, str], list[Reading]]:
    """Hourly gas (Smc) driven by 3 Smc per °C·day below 16 °C, and hourly temperature."""
    rng = np.random.default_rng(3)
    t0 = datetime(2022, 12, 31, 23, tzinfo=UTC)          # 1 Jan 2023 00:00 in Rome
    gas, temp = [], []
    for d in range(days):
        day_start = t0 + timedelta(days=d)
        local_day = (day_start + timedelta(hours=1)).date()
        t_day = 13 - 9 * np.cos(2 * np.pi * (d - 15) / 365.25) + rng.normal(0, 2)
        use = 2.0 + 3.0 * max(16.0 - t_day, 0.0)
        if savings_from is not None and local_day >= savings_from:
            use *= 0.8
        for h in range(24):
            s = day_start + timedelta(hours=h)
            temp.append(_reading("meteo", "t_out", s, 3600, float(t_day), "degC"))
            gas.append(_reading("g1", "gas", s, 3600, use / 24 + rng.normal(0, 0.01), "Smc"))
    return {("g1", "gas"): gas, ("meteo", "t_out"): temp}


CONFIG = {"device": "g1", "channel": "gas", "baseline_start": "2023-01-01",
          "baseline_end": "2024-01-01", "reporting_start": "2024-01-01",
          "temperature": {"device": "meteo", "channel": "t_out"}}


def test_plugins_define_only_contract_hooks() -> None:
    for cls in (BaselinePlugin, ExpectedProfilePlugin):
        hooks = [n for n in vars(cls) if n.startswith("on_") or n in ("start", "stop", "run",
                                                                      "validate_config")]
        assert hooks and set(hooks) <= set(HOOKS)
        assert isinstance(cls.schedule_s, int)


def test_validate_config_names_key_paths() -> None:
    assert BaselinePlugin.validate_config(CONFIG) == []
    bad = BaselinePlugin.validate_config({"device": "g1", "baseline_start": "2023-13-01",
                                          "period": "weekly", "strict_caltrack": "yes"})
    assert any(p.startswith("channel:") for p in bad)
    assert any(p.startswith("strict_caltrack:") for p in bad)
    assert BaselinePlugin.validate_config({**CONFIG, "strict_caltrack": True}) == []
    assert any(p.startswith("baseline_start:") for p in bad)
    assert any(p.startswith("baseline_end:") for p in bad)
    assert any(p.startswith("temperature:") for p in bad)
    assert any(p.startswith("period:") for p in bad)
    assert ExpectedProfilePlugin.validate_config({"device": "e", "channel": "el1"}) == []
    assert ExpectedProfilePlugin.validate_config(
        {"device": "e", "channel": "el1", "training_days": 3})[0].startswith("training_days:")
    assert ExpectedProfilePlugin.validate_config(
        {"device": "e", "channel": "el1", "training_days": "8 weeks"})[0].startswith(
        "training_days:")


async def test_baseline_plugin_publishes_model_and_savings() -> None:
    ctx = FakeContext(_gas_site(730, savings_from=date(2024, 1, 1)))
    plugin = BaselinePlugin(CONFIG, ctx)
    await plugin.on_schedule(datetime(2024, 12, 31, 12, tzinfo=UTC))
    names = [r.name for r in ctx.published]
    assert names == ["degree_day_baseline", "savings"]
    base = ctx.published[0].payload
    assert base["model_type"] == "hdd_only"
    assert base["heating_balance_point_c"] == pytest.approx(16.0, abs=1.0)
    assert base["heating_slope_per_degree_day"] == pytest.approx(3.0, rel=0.05)
    sav = ctx.published[1].payload
    # reporting simulated at 80 % of the baseline relationship
    assert sav["savings_pct"] == pytest.approx(20.0, abs=1.0)
    assert sav["channel"] == "gas"


async def test_monthly_period_runs_only_on_the_first() -> None:
    ctx = FakeContext(_gas_site(400, savings_from=None))
    plugin = BaselinePlugin(CONFIG | {"period": "monthly", "reporting_start": "2024-01-01"},
                            ctx)
    await plugin.on_schedule(datetime(2024, 2, 15, 12, tzinfo=UTC))
    assert ctx.published == []
    await plugin.on_schedule(datetime(2024, 2, 1, 12, tzinfo=UTC))
    assert ctx.published[0].name == "degree_day_baseline"


async def test_insufficient_data_is_published_as_status_not_a_number() -> None:
    ctx = FakeContext(_gas_site(120, savings_from=None))
    plugin = BaselinePlugin(CONFIG, ctx)
    await plugin.on_schedule(datetime(2024, 2, 1, 12, tzinfo=UTC))
    assert [r.name for r in ctx.published] == ["analysis_status"]
    status = ctx.published[0].payload
    assert status["ok"] is False and status["error"] == "InsufficientDataError"
    assert status["input"] == "baseline"
    assert "120" in status["message"] and "365" in status["message"]


def _office(weeks: int) -> dict[tuple[str, str], list[Reading]]:
    t0 = datetime(2024, 1, 7, 23, tzinfo=UTC)            # Monday 8 Jan 2024 00:00 in Rome
    out = []
    for i in range(weeks * 7 * 96):
        s = t0 + timedelta(minutes=15 * i)
        local = s + timedelta(hours=1)
        working = local.weekday() < 5 and 8 <= local.hour < 18
        kw = 3.0 + (12.0 if working else 0.0)
        out.append(Reading(site="s", device="e1", channel="el1", quantity="energy_import",
                           start=s, length_s=900, value=kw / 4, unit="kWh", register=0,
                           register_unit="Wh"))
    return {("e1", "el1"): out}


async def test_expected_profile_feeds_the_alert_predictions() -> None:
    ctx = FakeContext(_office(8))
    plugin = ExpectedProfilePlugin({"device": "e1", "channel": "el1", "lookback_hours": 2},
                                   ctx)
    # Monday 4 March 2024, 10:30 local: the last two hours are working hours
    await plugin.on_schedule(datetime(2024, 3, 4, 9, 30, tzinfo=UTC))
    (res,) = ctx.published
    assert res.name == "expected" and len(res.payload["intervals"]) == 8
    for item in res.payload["intervals"]:
        assert item["expected"] == pytest.approx(15.0 / 4, abs=0.05)
    preds = Predictions()
    assert preds.add(res) == {("e1", "el1")} and preds.rejected == 0


RATIO_CONFIG = CONFIG | {"method": "ratio", "zone": "E", "gg_std": 2592, "min_seasons": 1,
                         "baseline_start": "2023-07-01", "baseline_end": "2024-07-01",
                         "reporting_start": "2024-07-01"}


def _by_local_day(rows: list[Reading], mean: bool) -> dict[date, float]:
    sums: dict[date, list[float]] = {}
    for r in rows:
        acc = sums.setdefault(r.start.astimezone(ZoneInfo("Europe/Rome")).date(), [0.0, 0])
        acc[0] += r.value
        acc[1] += 1
    return {d: s / n if mean else s for d, (s, n) in sums.items()}


async def test_ratio_method_sums_heating_season_days() -> None:
    data = _gas_site(730, savings_from=date(2024, 7, 1))
    ctx = FakeContext(data)
    assert BaselinePlugin.validate_config(RATIO_CONFIG) == []
    await BaselinePlugin(RATIO_CONFIG, ctx).on_schedule(datetime(2024, 12, 31, 12, tzinfo=UTC))
    assert [r.name for r in ctx.published] == ["ratio_baseline", "savings"]
    # independent sums over the zone E season 15 Oct 2023 - 15 Apr 2024 (184 days, leap)
    gas = _by_local_day(data[("g1", "gas")], mean=False)
    temp = _by_local_day(data[("meteo", "t_out")], mean=True)
    season = [date(2023, 10, 15) + timedelta(days=i) for i in range(184)]
    c = sum(gas[d] for d in season)
    gg = sum(max(20.0 - temp[d], 0.0) for d in season)
    base = ctx.published[0].payload
    assert base["periods"][0]["label"] == "2023/24"
    assert base["alpha_per_degree_day"] == pytest.approx(c / gg, rel=1e-9)
    assert base["baseline"] == pytest.approx(c / gg * 2592, rel=1e-9)
    rep = ctx.published[1].payload["seasons"]
    # 15 Oct .. 30 Dec 2024 = 17 + 30 + 30 days so far
    assert [(s["label"], s["days"]) for s in rep] == [("2024/25", 77)]


async def test_ratio_method_rejects_a_partial_baseline_season() -> None:
    ctx = FakeContext(_gas_site(730, savings_from=None))
    cfg = RATIO_CONFIG | {"baseline_start": "2023-01-01"}
    await BaselinePlugin(cfg, ctx).on_schedule(datetime(2024, 12, 31, 12, tzinfo=UTC))
    (status,) = ctx.published
    assert status.name == "analysis_status"
    assert "2022/23" in status.payload["message"]


def test_ratio_method_config_needs_zone_and_gg_std() -> None:
    bad = BaselinePlugin.validate_config(CONFIG | {"method": "ratio"})
    assert any(p.startswith("zone:") for p in bad)
    assert any(p.startswith("gg_std:") for p in bad)


def test_shipped_example_configs_validate() -> None:
    import tomllib
    from pathlib import Path

    ex = Path(__file__).resolve().parents[2] / "gateway" / "analysis" / "examples"
    base = tomllib.loads((ex / "plugin_baseline.toml").read_text())["plugins"]["baseline"]
    prof = tomllib.loads((ex / "plugin_expected_profile.toml").read_text())
    assert BaselinePlugin.validate_config(base) == []
    assert ExpectedProfilePlugin.validate_config(prof["plugins"]["expected_profile"]) == []
