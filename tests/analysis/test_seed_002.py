"""Seed 002 (public lighting PMVP, 21 municipalities around Brescia): hours and settlement.

Burning hours are typed from §3.2; settlement amounts are hand calculations of §5, §6, §8
and §13 on Chiari's Table A baseline (872,386.56 kWh), written out in the comments.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.analysis.errors import AnalysisError, NegativeValueError, PeriodError
from gateway.analysis.lighting import (
    CONTRACT_HOURS,
    CONTRACT_HOURS_LEAP,
    contract_burning_hours,
    lighting_pmvp,
    logged_burning_hours,
    schedule_burning_hours,
)

CHIARI_EEBAS = 872_386.56
CET = timezone(timedelta(hours=1))


def test_contract_hours_4110_and_4122_h_41_min() -> None:
    hours, leap = CONTRACT_HOURS, CONTRACT_HOURS_LEAP
    assert hours == 4110.0
    assert leap * 60 == pytest.approx(4122 * 60 + 41)
    assert contract_burning_hours(2023) == 4110.0
    assert contract_burning_hours(2024) == CONTRACT_HOURS_LEAP


def test_schedule_sums_to_4110_h_within_minute_rounding() -> None:
    # on/off times are printed to the minute: at most 1 min of error per night, 365 nights
    assert schedule_burning_hours() == pytest.approx(4110.0, abs=365 / 60)


def test_leap_year_adds_one_february_night_of_12_h_41_min() -> None:
    # 4,122 h 41 min - 4,110 h = 12 h 41 min = 18:17 -> 06:58 (3rd ten days of February)
    extra = schedule_burning_hours(leap=True) - schedule_burning_hours()
    assert extra * 60 == pytest.approx(12 * 60 + 41)


def test_eeoff_is_eebas_times_one_minus_offer() -> None:
    # 872,386.56 x (1 - 0.40) = 523,431.936 kWh (the printed EEbas x %off would be 348,954)
    s = lighting_pmvp(ee_bas=CHIARI_EEBAS, pct_off=0.40, ee_measured=500_000, price=0.2)
    assert s.ee_off == pytest.approx(523_431.936)
    same = lighting_pmvp(ee_bas=CHIARI_EEBAS, ee_off=523_431.936, ee_measured=500_000,
                         price=0.2)
    assert same.pct_off == pytest.approx(0.40)


def test_extra_saving_split_and_supervisor_fee() -> None:
    # ΔE = (10 x 0.05 - 4 x 0.1) kW x 4,110 h = 411 kWh; EEagg = 523,431.936 + 411
    # %acc = (872,386.56 + 411 - 480,000) / 872,386.56 = 45.0256 %
    # EXS = (45.0256 % - 40 % - 2 %) x 523,842.936 x 0.20 = 3,169.91 €, half to the town
    # Cpsup = 0.20 x 872,386.56 x 40 % x 3.5 % = 2,442.68 €
    s = lighting_pmvp(ee_bas=CHIARI_EEBAS, pct_off=0.40, ee_measured=480_000, price=0.20,
                      added_kw=[0.05] * 10, removed_kw=[0.1] * 4)
    assert s.delta_kwh == pytest.approx(411.0)
    assert s.ee_agg == pytest.approx(523_842.936)
    assert s.pct_acc == pytest.approx(0.4502563, abs=1e-7)
    assert s.exs_eur == pytest.approx(3_169.91, abs=0.01)
    assert s.exs_municipality_eur == pytest.approx(1_584.96, abs=0.01)
    assert s.exs_concessionaire_eur == pytest.approx(1_584.96, abs=0.01)
    assert s.cpsup_eur == pytest.approx(2_442.68, abs=0.01)
    assert s.offer_met and s.shortfall_kwh == 0.0


def test_extra_saving_within_the_2_percent_deductible_is_zero() -> None:
    # %acc = 41.5 %: 1.5 points above the offer, inside the deductible
    measured = CHIARI_EEBAS * (1 - 0.415)
    s = lighting_pmvp(ee_bas=CHIARI_EEBAS, pct_off=0.40, ee_measured=measured, price=0.2)
    assert s.exs_eur == 0.0 and s.offer_met


def test_shortfall_below_the_offer() -> None:
    # 530,000 - 523,842.936 = 6,157.064 kWh above EEagg
    s = lighting_pmvp(ee_bas=CHIARI_EEBAS, pct_off=0.40, ee_measured=530_000, price=0.2,
                      added_kw=[0.05] * 10, removed_kw=[0.1] * 4)
    assert not s.offer_met
    assert s.shortfall_kwh == pytest.approx(6_157.064, abs=1e-3)
    assert s.exs_eur == 0.0


@given(pct_off=st.floats(0.0, 0.8), measured=st.floats(0.0, 2e6),
       added=st.floats(0.0, 50.0), removed=st.floats(0.0, 50.0))
def test_offer_met_iff_ascertained_at_least_offered(pct_off: float, measured: float,
                                                    added: float, removed: float) -> None:
    s = lighting_pmvp(ee_bas=CHIARI_EEBAS, pct_off=pct_off, ee_measured=measured, price=0.2,
                      added_kw=[added], removed_kw=[removed])
    if abs(s.pct_acc - s.pct_off) > 1e-9:
        assert s.offer_met == (s.pct_acc > s.pct_off)


def test_logged_switch_on_times() -> None:
    on = [datetime(2024, 1, 1, 17, 12, tzinfo=CET), datetime(2024, 1, 2, 17, 13, tzinfo=CET)]
    off = [datetime(2024, 1, 2, 7, 48, tzinfo=CET), datetime(2024, 1, 3, 7, 47, tzinfo=CET)]
    # 14 h 36 min + 14 h 34 min = 29 h 10 min
    assert logged_burning_hours(on, off) == pytest.approx(29 + 10 / 60)


def test_logged_overlap_is_an_error() -> None:
    on = [datetime(2024, 1, 1, 17, 0, tzinfo=CET), datetime(2024, 1, 2, 6, 0, tzinfo=CET)]
    off = [datetime(2024, 1, 2, 7, 0, tzinfo=CET), datetime(2024, 1, 2, 8, 0, tzinfo=CET)]
    with pytest.raises(PeriodError) as err:
        logged_burning_hours(on, off)
    assert err.value.row == 2


def test_inputs_checked() -> None:
    with pytest.raises(AnalysisError):
        lighting_pmvp(ee_bas=1000, ee_measured=900, price=0.2)            # no offer
    with pytest.raises(AnalysisError):
        lighting_pmvp(ee_bas=1000, pct_off=45, ee_measured=900, price=0.2)  # 45 not 0.45
    with pytest.raises(NegativeValueError) as err:
        lighting_pmvp(ee_bas=1000, pct_off=0.4, ee_measured=-1, price=0.2)
    assert err.value.field == "ee_measured"
