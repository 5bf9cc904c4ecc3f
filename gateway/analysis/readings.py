"""Turn stored normalised readings into analysis inputs: whole local days and temperatures.

A day's consumption is used only when its intervals cover the whole local day (23 or 25
hours on the DST days): a half-measured day would look like a saving. Temperature channels
carry the interval's mean outdoor temperature in °C as their value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from gateway.analysis.degree_days import DailyTemperature
from gateway.analysis.errors import InsufficientDataError, UnitMismatchError
from gateway.analysis.usage import UsagePeriods, usage_periods
from gateway.model import Reading

__all__ = ["daily_temperature", "daily_usage"]

ROME = ZoneInfo("Europe/Rome")


def _day_seconds(day: date) -> float:
    """23, 24 or 25 hours. Same-tzinfo subtraction would ignore DST: go through UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=ROME).astimezone(UTC)
    return (end - start).total_seconds()


def daily_usage(readings: Sequence[Reading], *, input: str = "baseline") -> UsagePeriods:
    """Sum readings into complete local days; incomplete days are left out (a gap)."""
    if not readings:
        raise InsufficientDataError("no readings in the period", input=input, available=0,
                                    required=1, unit="days")
    unit = readings[0].unit
    sums: dict[date, float] = defaultdict(float)
    secs: dict[date, float] = defaultdict(float)
    for i, r in enumerate(readings):
        if r.unit != unit:
            raise UnitMismatchError("readings in different units", input=input, row=i + 1,
                                    field="unit", value=r.unit, expected=unit)
        day = r.start.astimezone(ROME).date()
        sums[day] += r.value
        secs[day] += r.length_s
    days = sorted(d for d in sums if secs[d] >= _day_seconds(d))
    if not days:
        raise InsufficientDataError("no complete day of readings", input=input, available=0,
                                    required=1, unit="complete days")
    return usage_periods(days, [d + timedelta(days=1) for d in days],
                         [sums[d] for d in days], unit=unit, input=input)


def daily_temperature(readings: Sequence[Reading], *, min_hours: float = 12.0
                      ) -> DailyTemperature:
    """Time-weighted daily mean of a temperature channel; days under `min_hours` dropped."""
    acc: dict[date, float] = defaultdict(float)
    secs: dict[date, float] = defaultdict(float)
    for r in readings:
        day = r.start.astimezone(ROME).date()
        acc[day] += r.value * r.length_s
        secs[day] += r.length_s
    days = tuple(sorted(d for d in acc if secs[d] >= min_hours * 3600))
    if not days:
        raise InsufficientDataError("no day with enough temperature readings",
                                    input="temperature", available=0, required=1,
                                    unit="days", hint="check the temperature channel")
    return DailyTemperature(days=days, mean_c=np.array([acc[d] / secs[d] for d in days]),
                            samples=np.array([secs[d] / 3600 for d in days]))
