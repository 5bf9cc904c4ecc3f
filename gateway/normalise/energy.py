"""Interval amounts from cumulative registers: rollover, reset, gaps, duplicates; never negative.

Pure function over plain values; amounts stay in the register's raw unit (Wh, L, pulses) as
integers so that sums are exact. The caller converts (Wh / 1000 -> kWh, L -> m3 -> Smc).

    interval_amounts(previous, samples, *, length_s=900, modulus=2**32,
                     gap_policy="spread", max_plausible=None) -> Deltas

`previous` is the last sample already normalised for this channel (None for the first ever);
`samples` are new ones in any order. The result holds `amounts` (chronological), `ignored`
samples with a reason and `last`, the sample to pass as `previous` next time. Calling again
with the same or overlapping input changes nothing (duplicates are ignored), so re-delivery
and backfill are idempotent.

Rules for one sample `s` after `prev` (docs/decisions/004-normalisation.md):
- s.register >= prev.register and no reset flag: amount = difference.
- rollover: the register went down and either the device flags "rollover", or the wrapped
  difference (new + modulus - old) is plausible: at most `max_plausible` per interval
  spanned, or at most half the modulus when `max_plausible` is None. Flag "rollover".
- reset flagged by the device ("register_reset" wire flag): the register restarted from 0,
  amount = new register. Flag "register_reset".
- register went down with no flag and no plausible rollover (meter swapped, board reset
  silently): amount = None (unknown: counting the new register could invent a whole meter's
  history). Flag "register_reset"; the new register is the baseline for what follows.
- the first sample ever (`previous` None): amount None (no baseline), unless reset-flagged.
- gap (intervals missing between prev and s): the energy is never lost. "lump": s gets the
  whole difference, flag "gap". "spread" (default): the difference is split evenly (integer
  units, the remainder to the earliest) over the missing intervals, emitted with flag
  "estimated" and interpolated registers, and s, flagged "estimated" and "gap". When the
  difference is unknown or counts from a reset, nothing can be spread: s alone, flag "gap".
- samples before `previous.start`: ignored as "stale"; at `previous.start`: "duplicate" (same
  register) or "conflict" (the stored one wins);
  several samples for one start in a batch: one kept if their registers agree (flags
  merged), all ignored as "conflict" otherwise (the interval then counts as missing).
Wire flags of a sample are carried to its amount. Amounts are never negative.

When a channel's interval length changes (a board re-provisioned from 15 min to 1 h, or back),
:func:`rebase_previous` moves the last sample onto the new grid first (see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gateway.model import FLAG_NAMES
from gateway.normalise.errors import NormaliseError
from gateway.normalise.localtime import QUARTER_S, is_aligned, require_utc

__all__ = [
    "Deltas",
    "GapPolicy",
    "Ignored",
    "IntervalAmount",
    "RegisterSample",
    "interval_amounts",
    "rebase_previous",
]

UINT32_MODULUS = 2**32


class GapPolicy(StrEnum):
    """How the energy of missing intervals is attributed."""

    LUMP = "lump"
    SPREAD = "spread"


@dataclass(frozen=True, slots=True)
class RegisterSample:
    """A cumulative register at the END of the interval starting at `start` (aware UTC)."""

    start: datetime
    register: int
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class IntervalAmount:
    """Amount of one interval in raw register units; None when it cannot be known."""

    start: datetime
    amount: int | None
    register: int
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Ignored:
    """A sample that produced no amount: reason "duplicate", "stale" or "conflict"."""

    sample: RegisterSample
    reason: str


@dataclass(frozen=True, slots=True)
class Deltas:
    """Result of `interval_amounts`; `last` is the `previous` to pass on the next call."""

    amounts: tuple[IntervalAmount, ...]
    ignored: tuple[Ignored, ...]
    last: RegisterSample | None


def _validate(s: RegisterSample, where: str, length_s: int, modulus: int | None) -> None:
    require_utc(s.start, f"{where}.start")
    if not is_aligned(s.start, length_s):
        raise NormaliseError("interval start not aligned", field=f"{where}.start",
                             value=s.start, expected=f"a multiple of {length_s} s (UTC)")
    if type(s.register) is not int or s.register < 0 or (
        modulus is not None and s.register >= modulus
    ):
        raise NormaliseError("register out of range", field=f"{where}.register",
                             value=s.register, expected=f"an int in [0, {modulus})")
    unknown = set(s.flags) - set(FLAG_NAMES)
    if unknown:
        raise NormaliseError("unknown flag", field=f"{where}.flags", value=sorted(unknown),
                             expected=f"names from {', '.join(FLAG_NAMES)}")


def _select(
    previous: RegisterSample | None, samples: Iterable[RegisterSample]
) -> tuple[list[RegisterSample], list[Ignored]]:
    """Sort by start, drop duplicates/stale/conflicting samples (order-independent)."""
    by_start: dict[datetime, list[RegisterSample]] = {}
    for s in samples:
        by_start.setdefault(s.start, []).append(s)
    kept: list[RegisterSample] = []
    ignored: list[Ignored] = []
    for start in sorted(by_start):
        group = sorted(by_start[start], key=lambda s: (s.register, sorted(s.flags)))
        if previous is not None and start <= previous.start:
            for s in group:
                if start < previous.start:
                    reason = "stale"
                else:
                    reason = "duplicate" if s.register == previous.register else "conflict"
                ignored.append(Ignored(s, reason))
            continue
        if len({s.register for s in group}) > 1:
            ignored.extend(Ignored(s, "conflict") for s in group)
            continue
        flags = frozenset().union(*(s.flags for s in group))
        kept.append(RegisterSample(start, group[0].register, flags))
        ignored.extend(Ignored(s, "duplicate") for s in group[1:])
    return kept, ignored


def _difference(
    old: int, s: RegisterSample, spanned: int, modulus: int | None, max_plausible: int | None
) -> tuple[int | None, str | None]:
    """(amount, normalisation flag) for `s` after a register `old`, `spanned` intervals on."""
    new = s.register
    if "register_reset" in s.flags:
        return new, "register_reset"
    if new >= old:
        return new - old, None
    if modulus is None:
        if "rollover" in s.flags:
            raise NormaliseError("rollover flagged but no modulus configured", field="modulus",
                                 value=None, expected="the register modulus, e.g. 2**32")
        return None, "register_reset"
    wrapped = new + modulus - old
    limit = modulus // 2 if max_plausible is None else max_plausible * spanned
    if "rollover" in s.flags or wrapped <= limit:
        return wrapped, "rollover"
    return None, "register_reset"


def _spread(total: int, n: int) -> list[int]:
    base, rest = divmod(total, n)
    return [base + 1 if i < rest else base for i in range(n)]


def interval_amounts(
    previous: RegisterSample | None,
    samples: Iterable[RegisterSample],
    *,
    length_s: int = QUARTER_S,
    modulus: int | None = UINT32_MODULUS,
    gap_policy: GapPolicy | str = GapPolicy.SPREAD,
    max_plausible: int | None = None,
) -> Deltas:
    """Per-interval amounts for `samples` after `previous` (see the module docstring)."""
    policy = GapPolicy(gap_policy) if gap_policy in set(GapPolicy) else None
    if policy is None:
        raise NormaliseError("unknown gap policy", field="gap_policy", value=gap_policy,
                             expected='"lump" or "spread"')
    if modulus is not None and (type(modulus) is not int or modulus < 2):
        raise NormaliseError("bad modulus", field="modulus", value=modulus,
                             expected="None or an int >= 2")
    samples = list(samples)
    if previous is not None:
        _validate(previous, "previous", length_s, modulus)
    for i, s in enumerate(samples):
        _validate(s, f"samples[{i}]", length_s, modulus)
    kept, ignored = _select(previous, samples)

    step = timedelta(seconds=length_s)
    out: list[IntervalAmount] = []
    prev = previous
    for s in kept:
        if prev is None:
            reset = "register_reset" in s.flags
            out.append(IntervalAmount(s.start, s.register if reset else None, s.register,
                                      s.flags))
            prev = s
            continue
        spanned = (s.start - prev.start) // step
        amount, kind = _difference(prev.register, s, spanned, modulus, max_plausible)
        flags = set(s.flags)
        if kind:
            flags.add(kind)
        if spanned > 1:
            flags.add("gap")
            if policy is GapPolicy.SPREAD and amount is not None and kind != "register_reset":
                shares = _spread(amount, spanned)
                register = prev.register
                for k, share in enumerate(shares[:-1], start=1):
                    register += share
                    if modulus is not None:
                        register %= modulus
                    out.append(IntervalAmount(prev.start + k * step, share, register,
                                              frozenset({"estimated"})))
                flags.add("estimated")
                amount = shares[-1]
        out.append(IntervalAmount(s.start, amount, s.register, frozenset(flags)))
        prev = s
    return Deltas(amounts=tuple(out), ignored=tuple(ignored), last=prev)


def rebase_previous(
    previous: RegisterSample, previous_length_s: int | None, length_s: int
) -> tuple[RegisterSample, datetime | None]:
    """`previous` (an interval of `previous_length_s`) as a baseline on the `length_s` grid.

    The register of `previous` is the count at its END. That instant becomes the end of a
    pseudo-interval of the new length, so the next new-length sample continues from it:
    nothing is lost or counted twice, and samples of the new length that overlap intervals
    already normalised are ignored as stale or duplicate. When the end is not on the new grid
    (15 min → 1 h ending at hh:15, :30, :45) the pseudo-interval ends at the next grid
    instant instead; the returned `lumped` start is then the first new interval, whose amount
    also holds the energy between the true end and the grid (the caller flags it "gap",
    as a lumped gap). `previous_length_s` None (stored before lengths were recorded): the
    length of `previous` is taken as `length_s` when its start is on that grid, else 15 min.
    Returns (baseline, lumped start or None).
    """
    if previous_length_s is None:
        previous_length_s = length_s if is_aligned(previous.start, length_s) else QUARTER_S
    if previous_length_s == length_s:
        return previous, None
    end = previous.start + timedelta(seconds=previous_length_s)
    step = timedelta(seconds=length_s)
    if is_aligned(end, length_s):
        return RegisterSample(end - step, previous.register, previous.flags), None
    # floor + step: the first grid instant after `end`, also when `end` is before 1970
    grid_end = end - (end - datetime(1970, 1, 1, tzinfo=end.tzinfo)) % step + step
    return RegisterSample(grid_end - step, previous.register, previous.flags), grid_end
