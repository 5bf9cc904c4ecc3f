"""Home Assistant MQTT discovery: a retained sensor config per device channel (optional).

Built from a reading payload (schema ``meterkit/reading/1``) so the publisher can announce a
channel the first time it publishes one of its readings, whoever built the outbox row. The
sensor follows the cumulative register (``state_class: total_increasing``) converted to kWh or
m³; interval values, band and flags are available as attributes. See docs/MQTT.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["ha_discovery_message"]

_SAFE = re.compile(r"[^a-zA-Z0-9_-]+")
# register unit → (device_class, HA unit, factor applied to the raw register)
_CLASSES = {"Wh": ("energy", "kWh", 0.001), "L": ("gas", "m³", 0.001)}


def _slug(*parts: str) -> str:
    return _SAFE.sub("_", "_".join(parts)).strip("_").lower()


def ha_discovery_message(doc: dict[str, Any], *, state_topic: str, status_topic: str,
                         ha_prefix: str = "homeassistant") -> tuple[str, bytes] | None:
    """``<ha_prefix>/sensor/<node>/<channel>_<quantity>/config`` for one reading's channel,
    or None when its register has no Home Assistant energy/gas unit (e.g. raw pulses)."""
    cls = _CLASSES.get(str(doc.get("register", {}).get("unit")))
    if cls is None:
        return None
    device_class, unit, factor = cls
    site, device, channel, quantity = (str(doc[k]) for k in
                                       ("site", "device", "channel", "quantity"))
    node = _slug("meterkit", site, device)
    obj = _slug(channel, quantity)
    config = {
        "name": f"{channel} {quantity.replace('_', ' ')}",
        "unique_id": f"{node}_{obj}",
        "object_id": f"{node}_{obj}",
        "state_topic": state_topic,
        "value_template": f"{{{{ (value_json.register.value * {factor}) | round(3) }}}}",
        "unit_of_measurement": unit,
        "device_class": device_class,
        "state_class": "total_increasing",
        "json_attributes_topic": state_topic,
        "json_attributes_template": (
            "{{ {'interval_value': value_json.value, 'interval_unit': value_json.unit, "
            "'interval_start': value_json.start, 'band': value_json.band, "
            "'flags': value_json.flags, 'backfill': value_json.backfill} | tojson }}"),
        "availability_topic": status_topic,
        "availability_template": "{{ value_json.state }}",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {"identifiers": [node], "name": f"meterkit {device}",
                   "manufacturer": "meterkit", "model": "metering board",
                   "suggested_area": site},
        "origin": {"name": "meterkit"},
    }
    topic = f"{ha_prefix}/sensor/{node}/{obj}/config"
    return topic, json.dumps(config, separators=(",", ":"), ensure_ascii=False).encode()
