"""Synthetic outdoor temperature whose heating-season degree days match DPR 412/93.

Daily means are a yearly cosine (coldest around 20 January) plus seeded AR(1) weather
anomalies; each heating year (1 July to 30 June) is generated as one block and its mean level
is solved by bisection so that the block's degree days over the zone's heating season equal
the table value. Hourly values add a diurnal cosine (warmest at 15:00) that leaves the daily
mean unchanged, so degree days computed from hourly data agree with the daily ones.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np

from simulator.models.climate import Municipality, heating_days
from simulator.models.noise import derive_seed

__all__ = ["SyntheticWeather", "degree_days"]

T_INDOOR = 20.0
# yearly half-amplitude of daily means and diurnal range by zone (coastal south: mild)
AMPLITUDE_C = {"A": 6.5, "B": 7.0, "C": 7.5, "D": 8.0, "E": 10.0, "F": 10.0}
DIURNAL_RANGE_C = {"A": 6.0, "B": 6.5, "C": 7.0, "D": 7.0, "E": 8.5, "F": 9.0}
AR_PHI = 0.75
AR_SIGMA_C = 1.6


def degree_days(daily_means: np.ndarray) -> float:
    """Sum of the positive differences 20 °C - daily mean (DPR 412/93 definition)."""
    return float(np.clip(T_INDOOR - daily_means, 0.0, None).sum())


class SyntheticWeather:
    """Outdoor temperature for one municipality, reproducible from `seed`."""

    def __init__(self, municipality: Municipality, seed: int = 0) -> None:
        self.municipality = municipality
        self.seed = seed
        self.amplitude = AMPLITUDE_C[municipality.zone]
        self.diurnal_range = DIURNAL_RANGE_C[municipality.zone]

    def daily_mean(self, day: date) -> float:
        """Mean outdoor temperature of a local day, °C."""
        season_year = day.year if day.month >= 7 else day.year - 1
        first, temps = self._season(season_year)
        return float(temps[(day - first).days])

    def temperature(self, local: datetime) -> float:
        """Outdoor temperature at a local (Europe/Rome) wall-clock time, °C."""
        hour = local.hour + local.minute / 60.0
        swing = 0.5 * self.diurnal_range * math.cos(2.0 * math.pi * (hour - 15.0) / 24.0)
        return self.daily_mean(local.date()) + swing

    def season_degree_days(self, season_year: int) -> float:
        """Degree days of the heating season that starts in autumn `season_year`."""
        first, temps = self._season(season_year)
        start, end = heating_days(self.municipality.zone, season_year)
        return degree_days(temps[(start - first).days : (end - first).days + 1])

    @lru_cache(maxsize=8)  # noqa: B019 - a handful of seasons per instance, instances are few
    def _season(self, season_year: int) -> tuple[date, np.ndarray]:
        first = date(season_year, 7, 1)
        n = (date(season_year + 1, 7, 1) - first).days
        rng = np.random.default_rng(derive_seed(self.seed, self.municipality.name, season_year))
        shocks = rng.normal(0.0, AR_SIGMA_C * math.sqrt(1 - AR_PHI**2), n)
        anomaly = np.empty(n)
        level = rng.normal(0.0, AR_SIGMA_C)
        for i in range(n):
            level = AR_PHI * level + shocks[i]
            anomaly[i] = level
        doy = np.array([(first + timedelta(days=i)).timetuple().tm_yday for i in range(n)])
        shape = -self.amplitude * np.cos(2.0 * math.pi * (doy - 20) / 365.25) + anomaly
        start, end = heating_days(self.municipality.zone, season_year)
        window = slice((start - first).days, (end - first).days + 1)
        target = float(self.municipality.degree_days)
        lo, hi = -30.0, 45.0  # mean level, °C: degree days fall as it rises
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if degree_days(mid + shape[window]) > target:
                lo = mid
            else:
                hi = mid
        return first, 0.5 * (lo + hi) + shape
