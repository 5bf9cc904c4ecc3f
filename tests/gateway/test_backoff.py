"""Exponential backoff with jitter (gateway/backoff.py): the uplink, Modbus buses and devices."""

from __future__ import annotations

import random

from gateway.backoff import Backoff, Retry


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


def test_a_failure_streak_of_any_length_keeps_the_capped_delay() -> None:
    # A broker down for days at 60-120 s, or a dead bus at 300 s: thousands of failures in a
    # row. 2**1024 does not fit a float; the delay must stay at the cap, not raise.
    retry, backoff = Retry(), Backoff(1, 300, jitter=0)
    delays = [retry.failed(0, backoff) for _ in range(10_000)]
    assert delays[:3] == [1, 2, 4] and delays[-1] == 300
    assert Backoff(0.5, 120, jitter=0).delay(10**9) == 120
