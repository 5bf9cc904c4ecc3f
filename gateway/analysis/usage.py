"""Consumption over periods (days, bills, seasons): validated, ordered, gaps counted.

A period is [start, end) in whole local days. Daily meter data is a run of one-day periods,
a gas bill a period of about a month. Overlaps are always an error (the same energy would
count twice); gaps are allowed but counted, and the methods check coverage against their own
data-sufficiency rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from gateway.analysis.checks import as_values, require_unit
from gateway.analysis.errors import AnalysisError, InsufficientDataError, PeriodError

__all__ = ["UsagePeriods", "usage_periods"]


@dataclass(frozen=True, slots=True)
class UsagePeriods:
    """Consumption per period; `starts[i] <= ends[i]`, ordered, not overlapping."""

    starts: tuple[date, ...]
    ends: tuple[date, ...]           # exclusive
    values: np.ndarray
    unit: str
    input: str = "usage"

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def days(self) -> np.ndarray:
        return np.array([(e - s).days for s, e in zip(self.starts, self.ends, strict=True)])

    @property
    def span_days(self) -> int:
        return (self.ends[-1] - self.starts[0]).days

    @property
    def covered_days(self) -> int:
        return int(self.days.sum())

    @property
    def coverage(self) -> float:
        return self.covered_days / self.span_days if self.span_days else 0.0

    @property
    def is_daily(self) -> bool:
        return bool(np.all(self.days == 1))

    def require_coverage(self, *, min_days: int, min_coverage: float) -> None:
        """CalTRACK-style sufficiency: a long enough span, few enough missing days."""
        if self.span_days < min_days:
            raise InsufficientDataError(
                f"the {self.input} period is too short", input=self.input,
                available=self.span_days, required=min_days, unit="days",
                hint="a baseline needs a full year so every season is seen",
            )
        if self.coverage < min_coverage:
            missing = self.span_days - self.covered_days
            raise InsufficientDataError(
                f"{missing} of {self.span_days} days have no consumption data",
                input=self.input, available=round(100 * self.coverage, 1),
                required=round(100 * min_coverage, 1), unit="% of days covered",
                hint="fill the gaps from the bills or shorten the period to the covered part",
            )


def usage_periods(
    starts: Sequence[date],
    ends: Sequence[date],
    values: Sequence[float] | np.ndarray,
    *,
    unit: str,
    input: str = "usage",
) -> UsagePeriods:
    """Validate periods: ordered, non-empty, non-overlapping, values finite and >= 0."""
    require_unit(unit, input=input)
    v = as_values(values, input=input)
    if not (len(starts) == len(ends) == len(v)):
        raise AnalysisError("starts, ends and values differ in length", input=input,
                            value=(len(starts), len(ends), len(v)), expected="equal lengths")
    if len(v) == 0:
        raise InsufficientDataError("no data", input=input, available=0, required=1,
                                    unit="periods")
    order = sorted(range(len(v)), key=lambda i: starts[i])
    s = tuple(starts[i] for i in order)
    e = tuple(ends[i] for i in order)
    for k, i in enumerate(order):
        if e[k] <= s[k]:
            raise PeriodError("period ends before it starts", input=input, row=i + 1,
                              field="end", value=e[k].isoformat(),
                              expected=f"after {s[k].isoformat()}")
        if k and s[k] < e[k - 1]:
            raise PeriodError("period overlaps the previous one", input=input, row=i + 1,
                              field="start", value=s[k].isoformat(),
                              expected=f"on or after {e[k - 1].isoformat()}",
                              hint="remove duplicate or corrected bills; keep the final one")
    return UsagePeriods(starts=s, ends=e, values=v[order], unit=unit, input=input)
