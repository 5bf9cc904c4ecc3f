"""Degree days from hourly readings: local days, DST, seasons, operating days, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from gateway.analysis.degree_days import (
    cdd,
    daily_mean_temperature,
    degree_days,
    hdd,
    in_heating_season,
    reference_degree_days,
    season_label,
    seasonal_totals,
)
from gateway.analysis.errors import AnalysisError, InsufficientDataError


def test_hdd_cdd_by_hand() -> None:
    assert list(hdd([25.0, 20.0, 12.5, -3.0])) == [0.0, 0.0, 7.5, 23.0]
    assert list(cdd([25.0, 20.0, 12.5], base=22.0)) == [3.0, 0.0, 0.0]


def test_hourly_means_follow_local_days_across_dst() -> None:
    # 31 March 2024 in Rome has 23 hours: 23:00 UTC 30 Mar .. 22:00 UTC 31 Mar
    start = datetime(2024, 3, 30, 23, tzinfo=UTC)
    stamps = [start + timedelta(hours=h) for h in range(23)]
    temps = [float(h) for h in range(23)]
    daily = daily_mean_temperature(stamps, temps)
    assert daily.days == (date(2024, 3, 31),)
    assert daily.mean_c[0] == pytest.approx(11.0)          # mean of 0..22
    assert daily.samples[0] == 23


def test_short_day_is_an_error_with_counts() -> None:
    start = datetime(2024, 1, 1, 23, tzinfo=UTC)
    stamps = [start + timedelta(hours=h) for h in range(30)]  # day 2 has only 6 readings
    with pytest.raises(InsufficientDataError) as err:
        daily_mean_temperature(stamps, np.zeros(30))
    assert (err.value.available, err.value.required) == (6, 12)
    kept = daily_mean_temperature(stamps, np.zeros(30), drop_short_days=True)
    assert kept.days == (date(2024, 1, 2),)


def test_naive_timestamp_rejected_with_row() -> None:
    with pytest.raises(AnalysisError) as err:
        daily_mean_temperature([datetime(2024, 1, 1, 0)], [5.0])
    assert err.value.row == 1 and err.value.field == "timestamp"


@pytest.mark.parametrize(("zone", "inside", "outside"), [
    ("A", date(2024, 3, 15), date(2024, 3, 16)),
    ("B", date(2024, 12, 1), date(2024, 11, 30)),
    ("C", date(2024, 11, 15), date(2024, 11, 14)),
    ("D", date(2024, 4, 15), date(2024, 4, 16)),
    ("E", date(2024, 10, 15), date(2024, 10, 14)),
])
def test_heating_season_bounds(zone: str, inside: date, outside: date) -> None:
    assert list(in_heating_season([inside, outside], zone)) == [True, False]


def test_zone_f_has_no_season_limit() -> None:
    days = [date(2024, 7, 15), date(2024, 1, 15)]
    assert list(in_heating_season(days, "F")) == [True, True]


def test_unknown_zone_is_an_error() -> None:
    with pytest.raises(AnalysisError) as err:
        degree_days([date(2024, 1, 1)], [5.0], zone="G")
    assert err.value.input == "zone"


def test_operating_days_restrict_the_sum() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(7)]
    temps = [10.0] * 7
    weekdays = [d for d in days if d.weekday() < 5]
    gg = degree_days(days, temps, zone="E", operating_days=weekdays)
    assert gg.total == pytest.approx(10.0 * len(weekdays))
    assert gg.counted_days == len(weekdays)


def test_seasonal_totals_split_at_july() -> None:
    days = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 11, 1)]
    assert seasonal_totals(days, [1.0, 2.0, 4.0], "E") == {"2023/24": 3.0, "2024/25": 4.0}
    assert season_label(date(2024, 6, 30), "E") == "2023/24"


def test_reference_degree_days_unknown_name_suggests() -> None:
    with pytest.raises(AnalysisError) as err:
        reference_degree_days("Lodii")
    assert "LODI" in str(err.value)
