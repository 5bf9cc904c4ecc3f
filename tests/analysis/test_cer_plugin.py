"""The CER plugin against a fake host with a real state directory: monthly results by hand,
incomplete data as a status, retries while late data may arrive, catch-up after downtime."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.analysis.cer_plugin import CerPlugin
from gateway.model import Reading
from tests.analysis.test_plugin import FakeContext

CONFIG = {
    "community": "borgo", "zonal_price_eur_mwh": 110, "arera_refund_eur_mwh": 8,
    "plants": [{"id": "pv", "device": "0000aa01", "channel": "pv", "kw": 100,
                "commissioned": date(2025, 3, 1), "region": "Lombardia"}],
    "members": [{"id": "school", "device": "0000aa02", "channel": "el1"}],
}
# Rome local months in UTC: February 2026 = 2026-01-31T23:00Z .. 2026-02-28T23:00Z (672 h);
# March has the DST change on the 29th (743 h); April 720 h.
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)
MAY_START = datetime(2026, 4, 30, 22, tzinfo=UTC)


def quarter_hours(device: str, channel: str, kwh: float, start: datetime = FEB_START,
                  end: datetime = MAY_START, skip: set[int] = frozenset()) -> list[Reading]:
    n = int((end - start).total_seconds() // 900)
    return [Reading(site="s", device=device, channel=channel, quantity="energy_import",
                    start=start + timedelta(minutes=15 * i), length_s=900, value=kwh,
                    unit="kWh", register=0, register_unit="Wh")
            for i in range(n) if i not in skip]


class Context(FakeContext):
    def __init__(self, data: dict, state_dir: Path) -> None:
        super().__init__(data)
        self.state_dir = state_dir


def context(tmp_path: Path, skip: set[int] = frozenset(), member: bool = True) -> Context:
    data = {("0000aa01", "pv"): quarter_hours("0000aa01", "pv", 1.0)}
    if member:
        data[("0000aa02", "el1")] = quarter_hours("0000aa02", "el1", 0.5, skip=skip)
    return Context(data, tmp_path)


def published(ctx: Context) -> list[tuple[str, str]]:
    return [(r.name, r.payload["period"]) for r in ctx.published]


async def test_month_result_by_hand(tmp_path):
    ctx = context(tmp_path)
    payload = await CerPlugin(CONFIG, ctx).compute(2026, 2)
    # every hour: fed 4 kWh, withdrawn 2 kWh → shared 2 kWh; 672 hours → 1,344 kWh
    assert payload["ok"] is True and payload["period"] == "2026-02"
    assert payload["hours"] == 672
    assert payload["shared_kwh"] == pytest.approx(1_344)
    assert payload["fed_in_kwh"] == pytest.approx(2_688)
    # TIP: ≤200 kW, Pz 110 → 80 + 70 = 150 capped at 120, + 10 northern PV bonus = 130 €/MWh
    assert payload["premium_eur"] == pytest.approx(130 * 1.344)
    assert payload["arera_refund_eur"] == pytest.approx(8 * 1.344)
    assert payload["excess_rule"]["exceeded"] is False          # 50 % < 55 %
    assert [(r.plugin, r.name) for r in ctx.published] == [("cer", "cer_monthly")]


async def test_incomplete_hour_publishes_the_reason_not_a_number(tmp_path):
    ctx = context(tmp_path, skip={10})   # the member misses 02:30 local on 1 February
    payload = await CerPlugin(CONFIG, ctx).compute(2026, 2)
    assert ctx.published[0].name == "analysis_status"
    assert payload["ok"] is False
    assert payload["input"] == "withdrawn[school]"
    assert "2026-02-01T01:00:00+00:00 has 3 quarter hours, expected 4" in payload["message"]
    assert "shared_kwh" not in payload


async def test_member_offline_all_month_is_a_status_not_zero_shared(tmp_path):
    ctx = context(tmp_path, member=False)
    payload = await CerPlugin(CONFIG, ctx).compute(2026, 2)
    assert [r.name for r in ctx.published] == ["analysis_status"]
    assert payload["input"] == "withdrawn[school]"
    assert "2026-01-31T23:00:00+00:00 has 0 quarter hours" in payload["message"]


async def test_schedule_runs_each_month_once_across_restarts(tmp_path):
    ctx = context(tmp_path)
    await CerPlugin(CONFIG, ctx).on_schedule(datetime(2026, 3, 1, 6, tzinfo=UTC))
    await CerPlugin(CONFIG, ctx).on_schedule(datetime(2026, 3, 2, 6, tzinfo=UTC))  # restarted
    assert published(ctx) == [("cer_monthly", "2026-02")]
    state = json.loads((tmp_path / "cer_state.json").read_text())
    assert state["next"] == "2026-03"


async def test_catch_up_after_downtime(tmp_path):
    ctx = context(tmp_path)
    await CerPlugin(CONFIG, ctx).on_schedule(datetime(2026, 2, 1, 6, tzinfo=UTC))  # Jan: no data
    ctx.published.clear()
    (tmp_path / "cer_state.json").write_text(json.dumps({"next": "2026-02"}))
    # the gateway was down from February to May: three months to catch up, in order
    await CerPlugin(CONFIG, ctx).on_schedule(datetime(2026, 5, 3, 6, tzinfo=UTC))
    assert published(ctx) == [("cer_monthly", "2026-02"), ("cer_monthly", "2026-03"),
                              ("cer_monthly", "2026-04")]
    # March: 743 hours (DST on 29 March) × 2 kWh shared
    assert ctx.published[1].payload["shared_kwh"] == pytest.approx(743 * 2)


async def test_incomplete_month_is_retried_until_late_data_days(tmp_path):
    ctx = context(tmp_path, skip={10})
    plugin = CerPlugin(CONFIG | {"late_data_days": 5}, ctx)
    await plugin.on_schedule(datetime(2026, 3, 1, 6, tzinfo=UTC))
    await plugin.on_schedule(datetime(2026, 3, 1, 7, tzinfo=UTC))    # same problem: no repeat
    assert published(ctx) == [("analysis_status", "2026-02")]
    first = ctx.published[0].payload
    assert first["final"] is False
    assert first["retry_until"] == "2026-03-05T23:00:00+00:00"     # month end + 5 days
    # the late quarter hour arrives from the board's queue: the next run publishes the month
    ctx.data[("0000aa02", "el1")] = quarter_hours("0000aa02", "el1", 0.5)
    await plugin.on_schedule(datetime(2026, 3, 2, 6, tzinfo=UTC))
    assert published(ctx)[-1] == ("cer_monthly", "2026-02")
    assert json.loads((tmp_path / "cer_state.json").read_text())["next"] == "2026-03"


async def test_incomplete_month_becomes_final_after_the_bound(tmp_path):
    ctx = context(tmp_path, skip={10})
    plugin = CerPlugin(CONFIG | {"late_data_days": 5}, ctx)
    await plugin.on_schedule(datetime(2026, 3, 1, 6, tzinfo=UTC))
    await plugin.on_schedule(datetime(2026, 3, 6, 6, tzinfo=UTC))    # past 5 March 23:00Z
    assert [r.payload.get("final") for r in ctx.published] == [False, True]
    assert json.loads((tmp_path / "cer_state.json").read_text())["next"] == "2026-03"


async def test_annual_result_after_december(tmp_path):
    start = datetime(2024, 12, 31, 23, tzinfo=UTC)       # 1 January 2025 local
    end = datetime(2025, 12, 31, 23, tzinfo=UTC)
    ctx = Context({("0000aa01", "pv"): quarter_hours("0000aa01", "pv", 1.0, start, end),
                   ("0000aa02", "el1"): quarter_hours("0000aa02", "el1", 0.5, start, end)},
                  tmp_path)
    (tmp_path / "cer_state.json").write_text(json.dumps({"next": "2025-12"}))
    await CerPlugin(CONFIG, ctx).on_schedule(datetime(2026, 1, 2, 6, tzinfo=UTC))
    assert published(ctx) == [("cer_monthly", "2025-12"), ("cer_annual", "2025")]
    # 8,760 hours in 2025 × 2 kWh shared
    assert ctx.published[1].payload["shared_kwh"] == pytest.approx(17_520)


def test_config_problems_name_their_keys():
    problems = CerPlugin.validate_config({"zonal_price_eur_mwh": -1, "plants": [{"id": "x"}],
                                          "late_data_days": 100, "tarif": {}})
    assert any(p.startswith("zonal_price_eur_mwh: -1 (expected a price >= 0") for p in problems)
    assert any(p.startswith("arera_refund_eur_mwh: None") for p in problems)
    assert "plants[0].kw: None (expected the plant's power in kW > 0)" in problems
    assert "plants[0].device: None (expected a non-empty string)" in problems
    assert any(p.startswith("members: missing") for p in problems)
    assert any(p.startswith("late_data_days: 100") for p in problems)
    assert any(p.startswith("tarif: unknown key") for p in problems)


async def test_tariff_override_from_plugin_config(tmp_path):
    # the plant was commissioned 2025-03-01: a later cutoff leaves it refund-only
    config = CONFIG | {"tariff": {"premium_from": date(2025, 6, 1)}}
    assert CerPlugin.validate_config(config) == []
    payload = await CerPlugin(config, context(tmp_path)).compute(2026, 2)
    assert payload["premium_eur"] == 0
    assert payload["arera_refund_eur"] == pytest.approx(8 * 1.344)


def test_shipped_example_config_is_valid():
    path = Path(__file__).resolve().parents[2] / "gateway/analysis/examples/plugin_cer.toml"
    config = tomllib.loads(path.read_text())["plugins"]["cer"]
    assert CerPlugin.validate_config(config) == []
