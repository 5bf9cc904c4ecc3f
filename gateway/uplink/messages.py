"""Message builders for upstream MQTT: each returns ``(topic, payload bytes)``, payloads JSON.

Topics (``<prefix>/<site>/...``) and payloads are specified in docs/MQTT.md and validated by the
JSON Schemas in docs/schemas/ (the ``schema`` field names the file and its version).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gateway.model import DeviceEvent, PluginResult, Reading
from gateway.normalise.gas import gas_day_bounds_utc

if TYPE_CHECKING:
    from gateway.store.series import GasDay

__all__ = [
    "SCHEMA_VERSIONS", "alert_message", "command_result_message", "device_status_message",
    "gas_day_message", "gas_day_msg_id", "gateway_status_message", "gateway_status_topic",
    "plugin_result_message", "reading_message", "reading_topic", "topic_segment",
]

ROME = ZoneInfo("Europe/Rome")
SCHEMA_VERSIONS = {
    "reading": "meterkit/reading/1",
    "device_status": "meterkit/device_status/1",
    "alert": "meterkit/alert/1",
    "gateway_status": "meterkit/gateway_status/1",
    "plugin_result": "meterkit/plugin_result/1",
    "command_result": "meterkit/command_result/1",
    "gas_day": "meterkit/gas_day/1",
}
_UNITS = {"kWh": "kWh", "Smc": "Smc", "m3": "m³", "m³": "m³"}
_BANDS = {"F1", "F2", "F3"}


def topic_segment(value: str, what: str = "topic segment") -> str:
    """Check one topic level: non-empty, no ``/``, ``+``, ``#`` or NUL (ValueError otherwise)."""
    if not value or any(c in value for c in "/+#\0"):
        raise ValueError(f"{what} {value!r} is not a valid MQTT topic level")
    return value


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      sort_keys=False, default=str).encode()


def _instant(t: datetime, what: str) -> tuple[str, str]:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} {t!r} is naive; readings carry timezone-aware UTC times")
    local = t.astimezone(ROME).isoformat(timespec="seconds")
    utc = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return local, utc


def _number(x: float, what: str) -> float:
    if not math.isfinite(x):
        raise ValueError(f"{what} {x!r} is not a finite number")
    return x


def reading_topic(reading: Reading, *, prefix: str) -> str:
    """``<prefix>/<site>/<device>/<channel>/<quantity>``."""
    return "/".join([prefix, topic_segment(reading.site, "site"),
                     topic_segment(reading.device, "device"),
                     topic_segment(reading.channel, "channel"),
                     topic_segment(reading.quantity, "quantity")])


def reading_message(reading: Reading, *, prefix: str, backfill: bool) -> tuple[str, bytes]:
    """One normalised interval: topic and JSON payload (schema docs/schemas/reading.v1.json)."""
    local, utc = _instant(reading.start, "reading.start")
    unit = _UNITS.get(reading.unit)
    if unit is None:
        raise ValueError(f"reading.unit {reading.unit!r} (expected kWh, Smc or m3)")
    if reading.band is not None and reading.band not in _BANDS:
        raise ValueError(f"reading.band {reading.band!r} (expected F1, F2, F3 or None)")
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSIONS["reading"],
        "msg_id": reading.message_id,
        "site": reading.site,
        "device": reading.device,
        "channel": reading.channel,
        "quantity": reading.quantity,
        "start": local,
        "start_utc": utc,
        "length_s": int(reading.length_s),
        "value": _number(float(reading.value), "reading.value"),
        "unit": unit,
        "register": {"value": int(reading.register), "unit": reading.register_unit},
        "flags": sorted(reading.flags),
        "band": reading.band,
        "backfill": bool(backfill),
    }
    if reading.kwh is not None:
        doc["kwh"] = _number(float(reading.kwh), "reading.kwh")
    if reading.extra:
        doc["extra"] = reading.extra
    return reading_topic(reading, prefix=prefix), _dumps(doc)


def gas_day_msg_id(device: str, channel: str, day: date) -> str:
    """``<device>:<channel>:gasday:<YYYY-MM-DD>``: a correction of the day reuses it."""
    return f"{device}:{channel}:gasday:{day.isoformat()}"


def gas_day_message(site: str, device: str, channel: str, day: GasDay, *,
                    prefix: str) -> tuple[str, bytes]:
    """A complete gas day's totals (06:00-06:00 Europe/Rome, 23/24/25 h):
    ``<prefix>/<site>/<device>/<channel>/gas_day`` (schema docs/schemas/gas_day.v1.json).

    ValueError for an incomplete day (its intervals do not cover it: not published)."""
    lo, hi = gas_day_bounds_utc(day.day)
    length_s = int((hi - lo).total_seconds())
    if day.length_s != length_s:
        raise ValueError(f"gas day {day.day}: length_s {day.length_s} (expected {length_s})")
    if not day.complete:
        raise ValueError(f"gas day {day.day} is incomplete ({day.covered_s} of "
                         f"{length_s} s covered): only complete days are published")
    start, start_utc = _instant(lo, "gas day start")
    end, end_utc = _instant(hi, "gas day end")
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSIONS["gas_day"],
        "msg_id": gas_day_msg_id(device, channel, day.day),
        "site": site,
        "device": device,
        "channel": channel,
        "gas_day": day.day.isoformat(),
        "start": start,
        "end": end,
        "start_utc": start_utc,
        "end_utc": end_utc,
        "length_s": length_s,
        "smc": _number(float(day.smc), "gas day smc"),
        "kwh": _number(float(day.kwh), "gas day kwh"),
        "m3": _number(float(day.m3), "gas day m3"),
        "flags": sorted(day.flags),
        "complete": True,
    }
    topic = "/".join([prefix, topic_segment(site, "site"), topic_segment(device, "device"),
                      topic_segment(channel, "channel"), "gas_day"])
    return topic, _dumps(doc)


