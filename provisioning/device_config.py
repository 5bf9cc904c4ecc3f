"""The board's config.json as the firmware reads it, and its hash as the firmware reports it."""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from provisioning.channels import Channel

__all__ = ["DeviceConfig", "config_hash"]


def config_hash(text: str, key_hex: str) -> int:
    """The `config_hash` a board sends in its hello: crc32 of the file with the key blanked
    (firmware/config.py), so the gateway can tell which config a board runs."""
    return binascii.crc32(text.replace(key_hex, "0" * 32).encode()) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """What the tool writes to a board; `text()` never leaves the process except to the board."""

    device_id: int
    key: bytes
    gateway_host: str
    gateway_port: int
    channels: tuple[Channel, ...]
    modem: dict[str, Any] | None = None

    def __repr__(self) -> str:  # the key must not reach a log through a repr
        return f"DeviceConfig(device_id={self.device_id:08x}, key=<hidden>, ...)"

    def as_dict(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "device_id": self.device_id,
            "key": self.key.hex(),
            "gateway": {"host": self.gateway_host, "port": self.gateway_port},
            "channels": [c.board() for c in self.channels],
        }
        if self.modem:
            cfg["modem"] = dict(self.modem)
        return cfg

    def text(self) -> str:
        return json.dumps(self.as_dict(), indent=1, sort_keys=True) + "\n"

    def hash(self) -> int:
        return config_hash(self.text(), self.key.hex())
