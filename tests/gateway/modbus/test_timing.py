"""Alignment of polls to UTC interval boundaries."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.modbus.clock import next_boundary


def test_next_boundary_is_the_next_utc_quarter() -> None:
    t = datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC).timestamp()   # the night of the DST switch
    assert next_boundary(t, 900) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()
    on = datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()
    assert next_boundary(on, 900) == on + 900          # strictly after: never twice
    assert next_boundary(on + 0.5, 3600) == on + 3600
