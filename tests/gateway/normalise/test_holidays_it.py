"""Italian holidays: computus against a published Easter table, the table against `holidays`."""

from __future__ import annotations

from datetime import date

import holidays  # test-only cross-check (PyPI "holidays")
import pytest
from dateutil.easter import EASTER_WESTERN, easter

from gateway.normalise.errors import NormaliseError
from gateway.normalise.holidays_it import (
    ARERA_BANDS_CALENDAR,
    NATIONAL_HOLIDAYS,
    ExtraDate,
    HolidayCalendar,
    easter_sunday,
    national_holidays,
    parse_extra_dates,
)

# Western (Gregorian) Easter Sundays 2000-2030 as printed in published Easter tables.
EASTER_2000_2030 = {
    2000: (4, 23), 2001: (4, 15), 2002: (3, 31), 2003: (4, 20), 2004: (4, 11), 2005: (3, 27),
    2006: (4, 16), 2007: (4, 8), 2008: (3, 23), 2009: (4, 12), 2010: (4, 4), 2011: (4, 24),
    2012: (4, 8), 2013: (3, 31), 2014: (4, 20), 2015: (4, 5), 2016: (3, 27), 2017: (4, 16),
    2018: (4, 1), 2019: (4, 21), 2020: (4, 12), 2021: (4, 4), 2022: (4, 17), 2023: (4, 9),
    2024: (3, 31), 2025: (4, 20), 2026: (4, 5), 2027: (3, 28), 2028: (4, 16), 2029: (4, 1),
    2030: (4, 21),
}
# Extremes and the two classic exceptions of Gauss's rule (1954, 1981).
EASTER_SPECIAL = {1818: (3, 22), 1943: (4, 25), 1954: (4, 18), 1981: (4, 19), 2038: (4, 25),
                  2285: (3, 22)}


@pytest.mark.parametrize("year", sorted(EASTER_2000_2030 | EASTER_SPECIAL))
def test_easter_against_published_table(year: int) -> None:
    month, day = (EASTER_2000_2030 | EASTER_SPECIAL)[year]
    assert easter_sunday(year) == date(year, month, day)


def test_easter_against_dateutil_over_five_centuries() -> None:
    for year in range(1600, 2101):
        assert easter_sunday(year) == easter(year, EASTER_WESTERN), year


def test_easter_rejects_pre_gregorian_year() -> None:
    with pytest.raises(NormaliseError) as err:
        easter_sunday(1500)
    assert err.value.field == "year"


@pytest.mark.parametrize(("year", "monday"), [(2026, date(2026, 4, 6)),
                                               (2027, date(2027, 3, 29)),
                                               (2028, date(2028, 4, 17))])
def test_easter_monday(year: int, monday: date) -> None:
    assert national_holidays(year)[monday] == "Lunedì dell'Angelo"
    assert ARERA_BANDS_CALENDAR.is_holiday(monday)


@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_national_table_matches_holidays_package(year: int) -> None:
    ours = set(national_holidays(year))
    theirs = set(holidays.Italy(years=year))
    # Documented differences: the package also lists Easter Sunday and, from 1977, National
    # Unity Day on the first Sunday of November; both are always Sundays (F3 anyway, and
    # closed days for schedules), so our table leaves them out.
    sundays_only = {d for d in theirs - ours if d.weekday() == 6}
    assert theirs - ours == sundays_only
    assert easter_sunday(year) in sundays_only
    assert ours - theirs == set()


def test_table_is_versioned_and_sourced() -> None:
    assert NATIONAL_HOLIDAYS.version
    assert "151/2025" in NATIONAL_HOLIDAYS.source
    assert "181/06" in NATIONAL_HOLIDAYS.source
    assert len(NATIONAL_HOLIDAYS.rules) == 12


def test_san_francesco_national_from_2026_but_not_in_arera_bands() -> None:
    assert date(2025, 10, 4) not in national_holidays(2025)
    assert date(2026, 10, 4) in national_holidays(2026)
    assert date(2027, 10, 4) in national_holidays(2027)
    assert not ARERA_BANDS_CALENDAR.is_holiday(date(2027, 10, 4))
    assert HolidayCalendar("schedules").is_holiday(date(2027, 10, 4))


def test_arera_list_has_exactly_the_eleven_days_of_del_181_06() -> None:
    # 1 and 6 Jan, Easter Monday, 25 Apr, 1 May, 2 Jun, 15 Aug, 1 Nov, 8, 25, 26 Dec.
    expected = {date(2027, 1, 1), date(2027, 1, 6), date(2027, 3, 29), date(2027, 4, 25),
                date(2027, 5, 1), date(2027, 6, 2), date(2027, 8, 15), date(2027, 11, 1),
                date(2027, 12, 8), date(2027, 12, 25), date(2027, 12, 26)}
    assert set(ARERA_BANDS_CALENDAR.holidays(2027)) == expected


def test_patron_saint_goes_into_schedules_only_when_configured() -> None:
    extra = parse_extra_dates(["06-24", "2027-03-17"], "site.holidays.schedules")
    assert extra == (ExtraDate(6, 24), ExtraDate(3, 17, 2027))
    schedules = HolidayCalendar("schedules", extra=extra)
    assert schedules.is_holiday(date(2026, 6, 24))
    assert schedules.is_holiday(date(2027, 3, 17))
    assert not schedules.is_holiday(date(2028, 3, 17))
    assert not ARERA_BANDS_CALENDAR.is_holiday(date(2026, 6, 24))
    assert not HolidayCalendar("schedules").is_holiday(date(2026, 6, 24))


def test_toml_dates_are_one_offs() -> None:
    assert parse_extra_dates([date(2027, 10, 4)], "k") == (ExtraDate(10, 4, 2027),)


def test_bands_calendar_extension_is_explicit() -> None:
    bands = HolidayCalendar("bands", extra=parse_extra_dates(["10-04"], "bands.extra"))
    assert bands.is_holiday(date(2027, 10, 4))
    assert not ARERA_BANDS_CALENDAR.is_holiday(date(2027, 10, 4))


@pytest.mark.parametrize("bad", ["13-01", "2026-02-30", "June 24", "24/06", ""])
def test_bad_config_dates_name_the_key_path(bad: str) -> None:
    with pytest.raises(NormaliseError) as err:
        parse_extra_dates(["06-24", bad], "site.holidays.schedules")
    assert err.value.field == "site.holidays.schedules[1]"
    assert err.value.value == bad


def test_unknown_purpose_is_rejected() -> None:
    with pytest.raises(NormaliseError) as err:
        HolidayCalendar("billing")  # type: ignore[arg-type]
    assert err.value.field == "purpose"
