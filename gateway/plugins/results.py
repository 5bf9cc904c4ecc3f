"""Plugin results: the `plugin_results` table and the one transaction that stores and queues them.

``plugin_results`` — every result a plugin published (id, plugin, name, site, device, time,
payload JSON, created_at), so an operator can see what went upstream and plugins' history
survives a restart. The same transaction appends the MQTT message to the outbox, so a result
is either stored and queued upstream, or neither.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from gateway.model import DeviceEvent, PluginResult
from gateway.outbox import add as outbox_add
from gateway.store.db import register_schema
from gateway.uplink.messages import alert_message, plugin_result_message

__all__ = ["SCHEMA_SQL", "recent_results", "store_result"]

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS plugin_results (
    id         INTEGER PRIMARY KEY,
    plugin     TEXT NOT NULL,
    name       TEXT NOT NULL,
    site       TEXT,
    device     TEXT,
    time       INTEGER,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS plugin_results_plugin ON plugin_results (plugin, name, id);
"""

register_schema("plugin_results", SCHEMA_SQL)


def store_result(conn: sqlite3.Connection, result: PluginResult, *, prefix: str | None,
                 default_site: str, now: int) -> int:
    """Insert the result and its outbox message (caller's transaction); returns its id.

    `prefix` None means no upstream is configured: the result is only stored.
    """
    site = result.site or default_site
    # Build the message first: a payload that cannot be serialised fails before any insert.
    message = _message(result, prefix=prefix, site=site) if prefix else None
    when = int(result.time.timestamp()) if result.time is not None else None
    cur = conn.execute(
        "INSERT INTO plugin_results (plugin, name, site, device, time, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (result.plugin, result.name, site, result.device, when,
         json.dumps(result.payload, sort_keys=True, default=str), now),
    )
    rid = int(cur.lastrowid or 0)
    if message is not None:
        # An alert brings its own id ("alert:<id>:<state>"), the same on every republish;
        # any other result is identified by its row.
        own = result.payload.get("msg_id") if result.name == "alert" else None
        msg_id = own if isinstance(own, str) and own else f"result:{result.plugin}:{rid}"
        topic, payload = _message(result, prefix=str(prefix), site=site, msg_id=msg_id)
        outbox_add(conn, topic=topic, payload=payload, stream=f"result:{result.plugin}",
                   msg_id=msg_id)
    return rid


def _message(result: PluginResult, *, prefix: str, site: str,
             msg_id: str | None = None) -> tuple[str, bytes]:
    """Alerts go on the documented alert topics; every other result under results/<plugin>."""
    if result.name != "alert" or result.time is None:
        return plugin_result_message(result, prefix=prefix, site=site, msg_id=msg_id)
    p = result.payload
    kind = str(p.get("kind") or "alert")
    channel = p.get("channel")
    event = DeviceEvent(site=site, device=result.device, kind=kind, time=result.time,
                        channel=str(channel) if channel is not None else None) \
        if result.device else None
    # the measured value stays in `details`: the alert schema's `value` is a device's integer
    return alert_message(event, prefix=prefix, site=site, kind=kind, time=result.time,
                         message=str(p.get("message", "")),
                         severity=str(p.get("severity", "warning")), details=dict(p),
                         msg_id=msg_id)


def recent_results(conn: sqlite3.Connection, plugin: str, limit: int = 20) -> list[PluginResult]:
    """The newest results of one plugin, newest first."""
    rows = conn.execute(
        "SELECT plugin, name, site, device, time, payload FROM plugin_results WHERE plugin = ? "
        "ORDER BY id DESC LIMIT ?", (plugin, limit),
    )
    return [PluginResult(plugin=r[0], name=r[1], site=r[2], device=r[3],
                         time=datetime.fromtimestamp(r[4], UTC) if r[4] is not None else None,
                         payload=json.loads(r[5])) for r in rows]
