"""Interval amounts from cumulative registers: examples, then properties against a model."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.normalise.energy import (
    GapPolicy,
    IntervalAmount,
    RegisterSample,
    interval_amounts,
)
from gateway.normalise.errors import NormaliseError

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
Q = timedelta(minutes=15)


def s(i: int, register: int, *flags: str) -> RegisterSample:
    return RegisterSample(T0 + i * Q, register, frozenset(flags))


def a(i: int, amount: int | None, register: int, *flags: str) -> IntervalAmount:
    return IntervalAmount(T0 + i * Q, amount, register, frozenset(flags))


def test_plain_deltas() -> None:
    d = interval_amounts(s(0, 1000), [s(1, 1100), s(2, 1250)])
    assert d.amounts == (a(1, 100, 1100), a(2, 150, 1250))
    assert d.ignored == ()
    assert d.last == s(2, 1250)


def test_unflagged_uint32_rollover() -> None:
    d = interval_amounts(s(0, 2**32 - 50), [s(1, 70)])
    assert d.amounts == (a(1, 120, 70, "rollover"),)


def test_unflagged_wrap_limit_is_half_the_modulus() -> None:
    d = interval_amounts(s(0, 900), [s(1, 400)], modulus=1000)         # wrapped 500
    assert d.amounts == (a(1, 500, 400, "rollover"),)
    d = interval_amounts(s(0, 900), [s(1, 401)], modulus=1000)         # wrapped 501
    assert d.amounts == (a(1, None, 401, "register_reset"),)
    d = interval_amounts(s(0, 900), [s(11, 300)], modulus=1000, gap_policy="lump")
    assert d.amounts == (a(11, 400, 300, "gap", "rollover"),)


def test_flagged_rollover_with_small_modulus() -> None:
    d = interval_amounts(s(0, 900), [s(1, 100, "rollover")], modulus=1000)
    assert d.amounts == (a(1, 200, 100, "rollover"),)


def test_max_plausible_decides_unflagged_wrap() -> None:
    d = interval_amounts(s(0, 900), [s(1, 100)], modulus=1000, max_plausible=50)
    assert d.amounts == (a(1, None, 100, "register_reset"),)
    d = interval_amounts(s(0, 900), [s(1, 100)], modulus=1000, max_plausible=250)
    assert d.amounts == (a(1, 200, 100, "rollover"),)


def test_device_flagged_reset_counts_from_zero() -> None:
    d = interval_amounts(s(0, 5000), [s(1, 30, "register_reset"), s(2, 80)])
    assert d.amounts == (a(1, 30, 30, "register_reset"), a(2, 50, 80))


def test_unflagged_decrease_is_unknown_not_negative() -> None:
    d = interval_amounts(s(0, 5000), [s(1, 30), s(2, 80)])
    assert d.amounts == (a(1, None, 30, "register_reset"), a(2, 50, 80))


def test_without_modulus_a_decrease_is_a_reset_and_a_rollover_flag_is_a_config_error() -> None:
    d = interval_amounts(s(0, 900), [s(1, 100)], modulus=None)
    assert d.amounts == (a(1, None, 100, "register_reset"),)
    with pytest.raises(NormaliseError) as err:
        interval_amounts(s(0, 900), [s(1, 100, "rollover")], modulus=None)
    assert err.value.field == "modulus"


def test_gap_lump() -> None:
    d = interval_amounts(s(0, 1000), [s(3, 1300)], gap_policy="lump")
    assert d.amounts == (a(3, 300, 1300, "gap"),)


def test_gap_spread_with_remainder_to_the_earliest() -> None:
    d = interval_amounts(s(0, 1000), [s(3, 1301)])
    assert d.amounts == (
        a(1, 101, 1101, "estimated"),
        a(2, 100, 1201, "estimated"),
        a(3, 100, 1301, "estimated", "gap"),
    )


def test_gap_spread_across_a_rollover_interpolates_registers_modulo() -> None:
    d = interval_amounts(s(0, 990), [s(2, 10)], modulus=1000)
    assert d.amounts == (a(1, 10, 0, "estimated"), a(2, 10, 10, "estimated", "gap", "rollover"))


def test_gap_before_a_reset_cannot_be_spread() -> None:
    d = interval_amounts(s(0, 1000), [s(3, 40, "register_reset")])
    assert d.amounts == (a(3, 40, 40, "register_reset", "gap"),)


def test_first_sample_ever_is_a_baseline() -> None:
    d = interval_amounts(None, [s(0, 1000), s(1, 1010)])
    assert d.amounts == (a(0, None, 1000), a(1, 10, 1010))
    d = interval_amounts(None, [s(0, 12, "register_reset")])
    assert d.amounts == (a(0, 12, 12, "register_reset"),)


def test_wire_flags_are_carried() -> None:
    d = interval_amounts(s(0, 1000), [s(1, 1004, "power_loss", "partial")])
    assert d.amounts == (a(1, 4, 1004, "power_loss", "partial"),)


def test_duplicates_stale_and_conflicts() -> None:
    d = interval_amounts(s(2, 1000), [s(1, 900), s(2, 1000), s(2, 1001), s(3, 1100),
                                      s(3, 1100), s(4, 1200), s(4, 1250), s(5, 1300)])
    assert [(i.sample, i.reason) for i in d.ignored] == [
        (s(1, 900), "stale"), (s(2, 1000), "duplicate"), (s(2, 1001), "conflict"),
        (s(3, 1100), "duplicate"), (s(4, 1200), "conflict"), (s(4, 1250), "conflict"),
    ]
    # interval 4 had two different registers: dropped, so 5 closes a one-interval gap
    assert d.amounts == (a(3, 100, 1100), a(4, 100, 1200, "estimated"),
                         a(5, 100, 1300, "estimated", "gap"))


def test_same_register_duplicates_merge_flags() -> None:
    d = interval_amounts(s(0, 0), [s(1, 5, "partial"), s(1, 5, "backfill")])
    assert d.amounts == (a(1, 5, 5, "partial", "backfill"),)
    assert d.last == s(1, 5, "partial", "backfill")


def test_hourly_gas_intervals() -> None:
    h = timedelta(hours=1)
    d = interval_amounts(RegisterSample(T0, 100), [RegisterSample(T0 + 2 * h, 160)],
                         length_s=3600, gap_policy=GapPolicy.LUMP)
    assert d.amounts == (IntervalAmount(T0 + 2 * h, 60, 160, frozenset({"gap"})),)


@pytest.mark.parametrize(("sample", "field"), [
    (RegisterSample(datetime(2026, 3, 2, 8, 15), 1), "samples[0].start"),
    (RegisterSample(T0 + timedelta(minutes=5), 1), "samples[0].start"),
    (RegisterSample(T0 + Q, -1), "samples[0].register"),
    (RegisterSample(T0 + Q, 2**32), "samples[0].register"),
    (RegisterSample(T0 + Q, 1.5), "samples[0].register"),  # type: ignore[arg-type]
    (RegisterSample(T0 + Q, 1, frozenset({"bogus"})), "samples[0].flags"),
])
def test_invalid_samples_name_the_field(sample: RegisterSample, field: str) -> None:
    with pytest.raises(NormaliseError) as err:
        interval_amounts(s(0, 0), [sample])
    assert err.value.field == field


def test_bad_options() -> None:
    with pytest.raises(NormaliseError) as err:
        interval_amounts(None, [], gap_policy="interpolate")
    assert err.value.field == "gap_policy"
    with pytest.raises(NormaliseError) as err:
        interval_amounts(None, [], modulus=1)
    assert err.value.field == "modulus"


# --- properties ------------------------------------------------------------------------------

MOD = 1000
MAX_C = 40          # per interval; a gap of <= 10 missing intervals stays below MOD // 2
MAX_RUN = 10


@st.composite
def metered(draw: st.DrawFn) -> tuple[RegisterSample, list[RegisterSample], int, int]:
    """A physical register model: (previous, delivered samples, expected total, seed)."""
    n = draw(st.integers(1, 60))
    reg = draw(st.integers(0, MOD - 1))
    flag_wraps = draw(st.booleans())
    previous = s(0, reg)
    samples: list[tuple[RegisterSample, int, bool]] = []  # (sample, consumption, is_reset)
    for i in range(1, n + 1):
        c = draw(st.integers(0, MAX_C))
        reset = draw(st.integers(0, 9)) == 0
        if reset:
            reg, flags = c, {"register_reset"}
        else:
            wrapped = reg + c >= MOD
            reg = (reg + c) % MOD
            flags = {"rollover"} if wrapped and flag_wraps else set()
        samples.append((s(i, reg, *flags), c, reset))
    drop = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    kept: list[RegisterSample] = []
    expected = pending = run = 0
    for (sample, c, reset), dropped in zip(samples, drop, strict=True):
        if dropped and not reset and run < MAX_RUN:
            pending += c
            run += 1
            continue
        # consumption of dropped intervals before a reset sat in a register never reported
        expected += c if reset else pending + c
        pending = run = 0
        kept.append(sample)
    return previous, kept, expected, draw(st.integers(0, 2**31))


@settings(max_examples=300, deadline=None)
@given(metered(), st.sampled_from(list(GapPolicy)))
def test_sum_equals_true_consumption_and_never_negative(
    case: tuple[RegisterSample, list[RegisterSample], int, int], policy: GapPolicy
) -> None:
    previous, kept, expected, seed = case
    rng = random.Random(seed)
    delivered = kept + rng.sample(kept, k=len(kept) // 3)   # re-deliveries
    rng.shuffle(delivered)                                 # any order
    d = interval_amounts(previous, delivered, modulus=MOD, gap_policy=policy)
    amounts = [x.amount for x in d.amounts]
    assert None not in amounts
    assert all(x >= 0 for x in amounts)  # type: ignore[operator]
    assert sum(amounts) == expected      # type: ignore[arg-type]
    starts = [x.start for x in d.amounts]
    assert starts == sorted(set(starts))
    if policy is GapPolicy.LUMP:
        assert len(d.amounts) == len(kept)
    assert d.last == (kept[-1] if kept else previous)


@settings(max_examples=200, deadline=None)
@given(metered(), st.sampled_from(list(GapPolicy)), st.integers(0, 60))
def test_splitting_the_batch_or_repeating_it_changes_nothing(
    case: tuple[RegisterSample, list[RegisterSample], int, int], policy: GapPolicy, cut: int
) -> None:
    previous, kept, _, _ = case
    whole = interval_amounts(previous, kept, modulus=MOD, gap_policy=policy)
    first = interval_amounts(previous, kept[:cut], modulus=MOD, gap_policy=policy)
    second = interval_amounts(first.last, kept[:cut + 3] + kept[cut:], modulus=MOD,
                              gap_policy=policy)
    assert first.amounts + second.amounts == whole.amounts
    again = interval_amounts(whole.last, kept, modulus=MOD, gap_policy=policy)
    assert again.amounts == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40),
       st.sampled_from(list(GapPolicy)), st.sampled_from([None, 2**32]))
def test_arbitrary_registers_never_give_negative_or_unexplained_unknowns(
    registers: list[int], policy: GapPolicy, modulus: int | None
) -> None:
    d = interval_amounts(None, [s(i * 2 if i % 3 == 0 else i * 2 + 1, r)
                                for i, r in enumerate(registers)],
                         modulus=modulus, gap_policy=policy)
    for x in d.amounts[1:]:
        if x.amount is None:
            assert "register_reset" in x.flags
        else:
            assert x.amount >= 0
    assert d.amounts[0].amount is None
