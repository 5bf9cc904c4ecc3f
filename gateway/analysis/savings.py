"""Avoided energy and normalised savings (IPMVP), with adjustments recorded alongside.

IPMVP: avoided energy = (baseline energy ± routine adjustments ± non-routine adjustments)
- reporting-period energy. Here the routine (weather) adjustment is done by the baseline
model: `adjusted_baseline` is the model's prediction under the reporting period's weather.
Non-routine adjustments are explicit, each with a description and its own basis (e.g. 12
light points x 0.05 kW x 4,110 h added to the network), and are kept in the result so that
whoever reads the number can see what moved it.

Normalised savings compare baseline and reporting models under the same "normal" weather
(IPMVP's fixed conditions); for the ratio method, both sides are brought to GG_std.

Public API:
    NonRoutineAdjustment(description, value, basis="");  light_points_adjustment(...);
    floor_area_adjustment(...)
    avoided_energy(model, reporting, temperature, *, non_routine=(), confidence=0.68)
        -> SavingsResult
    normalised_savings(baseline_model, reporting_model, normal_temperature) -> float
    ratio_savings(baseline, consumption, degree_days) -> RatioSavings
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway.analysis.degree_days import DailyTemperature
from gateway.analysis.errors import AnalysisError, UnitMismatchError
from gateway.analysis.ratio_baseline import RatioBaseline, saving_fraction
from gateway.analysis.regression import DegreeDayModel
from gateway.analysis.stats import fractional_savings_uncertainty
from gateway.analysis.usage import UsagePeriods

__all__ = [
    "NonRoutineAdjustment",
    "RatioSavings",
    "SavingsResult",
    "avoided_energy",
    "floor_area_adjustment",
    "light_points_adjustment",
    "normalised_savings",
    "ratio_savings",
]


@dataclass(frozen=True, slots=True)
class NonRoutineAdjustment:
    """A static change of the facility; `value` is added to the adjusted baseline."""

    description: str
    value: float
    basis: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"kind": "non_routine", "description": self.description, "value": self.value,
                "basis": self.basis}


def light_points_adjustment(added_kw: float, removed_kw: float, hours: float,
                            description: str = "light points added/removed"
                            ) -> NonRoutineAdjustment:
    """Energy of light points added minus removed over the burning hours (kWh)."""
    for name, v in (("added_kw", added_kw), ("removed_kw", removed_kw), ("hours", hours)):
        if not np.isfinite(v) or v < 0:
            raise AnalysisError("must be a non-negative number", input="adjustment",
                                field=name, value=v, expected=">= 0")
    return NonRoutineAdjustment(description, (added_kw - removed_kw) * hours,
                                f"({added_kw:g} - {removed_kw:g}) kW x {hours:g} h")


def floor_area_adjustment(area_m2: float, intensity_per_m2_year: float, days: float,
                          description: str = "floor area added") -> NonRoutineAdjustment:
    """Energy of added (negative: removed) floor area at a yearly intensity, pro rata."""
    if not np.isfinite(intensity_per_m2_year) or intensity_per_m2_year < 0:
        raise AnalysisError("intensity must be a non-negative number", input="adjustment",
                            field="intensity_per_m2_year", value=intensity_per_m2_year,
                            expected=">= 0, e.g. 133 kWh/m² per year (seed 004)")
    value = area_m2 * intensity_per_m2_year * days / 365.0
    return NonRoutineAdjustment(description, value,
                                f"{area_m2:g} m² x {intensity_per_m2_year:g}/m²/yr x {days:g}/365")


@dataclass(frozen=True, slots=True)
class SavingsResult:
    """Reporting-period savings with every term that produced them."""

    unit: str
    reporting_periods: int
    observed: float
    adjusted_baseline: float
    routine_adjustment: float
    non_routine: tuple[NonRoutineAdjustment, ...]
    fsu: float
    confidence: float

    @property
    def non_routine_total(self) -> float:
        return float(sum(a.value for a in self.non_routine))

    @property
    def avoided_energy(self) -> float:
        return self.adjusted_baseline + self.non_routine_total - self.observed

    @property
    def savings_fraction(self) -> float:
        base = self.adjusted_baseline + self.non_routine_total
        return self.avoided_energy / base if base > 0 else float("nan")

    @property
    def uncertainty(self) -> float:
        """Absolute savings uncertainty at `confidence` (FSU x avoided energy)."""
        return abs(self.fsu * self.avoided_energy)

    def as_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "reporting_periods": self.reporting_periods,
            "observed": self.observed,
            "adjusted_baseline": self.adjusted_baseline,
            "routine_adjustments": [{"kind": "routine", "description": "weather (model)",
                                     "value": self.routine_adjustment}],
            "non_routine_adjustments": [a.as_dict() for a in self.non_routine],
            "avoided_energy": self.avoided_energy,
            "savings_pct": 100.0 * self.savings_fraction,
            "fsu_pct": 100.0 * self.fsu if np.isfinite(self.fsu) else None,
            "uncertainty": self.uncertainty if np.isfinite(self.fsu) else None,
            "confidence": self.confidence,
        }


def avoided_energy(
    model: DegreeDayModel,
    reporting: UsagePeriods,
    temperature: DailyTemperature,
    *,
    non_routine: Sequence[NonRoutineAdjustment] = (),
    confidence: float = 0.68,
) -> SavingsResult:
    """Adjusted baseline minus reporting consumption, with the G14 savings uncertainty."""
    if reporting.unit != model.unit:
        raise UnitMismatchError("reporting data in a different unit from the baseline",
                                input="reporting", field="unit", value=reporting.unit,
                                expected=model.unit, hint="convert one of the two first")
    predicted = model.predict(reporting.starts, reporting.ends, temperature)
    adjusted = float(predicted.sum())
    observed = float(reporting.values.sum())
    # routine adjustment: weather-driven departure from the model's average-day use
    flat = float(model.stats.mean * reporting.days.sum())
    base = adjusted + float(sum(a.value for a in non_routine))
    fraction = (base - observed) / base if base > 0 else 0.0
    fsu = fractional_savings_uncertainty(model.stats, fraction, len(reporting), confidence)
    return SavingsResult(unit=model.unit, reporting_periods=len(reporting), observed=observed,
                         adjusted_baseline=adjusted, routine_adjustment=adjusted - flat,
                         non_routine=tuple(non_routine), fsu=fsu, confidence=confidence)


def normalised_savings(baseline_model: DegreeDayModel, reporting_model: DegreeDayModel,
                       normal_temperature: DailyTemperature) -> float:
    """Baseline minus reporting model, both under the same normal-year weather."""
    if baseline_model.unit != reporting_model.unit:
        raise UnitMismatchError("the two models are in different units", input="reporting",
                                field="unit", value=reporting_model.unit,
                                expected=baseline_model.unit)
    t = normal_temperature.mean_c
    return float(baseline_model.daily(t).sum() - reporting_model.daily(t).sum())


@dataclass(frozen=True, slots=True)
class RatioSavings:
    """Seed 004's yearly check: baseline at the year's degree days vs consumption."""

    consumption: float
    degree_days: float
    normalised_baseline: float
    saving_fraction: float
    normalised_consumption: float     # consumption brought to GG_std
    normalised_saving: float          # Base_rif - normalised consumption
    unit: str

    def as_dict(self) -> dict[str, object]:
        return {"unit": self.unit, "consumption": self.consumption,
                "degree_days": self.degree_days,
                "normalised_baseline": self.normalised_baseline,
                "avoided_energy": self.normalised_baseline - self.consumption,
                "savings_pct": 100.0 * self.saving_fraction,
                "normalised_consumption": self.normalised_consumption,
                "normalised_savings": self.normalised_saving}


def ratio_savings(baseline: RatioBaseline, consumption: float, degree_days: float
                  ) -> RatioSavings:
    """Savings of one reporting season against a ratio-of-sums baseline."""
    if degree_days <= 0:
        raise AnalysisError("reporting degree days must be positive", input="reporting",
                            field="degree_days", value=degree_days, expected="> 0")
    norm_base = baseline.normalised(degree_days)
    frac = saving_fraction(consumption, norm_base)
    heating = max(consumption - baseline.fixed, 0.0)
    norm_cons = heating / degree_days * baseline.reference_degree_days + baseline.fixed
    return RatioSavings(consumption=consumption, degree_days=degree_days,
                        normalised_baseline=norm_base, saving_fraction=frac,
                        normalised_consumption=norm_cons,
                        normalised_saving=baseline.baseline - norm_cons, unit=baseline.unit)
