"""Italian national holidays as an explicit, versioned table, and per-use holiday calendars.

The table `NATIONAL_HOLIDAYS` lists the days off of Italian law (Legge 27 maggio 1949 n. 260
art. 2 as amended by Legge 5 marzo 1977 n. 54, DPR 28 dicembre 1985 n. 792 (Epifania),
Legge 20 novembre 2000 n. 336 (2 giugno) and Legge 8 ottobre 2025 n. 151 (4 ottobre)).
Each rule says whether ARERA's time-of-use calendar (Del. 181/06) counts it as a holiday:
ARERA's F3 list is its own closed list of eleven days (1 and 6 Jan, Easter Monday, 25 Apr,
1 May, 2 Jun, 15 Aug, 1 Nov, 8, 25 and 26 Dec) and does NOT follow new civil holidays
automatically: on 17 March 2011, a one-off national holiday, consumption was still billed in
working-day bands. So San Francesco (4 Oct, national again from 2026) is in the table with
`from_year=2026` and `arera_bands=False`; see docs/decisions/004-normalisation.md.

Extensions from config are explicit per use, because the two uses differ:
    HolidayCalendar(purpose="bands")      ARERA F1/F2/F3; extras only if ARERA adds a day
    HolidayCalendar(purpose="schedules")  building open/closed schedules ("closed building"
                                          alerts); all national days plus local ones such
                                          as the patron saint (e.g. "06-24" in Genova)
A patron saint must never go into the bands calendar: ARERA does not count local feasts.

Public API:
    easter_sunday(year) -> date           Gregorian computus (anonymous / Meeus algorithm)
    national_holidays(year, table=NATIONAL_HOLIDAYS) -> dict[date, str]
    parse_extra_dates(items, key_path) -> tuple[ExtraDate, ...]   "MM-DD" or "YYYY-MM-DD"
    HolidayCalendar(purpose, table=..., extra=()).holidays(year) / .is_holiday(day)
    ARERA_BANDS_CALENDAR                  the default calendar for `bands.band_of`
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from gateway.normalise.errors import NormaliseError

__all__ = [
    "ARERA_BANDS_CALENDAR",
    "NATIONAL_HOLIDAYS",
    "ExtraDate",
    "HolidayCalendar",
    "HolidayRule",
    "HolidayTable",
    "easter_sunday",
    "national_holidays",
    "parse_extra_dates",
]

Purpose = Literal["bands", "schedules"]


@dataclass(frozen=True, slots=True)
class HolidayRule:
    """One holiday: a fixed month/day or an offset in days from Easter Sunday."""

    key: str
    name: str
    month: int | None = None
    day: int | None = None
    easter_offset: int | None = None
    from_year: int | None = None
    until_year: int | None = None
    arera_bands: bool = True
    source: str = ""

    def date_in(self, year: int) -> date | None:
        """The date of this holiday in `year`, or None if the rule is not in force that year."""
        if self.from_year is not None and year < self.from_year:
            return None
        if self.until_year is not None and year > self.until_year:
            return None
        if self.easter_offset is not None:
            return easter_sunday(year) + timedelta(days=self.easter_offset)
        if self.month is None or self.day is None:
            raise NormaliseError(
                "holiday rule has neither month/day nor easter_offset",
                field=f"rules[{self.key}]",
                value=self,
                expected="month and day, or easter_offset",
            )
        return date(year, self.month, self.day)


@dataclass(frozen=True, slots=True)
class HolidayTable:
    """A versioned list of holiday rules with the legal source it was compiled from."""

    version: str
    source: str
    rules: tuple[HolidayRule, ...]


NATIONAL_HOLIDAYS = HolidayTable(
    version="2026.1",
    source=(
        "L. 260/1949 art. 2 as amended by L. 54/1977, DPR 792/1985, L. 336/2000, L. 151/2025; "
        "ARERA Del. 181/06 (list of holidays of the F3 band)"
    ),
    rules=(
        HolidayRule("capodanno", "Capodanno", 1, 1, source="L. 260/1949"),
        HolidayRule("epifania", "Epifania", 1, 6, source="DPR 792/1985"),
        HolidayRule("pasquetta", "Lunedì dell'Angelo", easter_offset=1, source="L. 260/1949"),
        HolidayRule("liberazione", "Festa della Liberazione", 4, 25, source="L. 260/1949"),
        HolidayRule("lavoro", "Festa del Lavoro", 5, 1, source="L. 260/1949"),
        HolidayRule("repubblica", "Festa della Repubblica", 6, 2, source="L. 336/2000"),
        HolidayRule("ferragosto", "Assunzione", 8, 15, source="L. 260/1949"),
        HolidayRule(
            "san_francesco",
            "San Francesco d'Assisi, patrono d'Italia",
            10,
            4,
            from_year=2026,
            arera_bands=False,  # not (yet) in ARERA's F3 list: see module docstring
            source="L. 151/2025",
        ),
        HolidayRule("ognissanti", "Ognissanti", 11, 1, source="L. 260/1949"),
        HolidayRule("immacolata", "Immacolata Concezione", 12, 8, source="L. 260/1949"),
        HolidayRule("natale", "Natale", 12, 25, source="L. 260/1949"),
        HolidayRule("santo_stefano", "Santo Stefano", 12, 26, source="L. 260/1949"),
    ),
)


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday by the anonymous algorithm (Meeus, Astronomical Algorithms)."""
    if not 1583 <= year <= 9999:
        raise NormaliseError(
            "year outside the Gregorian computus range",
            field="year",
            value=year,
            expected="1583..9999",
        )
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def national_holidays(year: int, table: HolidayTable = NATIONAL_HOLIDAYS) -> dict[date, str]:
    """All national holidays of `year` in `table` (whatever ARERA counts), date -> name."""
    return {d: r.name for r in table.rules if (d := r.date_in(year)) is not None}


