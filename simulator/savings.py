"""Savings of the demo school's heating retrofit, computed from what reached the upstream side.

Baseline = the gas burnt before the measure and the degree days of those days (ratio of sums,
seeds 003/004, `gateway.analysis.ratio_baseline`); reporting period = the days after it.
Degree days come from the site's outdoor temperature (the simulator's synthetic weather plays
the weather station). Electricity is summarised by ARERA band before and after as well.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from simulator.models.profile import ROME
from simulator.models.weather import SyntheticWeather

__all__ = ["retrofit_savings"]


def _local_day(start_utc: int) -> date:
    return datetime.fromtimestamp(start_utc, UTC).astimezone(ROME).date()


def retrofit_savings(readings: list[dict[str, Any]], *, device: str, weather: SyntheticWeather,
                     first_day: date, retrofit_day: date, last_day: date,
                     expected_saving: float) -> dict[str, Any]:
    """Ratio-of-sums savings of `device`'s gas channel; raises AnalysisError on bad data."""
    from gateway.analysis.conversions import co2_kg
    from gateway.analysis.ratio_baseline import ratio_baseline
    from gateway.analysis.savings import ratio_savings

    smc: dict[date, float] = defaultdict(float)
    kwh: dict[date, float] = defaultdict(float)
    for r in readings:
        if r.get("device") == device and r.get("quantity") == "gas_volume":
            day = _local_day(int(r["msg_id"].rsplit(":", 1)[1]))
            smc[day] += float(r["value"])
            kwh[day] += float(r.get("kwh") or 0.0)

    def period(a: date, b: date) -> tuple[float, float, float, int]:
        days = [a + timedelta(days=i) for i in range((b - a).days)]
        gg = sum(max(0.0, 20.0 - weather.daily_mean(d)) for d in days)
        return (sum(smc[d] for d in days), gg, sum(kwh[d] for d in days), len(days))

    c0, g0, _k0, n0 = period(first_day, retrofit_day)
    c1, g1, k1, n1 = period(retrofit_day, last_day + timedelta(days=1))
    reference = float(weather.municipality.degree_days)
    baseline = ratio_baseline([c0], [g0], reference, unit="Smc", labels=["before"])
    result = ratio_savings(baseline, c1, g1)
    avoided = result.normalised_baseline - c1
    kwh_per_smc = (k1 / c1) if c1 else 9.42
    return {
        "method": "ratio of sums, degree days base 20 °C (seeds 003/004)",
        "device": device,
        "baseline_days": n0,
        "baseline_smc": round(c0, 3),
        "baseline_degree_days": round(g0, 1),
        "alpha_smc_per_degree_day": round(baseline.alpha, 4),
        "annual_baseline_smc_at_dpr412_gg": round(baseline.baseline, 1),
        "reporting_days": n1,
        "reporting_smc": round(c1, 3),
        "reporting_degree_days": round(g1, 1),
        "normalised_baseline_smc": round(result.normalised_baseline, 3),
        "avoided_smc": round(avoided, 3),
        "saving_pct": round(100.0 * result.saving_fraction, 2),
        "co2_avoided_kg": round(co2_kg(avoided * kwh_per_smc, "natural_gas"), 1),
        "simulated_measure_pct": round(100.0 * expected_saving, 2),
    }
