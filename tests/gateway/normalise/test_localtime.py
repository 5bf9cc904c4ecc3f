"""Europe/Rome local days, DST day lengths and interval alignment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from gateway.normalise.errors import NormaliseError
from gateway.normalise.localtime import (
    floor_interval,
    intervals_of_local_day,
    is_aligned,
    iter_intervals,
    local_date_of,
    local_day_bounds_utc,
    require_utc,
)

# EU summer time: last Sunday of March / October (Directive 2000/84/EC), typed from a calendar.
DST_SPRING = [date(2026, 3, 29), date(2027, 3, 28), date(2028, 3, 26)]
DST_AUTUMN = [date(2026, 10, 25), date(2027, 10, 31), date(2028, 10, 29)]


@pytest.mark.parametrize("day", DST_SPRING)
def test_spring_day_has_92_quarters_and_23_hours(day: date) -> None:
    assert len(intervals_of_local_day(day)) == 92
    assert len(intervals_of_local_day(day, 3600)) == 23


@pytest.mark.parametrize("day", DST_AUTUMN)
def test_autumn_day_has_100_quarters_and_25_hours(day: date) -> None:
    assert len(intervals_of_local_day(day)) == 100
    assert len(intervals_of_local_day(day, 3600)) == 25


@pytest.mark.parametrize("day", [date(2026, 1, 14), date(2026, 7, 15), date(2026, 3, 28)])
def test_ordinary_day_has_96_quarters(day: date) -> None:
    assert len(intervals_of_local_day(day)) == 96
    assert len(intervals_of_local_day(day, 3600)) == 24


def test_every_day_of_2026_sums_to_the_year() -> None:
    total = sum(len(intervals_of_local_day(date(2026, 1, 1) + timedelta(d))) for d in range(365))
    assert total == 365 * 96


def test_local_day_bounds_winter_and_summer() -> None:
    assert local_day_bounds_utc(date(2026, 1, 14)) == (
        datetime(2026, 1, 13, 23, tzinfo=UTC), datetime(2026, 1, 14, 23, tzinfo=UTC))
    assert local_day_bounds_utc(date(2026, 7, 15)) == (
        datetime(2026, 7, 14, 22, tzinfo=UTC), datetime(2026, 7, 15, 22, tzinfo=UTC))
    assert local_day_bounds_utc(date(2026, 3, 29)) == (
        datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))


def test_local_date_of_interval_start() -> None:
    assert local_date_of(datetime(2026, 1, 13, 23, 0, tzinfo=UTC)) == date(2026, 1, 14)
    assert local_date_of(datetime(2026, 1, 13, 22, 45, tzinfo=UTC)) == date(2026, 1, 13)
    assert local_date_of(datetime(2026, 7, 14, 22, 0, tzinfo=UTC)) == date(2026, 7, 15)
    assert local_date_of(datetime(2026, 7, 14, 21, 45, tzinfo=UTC)) == date(2026, 7, 14)


def test_autumn_repeated_hour_maps_to_the_same_day() -> None:
    # 00:00Z and 01:00Z on 2026-10-25 are both 02:00 local (CEST, then CET).
    starts = intervals_of_local_day(date(2026, 10, 25), 3600)
    assert datetime(2026, 10, 25, 0, tzinfo=UTC) in starts
    assert datetime(2026, 10, 25, 1, tzinfo=UTC) in starts
    assert len(set(starts)) == 25


def test_alignment_helpers() -> None:
    t = datetime(2026, 5, 4, 10, 7, 30, tzinfo=UTC)
    assert floor_interval(t) == datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert floor_interval(t, 3600) == datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert is_aligned(datetime(2026, 5, 4, 10, 45, tzinfo=UTC))
    assert not is_aligned(datetime(2026, 5, 4, 10, 45, tzinfo=UTC), 3600)
    cest = timezone(timedelta(hours=2))
    assert is_aligned(datetime(2026, 5, 4, 12, 15, tzinfo=cest))
    got = list(iter_intervals(datetime(2026, 5, 4, 10, tzinfo=UTC),
                              datetime(2026, 5, 4, 11, tzinfo=UTC)))
    assert got == [datetime(2026, 5, 4, 10, m, tzinfo=UTC) for m in (0, 15, 30, 45)]


def test_naive_datetime_is_rejected_with_field() -> None:
    with pytest.raises(NormaliseError) as err:
        require_utc(datetime(2026, 1, 1), "start")
    assert err.value.field == "start"


def test_misaligned_bound_and_bad_length_are_rejected() -> None:
    with pytest.raises(NormaliseError) as err:
        list(iter_intervals(datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
                            datetime(2026, 1, 1, 1, tzinfo=UTC)))
    assert err.value.field == "start_utc"
    with pytest.raises(NormaliseError) as err:
        intervals_of_local_day(date(2026, 1, 1), 600)
    assert err.value.field == "length_s"
