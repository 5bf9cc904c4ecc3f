"""ARERA time-of-use bands F1/F2/F3 of electric intervals (Del. 181/06) and energy by band.

The calendar, in LOCAL time (Europe/Rome):
    F1  Monday-Friday 08:00-19:00
    F2  Monday-Friday 07:00-08:00 and 19:00-23:00; Saturday 07:00-23:00
    F3  Monday-Saturday 23:00-07:00; all Sunday; all day on holidays of the ARERA list
Holidays come from `holidays_it.ARERA_BANDS_CALENDAR` (the eleven ARERA days; 4 October is
NOT among them, see docs/decisions/004-normalisation.md). A different calendar can be passed
with `calendar=`, e.g. one with extra dates if ARERA ever extends its list.

Every band boundary is a whole local hour and intervals (15 min or 1 h) are aligned, so the
band of an interval is the band of its start. Both DST switches fall on a Sunday (all F3).

Public API:
    band_of(start_utc, *, calendar=ARERA_BANDS_CALENDAR) -> "F1" | "F2" | "F3"
    band_of_local(local, *, calendar=...) -> str        for a Europe/Rome wall-clock time
    energy_by_band(items, *, calendar=...) -> dict[str, float]     items: (start_utc, amount)
    energy_by_month_and_band(items, *, calendar=...) -> dict[(year, month), dict[str, float]]
Months are local calendar months of the interval start. Every result dict has all three
bands as keys (0.0 when nothing fell in a band).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from gateway.normalise.errors import NormaliseError
from gateway.normalise.holidays_it import ARERA_BANDS_CALENDAR, HolidayCalendar
from gateway.normalise.localtime import ROME, to_local

__all__ = [
    "BANDS",
    "F1",
    "F2",
    "F3",
    "band_of",
    "band_of_local",
    "energy_by_band",
    "energy_by_month_and_band",
]

F1 = "F1"
F2 = "F2"
F3 = "F3"
BANDS = (F1, F2, F3)

_SATURDAY = 5
_SUNDAY = 6


def band_of_local(local: datetime, *, calendar: HolidayCalendar = ARERA_BANDS_CALENDAR) -> str:
    """Band of the Europe/Rome wall-clock time `local` (aware, or naive meaning Rome time)."""
    if local.tzinfo is not None:
        local = local.astimezone(ROME)
    weekday = local.weekday()
    if weekday == _SUNDAY or calendar.is_holiday(local.date()):
        return F3
    hour = local.hour
    if hour < 7 or hour >= 23:
        return F3
    if weekday == _SATURDAY:
        return F2
    return F1 if 8 <= hour < 19 else F2


def band_of(start_utc: datetime, *, calendar: HolidayCalendar = ARERA_BANDS_CALENDAR) -> str:
    """Band of the electric interval starting at `start_utc` (timezone-aware)."""
    return band_of_local(to_local(start_utc), calendar=calendar)


def _check_amount(i: int, amount: float) -> float:
    if amount != amount or amount < 0:  # NaN or negative
        raise NormaliseError(
            "interval amount must be a non-negative number",
            field=f"items[{i}].amount",
            value=amount,
            expected=">= 0",
        )
    return amount


def energy_by_band(
    items: Iterable[tuple[datetime, float]],
    *,
    calendar: HolidayCalendar = ARERA_BANDS_CALENDAR,
) -> dict[str, float]:
    """Sum of `amount` per band over (interval start UTC, amount) pairs."""
    totals = dict.fromkeys(BANDS, 0.0)
    for i, (start, amount) in enumerate(items):
        totals[band_of(start, calendar=calendar)] += _check_amount(i, amount)
    return totals


def energy_by_month_and_band(
    items: Iterable[tuple[datetime, float]],
    *,
    calendar: HolidayCalendar = ARERA_BANDS_CALENDAR,
) -> dict[tuple[int, int], dict[str, float]]:
    """Sum of `amount` per local (year, month) and band, months in chronological order."""
    totals: dict[tuple[int, int], dict[str, float]] = {}
    for i, (start, amount) in enumerate(items):
        local = to_local(start)
        month = totals.setdefault((local.year, local.month), dict.fromkeys(BANDS, 0.0))
        month[band_of_local(local, calendar=calendar)] += _check_amount(i, amount)
    return dict(sorted(totals.items()))
