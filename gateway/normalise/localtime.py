"""Europe/Rome local time for interval starts stored in UTC: local days, DST days, alignment.

Every interval in the gateway is identified by its start, a timezone-aware UTC datetime,
aligned to its length (900 s electric, 3600 s gas) in UTC. Italy's offsets (+01:00 CET,
+02:00 CEST) are whole hours, so a UTC-aligned quarter hour or hour is also aligned in local
time and never straddles a local hour boundary.

A local day runs from local midnight to the next local midnight; it has 96 quarter hours
(24 hours), 92 (23 h) on the last Sunday of March and 100 (25 h) on the last Sunday of
October.

Public functions:
    to_local(t) -> datetime                   aware datetime in Europe/Rome
    require_utc(t, field="start") -> datetime checks awareness, returns the same instant in UTC
    local_date_of(start_utc) -> date          local calendar date of an interval start
    local_day_bounds_utc(day) -> (start, end) the local day [start, end) in UTC
    intervals_of_local_day(day, length_s=900) -> list[datetime]   UTC starts of that day
    iter_intervals(start_utc, end_utc, length_s=900) -> Iterator[datetime]   [start, end)
    floor_interval(t, length_s=900) -> datetime    start of the interval containing t
    is_aligned(t, length_s=900) -> bool
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.normalise.errors import NormaliseError

__all__ = [
    "HOUR_S",
    "QUARTER_S",
    "ROME",
    "floor_interval",
    "intervals_of_local_day",
    "is_aligned",
    "iter_intervals",
    "local_date_of",
    "local_day_bounds_utc",
    "require_utc",
    "to_local",
]

ROME = ZoneInfo("Europe/Rome")
QUARTER_S = 900
HOUR_S = 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _check_length(length_s: int) -> None:
    if length_s not in (QUARTER_S, HOUR_S):
        raise NormaliseError(
            "unsupported interval length",
            field="length_s",
            value=length_s,
            expected=f"{QUARTER_S} or {HOUR_S}",
        )


def require_utc(t: datetime, field: str = "start") -> datetime:
    """Return `t` converted to UTC; raise NormaliseError if it is naive."""
    if not isinstance(t, datetime) or t.tzinfo is None or t.utcoffset() is None:
        raise NormaliseError(
            "datetime must be timezone-aware",
            field=field,
            value=t,
            expected="an aware datetime (UTC)",
        )
    return t.astimezone(UTC)


def to_local(t: datetime) -> datetime:
    """The instant `t` (aware) as a Europe/Rome wall-clock datetime."""
    return require_utc(t, "t").astimezone(ROME)


def local_date_of(start_utc: datetime) -> date:
    """Local (Europe/Rome) calendar date on which the interval starting at `start_utc` begins."""
    return to_local(start_utc).date()


def local_day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at the start of `day` and of the following day."""
    start = datetime.combine(day, time(0), tzinfo=ROME).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ROME).astimezone(UTC)
    return start, end


def is_aligned(t: datetime, length_s: int = QUARTER_S) -> bool:
    """True if `t` is an exact multiple of `length_s` seconds since the Unix epoch (UTC)."""
    _check_length(length_s)
    delta = require_utc(t, "t") - _EPOCH
    return delta.microseconds == 0 and (delta.days * 86400 + delta.seconds) % length_s == 0


def floor_interval(t: datetime, length_s: int = QUARTER_S) -> datetime:
    """Start (UTC) of the `length_s` interval that contains the instant `t`."""
    _check_length(length_s)
    seconds = (require_utc(t, "t") - _EPOCH) // timedelta(seconds=1)
    return _EPOCH + timedelta(seconds=seconds - seconds % length_s)


def iter_intervals(
    start_utc: datetime, end_utc: datetime, length_s: int = QUARTER_S
) -> Iterator[datetime]:
    """Aligned interval starts in [start_utc, end_utc); both bounds must be aligned."""
    _check_length(length_s)
    for name, value in (("start_utc", start_utc), ("end_utc", end_utc)):
        if not is_aligned(value, length_s):
            raise NormaliseError(
                "bound not aligned to the interval length",
                field=name,
                value=value,
                expected=f"a multiple of {length_s} s since the epoch",
            )
    t = require_utc(start_utc, "start_utc")
    end = require_utc(end_utc, "end_utc")
    step = timedelta(seconds=length_s)
    while t < end:
        yield t
        t += step


def intervals_of_local_day(day: date, length_s: int = QUARTER_S) -> list[datetime]:
    """UTC starts of the quarter hours (or hours) of the local day: 96/92/100 (24/23/25)."""
    start, end = local_day_bounds_utc(day)
    return list(iter_intervals(start, end, length_s))
