"""Ground truth: the registers each board really closed, compared with what reached upstream.

A board's own cumulative register at each interval end is the truth of "a reading produced"
(the firmware reports it to the simulator as it seals the interval). What the upstream
subscriber received is compared key by key — (device, channel, interval start) — so a test
can prove that nothing was lost, nothing invented, no register altered, and count duplicates.
Readings the gateway flags `estimated` (spread over a gap by normalisation) are reported apart:
they are announced as estimates, not passed off as measurements. Every delivered copy is
checked, not only the first; and a board that closed the same interval twice with different
registers (a truth conflict) fails the comparison too: one of its two readings is invented.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Comparison", "Delivered", "GroundTruth", "Key", "compare"]

Key = tuple[str, str, int]  # (device, channel, interval start, Unix seconds UTC)


@dataclass
class GroundTruth:
    """Interval closes reported by the boards: key -> register at the interval end."""

    registers: dict[Key, int] = field(default_factory=dict)
    lengths: dict[Key, int] = field(default_factory=dict)
    conflicts: list[tuple[Key, int, int]] = field(default_factory=list)

    def add(self, device: str, channel: str, start: int, register: int,
            length_s: int = 900) -> None:
        key = (device, channel, int(start))
        self.lengths.setdefault(key, int(length_s))
        old = self.registers.setdefault(key, int(register))
        if old != register:  # a board that closed the same interval twice with other values
            self.conflicts.append((key, old, int(register)))

    def within(self, end: float) -> GroundTruth:
        """Only the intervals that ended by `end` (Unix seconds)."""
        out = GroundTruth()
        for key, reg in self.registers.items():
            length = self.lengths.get(key, 900)
            if key[2] + length <= end:
                out.registers[key] = reg
                out.lengths[key] = length
        out.conflicts = [c for c in self.conflicts if c[0] in out.registers]
        return out

    def __len__(self) -> int:
        return len(self.registers)


@dataclass
class Delivered:
    """Reading messages as received by the upstream subscriber (duplicates kept)."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, doc: dict[str, Any]) -> None:
        self.messages.append(doc)

    @staticmethod
    def key_of(doc: dict[str, Any]) -> Key:
        device, channel, start = doc["msg_id"].rsplit(":", 2)
        return (device, channel, int(start))


@dataclass(frozen=True)
class Comparison:
    """Outcome of truth vs delivery; `ok` means nothing lost, invented or altered."""

    produced: int
    delivered_messages: int
    delivered_unique: int          # produced readings that reached the subscriber
    duplicates: int
    estimated: int
    lost: tuple[Key, ...]
    invented: tuple[Key, ...]
    altered: tuple[tuple[Key, int, int], ...]      # (key, produced, a delivered copy's)
    conflicts: tuple[tuple[Key, int, int], ...] = ()  # (key, first close, a later one)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.invented or self.altered or self.conflicts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "readings_produced": self.produced,
            "readings_delivered": self.delivered_unique,
            "messages_delivered": self.delivered_messages,
            "readings_lost": len(self.lost),
            "readings_invented": len(self.invented),
            "registers_altered": len(self.altered),
            "truth_conflicts": len(self.conflicts),
            "duplicates_delivered": self.duplicates,
            "estimated_delivered": self.estimated,
        }


def compare(truth: GroundTruth, delivered: Iterable[dict[str, Any]]) -> Comparison:
    """Key-by-key comparison. A produced interval the gateway re-spread over a gap is still
    delivered (same key, same register, flagged `estimated`); a delivered interval that no
    board produced is invented unless it is flagged `estimated` (then it is counted apart)."""
    counts: Counter[Key] = Counter()
    altered: set[tuple[Key, int, int]] = set()
    estimated: set[Key] = set()
    n = 0
    for doc in delivered:
        n += 1
        key = Delivered.key_of(doc)
        counts[key] += 1
        if "estimated" in doc.get("flags", ()):
            estimated.add(key)
        got = int(doc["register"]["value"])
        if key in truth.registers and truth.registers[key] != got:
            altered.add((key, truth.registers[key], got))
    produced = set(truth.registers)
    lost = sorted(produced - set(counts))
    extra = set(counts) - produced
    invented = sorted(extra - estimated)
    return Comparison(
        produced=len(produced), delivered_messages=n,
        delivered_unique=len(produced & set(counts)),
        duplicates=n - len(counts), estimated=len(extra & estimated),
        lost=tuple(lost), invented=tuple(invented), altered=tuple(sorted(altered)),
        conflicts=tuple(truth.conflicts),
    )
