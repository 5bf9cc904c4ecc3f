"""Per-heating-season consumption and degree days from daily data (input of the ratio method).

Seed 004 builds Base_rif from the consumption and degree days of the last three heating
seasons. From metered daily data, both sums must run over the same days: a day with
consumption but no temperature (or the reverse) is left out of both, and a baseline season
whose counted days fall below `min_coverage` of its length is an error (a season missing its
coldest month would understate alpha). Only days inside the zone's heating season count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from gateway.analysis.degree_days import (
    DPR412_BASE_C,
    DailyTemperature,
    degree_days,
    season_label,
    season_length,
)
from gateway.analysis.errors import InsufficientDataError
from gateway.analysis.usage import UsagePeriods

__all__ = ["SeasonSums", "season_sums"]


@dataclass(frozen=True, slots=True)
class SeasonSums:
    """Consumption and degree days per season label, over the days counted."""

    labels: tuple[str, ...]
    consumption: tuple[float, ...]
    degree_days: tuple[float, ...]
    days: tuple[int, ...]


def season_sums(
    usage: UsagePeriods,
    temperature: DailyTemperature,
    *,
    zone: str,
    start: date,
    end: date,
    min_coverage: float | None = 0.9,
    base_c: float = DPR412_BASE_C,
    input: str = "baseline",
) -> SeasonSums:
    """Sum daily consumption and degree days per heating season over [start, end)."""
    if not usage.is_daily:
        raise InsufficientDataError("the season sums need daily consumption", input=input,
                                    available=0, required=1, unit="daily periods",
                                    hint="use daily readings, not bills")
    temp_by_day = dict(zip(temperature.days, temperature.mean_c, strict=True))
    days = [d for d in usage.starts if start <= d < end and d in temp_by_day]
    values = {d: v for d, v in zip(usage.starts, usage.values, strict=True)}
    gg = degree_days(days, [temp_by_day[d] for d in days], base=base_c, zone=zone)
    sums: dict[str, list[float]] = {}
    for d, counted, g in zip(days, gg.counted, gg.daily, strict=True):
        if counted:
            acc = sums.setdefault(season_label(d, zone), [0.0, 0.0, 0.0])
            acc[0] += float(values[d])
            acc[1] += float(g)
            acc[2] += 1
    labels = tuple(sorted(sums))
    if not labels:
        raise InsufficientDataError("no heating-season day with consumption and temperature",
                                    input=input, available=0, required=1, unit="days")
    if min_coverage is not None:
        for lab in labels:
            length = season_length(zone, int(lab[:4]))
            if sums[lab][2] < min_coverage * length:
                raise InsufficientDataError(
                    f"season {lab} is incomplete", input=input, available=int(sums[lab][2]),
                    required=int(np.ceil(min_coverage * length)),
                    unit="heating days with consumption and temperature",
                    hint="the baseline must span whole heating seasons")
    return SeasonSums(labels=labels,
                      consumption=tuple(sums[lab][0] for lab in labels),
                      degree_days=tuple(sums[lab][1] for lab in labels),
                      days=tuple(int(sums[lab][2]) for lab in labels))
