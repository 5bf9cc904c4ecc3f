"""Finance against seed 004's 13 measures, seed 003's formulas and numpy-financial."""

from __future__ import annotations

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.analysis.finance import (
    FinanceError,
    Incentive,
    Measure,
    cash_flows,
    cost_of_conserved_energy,
    evaluate,
    irr,
    npv,
    payback,
    tax_deduction,
)
from gateway.analysis.financing import annuity_payment, coverage_ratios, loan_schedule

# Seed 004, "Interventi proposti" and the per-measure "Tabella 11" (Lodi condominium).
# The seed's cash flows are reconstructed from its stated assumptions: yearly flow = energy-cost
# saving − 1,750 € metering/heat-accounting service (every measure that includes
# "contabilizzazione", i.e. all but n. 8) + the 55 % tax deduction over 10 years of the cost
# beyond the 61,550 € base package, capped by intervention type (boiler 30,000 €, envelope and
# windows 60,000 €); TEE (white certificates) for 7 years falling 1 % a year (seed 004 Table 4).
BASE = 61_550
FEE = 1_750
BOILER = 100_000  # seed 004 measure 2: "Il costo per la sostituzione della caldaia è di 100'000"
# n, investment, saving €/yr, fee?, deductions [(eligible cost, cap)], life, TEE €/yr,
# expected PBT, PBT with TEE, IRR %, IRR with TEE % (as printed in the seed)
MEASURES = [
    (1, 61_550, 15_369, True, [], 20, 1_043, 4.5, 4.2, 21.7, 23.1),
    (2, 161_550, 26_861, True, [(BOILER, 30_000)], 20, 1_895, 5.7, 5.4, 16.2, 17.0),
    (3, 207_535, 21_900, True, [], 30, 1_507, 10.3, 9.7, 8.97, 9.4),
    (4, 218_027, 22_730, True, [(218_027 - BASE, 60_000)], 30, 1_566, 8.1, 7.7, 11.0, 11.5),
    (5, 78_946, 25_365, True, [(78_946 - BASE, 60_000)], 30, 1_754, 3.2, 3.0, 31.0, 33.0),
    (6, 235_423, 32_769, True, [(235_423 - BASE, 60_000)], 30, 2_281, 6.4, 6.0, 14.9, 15.6),
    (7, 335_423, 42_919, True, [(BOILER, 30_000), (335_423 - BASE - BOILER, 60_000)], 20, 3_028,
     6.7, 6.3, 13.1, 13.8),
    (8, 255_155, 13_177, False, [], 30, 931, 19.4, 18.8, 3.0944, 3.3),
    (9, 316_705, 23_694, True, [(316_705 - BASE, 60_000)], 30, 1_635, 11.7, 11.1, 6.9, 7.2),
    # n. 10: the summary table prints 2,349 € (the TEE value) as the saving; Table 11 says 33,729
    (10, 334_101, 33_729, True, [(334_101 - BASE, 60_000)], 30, 2_349, 8.8, 8.3, 10.2, 10.6),
    (11, 434_101, 43_315, True, [(BOILER, 30_000), (434_101 - BASE - BOILER, 60_000)], 20, 3_056,
     8.6, 8.2, 9.1, 9.6),
    (12, 178_946, 35_824, True, [], 20, 2_527, 5.3, 4.9, 18.4, 19.5),
    (13, 434_101, 43_315, True, [], 20, 3_056, 10.4, 9.9, 7.2, 7.7),
]


def _measure(row, with_tee: bool) -> Measure:
    n, investment, saving, fee, deductions, life, tee = row[:7]
    incentives = [tax_deduction(eligible, rate=0.55, cap=cap) for eligible, cap in deductions]
    if with_tee:
        incentives.append(Incentive("tee", tee, 7, annual_change=-0.01))
    return Measure(f"measure {n}", investment, life, saving,
                   maintenance_change=FEE if fee else 0.0, incentives=tuple(incentives))


