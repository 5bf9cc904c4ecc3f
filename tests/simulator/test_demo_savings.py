"""The demo's result arithmetic on hand-made readings: energy by band and the retrofit savings.

Expected values are worked out by hand in the comments; the degree days of Genova (1435 GG,
zone D) come from DPR 412/93 Annex A (../shared/data/dpr412_degree_days.csv).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from gateway.analysis.errors import AnalysisError
from simulator.models.climate import lookup
from simulator.results import energy_summary
from simulator.savings import retrofit_savings

SCHOOL = "5c000001"


def reading(channel: str, quantity: str, value: float, *, band: str | None = None,
            site: str = "s", unit: str = "kWh", kwh: float | None = None,
            start: datetime = datetime(2026, 1, 12, 10, tzinfo=UTC),
            device: str = SCHOOL) -> dict[str, Any]:
    doc: dict[str, Any] = {"msg_id": f"{device}:{channel}:{int(start.timestamp())}",
                           "device": device, "site": site, "channel": channel,
                           "quantity": quantity, "value": value, "unit": unit, "band": band}
    if kwh is not None:
        doc["kwh"] = kwh
    return doc


def test_energy_summary_by_band_pv_and_gas() -> None:
    readings = [
        reading("el1", "energy_import", 1.5, band="F1"),
        reading("el1", "energy_import", 0.25, band="F1", site="t"),
        reading("el1", "energy_import", 2.0, band="F2"),
        reading("el1", "energy_import", 0.5, band="F3"),
        reading("pv", "energy_import", 3.0, band="F1"),        # PV channel: production
        reading("el2", "energy_export", 0.75, band="F2"),      # export: production too
        reading("gas", "gas_volume", 2.5, unit="Smc", kwh=23.55),
        reading("gas", "gas_volume", 1.0, unit="Smc", kwh=9.42, site="t"),
    ]
    got = energy_summary(readings)
    assert got["energy_by_band"] == {"F1": 1.75, "F2": 2.0, "F3": 0.5}
    assert got["pv_kwh"] == 3.75
    assert got["gas"] == {"Smc": 3.5, "kWh": pytest.approx(32.97)}
    assert got["by_site"]["t"] == {"F1_kWh": 0.25, "gas_Smc": 1.0}
    assert got["by_site"]["s"]["pv_kWh"] == 3.75


def test_energy_summary_of_nothing_is_zero_not_missing() -> None:
    got = energy_summary([])
    assert got["energy_by_band"] == {"F1": 0.0, "F2": 0.0, "F3": 0.0}
    assert got["pv_kwh"] == 0.0 and got["gas"] == {} and got["by_site"] == {}


class FixedWeather:
    """Daily mean temperatures given by the test; Genova's DPR 412 record for the rest."""

    def __init__(self, means: dict[date, float]) -> None:
        self.means = means
        self.municipality = lookup("GENOVA")

    def daily_mean(self, day: date) -> float:
        return self.means[day]


FIRST, RETROFIT, LAST = date(2026, 1, 12), date(2026, 1, 15), date(2026, 1, 17)
MEANS = {FIRST: 10.0, date(2026, 1, 13): 12.0, date(2026, 1, 14): 8.0,    # 30 GG
         RETROFIT: 5.0, date(2026, 1, 16): 20.0, LAST: 25.0}             # 15 + 0 + 0 GG


def gas(day: date, hour_utc: int, smc: float, device: str = SCHOOL) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)
    return reading("gas", "gas_volume", smc, unit="Smc", kwh=smc * 9.42, start=start,
                   device=device)


def test_retrofit_savings_by_hand() -> None:
    readings = [
        gas(FIRST, 8, 30.0), gas(date(2026, 1, 13), 8, 20.0), gas(date(2026, 1, 14), 8, 10.0),
        # 23:30 UTC on the 14th is 00:30 on the 15th in Rome: reporting period, not baseline
        {**gas(date(2026, 1, 14), 23, 2.0),
         "msg_id": f"{SCHOOL}:gas:{int(datetime(2026, 1, 14, 23, 30, tzinfo=UTC).timestamp())}"},
        gas(RETROFIT, 8, 10.0),
        gas(FIRST, 9, 99.0, device="ce000001"),                  # another board: ignored
        reading("el1", "energy_import", 50.0, band="F1"),        # electricity: ignored
    ]
    got = retrofit_savings(readings, device=SCHOOL, weather=FixedWeather(MEANS),  # type: ignore[arg-type]
                           first_day=FIRST, retrofit_day=RETROFIT, last_day=LAST,
                           expected_saving=0.2)
    # baseline 60 Smc over 30 GG: alpha 2 Smc/GG, 2870 Smc a year at Genova's 1435 GG;
    # reporting 12 Smc over 15 GG against a normalised baseline of 2 x 15 = 30 Smc: 60 %
    assert (got["baseline_days"], got["reporting_days"]) == (3, 3)
    assert got["baseline_smc"] == 60.0 and got["baseline_degree_days"] == 30.0
    assert got["alpha_smc_per_degree_day"] == 2.0
    assert got["annual_baseline_smc_at_dpr412_gg"] == 2870.0
    assert got["reporting_smc"] == 12.0 and got["reporting_degree_days"] == 15.0
    assert got["normalised_baseline_smc"] == 30.0
    assert got["avoided_smc"] == 18.0
    assert got["saving_pct"] == 60.0
    # 18 Smc x 9.42 kWh/Smc = 169.56 kWh; IPCC 2006 default for natural gas 56.1 t CO2/TJ =
    # 0.202 kg/kWh -> 34.25 kg
    assert got["co2_avoided_kg"] == pytest.approx(169.56 * 56.1 / 277.78, abs=0.1)
    assert got["simulated_measure_pct"] == 20.0


def test_retrofit_savings_without_baseline_gas_is_an_analysis_error() -> None:
    readings = [gas(RETROFIT, 8, 10.0)]
    with pytest.raises(AnalysisError):
        retrofit_savings(readings, device=SCHOOL, weather=FixedWeather(MEANS),  # type: ignore[arg-type]
                         first_day=FIRST, retrofit_day=RETROFIT, last_day=LAST,
                         expected_saving=0.2)


def test_reporting_period_includes_the_last_day() -> None:
    readings = [gas(FIRST, 8, 30.0), gas(LAST, 8, 7.0)]
    weather = FixedWeather({**MEANS, LAST: 13.0})   # 15 + 0 + 7 = 22 GG after the measure
    got = retrofit_savings(readings, device=SCHOOL, weather=weather,  # type: ignore[arg-type]
                           first_day=FIRST, retrofit_day=RETROFIT, last_day=LAST,
                           expected_saving=0.2)
    assert got["reporting_smc"] == 7.0 and got["reporting_degree_days"] == 22.0


def test_every_savings_result_has_a_label_in_both_languages() -> None:
    from simulator.i18n import label

    got = retrofit_savings([gas(FIRST, 8, 30.0), gas(RETROFIT, 8, 10.0)], device=SCHOOL,
                           weather=FixedWeather(MEANS),  # type: ignore[arg-type]
                           first_day=FIRST, retrofit_day=RETROFIT, last_day=LAST,
                           expected_saving=0.2)
    for key in got:  # an unknown key falls back to itself; no key is Italian already
        assert label(key, "it") != key, key
