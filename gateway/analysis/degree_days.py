"""Degree days (gradi giorno): daily HDD/CDD from outdoor temperature, heating seasons, sums.

DPR 412/93 defines the degree days of a period as the sum, over the days of the heating
season, of the positive differences between 20 °C and the mean daily outdoor temperature.
Seed 003 restricts the sum further to the plant's operating days (921 GG over 111 days
instead of 1,421 over the 166-day zone D season); `operating_days=` does that.

Public API:
    daily_mean_temperature(timestamps, temperatures, *, tz=..., min_samples=...) -> DailyTemperature
    hdd(temperatures, base=20.0) -> ndarray;  cdd(temperatures, base) -> ndarray
    in_heating_season(days, zone) -> ndarray[bool]
    season_label(day, zone) -> str           "2014/15" for a day of the season starting 2014
    degree_days(days, temperatures, *, base=20.0, kind="heating", zone=None,
                operating_days=None) -> DegreeDays
    seasonal_totals(days, values, zone) -> dict[str, float]
    reference_degree_days(municipality, province=None) -> ReferenceDegreeDays
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import numpy as np

from gateway.analysis.errors import AnalysisError, InsufficientDataError

if TYPE_CHECKING:
    from gateway.normalise.sites import HeatingSeason

__all__ = [
    "DPR412_BASE_C",
    "DailyTemperature",
    "DegreeDays",
    "ReferenceDegreeDays",
    "cdd",
    "daily_mean_temperature",
    "degree_days",
    "hdd",
    "in_heating_season",
    "reference_degree_days",
    "season_label",
    "season_length",
    "seasonal_totals",
]

DPR412_BASE_C = 20.0
ROME = ZoneInfo("Europe/Rome")


@dataclass(frozen=True, slots=True)
class DailyTemperature:
    """Mean outdoor temperature per local day; `samples` counts the readings averaged."""

    days: tuple[date, ...]
    mean_c: np.ndarray
    samples: np.ndarray


@dataclass(frozen=True, slots=True)
class DegreeDays:
    """Daily degree days (0 outside the season or on non-operating days) and their total."""

    days: tuple[date, ...]
    daily: np.ndarray
    counted: np.ndarray          # bool: day inside the season and an operating day
    base_c: float
    kind: str

    @property
    def total(self) -> float:
        return float(self.daily.sum())

    @property
    def counted_days(self) -> int:
        return int(self.counted.sum())


@dataclass(frozen=True, slots=True)
class ReferenceDegreeDays:
    """Conventional degree days and climate zone of a municipality (DPR 412/93 Annex A)."""

    municipality: str
    province: str
    zone: str
    degree_days: int


def daily_mean_temperature(
    timestamps: Sequence[datetime],
    temperatures: Sequence[float] | np.ndarray,
    *,
    tz: ZoneInfo = ROME,
    min_samples: int = 12,
    drop_short_days: bool = False,
    input_name: str = "temperature",
) -> DailyTemperature:
    """Average hourly (or finer) readings into local-day means.

    A day with fewer than `min_samples` readings is an error rather than a biased mean:
    with half a day missing, the mean is dominated by whichever half (night or day) was
    kept. Daily input (one reading per day) passes with `min_samples=1`. With
    `drop_short_days=True` such days are left out instead (the methods then see them as
    days without temperature and apply their own coverage rules).
    """
    temps = np.asarray(temperatures, dtype=float)
    if len(timestamps) != len(temps):
        raise AnalysisError("timestamps and temperatures differ in length", input=input_name,
                            value=(len(timestamps), len(temps)), expected="equal lengths")
    sums: dict[date, float] = defaultdict(float)
    counts: dict[date, int] = defaultdict(int)
    for i, (t, v) in enumerate(zip(timestamps, temps, strict=True)):
        if t.tzinfo is None:
            raise AnalysisError("timestamp without UTC offset", input=input_name, row=i + 1,
                                field="timestamp", value=t.isoformat(),
                                expected="ISO 8601 with offset, e.g. 2024-01-01T00:00:00+01:00")
        if not np.isfinite(v):
            continue
        day = t.astimezone(tz).date()
        sums[day] += float(v)
        counts[day] += 1
    days = tuple(sorted(d for d in sums if not drop_short_days or counts[d] >= min_samples))
    if not days:
        raise InsufficientDataError("no temperature readings", input=input_name,
                                    available=0, required=1, unit="readings")
    short = [d for d in days if counts[d] < min_samples]
    if short:
        raise InsufficientDataError(
            f"day {short[0].isoformat()} has too few readings ({len(short)} such days)",
            input=input_name, available=counts[short[0]], required=min_samples,
            unit="readings per day",
            hint="fill the gap from a nearby station or drop the day from both data sets",
        )
    return DailyTemperature(
        days=days,
        mean_c=np.array([sums[d] / counts[d] for d in days]),
        samples=np.array([counts[d] for d in days]),
    )


def hdd(temperatures: Sequence[float] | np.ndarray, base: float = DPR412_BASE_C) -> np.ndarray:
    """Heating degree days per day: max(base - T, 0)."""
    return np.maximum(base - np.asarray(temperatures, dtype=float), 0.0)


def cdd(temperatures: Sequence[float] | np.ndarray, base: float) -> np.ndarray:
    """Cooling degree days per day: max(T - base, 0)."""
    return np.maximum(np.asarray(temperatures, dtype=float) - base, 0.0)


def _season(zone: str) -> HeatingSeason:
    try:
        from gateway.normalise.sites import heating_season
    except ModuleNotFoundError as exc:  # pragma: no cover - packaging error, not user input
        raise AnalysisError("heating-season table unavailable", input="zone",
                            hint="install the gateway.normalise package") from exc
    try:
        return heating_season(zone)
    except ValueError:
        raise AnalysisError("unknown climate zone", input="zone", value=zone,
                            expected="one of A, B, C, D, E, F") from None


def in_heating_season(days: Sequence[date], zone: str) -> np.ndarray:
    """True for the days inside the heating season of climate zone `zone` (F: every day)."""
    season = _season(zone)
    return np.array([season.contains(d) for d in days], dtype=bool)


def season_label(day: date, zone: str) -> str:
    """The heating season a day belongs to, named by its years: "2014/15".

    Days from July on belong to the season starting that year; earlier days to the one
    that started the year before (every zone's season straddles the new year).
    """
    _season(zone)
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def degree_days(
    days: Sequence[date],
    temperatures: Sequence[float] | np.ndarray,
    *,
    base: float = DPR412_BASE_C,
    kind: Literal["heating", "cooling"] = "heating",
    zone: str | None = None,
    operating_days: Collection[date] | None = None,
) -> DegreeDays:
    """Daily degree days, zero outside the zone's heating season or the operating days."""
    temps = np.asarray(temperatures, dtype=float)
    if len(days) != len(temps):
        raise AnalysisError("days and temperatures differ in length", input="temperature",
                            value=(len(days), len(temps)), expected="equal lengths")
    if len(set(days)) != len(days):
        dup = next(d for i, d in enumerate(days) if d in days[:i])
        raise AnalysisError("the same day appears twice", input="temperature", field="day",
                            value=dup.isoformat(), expected="one mean temperature per day")
    bad = np.flatnonzero(~np.isfinite(temps))
    if bad.size:
        raise AnalysisError("missing mean temperature", input="temperature",
                            row=int(bad[0]) + 1, field="temperature_c", value=str(temps[bad[0]]),
                            expected="a number in °C", hint="fill or drop the day")
    raw = hdd(temps, base) if kind == "heating" else cdd(temps, base)
    counted = np.ones(len(days), dtype=bool)
    if zone is not None and kind == "heating":
        counted &= in_heating_season(days, zone)
    if operating_days is not None:
        on = set(operating_days)
        counted &= np.array([d in on for d in days], dtype=bool)
    return DegreeDays(days=tuple(days), daily=np.where(counted, raw, 0.0), counted=counted,
                      base_c=base, kind=kind)


def seasonal_totals(
    days: Sequence[date], values: Sequence[float] | np.ndarray, zone: str
) -> dict[str, float]:
    """Sum daily values (consumption or degree days) per heating season, in season order."""
    out: dict[str, float] = {}
    for d, v in zip(days, np.asarray(values, dtype=float), strict=True):
        label = season_label(d, zone)
        out[label] = out.get(label, 0.0) + float(v)
    return dict(sorted(out.items()))


def season_length(zone: str, start_year: int) -> int:
    """Days in the heating season of `zone` starting in `start_year` (E: 183, or 184 if leap)."""
    first = date(start_year, 7, 1)
    span = [first + timedelta(days=i) for i in range((date(start_year + 1, 7, 1) - first).days)]
    return int(in_heating_season(span, zone).sum())


def reference_degree_days(municipality: str, province: str | None = None) -> ReferenceDegreeDays:
    """Conventional degree days (GG_std) and zone of a municipality from DPR 412/93."""
    from gateway.normalise.sites import site_facts

    try:
        facts = site_facts(municipality, province=province)
    except ValueError as exc:
        raise AnalysisError(str(exc), input="municipality", value=municipality,
                            expected="a municipality of DPR 412/93 Annex A",
                            hint="check the spelling, add the province, or pass --gg-std") from exc
    return ReferenceDegreeDays(facts.municipality, facts.province, facts.zone,
                               facts.degree_days)
