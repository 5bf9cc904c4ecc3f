"""Upstream over MQTT: message builders, the `[mqtt]` config and the outbox publisher.

Names are loaded lazily so that importing the builders does not import paho.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "MqttConfig", "Publisher", "UplinkError", "reading_message", "validate_mqtt",
]

_WHERE = {
    "MqttConfig": "gateway.uplink.config",
    "validate_mqtt": "gateway.uplink.config",
    "Publisher": "gateway.uplink.publisher",
    "UplinkError": "gateway.uplink.errors",
    "reading_message": "gateway.uplink.messages",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'gateway.uplink' has no attribute {name!r}")
