"""Data passed along the gateway's path: what plugins, alerts and the uplink receive.

These are plain frozen dataclasses so that a plugin can keep them, compare them and serialise
them without touching storage internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["DeviceEvent", "PluginResult", "Reading", "ReadingBatch"]

# Quality flags carried from the wire (protocol READINGS flags) and added by normalisation.
FLAG_NAMES = (
    "partial",          # interval cut by a reboot or power loss on the board
    "clock_unsynced",   # board clock not yet set by the gateway when the interval was taken
    "power_loss",       # board lost power during the interval
    "sensor_fault",     # ADC/pulse input reported a fault
    "rollover",         # cumulative register wrapped around
    "register_reset",   # cumulative register went down (meter replaced, board reset)
    "gap",              # one or more intervals before this one are missing
    "estimated",        # value spread over a gap by normalisation, not measured in this interval
    "backfill",         # older than the live window when it reached the gateway
)


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalised interval of one channel, as stored and as published upstream."""

    site: str
    device: str               # device id as text, e.g. "0000a1b2" or "modbus:sdm630-1"
    channel: str              # channel name from the registry, e.g. "el1", "gas"
    quantity: str             # "energy_import" | "energy_export" | "gas_volume"
    start: datetime           # interval start, timezone-aware UTC
    length_s: int             # 900 or 3600
    value: float              # interval amount in `unit`
    unit: str                 # "kWh" | "Smc" | "m3"
    register: int             # cumulative register at the interval end, raw units
    register_unit: str        # "Wh" | "L" | "pulse"
    flags: frozenset[str] = frozenset()
    band: str | None = None   # ARERA F1/F2/F3 for electricity, None for gas
    kwh: float | None = None  # energy equivalent (gas: Smc x calorific value)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        """Stable id consumers use to de-duplicate: device:channel:interval-start."""
        return f"{self.device}:{self.channel}:{int(self.start.timestamp())}"


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Readings committed together; `live` is False for backfill after an outage."""

    readings: tuple[Reading, ...]
    live: bool = True


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A device-reported event or status change (tamper, power fail, queue overflow, ...)."""

    site: str
    device: str
    kind: str                 # "tamper" | "power_fail" | "power_restore" | "reboot" | ...
    time: datetime
    channel: str | None = None
    value: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PluginResult:
    """Something a plugin computed and published (a baseline, a settlement, an alert)."""

    plugin: str
    name: str                 # result kind, becomes the topic suffix upstream
    payload: dict[str, Any]
    site: str | None = None
    device: str | None = None
    time: datetime | None = None