def device_status_message(site: str, device: str, status: dict[str, Any], *, prefix: str,
                          time: datetime, msg_id: str | None = None) -> tuple[str, bytes]:
    """Device status (``.../<device>/status``): online, last seen, firmware...

    `msg_id` (optional): the outbox row's msg_id (``<device>:status:<frame counter>``),
    carried in the payload for de-duplication."""
    local, utc = _instant(time, "time")
    doc: dict[str, Any] = {"schema": SCHEMA_VERSIONS["device_status"]}
    if msg_id is not None:
        doc["msg_id"] = msg_id
    doc |= {"site": site, "device": device, "time": local, "time_utc": utc, **status}
    return f"{prefix}/{topic_segment(site, 'site')}/{topic_segment(device, 'device')}/status", \
        _dumps(doc)


def alert_message(event: DeviceEvent | None, *, prefix: str, site: str | None = None,
                  kind: str | None = None, time: datetime | None = None,
                  message: str = "", severity: str = "warning",
                  details: dict[str, Any] | None = None,
                  msg_id: str | None = None) -> tuple[str, bytes]:
    """A device alert (``.../<device>/alert``) from `event`, or a site alert
    (``<prefix>/<site>/alert``) when `event` is None and `site`, `kind`, `time` are given.
    `msg_id` (optional): the outbox row's msg_id, carried in the payload for de-duplication."""
    if event is not None:
        site, kind, time = event.site, event.kind, event.time
        details = {**event.details, **(details or {})}
    if site is None or kind is None or time is None:
        raise ValueError("alert_message: a site alert needs site, kind and time")
    local, utc = _instant(time, "alert time")
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSIONS["alert"], "site": site,
        "device": event.device if event else None, "channel": event.channel if event else None,
        "kind": kind, "severity": severity, "time": local, "time_utc": utc,
        "message": message, "value": event.value if event else None, "details": details or {},
    }
    if msg_id is not None:
        doc = {"schema": doc.pop("schema"), "msg_id": msg_id, **doc}
    base = f"{prefix}/{topic_segment(site, 'site')}"
    topic = f"{base}/{topic_segment(event.device, 'device')}/alert" if event else f"{base}/alert"
    return topic, _dumps(doc)


def gateway_status_topic(prefix: str, site: str) -> str:
    """``<prefix>/<site>/gateway/status`` (retained; Last Will ``offline``)."""
    return f"{prefix}/{topic_segment(site, 'site')}/gateway/status"


def gateway_status_message(site: str, state: str, *, prefix: str, time: datetime | None = None,
                           msg_id: str | None = None, **fields: Any) -> tuple[str, bytes]:
    """Gateway status: ``state`` is ``online`` or ``offline``; extra counters in `fields`."""
    doc: dict[str, Any] = {"schema": SCHEMA_VERSIONS["gateway_status"]}
    if msg_id is not None:
        doc["msg_id"] = msg_id
    doc |= {"site": site, "state": state}
    if time is not None:
        doc["time"], doc["time_utc"] = _instant(time, "time")
    doc.update(fields)
    return gateway_status_topic(prefix, site), _dumps(doc)


def plugin_result_message(result: PluginResult, *, prefix: str, site: str | None = None,
                          msg_id: str | None = None) -> tuple[str, bytes]:
    """``<prefix>/<site>/results/<plugin>/<name>``; the plugin's payload under ``payload``.
    `msg_id` (optional): the outbox row's msg_id, carried in the payload for de-duplication."""
    site = result.site or site
    if site is None:
        raise ValueError(f"plugin result {result.plugin}/{result.name} has no site")
    doc: dict[str, Any] = {"schema": SCHEMA_VERSIONS["plugin_result"]}
    if msg_id is not None:
        doc["msg_id"] = msg_id
    doc |= {"site": site,
            "plugin": result.plugin, "name": result.name, "device": result.device,
            "payload": result.payload}
    if result.time is not None:
        doc["time"], doc["time_utc"] = _instant(result.time, "result time")
    topic = (f"{prefix}/{topic_segment(site, 'site')}/results/"
             f"{topic_segment(result.plugin, 'plugin')}/{topic_segment(result.name, 'name')}")
    return topic, _dumps(doc)


def command_result_message(site: str, device: str, *, prefix: str, status: str,
                           cmd_id: str | None = None, gateway_cmd_id: int | str | None = None,
                           name: str | None = None, error: str | None = None,
                           result: dict[str, Any] | None = None,
                           time: datetime | None = None,
                           msg_id: str | None = None) -> tuple[str, bytes]:
    """``.../<device>/command/result``: status ``queued``, ``rejected``, ``done`` or ``failed``.
    `msg_id`: the outbox row's msg_id (see gateway.uplink.downlink)."""
    local, utc = _instant(time or datetime.now(UTC), "time")
    doc: dict[str, Any] = {"schema": SCHEMA_VERSIONS["command_result"]}
    if msg_id is not None:
        doc["msg_id"] = msg_id
    doc |= {"site": site,
            "device": device, "cmd_id": cmd_id, "gateway_cmd_id": gateway_cmd_id,
            "name": name, "status": status, "error": error, "result": result, "time": local,
            "time_utc": utc}
    topic = f"{prefix}/{topic_segment(site, 'site')}/{topic_segment(device, 'device')}" \
        "/command/result"
    return topic, _dumps(doc)
