"""Gas: ARERA coefficient C against published values, Smc -> kWh against seed 003, gas day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.normalise.errors import NormaliseError
from gateway.normalise.gas import (
    DEFAULT_PCI_KWH_PER_SMC,
    coefficient_c,
    coefficient_c_terms,
    gas_day_bounds_utc,
    gas_day_of,
    litres_to_m3,
    litres_to_smc,
    m3_to_smc,
    mj_to_kwh,
    smc_to_kwh,
)
from gateway.normalise.localtime import iter_intervals
from gateway.normalise.sites import site_facts

# Published C values: Milano from the brief (ARERA value); Arquata Scrivia and Roccaforte
# Ligure as published by their distributor (retisrl.it, "Cosa facciamo per te").
PUBLISHED_C = [("MILANO", 1.027235), ("ARQUATA SCRIVIA", 1.017366),
               ("ROCCAFORTE LIGURE", 0.953262)]


@pytest.mark.parametrize(("name", "c"), PUBLISHED_C)
def test_published_coefficient_c(name: str, c: float) -> None:
    f = site_facts(name)
    assert coefficient_c(f.altitude_m, f.degree_days, f.zone) == c


def test_milano_inputs_and_terms_by_hand() -> None:
    assert coefficient_c(122, 2404, "E") == 1.027235
    # Hand calculation with the cited formula, each step rounded to 6 decimals:
    # pb = 1.01325 (1 - 0.0000225577*122)^5.2559 = 0.998679; kp = 1.018679/1.01325 = 1.005358
    # gg = 2404/183 = 13.136612; kt = 288.15/282.013388 = 1.021760; C = 1.027235
    t = coefficient_c_terms(122, 2404, "E")
    assert (t.pb, t.kp, t.gg, t.kt, t.c) == (0.998679, 1.005358, 13.136612, 1.02176, 1.027235)


def test_zone_f_uses_272_days_and_zone_a_105() -> None:
    assert coefficient_c_terms(704, 3073, "F").gg == 11.297794   # 3073 / 272
    assert coefficient_c_terms(16, 568, "A").gg == 5.409524      # 568 / 105 (our assumption)


def test_sea_level_warm_site_is_above_one_and_mountain_below() -> None:
    # Genova (19 m, 1435 GG, D): low and mild -> denser gas at the meter, C > 1.
    assert coefficient_c(19, 1435, "D") > 1.0
    # 1,500 m in zone F: thin air -> C well below 1.
    assert coefficient_c(1500, 4000, "F") < 0.9


@pytest.mark.parametrize(("args", "field"), [((122, 2404, "G"), "zone"),
                                              ((-500, 2404, "E"), "altitude_m"),
                                              ((122, -1, "E"), "degree_days")])
def test_bad_inputs_name_the_field(args: tuple[float, float, str], field: str) -> None:
    with pytest.raises(NormaliseError) as err:
        coefficient_c(*args)
    assert err.value.field == field


def test_volume_chain() -> None:
    assert litres_to_m3(1234) == pytest.approx(1.234)
    assert m3_to_smc(1500, 0.982492) == pytest.approx(1473.738)  # satoenergia.it example
    assert litres_to_smc(1_000_000, 1.027235) == pytest.approx(1027.235)
    with pytest.raises(NormaliseError) as err:
        m3_to_smc(10, 2.0)
    assert err.value.field == "c"


@pytest.mark.parametrize(("smc", "kwh"), [(43_841, 413_100), (46_272, 436_007),
                                          (45_673, 430_363)])
def test_smc_to_kwh_reproduces_seed_003_table(smc: int, kwh: int) -> None:
    # Seed 003, thermal baseline table (years 2014-2016): Smc and kWh columns, PCI 9.94/1.0549.
    assert abs(smc_to_kwh(smc) - kwh) <= 1


def test_default_is_pci_and_pcs_can_be_passed() -> None:
    assert round(DEFAULT_PCI_KWH_PER_SMC, 2) == 9.42
    pcs = mj_to_kwh(38.190)                      # seed 003 bill: 38,190 MJ/Smc (superiore)
    assert pcs == pytest.approx(10.608333, abs=1e-6)
    assert smc_to_kwh(100, pcs) == pytest.approx(1060.8333, abs=1e-3)
    with pytest.raises(NormaliseError) as err:
        smc_to_kwh(100, 38.19)                   # MJ passed where kWh was expected
    assert err.value.field == "calorific_kwh_per_smc"


@pytest.mark.parametrize(("utc", "day"), [
    (datetime(2026, 1, 15, 5, 0, tzinfo=UTC), date(2026, 1, 15)),   # 06:00 CET
    (datetime(2026, 1, 15, 4, 0, tzinfo=UTC), date(2026, 1, 14)),   # 05:00 CET
    (datetime(2026, 7, 15, 4, 0, tzinfo=UTC), date(2026, 7, 15)),   # 06:00 CEST
    (datetime(2026, 7, 15, 3, 0, tzinfo=UTC), date(2026, 7, 14)),   # 05:00 CEST
    (datetime(2026, 7, 14, 22, 0, tzinfo=UTC), date(2026, 7, 14)),  # 00:00 CEST on the 15th
])
def test_gas_day_of(utc: datetime, day: date) -> None:
    assert gas_day_of(utc) == day


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 28), 23), (date(2026, 10, 24), 25),
                                            (date(2026, 6, 1), 24)])
def test_gas_day_length_around_dst(day: date, hours: int) -> None:
    start, end = gas_day_bounds_utc(day)
    starts = list(iter_intervals(start, end, 3600))
    assert len(starts) == hours
    assert {gas_day_of(t) for t in starts} == {day}