@pytest.mark.parametrize("row", MEASURES, ids=[f"measure-{r[0]}" for r in MEASURES])
def test_seed004_payback_and_irr_within_a_tenth(row):
    plain = evaluate(_measure(row, with_tee=False), 0.03)
    assert plain["payback_simple"] == pytest.approx(row[7], abs=0.1)
    assert plain["irr"] * 100 == pytest.approx(row[9], abs=0.1)
    with_tee = evaluate(_measure(row, with_tee=True), 0.03)
    assert with_tee["payback_simple"] == pytest.approx(row[8], abs=0.1)
    if row[0] != 2:  # see test_seed004_measure2_irr_with_tee_is_not_reproducible
        assert with_tee["irr"] * 100 == pytest.approx(row[10], abs=0.1)


def test_seed004_measure2_irr_with_tee_is_not_reproducible():
    """25 of the 26 IRRs reproduce; measure 2's IRR with TEE (17.0 %) needs TEE for ~5 years,
    while every other measure needs 7, so the seed must have used an input it does not print."""
    value = evaluate(_measure(MEASURES[1], with_tee=True), 0.03)["irr"] * 100
    assert 17.1 < value < 17.2


def test_seed004_table4_cumulative_flows_of_the_optimal_mix():
    """Seed 004 Table 4 (mix 12, 100 % ESCo): flows 34,074 €/yr; cumulative −8,574 after year 5."""
    flows = cash_flows(_measure(MEASURES[11], with_tee=False))
    assert flows[1] == pytest.approx(34_074)
    cumulative = [sum(flows[: i + 1]) for i in range(len(flows))]
    # the seed rounds its printed flows to the euro, so its sums drift by a few euros
    assert cumulative[5] == pytest.approx(-8_574, abs=3)
    assert cumulative[12] == pytest.approx(229_947, abs=6)
    tee_flows = cash_flows(_measure(MEASURES[11], with_tee=True))
    printed = [36_602, 36_577, 36_552, 36_527, 36_503, 36_479, 36_455, 34_074]
    assert tee_flows[1:9] == pytest.approx(printed, abs=2.5)


@settings(max_examples=200, deadline=None)
@given(
    investment=st.floats(1_000, 1e6),
    flows=st.lists(st.floats(-1e5, 1e6), min_size=1, max_size=40),
    rate=st.floats(-0.05, 0.3),
)
def test_npv_matches_numpy_financial(investment, flows, rate):
    all_flows = [-investment, *flows]
    assert npv(rate, all_flows) == pytest.approx(npf.npv(rate, all_flows), rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    investment=st.floats(1_000, 1e6),
    flows=st.lists(st.floats(100, 1e6), min_size=2, max_size=40),
)
def test_irr_of_conventional_flows_matches_numpy_financial(investment, flows):
    all_flows = [-investment, *flows]
    expected = npf.irr(all_flows)
    result = irr(all_flows)
    if -0.99 < expected < 10:
        assert result.status == "unique"
        assert result.rate == pytest.approx(expected, abs=1e-7)


def test_irr_refuses_to_pick_one_of_several_roots():
    # NPV = -100 + 230/(1+r) - 132/(1+r)^2 is zero at r = 10 % and r = 20 % (hand-solved).
    result = irr([-100, 230, -132])
    assert result.rate is None and result.status == "multiple"
    assert result.roots == pytest.approx((0.10, 0.20))
    assert "NPV" in result.reason


def test_irr_with_no_solution_says_why():
    assert irr([-100, -5, -5]).status == "none"
    result = irr([-100, 10, 10])  # never recovers: NPV < 0 for every rate above -99 %... almost
    assert result.status in {"unique", "none"}
    if result.status == "unique":
        assert result.rate < 0


