"""The measures TOML of `meterkit analyze finance`, validated key by key into finance objects.

Every value is checked for type and range before any arithmetic, and each problem is an
AnalysisError naming the file, the key path (`measure[1].tax_deduction[0].years`), the value,
what is expected and what to do — never a traceback from deep inside a formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.analysis.conversions import Factors, factors_from
from gateway.analysis.errors import AnalysisError
from gateway.analysis.finance import Incentive, Measure, conto_termico, tax_deduction

__all__ = ["FinanceInput", "Financing", "read_finance"]

MISSING: Any = object()
HINT = "see `meterkit analyze finance --help` for the input format"


@dataclass(frozen=True, slots=True)
class Financing:
    """`[financing]`: the loan and, optionally, the inputs of seed 003's WACC."""

    debt_share: float
    loan_rate: float
    loan_years: int
    min_dscr: float
    cost_of_equity: float | None
    tax_rate: float | None


@dataclass(frozen=True, slots=True)
class FinanceInput:
    measures: list[Measure]
    financing: Financing | None
    factors: Factors


class _Table:
    """One TOML table with its key path; typed getters that fail with the path."""

    def __init__(self, data: Any, path: str, file: str) -> None:
        if not isinstance(data, dict):
            raise AnalysisError("not a table", input=file, field=path, value=data,
                                expected="a TOML table", hint=HINT)
        self.data, self.path, self.file = data, path, file

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str, value: Any, expected: str, hint: str = HINT) -> None:
        raise AnalysisError(message, input=self.file, field=self.at(key), value=value,
                            expected=expected, hint=hint)

    def only(self, *known: str) -> None:
        for key in self.data:
            if key not in known:
                self.fail(key, "unknown key", key, "one of " + ", ".join(known),
                          "check the spelling; " + HINT)

    def number(self, key: str, default: Any = MISSING, *, low: float = -math.inf,
               high: float = math.inf, expected: str = "a number") -> float:
        value = self.data.get(key, default)
        if value is MISSING:
            self.fail(key, "missing", None, expected)
        if value is None and default is None:
            return None  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and low <= value <= high):
            self.fail(key, "wrong value", value, expected)
        return float(value)

    def integer(self, key: str, default: Any = MISSING, *, low: int = 1,
                high: int = 1000, expected: str = "whole years") -> int:
        value = self.data.get(key, default)
        if value is MISSING:
            self.fail(key, "missing", None, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, "wrong value", value, expected)
        return int(value)

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "wrong value", value, "a non-empty string")
        return str(value)

    def tables(self, key: str) -> list[_Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            self.fail(key, "not an array of tables", value, f"[[{self.at(key)}]] tables")
        return [_Table(v, f"{self.at(key)}[{i}]", self.file) for i, v in enumerate(value)]


def _within_life(t: _Table, start: int, years: int, life: int) -> None:
    last = start + years - 1
    if last > life:
        t.fail("years", f"payments run to year {last}, past life_years {life}", years,
               f"at most {life - start + 1} years from year {start}",
               "shorten the payments or extend life_years: payments after the life are lost")


def _incentives(m: _Table, life: int) -> list[Incentive]:
    out = []
    for t in m.tables("incentive"):
        t.only("name", "annual_amount", "years", "start_year", "annual_change")
        start = t.integer("start_year", 1, expected="year 1 or later (year 1 = first year of "
                          "savings; year 0 is the investment)")
        years = t.integer("years", expected="whole years >= 1")
        _within_life(t, start, years, life)
        out.append(Incentive(t.text("name", "incentive"),
                             t.number("annual_amount", low=0, expected="euros per year >= 0"),
                             years, start,
                             t.number("annual_change", 0.0, low=-0.99, high=1.0,
                                      expected="a yearly change, e.g. -0.01")))
    for t in m.tables("tax_deduction"):
        t.only("eligible_cost", "rate", "cap", "years")
        years = t.integer("years", 10, expected="whole years >= 1, e.g. 10")
        _within_life(t, 1, years, life)
        out.append(tax_deduction(
            t.number("eligible_cost", low=0, expected="euros >= 0"),
            rate=t.number("rate", 0.55, low=0, high=1, expected="a share 0..1, e.g. 0.55"),
            cap=t.number("cap", None, low=0, expected="a deduction cap in euros >= 0"),
            years=years))
    for t in m.tables("conto_termico"):
        t.only("eligible_cost", "share", "years", "start_year")
        start = t.integer("start_year", 1, expected="year 1 or later")
        years = t.integer("years", 5, expected="whole years >= 1 (seed 003: 5)")
        _within_life(t, start, years, life)
        out.append(conto_termico(
            [(t.number("eligible_cost", low=0, expected="euros >= 0 (VAT included)"),
              t.number("share", low=0, high=1, expected="a share 0..1, e.g. 0.4"))],
            years=years, start_year=start))
    return out


def _measure(m: _Table, i: int) -> Measure:
    m.only("name", "investment", "life_years", "annual_savings", "maintenance_change",
           "energy_escalation", "inflation", "energy_saved_kwh", "incentive", "tax_deduction",
           "conto_termico")
    life = m.integer("life_years", high=100, expected="whole years 1-100")
    saved = m.data.get("energy_saved_kwh")
    by_carrier: dict[str, float] = {}
    total: float | None = None
    if isinstance(saved, dict):
        carriers = _Table(saved, m.at("energy_saved_kwh"), m.file)
        by_carrier = {c: carriers.number(c, low=0, expected="kWh per year >= 0")
                      for c in saved}
    elif saved is not None:
        total = m.number("energy_saved_kwh", low=0, expected="kWh per year > 0, or a table "
                         "per carrier: energy_saved_kwh = { natural_gas = 250000 }")
        if total == 0:
            m.fail("energy_saved_kwh", "wrong value", saved, "kWh per year > 0")
    return Measure(
        name=m.text("name", f"measure {i + 1}"),
        investment=m.number("investment", low=1e-9, expected="euros > 0"),
        life_years=life,
        annual_savings=m.number("annual_savings", expected="euros per year (year 1)"),
        maintenance_change=m.number("maintenance_change", 0.0,
                                    expected="euros per year (negative = a saving)"),
        energy_escalation=m.number("energy_escalation", 0.0, low=-0.49, high=0.99,
                                   expected="a yearly rate, e.g. 0.02"),
        inflation=m.number("inflation", 0.0, low=-0.49, high=0.99,
                           expected="a yearly rate, e.g. 0.005"),
        incentives=tuple(_incentives(m, life)),
        energy_saved_kwh=total,
        energy_saved_by_carrier=by_carrier,
    )


def _financing(doc: _Table) -> Financing | None:
    if "financing" not in doc.data:
        return None
    f = _Table(doc.data["financing"], "financing", doc.file)
    f.only("debt_share", "loan_rate", "loan_years", "min_dscr", "cost_of_equity", "tax_rate")
    return Financing(
        debt_share=f.number("debt_share", 1.0, low=0, high=1, expected="a share 0..1, e.g. 0.8"),
        loan_rate=f.number("loan_rate", low=-0.99, high=0.99, expected="a yearly rate, e.g. "
                           "0.0382"),
        loan_years=f.integer("loan_years", expected="whole years >= 1"),
        min_dscr=f.number("min_dscr", 1.2, low=1e-9, expected="a ratio > 0, e.g. 1.2"),
        cost_of_equity=f.number("cost_of_equity", None, low=-0.99, high=0.99,
                                expected="a yearly rate, e.g. 0.09"),
        tax_rate=f.number("tax_rate", None, low=0, high=1, expected="a share, e.g. 0.279"),
    )


def read_finance(doc: dict[str, Any], path: Path) -> FinanceInput:
    """Measures, optional financing and conversion factors from a parsed measures TOML."""
    root = _Table(doc, "", str(path))
    root.only("measure", "financing", "factors")
    tables = root.tables("measure")
    if not tables:
        root.fail("measure", "missing", None, "at least one [[measure]] table")
    measures = [_measure(t, i) for i, t in enumerate(tables)]
    financing = _financing(root)
    for i, m in enumerate(measures):
        if financing and financing.loan_years > m.life_years:
            root.fail("financing.loan_years", f"longer than measure[{i}].life_years "
                      f"{m.life_years}", financing.loan_years,
                      "a loan no longer than every measure's life")
    try:
        factors = factors_from(doc.get("factors"))
    except AnalysisError as exc:
        raise AnalysisError(exc.message, input=str(path), field=exc.input, value=exc.value,
                            expected=exc.expected, hint=exc.hint) from None
    # a carrier without both factors would leave CO2 or primary energy silently incomplete
    usable = sorted(set(factors.co2_kg_per_kwh) & set(factors.primary_energy))
    for i, m in enumerate(measures):
        for carrier in m.energy_saved_by_carrier:
            if carrier not in usable:
                root.fail(f"measure[{i}].energy_saved_kwh.{carrier}", "no conversion factors",
                          carrier, "a carrier with CO2 and primary-energy factors: "
                          + ", ".join(usable), "add its factors under [factors] (see "
                          "docs/ANALYSIS.md, Conversions)")
    return FinanceInput(measures, financing, factors)
