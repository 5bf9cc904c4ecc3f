"""Seed 003 §9 (Genova school): WACC, Conto Termico amounts, IP = VAN/I0 against numpy-financial,
the discounted payback with mid-year flows, and CO2 / primary energy avoided (Table 5.9, DM
26/06/2015). Expected values are the seed's printed figures or hand calculations."""

from __future__ import annotations

import numpy_financial as npf
import pytest

from gateway.analysis.conversions import factors_from
from gateway.analysis.finance import Measure, conto_termico, evaluate, npv, payback
from gateway.analysis.financing import wacc


def test_wacc_is_4_percent():
    # §9.3: Kd 3.82 %, Ke 9.00 %, D/(D+E) 80 %, τ 27.9 % (IRES 24 % + IRAP 3.9 %); printed
    # "WACC 4,00%". By hand: 0.0382 × 0.8 × 0.721 + 0.09 × 0.2 = 0.02203376 + 0.018
    value = wacc(0.0382, 0.09, 0.8, 0.279)
    assert value == pytest.approx(0.04003376, abs=1e-8)
    assert round(value * 100, 2) == 4.00


@pytest.mark.parametrize(("parts", "total", "annual"), [
    # EEM1 envelope: "Incentivi Conto termico € 257.610,99", "Incentivo annuo € 51.522,20"
    ([(644_027.5, 0.40)], 257_610.99, 51_522.20),
    # EEM5 LED: € 33.077,28 and € 6.615,46 per year
    ([(82_693.20, 0.40)], 33_077.28, 6_615.46),
    # scenario 1 (EEM3 boiler with EEM4 valves + EEM5): € 61.373 and € 12.275 per year
    ([(70_739, 0.40), (82_693, 0.40)], 61_373, 12_275),
    # scenario 2 (EEM1 with EEM3 at 55 %, EEM5 at 40 %): € 426.199 and € 85.240 per year
    ([(644_027, 0.55), (70_739, 0.55), (82_693, 0.40)], 426_199, 85_240),
], ids=["EEM1", "EEM5", "scenario-1", "scenario-2"])
def test_conto_termico_amounts(parts, total, annual):
    incentive = conto_termico(parts)             # seed: "Durata incentivi 5"
    assert incentive.years == 5
    assert incentive.annual_amount * 5 == pytest.approx(total, abs=1.0)
    assert incentive.annual_amount == pytest.approx(annual, abs=0.5)


def test_profitability_index_is_npv_over_i0_with_npv_from_numpy_financial():
    # EEM1 shaped (Table 9.6): I0 644,027, 30 years at 3.5 %, Conto Termico 40 % over 5 years;
    # the yearly benefit is I0 / 37.9 (its printed TRS without incentives).
    benefit = 644_027 / 37.9
    incentive = 0.4 * 644_027 / 5
    flows = [-644_027] + [benefit + (incentive if y <= 5 else 0) for y in range(1, 31)]
    result = evaluate(Measure("EEM1", 644_027, 30, benefit,
                              incentives=(conto_termico([(644_027, 0.4)]),)), 0.035)
    expected_npv = npf.npv(0.035, flows)
    assert result["npv"] == pytest.approx(expected_npv, rel=1e-9)
    assert result["profitability_index"] == pytest.approx(expected_npv / 644_027, rel=1e-9)


def test_discounted_payback_uses_mid_year_times_like_npv():
    # [-100, 60, 60] at 10 %, flows at mid-year: 60/1.1^0.5 = 57.2078, 60/1.1^1.5 = 52.0071;
    # cumulative after year 1 = -42.7922 → TRA = 1 + 42.7922 / 52.0071 = 1.8228 years
    assert payback([-100, 60, 60], 0.10, timing="mid") == pytest.approx(1.82282, abs=1e-4)
    # end of year: 54.5455, 49.5868 → 1 + 45.4545 / 49.5868 = 1.9167
    assert payback([-100, 60, 60], 0.10) == pytest.approx(1.91667, abs=1e-4)
    m = Measure("m", 100, 2, 60)
    assert evaluate(m, 0.10, timing="mid")["payback_discounted"] == pytest.approx(1.82282,
                                                                                   abs=1e-4)
    # and the cumulative discounted flows at the payback point agree with NPV's convention
    assert npv(0.10, [-100, 60, 60], timing="mid") == pytest.approx(-100 + 57.2078 + 52.0071,
                                                                     abs=1e-3)


def test_avoided_co2_and_primary_energy_per_carrier():
    m = Measure("boiler+led", 100_000, 15, 20_000,
                energy_saved_by_carrier={"natural_gas": 250_000, "electricity": 60_000})
    avoided = evaluate(m, 0.04)["avoided"]
    # Table 5.9: gas 0.202, electricity 0.467 kg/kWh → 50,500 + 28,020 kg
    assert avoided["co2_kg"] == pytest.approx(78_520)
    # DM 26/06/2015: gas fP,tot 1.05, electricity 2.42 (nren 1.95) → 262,500 + 145,200
    assert avoided["primary_energy_kwh"] == pytest.approx(407_700)
    assert avoided["primary_energy_nren_kwh"] == pytest.approx(262_500 + 117_000)
    # an override from the input file: grid electricity at 0.400 kg/kWh
    factors = factors_from({"co2_kg_per_kwh": {"electricity": 0.4}})
    assert evaluate(m, 0.04, factors=factors)["avoided"]["co2_kg"] == pytest.approx(74_500)
    # the cost of conserved energy uses the sum of the carriers (310,000 kWh)
    crf = 0.04 / (1 - 1.04 ** -15)
    assert evaluate(m, 0.04)["cost_of_conserved_energy_eur_per_kwh"] == pytest.approx(
        100_000 * crf / 310_000)
