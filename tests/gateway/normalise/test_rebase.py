"""rebase_previous: the last sample of one interval length as a baseline on another grid."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.normalise.energy import RegisterSample, interval_amounts, rebase_previous


def t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 5, 4, h, m, tzinfo=UTC)


def test_same_length_is_unchanged() -> None:
    prev = RegisterSample(t(10, 45), 500)
    assert rebase_previous(prev, 900, 900) == (prev, None)


def test_quarter_ending_on_the_hour_becomes_the_hour_before() -> None:
    # 10:45-11:00 ends at 11:00: on the hourly grid that is the end of 10:00-11:00
    assert rebase_previous(RegisterSample(t(10, 45), 500), 900, 3600) == \
        (RegisterSample(t(10), 500), None)


def test_hour_becomes_its_last_quarter() -> None:
    assert rebase_previous(RegisterSample(t(10), 500), 3600, 900) == \
        (RegisterSample(t(10, 45), 500), None)


def test_quarter_ending_off_the_hour_lumps_into_the_next_hour() -> None:
    # 10:15-10:30 ends at 10:30; the next full hour starts at 11:00
    assert rebase_previous(RegisterSample(t(10, 15), 500), 900, 3600) == \
        (RegisterSample(t(10), 500), t(11))


def test_unrecorded_length_guesses_from_alignment() -> None:
    # stored before lengths were recorded: on the hour grid → taken as an hour ...
    assert rebase_previous(RegisterSample(t(10), 500), None, 3600) == \
        (RegisterSample(t(10), 500), None)
    # ... off it → a quarter hour (the only other length on the wire)
    assert rebase_previous(RegisterSample(t(10, 30), 500), None, 3600) == \
        (RegisterSample(t(10), 500), t(11))


def test_rebased_baseline_feeds_interval_amounts() -> None:
    base, _ = rebase_previous(RegisterSample(t(10, 45), 500), 900, 3600)
    got = interval_amounts(base, [RegisterSample(t(11), 900), RegisterSample(t(12), 1000)],
                           length_s=3600)
    assert [(a.start, a.amount) for a in got.amounts] == [(t(11), 400), (t(12), 100)]
