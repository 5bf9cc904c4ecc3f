"""The CER plugin publishes one month's shared energy from the stored series (fake host)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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
# February 2026 in Rome: 2026-01-31T23:00Z .. 2026-02-28T23:00Z, 672 hours, no DST change
FEB_START = datetime(2026, 1, 31, 23, tzinfo=UTC)


def quarter_hours(device: str, channel: str, kwh: float, skip: int | None = None) -> list[Reading]:
    return [Reading(site="s", device=device, channel=channel, quantity="energy_import",
                    start=FEB_START + timedelta(minutes=15 * i), length_s=900, value=kwh,
                    unit="kWh", register=0, register_unit="Wh")
            for i in range(672 * 4) if i != skip]


def context(skip: int | None = None) -> FakeContext:
    return FakeContext({("0000aa01", "pv"): quarter_hours("0000aa01", "pv", 1.0),
                        ("0000aa02", "el1"): quarter_hours("0000aa02", "el1", 0.5, skip)})


async def test_month_result_by_hand():
    ctx = context()
    payload = await CerPlugin(CONFIG, ctx).compute(2026, 2)
    # every hour: fed 4 kWh, withdrawn 2 kWh → shared 2 kWh; 672 hours → 1,344 kWh
    assert payload["period"] == "2026-02"
    assert payload["shared_kwh"] == pytest.approx(1_344)
    assert payload["fed_in_kwh"] == pytest.approx(2_688)
    # TIP: ≤200 kW, Pz 110 → 80 + 70 = 150 capped at 120, + 10 northern PV bonus = 130 €/MWh
    assert payload["premium_eur"] == pytest.approx(130 * 1.344)
    assert payload["arera_refund_eur"] == pytest.approx(8 * 1.344)
    assert payload["excess_rule"]["exceeded"] is False          # 50 % < 55 %
    assert [(r.plugin, r.name) for r in ctx.published] == [("cer", "cer_monthly")]


async def test_incomplete_hour_publishes_the_reason_not_a_number():
    ctx = context(skip=10)   # the member misses 02:30 local on 1 February
    payload = await CerPlugin(CONFIG, ctx).compute(2026, 2)
    assert ctx.published[0].name == "analysis_status"
    assert "3 quarter hours, expected 4" in payload["error"]
    assert "shared_kwh" not in payload


async def test_schedule_runs_each_completed_month_once():
    ctx = context()
    plugin = CerPlugin(CONFIG, ctx)
    await plugin.on_schedule(datetime(2026, 3, 1, 6, tzinfo=UTC))
    await plugin.on_schedule(datetime(2026, 3, 2, 6, tzinfo=UTC))
    assert [r.payload["period"] for r in ctx.published] == ["2026-02"]


def test_config_problems_name_their_keys():
    problems = CerPlugin.validate_config({"zonal_price_eur_mwh": -1, "plants": [{"id": "x"}]})
    assert "zonal_price_eur_mwh: -1 (expected a price >= 0 in €/MWh)" in problems
    assert "arera_refund_eur_mwh: None (expected a price >= 0 in €/MWh)" in problems
    assert "plants[0].kw: missing" in problems
    assert any(p.startswith("members: missing") for p in problems)
