"""What the gateway must learn about a provisioned device: one record, for both routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIONS", "DeviceRecord"]

ACTIONS = ("add", "replace", "rotate", "remove")


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A registry change: `add` a new board, `replace` its key and settings (re-provisioning),
    `rotate` only its key (site and channels stay as registered), `remove` it.

    `issued_at` orders changes of one device: an importer refuses a record not newer than
    the one it applied last, so an old bundle cannot roll a rotated key back.

    `first_counter` (rotate): the board's reserved frame-counter limit, read from the board
    before its new key was written. Every frame it sealed with the old key has a lower
    counter, and it continues at or above it, so the gateway accepts old-key frames only below
    it from the start. None: not known (a record from an older tool, or a board whose counter
    file could not be read); the gateway then learns the limit from the first new-key frame.
    """

    device_id: str
    action: str
    issued_at: int
    site: str = ""
    key: bytes | None = field(default=None, repr=False)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_hash: int | None = None
    firmware: str = ""
    building: str = ""
    first_counter: int | None = None

    def calibration(self) -> dict[str, Any]:
        """The provenance kept in the registry's calibration map (no key)."""
        return {"provisioning": {"issued_at": self.issued_at, "config_hash": self.config_hash,
                                 "firmware": self.firmware, "building": self.building,
                "first_counter": self.first_counter}}

    def as_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "action": self.action, "issued_at": self.issued_at,
                "site": self.site, "key": self.key.hex() if self.key else None,
                "channels": self.channels, "config_hash": self.config_hash,
                "firmware": self.firmware, "building": self.building,
                "first_counter": self.first_counter}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceRecord:
        if d.get("action") not in ACTIONS:
            raise ValueError(f"action {d.get('action')!r} is not one of {ACTIONS}")
        key = d.get("key")
        first = d.get("first_counter")     # absent in bundles from older tools: None
        if first is not None and (not isinstance(first, int) or isinstance(first, bool)
                                  or first < 0):
            raise ValueError(f"first_counter {first!r} is not a counter")
        return cls(device_id=str(d["device_id"]), action=str(d["action"]),
                   issued_at=int(d["issued_at"]), site=str(d.get("site", "")),
                   key=bytes.fromhex(key) if key else None,
                   channels=dict(d.get("channels") or {}), config_hash=d.get("config_hash"),
                   firmware=str(d.get("firmware", "")), building=str(d.get("building", "")),
                   first_counter=first)
