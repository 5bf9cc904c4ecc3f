"""Weekly opening/heating hours in local time plus closure days: is a building "on" or "off"?

A schedule is a TOML table of weekday keys (``mon`` … ``sun`` or ranges such as ``mon-fri``)
to lists of ``"HH:MM-HH:MM"`` periods in Europe/Rome wall-clock time (end may be ``24:00``).
An interval counts as "on" when its local wall-clock span ``[start, start + length)`` overlaps
any period: a reading that straddles the opening time is not "closed", so no false alarm.
Closed days: holidays of ``HolidayCalendar("schedules")`` (national days plus the site's and
the rule's extra dates) and, when given, days outside a season (e.g. the heating season).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gateway.config.model import Problem
from gateway.normalise.holidays_it import ExtraDate, HolidayCalendar
from gateway.normalise.localtime import to_local

__all__ = ["DAYS", "Period", "Schedule", "parse_hours"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Period:
    """Minutes from local midnight, [start, end)."""

    start: int
    end: int


def _parse_period(text: Any) -> Period | None:
    m = _PERIOD.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or h1 > 23 or end > 24 * 60 or end <= start:
        return None
    return Period(start, end)


def _day_keys(key: str) -> list[int] | None:
    parts = key.lower().split("-")
    if len(parts) == 1 and parts[0] in DAYS:
        return [DAYS.index(parts[0])]
    if len(parts) == 2 and parts[0] in DAYS and parts[1] in DAYS:
        a, b = DAYS.index(parts[0]), DAYS.index(parts[1])
        return list(range(a, b + 1)) if a <= b else None
    return None


def parse_hours(raw: Any, path: str, problems: list[Problem]) -> tuple[tuple[Period, ...], ...]:
    """Weekday (0 = Monday) -> periods; each problem names its key path."""
    week: list[list[Period]] = [[] for _ in DAYS]
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"{raw!r} is not a table", value=raw,
                                expected='a table like { mon-fri = ["08:00-18:00"] }'))
        return tuple(() for _ in DAYS)
    for key, value in raw.items():
        days = _day_keys(key)
        if days is None:
            problems.append(Problem(f"{path}.{key}", f"{key!r} is not a weekday or range",
                                    expected=f"one of {', '.join(DAYS)} or a range like mon-fri",
                                    value=key))
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            period = _parse_period(item)
            if period is None:
                problems.append(Problem(f"{path}.{key}[{i}]", f"{item!r} is not a period",
                                        expected='"HH:MM-HH:MM" with end after start, '
                                                 'e.g. "08:00-18:00"', value=item))
                continue
            for d in days:
                week[d].append(period)
    return tuple(tuple(sorted(p, key=lambda x: x.start)) for p in week)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a building (or its heating) is on; everything else is "off"."""

    hours: tuple[tuple[Period, ...], ...]
    calendar: HolidayCalendar = field(default_factory=lambda: HolidayCalendar("schedules"))
    season: Callable[[date], bool] | None = None   # None = every day is in season

    @classmethod
    def build(cls, hours: tuple[tuple[Period, ...], ...], extra: tuple[ExtraDate, ...] = (),
              season: Callable[[date], bool] | None = None) -> Schedule:
        return cls(hours, HolidayCalendar("schedules", extra=extra), season)

    def day_off(self, day: date) -> bool:
        """True on holidays, extra closure days and days outside the season."""
        if self.calendar.is_holiday(day):
            return True
        return self.season is not None and not self.season(day)

    def is_on(self, start_utc: datetime, length_s: int) -> bool:
        """True if the interval overlaps an "on" period of its local day."""
        local = to_local(start_utc)
        if self.day_off(local.date()):
            return False
        begin = local.hour * 60 + local.minute
        end = begin + length_s // 60
        return any(p.start < end and begin < p.end for p in self.hours[local.weekday()])
