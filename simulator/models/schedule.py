"""Weekly opening hours with holidays and closure periods: when a building is open.

Windows are local wall-clock times ("08:00-18:00"); holidays come from the gateway's Italian
calendar (purpose "schedules": national days plus local extras such as a patron saint), and
closures are date ranges written "MM-DD..MM-DD" (e.g. summer and Christmas school breaks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from gateway.normalise.holidays_it import HolidayCalendar, easter_sunday, parse_extra_dates

__all__ = ["Closure", "WeeklySchedule", "parse_window"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_window(text: str) -> tuple[time, time]:
    """'08:00-18:00' -> (08:00, 18:00); the end may be '24:00'. Raises ValueError."""
    a, _, b = text.partition("-")
    start = time.fromisoformat(a.strip())
    end_text = b.strip()
    end = time(23, 59, 59, 999999) if end_text == "24:00" else time.fromisoformat(end_text)
    if not end > start:
        raise ValueError(f"window {text!r} ends before it starts")
    return start, end


@dataclass(frozen=True, slots=True)
class Closure:
    """A yearly closed period, inclusive; 'easter' closes Thursday before to Tuesday after."""

    first: tuple[int, int] | None
    last: tuple[int, int] | None
    easter: bool = False

    @classmethod
    def parse(cls, text: str) -> Closure:
        if text.strip().lower() == "easter":
            return cls(None, None, easter=True)
        a, _, b = text.partition("..")
        m0, d0 = (int(x) for x in a.strip().split("-"))
        m1, d1 = (int(x) for x in b.strip().split("-"))
        date(2024, m0, d0), date(2024, m1, d1)  # validates month/day, raises ValueError
        return cls((m0, d0), (m1, d1))

    def contains(self, day: date) -> bool:
        if self.easter:
            e = easter_sunday(day.year)
            return e - timedelta(days=3) <= day <= e + timedelta(days=2)
        assert self.first is not None and self.last is not None  # set by parse
        md = (day.month, day.day)
        if self.first <= self.last:
            return self.first <= md <= self.last
        return md >= self.first or md <= self.last  # wraps the new year (Christmas break)


@dataclass(frozen=True)
class WeeklySchedule:
    """Open windows per weekday, closed on holidays and during closures."""

    windows: Mapping[str, tuple[tuple[time, time], ...]]
    closures: tuple[Closure, ...] = ()
    calendar: HolidayCalendar = field(default_factory=lambda: HolidayCalendar("schedules"))
    _days: dict[date, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, windows: Mapping[str, Iterable[str]], *, closures: Iterable[str] = (),
              local_holidays: Iterable[str] = ()) -> WeeklySchedule:
        parsed = {d: tuple(parse_window(w) for w in windows.get(d, ())) for d in DAYS}
        extra = parse_extra_dates(list(local_holidays), "holidays")
        return cls(parsed, tuple(Closure.parse(c) for c in closures),
                   HolidayCalendar("schedules", extra=extra))

    def is_working_day(self, day: date) -> bool:
        """Not a holiday, not in a closure (the weekday may still have no windows)."""
        known = self._days.get(day)
        if known is None:
            known = not self.calendar.is_holiday(day) and not any(
                c.contains(day) for c in self.closures)
            self._days[day] = known
        return known

    def is_open(self, local: datetime) -> bool:
        if not self.is_working_day(local.date()):
            return False
        now = local.time()
        return any(a <= now < b for a, b in self.windows[DAYS[local.weekday()]])
