"""Financial evaluation of efficiency measures: cash flows, NPV, IRR, paybacks, PI, CCE.

Conventions (stated in every result): the investment I0 is the flow at t = 0; the yearly flows
fall at the end of years 1..n (``timing="end"``) or at mid-year (``timing="mid"``, discounted at
t − 0.5). Paybacks are fractional years read from the cumulative flows (linear within the year
where the cumulative sum turns non-negative), undiscounted (TRS) or discounted (TRA). Seed 003's
own ratio definition (TRS = I0 / mean yearly flow) is reported next to it as ``trs_ratio``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from gateway.analysis.conversions import DEFAULT as DEFAULT_FACTORS
from gateway.analysis.conversions import Factors, co2_kg, primary_energy_kwh
from gateway.analysis.errors import AnalysisError

__all__ = [
    "FinanceError",
    "Incentive",
    "IrrResult",
    "Measure",
    "avoided_per_year",
    "cash_flows",
    "conto_termico",
    "cost_of_conserved_energy",
    "evaluate",
    "irr",
    "npv",
    "payback",
    "tax_deduction",
]

CONVENTIONS = (
    "I0 at t=0; yearly flows at the end of years 1..n (or mid-year when timing='mid'); "
    "paybacks are fractional years where the cumulative flows turn non-negative."
)


class FinanceError(AnalysisError):
    """An input that cannot give a meaningful number; `input` names it, `hint` says what to do."""

    def __init__(self, field_name: str, value: object, expected: str, hint: str = "") -> None:
        super().__init__("not a valid value", input=field_name, value=value,
                         expected=expected, hint=hint)


@dataclass(frozen=True, slots=True)
class Incentive:
    """A yearly amount paid for `years` years from `start_year` (Conto Termico, TEE, deduction)."""

    name: str
    annual_amount: float
    years: int
    start_year: int = 1
    annual_change: float = 0.0  # e.g. -0.01: the amount falls 1 % a year (seed 004's TEE)

    def amount_in(self, year: int) -> float:
        if year < self.start_year or year >= self.start_year + self.years:
            return 0.0
        return self.annual_amount * (1.0 + self.annual_change) ** (year - self.start_year)


def tax_deduction(
    eligible_cost: float, *, rate: float = 0.55, cap: float | None = None, years: int = 10
) -> Incentive:
    """A tax deduction of `rate` × eligible cost (capped at `cap` euros), in equal yearly parts.

    Italian "ecobonus" deductions (L. 296/2006 c. 344-347) are capped per intervention type:
    boiler replacement 30,000 €, envelope and windows 60,000 €, global retrofit 100,000 €.
    """
    if eligible_cost < 0:
        raise FinanceError("eligible_cost", eligible_cost, "a cost >= 0")
    if not 0 <= rate <= 1:
        raise FinanceError("rate", rate, "a share between 0 and 1, e.g. 0.55")
    if cap is not None and cap < 0:
        raise FinanceError("cap", cap, "a deduction cap in euros >= 0")
    if not (isinstance(years, int) and years >= 1):
        raise FinanceError("years", years, "whole years >= 1, e.g. 10")
    total = rate * eligible_cost
    if cap is not None:
        total = min(total, cap)
    return Incentive("tax_deduction", total / years, years)


def conto_termico(parts: Sequence[tuple[float, float]], *, years: int = 5,
                  start_year: int = 1) -> Incentive:
    """Conto Termico: Σ share × eligible cost, paid in equal parts over `years`.

    `parts` are (eligible cost incl. VAT, share) per intervention. Seed 003 §9: 40 % for the
    condensing boiler with thermostatic valves (EEM3+EEM4) and for LED lighting (EEM5), 40 % for
    the envelope (EEM1) alone, 55 % for envelope and boiler together; 5 yearly payments.
    """
    if not (isinstance(years, int) and years >= 1):
        raise FinanceError("conto_termico.years", years, "whole years >= 1 (seed 003: 5)")
    total = 0.0
    for i, (cost, share) in enumerate(parts):
        if not cost >= 0:
            raise FinanceError(f"conto_termico[{i}].eligible_cost", cost, "a cost >= 0")
        if not 0 <= share <= 1:
            raise FinanceError(f"conto_termico[{i}].share", share, "a share between 0 and 1")
        total += share * cost
    return Incentive("conto_termico", total / years, years, start_year)


@dataclass(frozen=True, slots=True)
class Measure:
    """One efficiency measure (or scenario) as the inputs of a cash-flow analysis."""

    name: str
    investment: float
    life_years: int
    annual_savings: float                 # energy cost avoided in year 1, €
    maintenance_change: float = 0.0       # extra yearly cost in year 1, € (negative = saving)
    energy_escalation: float = 0.0        # yearly growth of energy prices (savings)
    inflation: float = 0.0                # yearly growth of maintenance costs
    incentives: tuple[Incentive, ...] = field(default_factory=tuple)
    energy_saved_kwh: float | None = None  # yearly, for the cost of conserved energy
    # yearly final energy saved per carrier ("electricity", "natural_gas", ...): CO2 and
    # primary energy avoided; when given, its sum is the energy for the cost of conserved energy
    energy_saved_by_carrier: dict[str, float] = field(default_factory=dict)

    def validate(self) -> None:
        if not (self.investment > 0 and math.isfinite(self.investment)):
            raise FinanceError(f"{self.name}.investment", self.investment, "a positive amount")
        if not (isinstance(self.life_years, int) and 1 <= self.life_years <= 100):
            raise FinanceError(f"{self.name}.life_years", self.life_years, "whole years 1-100")
        for rate_name in ("energy_escalation", "inflation"):
            value = getattr(self, rate_name)
            if not -0.5 < value < 1.0:
                raise FinanceError(f"{self.name}.{rate_name}", value, "a yearly rate, e.g. 0.01")
        for inc in self.incentives:
            where = f"{self.name}.incentive {inc.name}"
            if not (isinstance(inc.years, int) and inc.years >= 1):
                raise FinanceError(f"{where}.years", inc.years, "whole years >= 1")
            if not (isinstance(inc.start_year, int) and inc.start_year >= 1):
                raise FinanceError(f"{where}.start_year", inc.start_year,
                                   "year 1 or later (year 1 is the first year of savings)")
            last = inc.start_year + inc.years - 1
            if last > self.life_years:
                raise FinanceError(f"{where}.years", inc.years,
                                   f"payments ending by year {self.life_years} (life_years)",
                                   f"it would run to year {last}: shorten it or extend "
                                   "life_years, payments after the life would be lost")


def cash_flows(measure: Measure) -> list[float]:
    """Flows [−I0, F1, ..., Fn]: savings − maintenance change + incentives, each escalated."""
    measure.validate()
    flows = [-measure.investment]
    for year in range(1, measure.life_years + 1):
        savings = measure.annual_savings * (1.0 + measure.energy_escalation) ** (year - 1)
        maintenance = measure.maintenance_change * (1.0 + measure.inflation) ** (year - 1)
        incentives = sum(i.amount_in(year) for i in measure.incentives)
        flows.append(savings - maintenance + incentives)
    return flows


def _times(n: int, timing: str) -> list[float]:
    if timing not in ("end", "mid"):
        raise FinanceError("timing", timing, "'end' or 'mid'")
    shift = 0.5 if timing == "mid" else 0.0
    return [0.0] + [t - shift for t in range(1, n)]


def npv(rate: float, flows: Sequence[float], *, timing: str = "end") -> float:
    """Net present value of `flows` (flows[0] at t = 0) at discount `rate`."""
    if rate <= -1.0:
        raise FinanceError("rate", rate, "a rate > -100 %")
    times = _times(len(flows), timing)
    return sum(f / (1.0 + rate) ** t for f, t in zip(flows, times, strict=True))


@dataclass(frozen=True, slots=True)
class IrrResult:
    """The IRR when it is unique; otherwise `rate` is None and `status`/`reason` say why."""

    rate: float | None
    status: str               # "unique" | "none" | "multiple"
    roots: tuple[float, ...]
    reason: str = ""


def irr(flows: Sequence[float], *, timing: str = "end") -> IrrResult:
    """All rates in (−99 %, 1000 %) where NPV = 0, found by bracketing and bisection.

    Conventional flows (one sign change) have at most one IRR; several sign changes can give
    several or none, and then no single number is returned: a wrong IRR is worse than none.
    """
    signs = [f > 0 for f in flows if f != 0]
    changes = sum(1 for a, b in pairwise(signs) if a != b)
    if changes == 0:
        return IrrResult(None, "none", (), "the flows never change sign, so no rate makes NPV zero")
    # -99 % .. 0 % in fine steps, then 0 % .. 1000 % in log steps; NPV on the whole grid at once
    grid = np.concatenate([np.linspace(-0.99, 0.0, 4000, endpoint=False),
                           np.logspace(-4, 1, 4000) - 1e-4])
    times = np.array(_times(len(flows), timing))
    values = (np.asarray(flows, dtype=float) / (1.0 + grid[:, None]) ** times).sum(axis=1)
    roots: list[float] = []
    for (r0, v0), (r1, v1) in pairwise(zip(grid.tolist(), values.tolist(), strict=True)):
        if v0 == 0:
            roots.append(r0)
        elif v0 * v1 < 0:
            roots.append(_bisect(flows, r0, r1, v0, timing))
    roots = sorted({round(r, 12) for r in roots})
    if not roots:
        return IrrResult(None, "none", (), "NPV does not reach zero for any rate in -99 %..1000 %")
    if len(roots) > 1:
        listed = ", ".join(f"{r:.4%}" for r in roots)
        return IrrResult(None, "multiple", tuple(roots),
                         f"the flows change sign {changes} times and NPV is zero at {listed}; "
                         "use NPV at the required rate instead of an IRR")
    return IrrResult(roots[0], "unique", tuple(roots))


def _bisect(flows: Sequence[float], lo: float, hi: float, vlo: float, timing: str) -> float:
    for _ in range(200):
        mid = (lo + hi) / 2
        vmid = npv(mid, flows, timing=timing)
        if vmid == 0 or hi - lo < 1e-13:
            return mid
        if (vmid > 0) == (vlo > 0):
            lo, vlo = mid, vmid
        else:
            hi = mid
    return (lo + hi) / 2


def payback(flows: Sequence[float], rate: float | None = None, *,
            timing: str = "end") -> float | None:
    """Fractional years until the cumulative (discounted when `rate` is given) flows reach 0.

    Discounting uses the same times as `npv` (t − 0.5 with timing="mid"); within the year where
    the cumulative sum turns non-negative the flow is taken as spread evenly. None when the
    cumulative flows never reach 0 within the flows given.
    """
    times = _times(len(flows), timing)
    disc = [f / (1.0 + rate) ** t for t, f in zip(times, flows, strict=True)] \
        if rate is not None else list(flows)
    cumulative = disc[0]
    if cumulative >= 0:
        return 0.0
    for year, flow in enumerate(disc[1:], start=1):
        if cumulative + flow >= 0:
            return year - 1 + (-cumulative) / flow
        cumulative += flow
    return None


def cost_of_conserved_energy(
    investment: float, rate: float, years: int, energy_saved_kwh: float,
    maintenance_change: float = 0.0,
) -> float:
    """€/kWh: the annualised investment (capital recovery factor) plus O&M per kWh saved."""
    if energy_saved_kwh <= 0:
        raise FinanceError("energy_saved_kwh", energy_saved_kwh, "a yearly saving > 0 kWh")
    crf = 1.0 / years if rate == 0 else rate / (1.0 - (1.0 + rate) ** -years)
    return (investment * crf + maintenance_change) / energy_saved_kwh


def evaluate(measure: Measure, rate: float, *, timing: str = "end",
             factors: Factors | None = None) -> dict[str, object]:
    """Every indicator for one measure at discount `rate`, with the conventions used.

    With `energy_saved_by_carrier`, also the yearly CO2 (kg) and primary energy (kWh, total and
    non-renewable) avoided, from `factors` (default: seed 003 / DM 26/06/2015, see conversions).
    """
    flows = cash_flows(measure)
    value = npv(rate, flows, timing=timing)
    rate_of_return = irr(flows, timing=timing)
    yearly = flows[1:]
    result: dict[str, object] = {
        "measure": measure.name,
        "investment": measure.investment,
        "discount_rate": rate,
        "flows": flows,
        "npv": value,
        "irr": rate_of_return.rate,
        "irr_status": rate_of_return.status,
        "irr_note": rate_of_return.reason,
        "payback_simple": payback(flows),
        "payback_discounted": payback(flows, rate, timing=timing),
        "trs_ratio": measure.investment / (sum(yearly) / len(yearly)) if sum(yearly) > 0 else None,
        "profitability_index": value / measure.investment,
        "conventions": CONVENTIONS + f" timing={timing}.",
    }
    saved = sum(measure.energy_saved_by_carrier.values()) or measure.energy_saved_kwh
    if saved:
        result["cost_of_conserved_energy_eur_per_kwh"] = cost_of_conserved_energy(
            measure.investment, rate, measure.life_years, saved, measure.maintenance_change,
        )
    if measure.energy_saved_by_carrier:
        result["avoided"] = avoided_per_year(measure.energy_saved_by_carrier,
                                             factors or DEFAULT_FACTORS)
    return result


def avoided_per_year(by_carrier: dict[str, float], factors: Factors) -> dict[str, object]:
    """CO2 and primary energy avoided each year by the final energy saved per carrier."""
    return {
        "energy_saved_kwh": dict(by_carrier),
        "co2_kg": sum(co2_kg(kwh, c, factors) for c, kwh in by_carrier.items()),
        "primary_energy_kwh": sum(primary_energy_kwh(kwh, c, "tot", factors)
                                  for c, kwh in by_carrier.items()),
        "primary_energy_nren_kwh": sum(primary_energy_kwh(kwh, c, "nren", factors)
                                       for c, kwh in by_carrier.items()),
        "factors": {"co2_kg_per_kwh": {c: factors.co2_kg_per_kwh.get(c) for c in by_carrier},
                    "primary_energy": {c: factors.primary_energy.get(c) for c in by_carrier},
                    "sources": list(factors.sources)},
    }
