"""Ratio-of-sums degree-day baseline and its normalisation (seed 003 §5.1.1, seed 004 All. 4).

    alpha       = sum(C_i) / sum(GG_i)                    consumption per degree day
    Base_rif    = alpha * GG_std + fixed                  baseline at reference degree days
    Base_norm,i = alpha * GG_i + fixed                    = Base_rif * GG_i / GG_std if fixed = 0
    saving_i    = 1 - C_i / Base_norm,i                   (seed 004, "Risparmio energetico_i")

`fixed` is seed 003's Q_ACS + Q_ALTRO (hot water and other uses that do not follow degree
days); seed 004 has none. Ratio of sums, not mean of ratios: seed 003 Table 5.4 averages
469.5, 477.2 and 443.1 kWh/GG to 462.8, which only the ratio of sums gives (the mean of the
three ratios is 463.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway.analysis.checks import as_values, require_count, require_unit, same_length
from gateway.analysis.errors import AnalysisError

__all__ = ["RatioBaseline", "ratio_baseline", "saving_fraction"]


@dataclass(frozen=True, slots=True)
class RatioBaseline:
    """A fitted ratio-of-sums baseline; `per_period_alpha` is seed 003's per-year column."""

    alpha: float
    reference_degree_days: float
    fixed: float
    unit: str
    labels: tuple[str, ...]
    consumption: tuple[float, ...]
    degree_days: tuple[float, ...]

    @property
    def baseline(self) -> float:
        """Base_rif: expected consumption in a year of reference degree days."""
        return self.alpha * self.reference_degree_days + self.fixed

    @property
    def per_period_alpha(self) -> tuple[float, ...]:
        return tuple(c / g for c, g in zip(self.consumption, self.degree_days, strict=True))

    @property
    def per_period_normalised(self) -> tuple[float, ...]:
        """Each period's consumption brought to reference degree days (Table 5.4 column)."""
        return tuple(a * self.reference_degree_days for a in self.per_period_alpha)

    def normalised(self, degree_days: float) -> float:
        """Base_norm,i: the baseline at a period's actual degree days."""
        if not np.isfinite(degree_days) or degree_days < 0:
            raise AnalysisError("degree days must be a non-negative number",
                                input="reporting", field="degree_days", value=degree_days,
                                expected=">= 0")
        return self.alpha * degree_days + self.fixed

    def as_dict(self) -> dict[str, object]:
        return {
            "method": "ratio_of_sums",
            "unit": self.unit,
            "alpha_per_degree_day": self.alpha,
            "reference_degree_days": self.reference_degree_days,
            "fixed": self.fixed,
            "baseline": self.baseline,
            "periods": [
                {"label": lab, "consumption": c, "degree_days": g, "alpha": a, "normalised": n}
                for lab, c, g, a, n in zip(self.labels, self.consumption, self.degree_days,
                                           self.per_period_alpha, self.per_period_normalised,
                                           strict=True)
            ],
        }


def ratio_baseline(
    consumption: Sequence[float] | np.ndarray,
    degree_days: Sequence[float] | np.ndarray,
    reference_degree_days: float,
    *,
    unit: str,
    labels: Sequence[str] | None = None,
    fixed: float = 0.0,
    min_periods: int = 1,
) -> RatioBaseline:
    """Fit Base_rif from per-period consumption (heating only) and degree days.

    `consumption` must exclude `fixed` uses already (seed 003 subtracts Q_ACS and Q_ALTRO
    before the ratio). Seed 004's contract asks for at least 3 heating seasons: pass
    `min_periods=3` to enforce it.
    """
    require_unit(unit, input="baseline")
    c = as_values(consumption, input="baseline", field="consumption")
    g = as_values(degree_days, input="baseline", field="degree_days")
    same_length(c, g, input="baseline", what="consumption and degree days")
    require_count(len(c), min_periods, input="baseline", unit="periods",
                  hint="add earlier heating seasons or lower min_periods knowingly")
    zero = np.flatnonzero(g == 0)
    if zero.size:
        raise AnalysisError("a baseline period has no degree days", input="baseline",
                            row=int(zero[0]) + 1, field="degree_days", value=0.0,
                            expected="> 0 (a heating period)",
                            hint="drop periods outside the heating season")
    if not np.isfinite(reference_degree_days) or reference_degree_days <= 0:
        raise AnalysisError("reference degree days must be positive", input="gg_std",
                            value=reference_degree_days, expected="> 0, e.g. 2592 for Lodi")
    if fixed < 0:
        raise AnalysisError("fixed uses cannot be negative", input="fixed", value=fixed,
                            expected=">= 0")
    names = tuple(labels) if labels is not None else tuple(str(i + 1) for i in range(len(c)))
    if len(names) != len(c):
        raise AnalysisError("labels differ in length from the data", input="baseline",
                            field="label", value=len(names), expected=str(len(c)))
    return RatioBaseline(
        alpha=float(c.sum() / g.sum()),
        reference_degree_days=float(reference_degree_days),
        fixed=float(fixed),
        unit=unit,
        labels=names,
        consumption=tuple(float(x) for x in c),
        degree_days=tuple(float(x) for x in g),
    )


def saving_fraction(consumption: float, normalised_baseline: float) -> float:
    """Seed 004's "Risparmio energetico_i" as a fraction: 1 - C_i / Base_norm,i."""
    if not np.isfinite(consumption) or consumption < 0:
        raise AnalysisError("consumption must be a non-negative number", input="reporting",
                            field="consumption", value=consumption, expected=">= 0")
    if not np.isfinite(normalised_baseline) or normalised_baseline <= 0:
        raise AnalysisError("normalised baseline must be positive", input="baseline",
                            field="normalised", value=normalised_baseline, expected="> 0")
    return 1.0 - consumption / normalised_baseline