def test_payback_fractional_years_by_hand():
    # cumulative: -100, -60, -20, +20 → payback 2 + 20/40 = 2.5 years
    assert payback([-100, 40, 40, 40]) == pytest.approx(2.5)
    # discounted at 10 %: 36.36, 33.06, 30.05 → cumulative -30.58 after 2 years; never within 3
    assert payback([-100, 40, 40, 40], 0.10) is None
    assert payback([-100, 40, 40, 40, 40], 0.10) == pytest.approx(3 + (100 - 99.474) / 27.32,
                                                                    abs=1e-3)


def test_mid_year_timing_discounts_half_a_year_less():
    end = npv(0.05, [-100, 60, 60])
    mid = npv(0.05, [-100, 60, 60], timing="mid")
    assert mid == pytest.approx(-100 + 60 / 1.05 ** 0.5 + 60 / 1.05 ** 1.5)
    assert mid > end


def test_escalation_and_inflation_by_hand():
    m = Measure("esc", 1_000, 3, 100, maintenance_change=10, energy_escalation=0.02,
                inflation=0.01, incentives=(Incentive("conto_termico", 50, 2),))
    assert cash_flows(m) == pytest.approx([-1_000, 100 - 10 + 50, 102 - 10.1 + 50,
                                           104.04 - 10.201])


def test_tax_deduction_cap():
    assert tax_deduction(100_000, rate=0.55, cap=30_000).annual_amount == pytest.approx(3_000)
    assert tax_deduction(10_000, rate=0.65).annual_amount == pytest.approx(650)


def test_cost_of_conserved_energy_uses_capital_recovery_factor():
    # CRF(5 %, 10 y) = 0.05 / (1 - 1.05**-10) = 0.129505; (10,000 × CRF + 100) / 20,000 kWh
    assert cost_of_conserved_energy(10_000, 0.05, 10, 20_000, 100) == pytest.approx(
        (10_000 * 0.1295045750 + 100) / 20_000, rel=1e-8)


def test_bad_inputs_name_the_field():
    with pytest.raises(FinanceError, match=r"bad\.investment: .*got -5"):
        cash_flows(Measure("bad", -5, 10, 100))
    with pytest.raises(FinanceError, match="life_years"):
        cash_flows(Measure("bad", 5, 0, 100))
    with pytest.raises(FinanceError, match="timing"):
        npv(0.05, [-1, 2], timing="start")


def test_incentive_outside_the_life_is_rejected_not_dropped():
    # start_year 0 would fall on the investment date and never be paid; years past the life
    # would be cut off: both silently lost money before
    with pytest.raises(FinanceError, match=r"m\.incentive ct\.start_year.*got 0"):
        cash_flows(Measure("m", 1_000, 10, 100, incentives=(Incentive("ct", 50, 5, 0),)))
    with pytest.raises(FinanceError, match=r"m\.incentive ct\.years.*year 12"):
        cash_flows(Measure("m", 1_000, 10, 100, incentives=(Incentive("ct", 50, 5, 8),)))
    with pytest.raises(FinanceError, match=r"years.*got 0"):
        tax_deduction(10_000, years=0)


def test_annuity_and_loan_schedule_match_numpy_financial():
    payment = annuity_payment(113_059, 0.0382, 15)
    assert payment == pytest.approx(-npf.pmt(0.0382, 15, 113_059))
    schedule = loan_schedule(113_059, 0.0382, 15)
    assert schedule[-1]["balance"] == pytest.approx(0, abs=1e-6)
    assert sum(r["interest"] for r in schedule) == pytest.approx(payment * 15 - 113_059)


def test_coverage_ratios_by_hand():
    # 1,000 at 10 % over 2 years: payment 576.19; CFADS 700 and 600 → DSCR 1.2149, 1.0413
    result = coverage_ratios([700, 600, 500], 1_000, 0.10, 2, min_dscr=1.2)
    assert result["payment"] == pytest.approx(576.190476, rel=1e-6)
    assert result["dscr"] == pytest.approx([700 / 576.190476, 600 / 576.190476])
    assert result["llcr"] == pytest.approx((700 / 1.1 + 600 / 1.21) / 1_000)
    assert result["years_below_min_dscr"] == [2]
