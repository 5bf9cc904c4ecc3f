"""ARERA F1/F2/F3 over whole years, at every boundary, on DST days and holidays."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.normalise.bands import band_of, energy_by_band, energy_by_month_and_band
from gateway.normalise.errors import NormaliseError
from gateway.normalise.holidays_it import HolidayCalendar, parse_extra_dates
from gateway.normalise.localtime import intervals_of_local_day

# Hand calculation (see docs/decisions/004-normalisation.md, "band counts"):
#   2026 starts on a Thursday, 261 Mon-Fri, 52 Saturdays. ARERA holidays on Mon-Fri: 1 Jan,
#   6 Jan, 6 Apr, 1 May, 2 Jun, 8 Dec, 25 Dec (7); on Saturday: 25 Apr, 15 Aug, 26 Dec (3).
#   2027 starts on a Friday, 261 Mon-Fri, 52 Saturdays. Mon-Fri: 1 Jan, 6 Jan, 29 Mar, 2 Jun,
#   1 Nov, 8 Dec (6); Saturday: 1 May, 25 Dec (2). 4 Oct 2027 (Monday) is a working day.
#   2028 (leap) starts on a Saturday, 260 Mon-Fri, 53 Saturdays. Mon-Fri: 6 Jan, 17 Apr,
#   25 Apr, 1 May, 2 Jun, 15 Aug, 1 Nov, 8 Dec, 25 Dec, 26 Dec (10); Saturday: 1 Jan (1).
# Per working weekday F1 = 11 h = 44 quarters, F2 = 1 h + 4 h = 20; per working Saturday
# F2 = 16 h = 64; F3 is the rest of the year's 365 (366) x 96 quarter hours.
HAND = {
    2026: {"workdays": 254, "saturdays": 49, "quarters": 35040},
    2027: {"workdays": 255, "saturdays": 50, "quarters": 35040},
    2028: {"workdays": 250, "saturdays": 52, "quarters": 35136},
}
HAND_COUNTS = {
    2026: {"F1": 11176, "F2": 8216, "F3": 15648},
    2027: {"F1": 11220, "F2": 8300, "F3": 15520},
    2028: {"F1": 11000, "F2": 8328, "F3": 15808},
}


def _year_counts(year: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    day = date(year, 1, 1)
    while day.year == year:
        counts.update(band_of(t) for t in intervals_of_local_day(day))
        day += timedelta(days=1)
    return counts


@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_band_quarter_hours_per_year(year: int) -> None:
    hand = HAND[year]
    f1 = hand["workdays"] * 44
    f2 = hand["workdays"] * 20 + hand["saturdays"] * 64
    assert {"F1": f1, "F2": f2, "F3": hand["quarters"] - f1 - f2} == HAND_COUNTS[year]
    assert dict(_year_counts(year)) == HAND_COUNTS[year]


def _utc(y: int, mo: int, d: int, h: int, mi: int, offset_h: int) -> datetime:
    """UTC instant of a local wall time with a known Rome offset (1 winter, 2 summer)."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC) - timedelta(hours=offset_h)


WEEKDAY_BOUNDARIES = [
    ((6, 45), "F3"), ((7, 0), "F2"), ((7, 45), "F2"), ((8, 0), "F1"), ((18, 45), "F1"),
    ((19, 0), "F2"), ((22, 45), "F2"), ((23, 0), "F3"), ((0, 0), "F3"), ((23, 45), "F3"),
]


@pytest.mark.parametrize(("hm", "band"), WEEKDAY_BOUNDARIES)
@pytest.mark.parametrize(("day", "offset"), [((2026, 1, 14), 1), ((2026, 7, 15), 2)])
def test_weekday_boundaries_in_winter_and_summer(
    hm: tuple[int, int], band: str, day: tuple[int, int, int], offset: int
) -> None:
    assert band_of(_utc(*day, *hm, offset)) == band


@pytest.mark.parametrize(("hm", "band"), [((6, 45), "F3"), ((7, 0), "F2"), ((12, 0), "F2"),
                                          ((22, 45), "F2"), ((23, 0), "F3")])
@pytest.mark.parametrize(("day", "offset"), [((2026, 1, 17), 1), ((2026, 7, 18), 2)])
def test_saturday(hm: tuple[int, int], band: str, day: tuple[int, int, int], offset: int) -> None:
    assert band_of(_utc(*day, *hm, offset)) == band


def test_summer_boundary_in_utc_terms() -> None:
    # 08:00 CEST is 06:00 UTC: F1 starts two hours earlier on the UTC clock in summer.
    assert band_of(datetime(2026, 7, 15, 5, 45, tzinfo=UTC)) == "F2"
    assert band_of(datetime(2026, 7, 15, 6, 0, tzinfo=UTC)) == "F1"
    assert band_of(datetime(2026, 1, 14, 6, 45, tzinfo=UTC)) == "F2"
    assert band_of(datetime(2026, 1, 14, 7, 0, tzinfo=UTC)) == "F1"


def test_25_april_2026_saturday_is_f3_all_day() -> None:
    assert {band_of(t) for t in intervals_of_local_day(date(2026, 4, 25))} == {"F3"}
    # the Saturday before, an ordinary one, is not
    assert "F2" in {band_of(t) for t in intervals_of_local_day(date(2026, 4, 18))}


@pytest.mark.parametrize(("day", "n"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_dst_sundays_are_all_f3(day: date, n: int) -> None:
    starts = intervals_of_local_day(day)
    assert len(starts) == n
    assert {band_of(t) for t in starts} == {"F3"}


@pytest.mark.parametrize("monday", [date(2026, 4, 6), date(2027, 3, 29), date(2028, 4, 17)])
def test_easter_monday_noon_is_f3(monday: date) -> None:
    assert band_of(_utc(monday.year, monday.month, monday.day, 12, 0, 2)) == "F3"


def test_4_october_2027_is_a_working_day_for_bands_unless_configured() -> None:
    noon = _utc(2027, 10, 4, 12, 0, 2)
    assert band_of(noon) == "F1"
    extended = HolidayCalendar("bands", extra=parse_extra_dates(["10-04"], "bands.extra"))
    assert band_of(noon, calendar=extended) == "F3"


def test_energy_by_band_and_month() -> None:
    items = [
        (_utc(2026, 1, 14, 9, 0, 1), 1.5),     # Wed F1
        (_utc(2026, 1, 14, 7, 15, 1), 0.25),   # Wed F2
        (_utc(2026, 1, 17, 12, 0, 1), 2.0),    # Sat F2
        (_utc(2026, 2, 1, 0, 0, 1), 0.5),      # 1 Feb local midnight (31 Jan 23:00Z), Sun F3
        (_utc(2026, 2, 2, 10, 0, 1), 4.0),     # Mon F1
    ]
    assert energy_by_band(items) == {"F1": 5.5, "F2": 2.25, "F3": 0.5}
    assert energy_by_month_and_band(items) == {
        (2026, 1): {"F1": 1.5, "F2": 2.25, "F3": 0.0},
        (2026, 2): {"F1": 4.0, "F2": 0.0, "F3": 0.5},
    }


def test_negative_amount_is_rejected_with_index() -> None:
    with pytest.raises(NormaliseError) as err:
        energy_by_band([(_utc(2026, 1, 14, 9, 0, 1), 1.0), (_utc(2026, 1, 14, 9, 15, 1), -1.0)])
    assert err.value.field == "items[1].amount"


def test_naive_start_is_rejected() -> None:
    with pytest.raises(NormaliseError):
        band_of(datetime(2026, 1, 14, 9, 0))
