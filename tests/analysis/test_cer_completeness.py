"""CER inputs that would have published wrong numbers: gaps, duplicates, off-grid stamps,
undeclared or silent plants and members; premium eligibility by commissioning date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.analysis.cer import CerError, Plant, TariffRules, evaluate, hour_grid, hourly_shared
from gateway.analysis.cer_config import parse_plants, parse_tariff

H0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
OLD = Plant("old", 150, date(2019, 5, 1), region="Lombardia")
NEW = Plant("new", 400, date(2025, 3, 1), region="Toscana")


def quarters(values: list[float], start: datetime = H0) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=15 * i), v) for i, v in enumerate(values)]


def stamps(minutes: list[int], kwh: float = 1.0) -> list[tuple[datetime, float]]:
    return [(H0 + timedelta(minutes=m), kwh) for m in minutes]


def test_hour_missing_from_one_member_is_an_error_not_zero():
    # before: m2's missing 11:00 hour counted as 0 kWh, so shared energy looked smaller
    with pytest.raises(CerError, match=r"withdrawn\[m2\].*11:00:00\+00:00 has 0 quarter hours"):
        hourly_shared({"old": quarters([1] * 8)},
                      {"m1": quarters([1] * 8), "m2": quarters([1] * 4)}, [OLD])


def test_duplicate_quarter_hour_is_named():
    # four rows in the hour, but 10:00 twice and 10:45 missing: not four quarter hours
    with pytest.raises(CerError, match=r"fed_in\[old\].*10:00:00\+00:00 appears twice"):
        hourly_shared({"old": stamps([0, 0, 15, 30])}, {"m": quarters([1] * 4)}, [OLD])


def test_off_grid_timestamps_are_rejected():
    # 10:01..10:04 are four rows in one hour but no quarter hours
    with pytest.raises(CerError, match=r"withdrawn\[m\].*10:01:00\+00:00 is not a quarter-hour"):
        hourly_shared({"old": quarters([1] * 4)}, {"m": stamps([1, 2, 3, 4])}, [OLD])


def test_declared_plant_without_data_is_an_error():
    with pytest.raises(CerError, match=r"fed_in\[new\].*declared plant has no data"):
        evaluate({"old": quarters([1] * 4)}, {"m": quarters([1] * 4)}, [OLD, NEW],
                 zonal_price=100, arera_refund_eur_mwh=0)


def test_members_must_match_the_withdrawal_series():
    with pytest.raises(CerError, match=r"undeclared members \['x'\]"):
        hourly_shared({"old": quarters([1] * 4)}, {"m": quarters([1] * 4),
                                                    "x": quarters([1] * 4)}, [OLD],
                      members=["m"])
    with pytest.raises(CerError, match=r"withdrawn\[m2\].*declared member has no data"):
        hourly_shared({"old": quarters([1] * 4)}, {"m": quarters([1] * 4)}, [OLD],
                      members=["m", "m2"])


def test_expected_grid_catches_a_series_that_stops_early():
    # a month-style grid of 3 hours: the member only reports the first hour
    grid = hour_grid(H0, H0 + timedelta(hours=3))
    assert len(grid) == 3
    with pytest.raises(CerError, match=r"withdrawn\[m\].*11:00:00\+00:00 has 0 quarter hours"):
        hourly_shared({"old": quarters([1] * 12)}, {"m": quarters([1] * 4)}, [OLD], hours=grid)
    with pytest.raises(CerError, match="outside the period"):
        hourly_shared({"old": quarters([1] * 16)}, {"m": quarters([1] * 16)}, [OLD],
                      hours=grid)


def test_premium_only_for_plants_after_the_cutoff_refund_for_all():
    # hour: old 0.75 × 4 = 3, new 1.25 × 4 = 5; withdrawn 6 → shared 6: old 3, new 3
    fed = {"new": quarters([1.25] * 4), "old": quarters([0.75] * 4)}
    wdr = {"m": quarters([1.5] * 4)}
    result = evaluate(fed, wdr, [NEW, OLD], zonal_price=150, arera_refund_eur_mwh=8)
    # new: 400 kW, Pz 150: 70 + 30 = 100 (cap 110), + 4 Toscana = 104 €/MWh × 0.003 MWh
    assert result["per_plant"]["new"]["premium_eur"] == pytest.approx(0.312)
    assert result["per_plant"]["old"]["premium_eur"] == 0
    assert result["per_plant"]["old"]["premium_eligible"] is False
    assert result["premium_eur"] == pytest.approx(0.312)
    assert result["arera_refund_eur"] == pytest.approx(8 * 0.006)   # on all 6 kWh
    assert result["kpi"]["installed_kw"] == 550
    # 150 of 550 kW are pre-existing: 27 % <= 30 % (seed 001, D.Lgs. 199/2021 art. 31)
    assert result["existing_plants"]["share_of_kw"] == pytest.approx(150 / 550)
    assert result["existing_plants"]["exceeded"] is False
    # an earlier cutoff (a year's rules overridden): old earns 80 + 30 + 10 = 120 €/MWh too
    early = evaluate(fed, wdr, [NEW, OLD], zonal_price=150, arera_refund_eur_mwh=8,
                     rules=TariffRules(premium_from=date(2019, 1, 1)))
    assert early["premium_eur"] == pytest.approx(0.312 + 0.003 * 120)


def test_tariff_overrides_are_validated_with_key_paths():
    problems: list[str] = []
    rules = parse_tariff({"premium_from": date(2022, 1, 1), "bonus_north": 12,
                          "bands": [[300, 90, 130], [float("inf"), 60, 100]]}, "tariff",
                         problems)
    assert problems == []
    assert rules.premium_from == date(2022, 1, 1) and rules.bonus_north == 12
    assert rules.bands == ((300, 90, 130), (float("inf"), 60, 100))
    parse_tariff({"premium_from": "2022", "excess_threshold": 1.5, "bonus": 3,
                  "bands": [[600, 70, 110]]}, "tariff", problems)
    assert any(p.startswith("tariff.premium_from: '2022'") for p in problems)
    assert any(p.startswith("tariff.excess_threshold: 1.5 (expected a share") for p in problems)
    assert any(p.startswith("tariff.bonus: unknown key") for p in problems)
    assert any(p.startswith("tariff.bands: last limit 600 kW") for p in problems)


def test_plant_rows_are_validated_with_key_paths():
    problems: list[str] = []
    plants = parse_plants([{"id": "a", "kw": "20", "commissioned": "2025-01-01",
                            "region": "Lombardy", "capital_grant": 0.5}], "plant", problems)
    assert plants == []
    assert "plant[0].kw: '20' (expected the plant's power in kW > 0)" in problems
    assert any(p.startswith("plant[0].commissioned: '2025-01-01'") for p in problems)
    assert any(p.startswith("plant[0].region: 'Lombardy'") for p in problems)
    assert any(p.startswith("plant[0].capital_grant: 0.5") for p in problems)
