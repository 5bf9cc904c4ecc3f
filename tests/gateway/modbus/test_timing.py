"""Backoff with jitter, and alignment of polls to UTC interval boundaries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from gateway.backoff import Backoff, Retry
from gateway.modbus.clock import next_boundary


def test_backoff_doubles_caps_and_jitters_within_bounds() -> None:
    exact = Backoff(5, 300, jitter=0)
    assert [exact.delay(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    jittered = Backoff(5, 300, jitter=0.5, rng=random.Random(7))
    for n, ceiling in [(1, 5), (3, 20), (10, 300)]:
        draws = [jittered.delay(n) for _ in range(500)]
        assert all(ceiling / 2 <= d <= ceiling for d in draws)
        assert max(draws) - min(draws) > ceiling / 4   # really spread, not a constant


def test_retry_waits_for_its_delay_and_resets_on_success() -> None:
    retry, backoff = Retry(), Backoff(10, 100, jitter=0)
    assert retry.ready(0)
    assert retry.failed(1000, backoff) == 10
    assert not retry.ready(1009.9) and retry.ready(1010)
    assert retry.failed(1010, backoff) == 20
    retry.succeeded()
    assert (retry.failures, retry.ready(0)) == (0, True)


def test_next_boundary_is_the_next_utc_quarter() -> None:
    t = datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC).timestamp()   # the night of the DST switch
    assert next_boundary(t, 900) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()
    on = datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()
    assert next_boundary(on, 900) == on + 900          # strictly after: never twice
    assert next_boundary(on + 0.5, 3600) == on + 3600
