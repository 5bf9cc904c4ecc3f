"""Seed 004 (Lodi condominium, FACTOR20): GG_std, heating season, 13 measures, EPC formulas.

Measure savings are typed from the document's Figure 17 table; baselines 133,492 m³ of gas
and 13,850 kWh of electricity are its "consumo iniziale". EPC amounts are hand calculations
of Annex 8's formulas with the unit defect resolved (× Base_norm), written out in comments.
"""

from __future__ import annotations

import pytest

from gateway.analysis.degree_days import reference_degree_days, season_length
from gateway.analysis.epc import epc_settlement
from gateway.analysis.errors import AnalysisError, InsufficientDataError
from gateway.analysis.ratio_baseline import ratio_baseline, saving_fraction

GAS_BASELINE_M3 = 133_492
EL_BASELINE_KWH = 13_850

# (n, gas saving m³, gas %, electricity saving kWh, electricity %)
MEASURES = [
    (1, 18_046, 13.5, 4_659, 33.6), (2, 32_791, 24.6, 3_139, 22.7),
    (3, 26_088, 19.5, 5_146, 37.2), (4, 27_110, 20.3, 5_208, 37.6),
    (5, 30_356, 22.7, 5_405, 39.0), (6, 39_472, 29.6, 5_958, 43.0),
    (7, 52_403, 39.3, 4_980, 36.0), (8, 16_119, 12.1, 1_411, 10.2),
    (9, 28_298, 21.2, 5_280, 38.1), (10, 40_653, 30.5, 6_029, 43.5),
    (11, 52_881, 39.6, 5_051, 36.5), (12, 43_736, 32.8, 4_180, 30.2),
    (13, 52_881, 39.6, 5_051, 36.5),
]


def test_lodi_gg_std_2592_zone_e() -> None:
    ref = reference_degree_days("Lodi")
    assert (ref.zone, ref.degree_days) == ("E", 2592)


def test_zone_e_contract_season_is_183_days() -> None:
    # Annex 4: "183 giorni naturali consecutivi, compresi tra il 15 ottobre ed il 15 aprile"
    assert season_length("E", 2010) == 183        # 2010/11
    assert season_length("E", 2011) == 184        # 2011/12 contains 29 Feb 2012


@pytest.mark.parametrize(("n", "gas", "gas_pct", "el", "el_pct"), MEASURES)
def test_thirteen_measures_savings_percent(n: int, gas: int, gas_pct: float, el: int,
                                           el_pct: float) -> None:
    got_gas = 100 * saving_fraction(GAS_BASELINE_M3 - gas, GAS_BASELINE_M3)
    got_el = 100 * saving_fraction(EL_BASELINE_KWH - el, EL_BASELINE_KWH)
    assert round(got_gas, 1) == gas_pct
    assert round(got_el, 1) == el_pct


def test_measure_13_final_consumption_and_saving() -> None:
    # "consumo gas finale 80.611 m3", "risparmio gas 52.881 m3"
    assert GAS_BASELINE_M3 - 52_881 == 80_611
    assert 100 * saving_fraction(80_611, GAS_BASELINE_M3) == pytest.approx(39.6, abs=0.05)


def test_base_rif_ratio_of_sums_hand_calculation() -> None:
    # three seasons: 405,000 Sm³ over 7,800 GG, x 2,592 = 134,584.615 Sm³
    fit = ratio_baseline([140_000, 130_000, 135_000], [2_700, 2_500, 2_600], 2_592,
                         unit="Smc", min_periods=3)
    assert fit.baseline == pytest.approx(134_584.615, abs=0.001)
    # Base_norm at 2,400 GG = Base_rif x 2,400 / 2,592 = 124,615.385
    assert fit.normalised(2_400) == pytest.approx(124_615.385, abs=0.001)


def test_base_rif_needs_three_seasons_when_asked() -> None:
    with pytest.raises(InsufficientDataError) as err:
        ratio_baseline([140_000, 130_000], [2_700, 2_500], 2_592, unit="Smc", min_periods=3)
    assert (err.value.available, err.value.required) == (2, 3)


def test_epc_above_guarantee_measure_13() -> None:
    # R = 52,881 / 133,492 = 39.6136 %; client share = 20 % x 30 % + 50 % x 9.6136 %
    # = 10.8068 % of Base_norm x C_comb = 106,793.60 €  ->  rebate 11,540.98 €
    s = epc_settlement(base_rif=GAS_BASELINE_M3, gg_std=2_592, gg_i=2_592,
                       consumption=80_611, fuel_price=0.8)
    assert s.saving == pytest.approx(0.396136, abs=1e-6)
    assert s.quota_comb == pytest.approx(106_793.60, abs=0.01)
    assert s.rebate == pytest.approx(11_540.98, abs=0.01)
    assert s.penalty == 0.0
    assert s.energy_remuneration == pytest.approx(106_793.60 - 11_540.98, abs=0.01)


def test_epc_below_guarantee_rebate_and_penalty_in_euros() -> None:
    # C = 75 % of the baseline: R = 25 %; rebate 20 % x 25 % x 106,793.60 = 5,339.68 €;
    # penalty (30 % - 25 %) x 106,793.60 = 5,339.68 €
    s = epc_settlement(base_rif=GAS_BASELINE_M3, gg_std=2_592, gg_i=2_592,
                       consumption=0.75 * GAS_BASELINE_M3, fuel_price=0.8)
    assert s.rebate == pytest.approx(5_339.68, abs=0.01)
    assert s.penalty == pytest.approx(5_339.68, abs=0.01)
    assert s.energy_remuneration == pytest.approx(96_114.24, abs=0.01)


def test_epc_normalises_to_the_year_degree_days() -> None:
    # Base_norm = 133,492 x 2,400 / 2,592 = 123,603.70 Sm³
    s = epc_settlement(base_rif=GAS_BASELINE_M3, gg_std=2_592, gg_i=2_400,
                       consumption=80_000, fuel_price=0.8, conduction_ref=10_000,
                       cmdo_i=33.0, cmdo_ref=30.0)
    assert s.base_norm == pytest.approx(123_603.70, abs=0.01)
    # conduction 10,000 x 33 / 30 = 11,000 €
    assert s.conduction == pytest.approx(11_000.0)
    assert s.remuneration == pytest.approx(s.energy_remuneration + 11_000.0)


def test_epc_consumption_above_baseline_gives_no_rebate() -> None:
    s = epc_settlement(base_rif=100_000, gg_std=2_592, gg_i=2_592, consumption=110_000,
                       fuel_price=1.0)
    # R = -10 %: rebate 0, penalty (30 % + 10 %) x 100,000 € = 40,000 €
    assert s.rebate == 0.0
    assert s.penalty == pytest.approx(40_000.0)


def test_epc_rejects_percentages_given_as_whole_numbers() -> None:
    with pytest.raises(AnalysisError) as err:
        epc_settlement(base_rif=1, gg_std=1, gg_i=1, consumption=1, fuel_price=1,
                       guaranteed=30)
    assert err.value.field == "guaranteed"
