"""CER shared energy, allocation, premium tariff and the 55 %/45 % rule on hand-checked cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.analysis.cer import CerError, Plant, evaluate, hourly_shared, premium_tariff

H0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def quarters(values: list[float], start: datetime = H0) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=15 * i), v) for i, v in enumerate(values)]


OLD = Plant("old", 150, date(2019, 5, 1), region="Lombardia")
NEW = Plant("new", 400, date(2025, 3, 1), region="Toscana")
SMALL = Plant("small", 150, date(2023, 5, 1), region="Lombardia")


def test_hourly_sum_before_minimum_differs_from_quarter_hour_minima():
    # PV feeds in only in the first half hour, the member withdraws only in the second half.
    # Quarter-hour minima: min(2,0)+min(2,0)+min(0,3)+min(0,3) = 0 kWh.
    # Hourly (the rule): min(2+2, 3+3) = 4 kWh shared.
    rows = hourly_shared(
        fed_in={"old": quarters([2, 2, 0, 0])},
        withdrawn={"m1": quarters([0, 0, 3, 3])},
        plants=[OLD],
    )
    assert len(rows) == 1
    assert rows[0]["fed_in"] == 4 and rows[0]["withdrawn"] == 6
    assert rows[0]["shared"] == 4


def test_allocation_oldest_plant_first():
    # hour: old feeds 3, new feeds 5 (total 8); members withdraw 6 → shared 6: old 3, new 3
    rows = hourly_shared(
        fed_in={"new": quarters([1.25] * 4), "old": quarters([0.75] * 4)},
        withdrawn={"a": quarters([1, 1, 1, 1]), "b": quarters([0.5] * 4)},
        plants=[NEW, OLD],
    )
    assert rows[0]["shared"] == pytest.approx(6)
    assert rows[0]["allocation"] == pytest.approx({"old": 3, "new": 3})


def test_premium_tariff_by_size_price_region_and_grant():
    # ≤ 200 kW, Pz 100: 80 + (180 − 100) = 160 → cap 120; + 10 northern PV bonus = 130
    assert premium_tariff(OLD, 100) == pytest.approx(130)
    # Pz 150: 80 + 30 = 110 (< cap) + 10 = 120
    assert premium_tariff(OLD, 150) == pytest.approx(120)
    # 400 kW, Pz 200: 70 + 0 = 70; + 4 central PV bonus = 74
    assert premium_tariff(NEW, 200) == pytest.approx(74)
    # > 600 kW, no region bonus (not PV), Pz 130: 60 + 50 = 110 → cap 100
    assert premium_tariff(Plant("wind", 900, date(2025, 1, 1), pv=False), 130) == 100
    # a 20 % capital grant halves the maximum reduction: × (1 − 0.25)
    granted = Plant("g", 100, date(2025, 1, 1), capital_grant=0.2)
    assert premium_tariff(granted, 180) == pytest.approx(80 * 0.75)


def test_two_hour_community_totals_incentive_and_excess_rule():
    # hour 1: fed 4 (small), withdrawn 2 → shared 2; hour 2: fed 4, withdrawn 8 → shared 4
    fed = quarters([1, 1, 1, 1, 1, 1, 1, 1])
    wdr = quarters([0.25, 0.25, 0.25, 0.25, 1, 1, 1, 1])
    result = evaluate({"small": fed}, {"m1": wdr, "m2": wdr}, [SMALL], zonal_price=150,
                      arera_refund_eur_mwh=8.0)
    assert result["fed_in_kwh"] == 8 and result["withdrawn_kwh"] == 10
    assert result["shared_kwh"] == 6
    assert result["self_consumption_ratio"] == pytest.approx(0.75)
    assert result["self_sufficiency_ratio"] == pytest.approx(0.6)
    # TIP 120 €/MWh (same size, price and region as OLD above: 80 + 30 + 10) × 0.006 MWh =
    # 0.72 €; refund 8 €/MWh × 0.006 = 0.048 €
    assert result["premium_eur"] == pytest.approx(0.72)
    assert result["arera_refund_eur"] == pytest.approx(0.048)
    rule = result["excess_rule"]
    # 6 kWh shared > 55 % of 8 kWh = 4.4 → 1.6 kWh excess, premium share 1.6/6 × 0.72
    assert rule["exceeded"] is True
    assert rule["excess_shared_kwh"] == pytest.approx(1.6)
    assert rule["excess_premium_eur"] == pytest.approx(0.72 * 1.6 / 6)
    assert result["kpi"]["incentive_eur_per_member"] == pytest.approx((0.72 + 0.048) / 2)


def test_grant_lowers_the_excess_threshold_to_45_percent():
    granted = Plant("g", 100, date(2025, 1, 1), capital_grant=0.4)
    result = evaluate({"g": quarters([1] * 4)}, {"m": quarters([0.5] * 4)}, [granted],
                      zonal_price=180, arera_refund_eur_mwh=0)
    # shared 2 of 4 fed in = 50 % > 45 %
    assert result["excess_rule"]["threshold"] == 0.45
    assert result["excess_rule"]["exceeded"] is True


def test_incomplete_hour_is_a_clear_error():
    with pytest.raises(CerError, match="3 quarter hours, expected 4"):
        hourly_shared({"old": quarters([1, 1, 1])}, {"m": quarters([1] * 4)}, [OLD])


def test_unknown_plant_and_negative_energy_are_errors():
    with pytest.raises(CerError, match="undeclared plants"):
        hourly_shared({"ghost": quarters([1] * 4)}, {}, [OLD])
    with pytest.raises(CerError, match=r"fed_in\[old\].*not >= 0 kWh"):
        hourly_shared({"old": quarters([1, -1, 1, 1])}, {}, [OLD])
