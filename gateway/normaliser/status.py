"""Device status upstream: new STATUS/HELLO frames → one ``.../<device>/status`` outbox row each.

Runs inside the normaliser's transaction (like readings): the writer stores STATUS fields in
``device_status`` and HELLO fields in ``devices``; this step follows the ``frames`` table with
its own cursor (``cursors['status_frames']``) and writes the device's current status to the
outbox together with the moved cursor, so a status is published once and never lost across a
crash. Only frames that are the device's *current* status or HELLO are published: an old STATUS
resent after a newer one (its fields never reached ``device_status``) or a superseded HELLO
would only repeat the current state under another message id.

Message id ``<device>:status:<frame counter>``, ordering stream ``<device>:status``.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.outbox import add as outbox_add
from gateway.store import series
from gateway.uplink.messages import device_status_message

__all__ = ["CURSOR", "StatusStep", "publish_status", "status_fields"]

log = logging.getLogger("gateway.normaliser")

CURSOR = "status_frames"

_CURRENT = """
SELECT f.id, f.device_id, f.counter, f.type, f.received_at, d.site, d.fw, d.config_hash,
       d.reset_cause, d.time_synced, d.last_hello_at, d.last_seen,
       s.frame_counter AS s_counter, s.time AS s_time, s.supply_mv, s.battery_mv, s.csq,
       s.temp_dc, s.uptime_s, s.free_heap, s.queue_depth, s.queue_dropped, s.boot_count
FROM frames f JOIN devices d USING (device_id) LEFT JOIN device_status s USING (device_id)
WHERE f.id IN (SELECT value FROM json_each(?))
ORDER BY f.id
"""


@dataclass(slots=True)
class StatusStep:
    """What one step did: frames scanned, messages queued, messages that could not be built."""

    scanned: int = 0
    queued: int = 0
    unpublishable: int = 0


def publish_status(conn: sqlite3.Connection, *, prefix: str | None, default_site: str,
                   limit: int) -> StatusStep:
    """Scan up to `limit` new frames; queue the status of each current STATUS/HELLO frame."""
    out = StatusStep()
    cursor = series.get_cursor(conn, CURSOR)
    scanned = conn.execute(
        "SELECT id, type FROM frames WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit),
    ).fetchall()
    if not scanned:
        return out
    out.scanned = len(scanned)
    wanted = [r[0] for r in scanned if r[1] in ("status", "hello")]
    if wanted and prefix is not None:   # None: no [mqtt] section, nothing goes upstream
        ids = "[" + ",".join(str(i) for i in wanted) + "]"
        for row in conn.execute(_CURRENT, (ids,)).fetchall():
            if not _is_current(row):
                continue
            if _queue(conn, row, prefix, default_site):
                out.queued += 1
            else:
                out.unpublishable += 1
    series.set_cursor(conn, CURSOR, scanned[-1][0])
    return out


def _is_current(row: sqlite3.Row) -> bool:
    if row["type"] == "status":
        return row["s_counter"] == row["counter"]
    return row["last_hello_at"] == row["received_at"]


def status_fields(row: sqlite3.Row) -> dict[str, Any]:
    """The payload fields beyond the envelope (docs/MQTT.md, device status)."""
    doc: dict[str, Any] = {
        "online": True,
        "frame_counter": row["counter"],
        "frame_type": row["type"],
        "last_seen_utc": _utc(row["last_seen"] or row["received_at"]),
        "fw": row["fw"], "config_hash": row["config_hash"], "reset_cause": row["reset_cause"],
        "time_synced": None if row["time_synced"] is None else bool(row["time_synced"]),
        "last_hello_utc": _utc(row["last_hello_at"]),
    }
    if row["s_counter"] is not None:
        doc.update({
            "status_counter": row["s_counter"], "device_time_utc": _utc(row["s_time"]),
            "supply_mv": row["supply_mv"], "battery_mv": row["battery_mv"], "csq": row["csq"],
            "temp_c": None if row["temp_dc"] is None else row["temp_dc"] / 10,
            "uptime_s": row["uptime_s"], "free_heap": row["free_heap"],
            "queue_depth": row["queue_depth"], "queue_dropped": row["queue_dropped"],
            "boot_count": row["boot_count"],
        })
    return doc


def _utc(t: int | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _queue(conn: sqlite3.Connection, row: sqlite3.Row, prefix: str, default_site: str) -> bool:
    device = row["device_id"]
    try:
        topic, payload = device_status_message(
            row["site"] or default_site, device, status_fields(row), prefix=prefix,
            time=datetime.fromtimestamp(row["received_at"], UTC),
            msg_id=f"{device}:status:{row['counter']}")
    except ValueError as exc:   # a site name that cannot be a topic level
        log.error("device status cannot be published",
                  extra={"device": device, "error": str(exc)})
        return False
    outbox_add(conn, topic=topic, payload=payload, stream=f"{device}:status",
               msg_id=f"{device}:status:{row['counter']}")
    return True