@dataclass(frozen=True, slots=True)
class ExtraDate:
    """A config-supplied holiday: every year on month/day, or once if `year` is set."""

    month: int
    day: int
    year: int | None = None
    name: str = ""

    def date_in(self, year: int) -> date | None:
        """The date in `year`, None if it is a one-off of another year or 29 Feb off leap."""
        if self.year is not None and self.year != year:
            return None
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return None


def parse_extra_dates(items: Iterable[str | date], key_path: str) -> tuple[ExtraDate, ...]:
    """Parse config "MM-DD" (yearly) or "YYYY-MM-DD"/a TOML date (once); errors name key_path[i]."""
    out: list[ExtraDate] = []
    for i, raw in enumerate(items):
        if isinstance(raw, date):
            out.append(ExtraDate(raw.month, raw.day, raw.year))
            continue
        text = raw.strip() if isinstance(raw, str) else raw
        parts = text.split("-") if isinstance(text, str) else []
        try:
            if len(parts) == 2:
                extra = ExtraDate(int(parts[0]), int(parts[1]))
                date(2000, extra.month, extra.day)  # leap year: accepts 02-29
            elif len(parts) == 3:
                d = date.fromisoformat(text)
                extra = ExtraDate(d.month, d.day, d.year)
            else:
                raise ValueError(text)
        except ValueError:
            raise NormaliseError(
                "not a holiday date",
                field=f"{key_path}[{i}]",
                value=raw,
                expected='"MM-DD" (every year) or "YYYY-MM-DD" (once)',
            ) from None
        out.append(extra)
    return tuple(out)


@lru_cache(maxsize=256)
def _holidays(
    purpose: Purpose, table: HolidayTable, extra: tuple[ExtraDate, ...], year: int
) -> dict[date, str]:
    days = {
        d: r.name
        for r in table.rules
        if (purpose == "schedules" or r.arera_bands) and (d := r.date_in(year)) is not None
    }
    for x in extra:
        d = x.date_in(year)
        if d is not None:
            days.setdefault(d, x.name or "extra (config)")
    return days


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """Holidays for one use: ARERA bands or building schedules, plus explicit config extras."""

    purpose: Purpose
    table: HolidayTable = NATIONAL_HOLIDAYS
    extra: tuple[ExtraDate, ...] = ()

    def __post_init__(self) -> None:
        if self.purpose not in ("bands", "schedules"):
            raise NormaliseError(
                "unknown calendar purpose",
                field="purpose",
                value=self.purpose,
                expected='"bands" or "schedules"',
            )

    def holidays(self, year: int) -> dict[date, str]:
        """Holidays of `year` for this purpose, date -> name (a fresh dict)."""
        return dict(_holidays(self.purpose, self.table, self.extra, year))

    def is_holiday(self, day: date) -> bool:
        """True if `day` is a holiday for this purpose (Sundays are not listed here)."""
        return day in _holidays(self.purpose, self.table, self.extra, day.year)


ARERA_BANDS_CALENDAR = HolidayCalendar("bands")
