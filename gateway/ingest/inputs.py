"""Input-plugin readings (``InputReading`` objects) checked and turned into readings-table rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.model import FLAG_NAMES
from gateway.registry import RegistryError, format_device_id
from gateway.store.frames import InputRow

__all__ = ["InputRowError", "flags_to_bits", "to_input_rows"]

_I64_MAX = (1 << 63) - 1
_BITS = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}


class InputRowError(ValueError):
    """An input reading is malformed: `index` of the row, `field`, the `value`, what is expected."""

    def __init__(self, index: int, field: str, message: str, value: Any = None) -> None:
        super().__init__(f"readings[{index}].{field}: {message}")
        self.index = index
        self.field = field
        self.value = value


def flags_to_bits(flags: frozenset[str] | set[str] | Sequence[str]) -> int:
    """Flag names (``gateway.model.FLAG_NAMES``) to the readings.flags bitmask."""
    bits = 0
    for name in flags:
        bits |= _BITS[name]
    return bits


def to_input_rows(readings: Sequence[Any]) -> list[InputRow]:
    """Validate every reading before any is stored; raise InputRowError for the first bad one."""
    rows = []
    for i, r in enumerate(readings):
        try:
            device = format_device_id(getattr(r, "device", None))
        except RegistryError as exc:
            raise InputRowError(i, "device", str(exc), getattr(r, "device", None)) from None
        channel = getattr(r, "channel", None)
        if not isinstance(channel, str) or not channel:
            raise InputRowError(i, "channel", f"must be a non-empty string, got {channel!r}",
                                channel)
        end = getattr(r, "end", None)
        if not isinstance(end, datetime) or end.utcoffset() is None:
            raise InputRowError(i, "end", f"must be a timezone-aware datetime, got {end!r}", end)
        length = getattr(r, "length_s", None)
        if not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= 86400:
            raise InputRowError(i, "length_s", f"must be an integer 1..86400, got {length!r}",
                                length)
        end_ts = end.timestamp()
        if end_ts != int(end_ts):
            raise InputRowError(i, "end", f"must be a whole second, got {end.isoformat()}", end)
        register = getattr(r, "register", None)
        if (not isinstance(register, int) or isinstance(register, bool)
                or not 0 <= register <= _I64_MAX):
            raise InputRowError(i, "register", f"must be an integer 0..2^63-1, got {register!r}",
                                register)
        flags = getattr(r, "flags", frozenset())
        unknown = set(flags) - _BITS.keys()
        if unknown:
            raise InputRowError(i, "flags", f"unknown flag(s) {sorted(unknown)}; known: "
                                f"{', '.join(FLAG_NAMES)}", flags)
        unit = getattr(r, "unit", "") or ""
        if not isinstance(unit, str):
            raise InputRowError(i, "unit", f"must be a string, got {unit!r}", unit)
        rows.append(InputRow(device, channel, unit, int(end_ts) - length, length, register,
                             flags_to_bits(flags)))
    return rows
