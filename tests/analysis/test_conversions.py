"""Conversions reproduce seed 003's CO2 and primary-energy tables."""

from __future__ import annotations

import pytest

from gateway.analysis.benchmark import (
    BenchmarkError,
    Building,
    intensity,
    rank_fleet,
    reference_eph,
)
from gateway.analysis.conversions import (
    ConversionError,
    Factors,
    co2_kg,
    factors_from,
    kwh_to_smc,
    primary_energy_kwh,
    smc_to_kwh,
)


def test_seed003_table_5_10_co2_baseline():
    assert co2_kg(63_487, "electricity") == pytest.approx(29_648, abs=1)
    assert co2_kg(426_406, "natural_gas") == pytest.approx(86_134, abs=1)


def test_seed003_table_5_13_primary_energy_and_indicators():
    gas = primary_energy_kwh(426_406, "natural_gas")
    el = primary_energy_kwh(63_487, "electricity")
    assert gas == pytest.approx(447_726, abs=1)
    assert el == pytest.approx(153_638, abs=1)
    assert gas + el == pytest.approx(601_364, abs=1)
    assert (gas + el) / 5_197 == pytest.approx(116, abs=0.5)      # FATTORE 1, kWh/m²
    assert gas / 29_901 == pytest.approx(15.0, abs=0.05)           # FATTORE 3, kWh/m³


def test_gas_calorific_bases():
    # seed 003 Table 5.1: 9.94 kWh/Nm³ ÷ 1.0549 Sm³/Nm³ = 9.42 kWh/Sm³ (PCI)
    assert smc_to_kwh(1) == pytest.approx(9.94 / 1.0549, abs=0.005)
    assert smc_to_kwh(1, "pcs") == pytest.approx(38.190 / 3.6)
    assert kwh_to_smc(smc_to_kwh(123.0)) == pytest.approx(123.0)


def test_factors_are_configurable_and_unknown_carriers_are_named():
    custom = Factors(co2_kg_per_kwh={"electricity": 0.3})
    assert co2_kg(10, "electricity", custom) == pytest.approx(3)
    with pytest.raises(ConversionError, match="got 'coal', expected one of electricity"):
        co2_kg(10, "coal", custom)


def test_factor_overrides_from_a_toml_table():
    f = factors_from({"co2_kg_per_kwh": {"electricity": 0.3, "biomass": 0.0},
                      "primary_energy": {"electricity": {"nren": 1.5, "ren": 0.5}},
                      "gas_kwh_per_smc": {"pci": 9.59}})
    assert co2_kg(10, "electricity", f) == pytest.approx(3)
    assert co2_kg(10, "natural_gas", f) == pytest.approx(2.02)      # default kept
    assert primary_energy_kwh(10, "electricity", "tot", f) == pytest.approx(20)  # 1.5 + 0.5
    assert smc_to_kwh(100, "pci", f) == pytest.approx(959)
    assert f.sources[-1] == "overridden by factors"
    with pytest.raises(ConversionError, match=r"factors\.co2_kg_per_kwh\.coal.*got '1'"):
        factors_from({"co2_kg_per_kwh": {"coal": "1"}})
    with pytest.raises(ConversionError, match=r"factors\.gas_kwh_per_smc.*got 'hhv'"):
        factors_from({"gas_kwh_per_smc": {"hhv": 10}})
    with pytest.raises(ConversionError, match=r"factors\.co2.*unknown key"):
        factors_from({"co2": {}})


def test_seed004_reference_table():
    # seed 004 Table 1: "palazzina 16-30 u.i.", 1962-1971 → 140; before 1919 villetta → 249
    assert reference_eph("block_16_30_units", 1965) == 140
    assert reference_eph("detached_1_2_units", 1900) == 249
    assert reference_eph("tower_31_plus_units", 2005) == 81
    with pytest.raises(BenchmarkError, match="building_type"):
        reference_eph("castle", 1500)


def test_intensity_and_normalisation_by_hand():
    # seed 004 building: 117,896 kWh/yr over 8,480 m² → 13.9 kWh/m² (the seed's table prints
    # 133 kWh/m²·yr for the per-flat mean; here only the arithmetic is checked)
    b = Building("lodi", "residential", 8_480, 117_896, heated_volume_m3=34_350,
                 degree_days=2_400, reference_degree_days=2_592,
                 building_type="block_16_30_units", year_built=1960)
    values = intensity(b)
    assert values["kwh_per_m2"] == pytest.approx(117_896 / 8_480)
    assert values["kwh_per_m2_normalised"] == pytest.approx(117_896 / 8_480 * 2_592 / 2_400)
    assert values["wh_per_m3_gg"] == pytest.approx(117_896_000 / (34_350 * 2_400))
    assert values["reference_kwh_per_m2"] == 151


def test_fleet_ranking_percentiles_within_category():
    fleet = [
        Building("s1", "school", 1_000, 50_000),
        Building("s2", "school", 1_000, 80_000),
        Building("s3", "school", 1_000, 65_000),
        Building("o1", "office", 500, 40_000),
    ]
    rows = {r["building"]: r for r in rank_fleet(fleet)}
    assert (rows["s1"]["rank"], rows["s1"]["percentile"]) == (1, 0.0)
    assert (rows["s3"]["rank"], rows["s3"]["percentile"]) == (2, 50.0)
    assert (rows["s2"]["rank"], rows["s2"]["percentile"]) == (3, 100.0)
    assert (rows["o1"]["rank"], rows["o1"]["of"]) == (1, 1)


def test_bad_building_data_names_building_and_field():
    with pytest.raises(BenchmarkError, match=r"bad field floor_area_m2.*got 0"):
        intensity(Building("bad", "school", 0, 10))
