"""Stored readings to analysis inputs: complete local days only, DST days included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.analysis.errors import InsufficientDataError, UnitMismatchError
from gateway.analysis.readings import daily_temperature, daily_usage
from gateway.model import Reading


def _rows(start: datetime, hours: int, value: float = 1.0, unit: str = "kWh") -> list[Reading]:
    return [Reading(site="s", device="d", channel="c", quantity="energy_import",
                    start=start + timedelta(hours=h), length_s=3600, value=value, unit=unit,
                    register=0, register_unit="Wh") for h in range(hours)]


def test_23_hour_dst_day_is_complete() -> None:
    # 31 March 2024 in Rome: 23:00 UTC on the 30th to 22:00 UTC on the 31st, 23 hours
    u = daily_usage(_rows(datetime(2024, 3, 30, 23, tzinfo=UTC), 23))
    assert u.starts == (date(2024, 3, 31),) and float(u.values[0]) == 23.0


def test_25_hour_dst_day_needs_all_25_hours() -> None:
    # 27 October 2024: 22:00 UTC on the 26th to 23:00 UTC on the 27th, 25 hours
    start = datetime(2024, 10, 26, 22, tzinfo=UTC)
    assert float(daily_usage(_rows(start, 25)).values[0]) == 25.0
    with pytest.raises(InsufficientDataError):
        daily_usage(_rows(start, 24))           # one hour short: no complete day at all


def test_incomplete_day_left_out_as_a_gap() -> None:
    rows = _rows(datetime(2024, 1, 1, 23, tzinfo=UTC), 24 + 20)
    assert daily_usage(rows).starts == (date(2024, 1, 2),)


def test_mixed_units_rejected() -> None:
    rows = _rows(datetime(2024, 1, 1, 23, tzinfo=UTC), 2) + _rows(
        datetime(2024, 1, 2, 1, tzinfo=UTC), 1, unit="Smc")
    with pytest.raises(UnitMismatchError) as err:
        daily_usage(rows)
    assert err.value.row == 3


def test_daily_temperature_is_time_weighted() -> None:
    rows = _rows(datetime(2024, 1, 1, 23, tzinfo=UTC), 24, value=5.0)
    t = daily_temperature(rows)
    assert t.days == (date(2024, 1, 2),) and t.mean_c[0] == pytest.approx(5.0)
