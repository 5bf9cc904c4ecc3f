"""Financed scenarios (Finanziamento Tramite Terzi): loan annuity, DSCR and LLCR.

DSCR_t = CFADS_t / debt service_t for each year of the loan; LLCR = present value of CFADS over
the loan life at the loan rate / debt outstanding at the start. Lenders usually want a minimum
DSCR of 1.2-1.3; the result flags the years below `min_dscr`.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.analysis.finance import FinanceError

__all__ = ["annuity_payment", "coverage_ratios", "loan_schedule", "wacc"]


def wacc(cost_of_debt: float, cost_of_equity: float, debt_share: float, tax_rate: float) -> float:
    """WACC = Kd × D/(D+E) × (1 − τ) + Ke × E/(D+E) (seed 003 §9.3).

    Seed 003: Kd 3.82 %, Ke 9.00 %, D/(D+E) 80 %, τ 27.9 % (IRES 24 % + IRAP 3.9 %) → 4.0 %.
    """
    for name, value in (("debt_share", debt_share), ("tax_rate", tax_rate)):
        if not 0 <= value <= 1:
            raise FinanceError(name, value, "a share between 0 and 1, e.g. 0.8")
    for name, value in (("cost_of_debt", cost_of_debt), ("cost_of_equity", cost_of_equity)):
        if not -1 < value < 1:
            raise FinanceError(name, value, "a yearly rate, e.g. 0.0382 for 3.82 %")
    return cost_of_debt * debt_share * (1 - tax_rate) + cost_of_equity * (1 - debt_share)


def annuity_payment(principal: float, rate: float, years: int) -> float:
    """Constant yearly payment (end of year) that repays `principal` at `rate` in `years`."""
    if principal < 0:
        raise FinanceError("principal", principal, "an amount >= 0")
    if years < 1:
        raise FinanceError("years", years, "at least 1 year")
    if rate == 0:
        return principal / years
    return principal * rate / (1.0 - (1.0 + rate) ** -years)


def loan_schedule(principal: float, rate: float, years: int) -> list[dict[str, float]]:
    """Year by year: payment, interest, principal repaid, balance after the payment."""
    payment = annuity_payment(principal, rate, years)
    balance = principal
    rows = []
    for year in range(1, years + 1):
        interest = balance * rate
        repaid = payment - interest
        balance = max(0.0, balance - repaid)
        rows.append({"year": year, "payment": payment, "interest": interest,
                     "principal": repaid, "balance": balance})
    return rows


def coverage_ratios(
    cfads: Sequence[float], principal: float, rate: float, years: int, *, min_dscr: float = 1.2
) -> dict[str, object]:
    """DSCR per year, its minimum and mean, LLCR, and the years whose DSCR is below `min_dscr`.

    `cfads` are the cash flows available for debt service of years 1.. (at least `years` long).
    """
    if len(cfads) < years:
        raise FinanceError("cfads", f"{len(cfads)} years", f"at least the loan's {years} years",
                           "pass the measure's yearly flows for the whole loan life")
    schedule = loan_schedule(principal, rate, years)
    dscr = [cfads[i] / row["payment"] for i, row in enumerate(schedule)]
    pv_cfads = sum(cfads[i] / (1.0 + rate) ** (i + 1) for i in range(years))
    return {
        "payment": schedule[0]["payment"],
        "dscr": dscr,
        "dscr_min": min(dscr),
        "dscr_mean": sum(dscr) / len(dscr),
        "llcr": pv_cfads / principal if principal else None,
        "years_below_min_dscr": [i + 1 for i, d in enumerate(dscr) if d < min_dscr],
        "min_dscr": min_dscr,
    }
