"""Per-device downlink command queue: validated against the protocol table, delivered in ACKs.

Sync functions for use inside ``db.write`` / ``db.read``:

    queue_command(conn, device_id, name, params=None, *, ref=None, now=None) -> int  # wire id
    pending_commands(conn, device_id) -> list[dict]       # queued or sent, oldest first
    take_for_ack(conn, device_id, *, exclude=(), limit=MAX_PER_ACK, now=None) -> list[dict]
    record_result(conn, device_id, cmd_id, status, detail, *, now=None) -> bool
    list_commands(conn, device_id=None, *, limit=100) -> list[dict]
    results_since(conn, seq, *, limit=100) -> list[dict]   # finished commands, result_seq > seq
    find_command(conn, device_id, *, ref=None, cmd_id=None) -> dict | None   # newest match

Delivery is at least once: a command is carried by ACKs (state ``sent``) until its
COMMAND_RESULT arrives, at most once per TCP connection (the connection passes the ids it already
sent as ``exclude``); the board de-duplicates by ``cmd_id``. ``cmd_id`` is the u16 wire id,
allocated per device in sequence 1..65535 and wrapping. Command dicts are
``{"cmd_id": int, "name": str, "params": {str: int}}``, the shape ``protocol.codec`` encodes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection
from typing import Any

from gateway.registry import format_device_id
from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
from protocol.command import COMMANDS, RESULT_STATUSES

__all__ = [
    "MAX_PENDING",
    "MAX_PER_ACK",
    "CommandError",
    "find_command",
    "list_commands",
    "pending_commands",
    "queue_command",
    "record_result",
    "results_since",
    "take_for_ack",
    "validate_command",
]

MAX_PENDING = 32   # queued+sent per device; more is an operator mistake, not a queue
MAX_PER_ACK = 8    # an ACK payload stays far below 1024 bytes (each command <= 64 bytes)
_U32 = 0xFFFFFFFF
_I64 = (-(1 << 63), (1 << 63) - 1)

_PARAMS: dict[str, tuple[str, ...]] = {name: params for name, params in COMMANDS}
# Bounds where the protocol gives a parameter a meaning; others just need to fit an int64.
_BOUNDS: dict[str, tuple[int, int]] = {
    "channel": (0, 254),
    # the board's ranges (PROTOCOL.md 5.6): a value the board would refuse is refused here,
    # with the key path, instead of coming back later as a bad_params result
    "sample_s": (1, 3600),
    "upload_s": (0, 86400),
    "kind": (0, 1),
    "value": (0, _I64[1]),
    "ct_ratio": (1, 1_000_000),
    "burden_mohm": (1, 10**9),
    "voltage_dv": (1, 100_000),
    "pf_milli": (0, 1000),
    "pulse_ml": (1, 10**9),
    "time": (1, _U32 - 1),
    "from_counter": (0, _U32),
    "to_counter": (0, _U32),
}
_REQUIRED: dict[str, tuple[str, ...]] = {"set_time": ("time",), "resend": ("from_counter",)}


class CommandError(ValueError):
    """A command cannot be queued or recorded: `field`, `value`, and what was expected."""

    def __init__(self, message: str, *, field: str, value: Any = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.value = value


def validate_command(name: str, params: dict[str, Any] | None) -> dict[str, int]:
    """Check `name` and `params` against the protocol's command table; return clean params."""
    if name not in _PARAMS:
        raise CommandError(f"unknown command {name!r}; known: {', '.join(_PARAMS)}",
                           field="name", value=name)
    params = dict(params or {})
    allowed = _PARAMS[name]
    out: dict[str, int] = {}
    for key, value in params.items():
        where = f"params.{key}"
        if key not in allowed:
            raise CommandError(
                f"{name} has no parameter {key!r}; it takes "
                f"{', '.join(allowed) if allowed else 'no parameters'}", field=where, value=key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise CommandError(f"must be an integer, got {value!r}", field=where, value=value)
        lo, hi = _BOUNDS.get(key, _I64)
        if not lo <= value <= hi:
            raise CommandError(f"{value} is out of range {lo}..{hi}", field=where, value=value)
        out[key] = value
    for key in _REQUIRED.get(name, ()):
        if key not in out:
            raise CommandError(f"{name} needs {key}", field=f"params.{key}")
    if "channel" in allowed and allowed != ("channel",) and set(out) <= {"channel"}:
        raise CommandError(f"{name} needs at least one of {', '.join(allowed[1:])}",
                           field="params")
    if name == "resend" and out.get("to_counter", _U32) < out["from_counter"]:
        raise CommandError(f"to_counter {out['to_counter']} is below from_counter "
                           f"{out['from_counter']}", field="params.to_counter",
                           value=out["to_counter"])
    return out


def queue_command(conn: sqlite3.Connection, device_id: int | str, name: str,
                  params: dict[str, Any] | None = None, *, ref: str | None = None,
                  now: int | None = None) -> int:
    """Validate and queue a command for a registered board; return its wire cmd_id.

    `ref` is the requester's own id (e.g. the MQTT ``cmd_id``), returned by results_since.
    """
    did = format_device_id(device_id)
    clean = validate_command(name, params)
    row = conn.execute("SELECT key_enc IS NOT NULL FROM devices WHERE device_id = ?",
                       (did,)).fetchone()
    if row is None:
        raise CommandError(f"device {did} is not registered", field="device_id", value=did)
    if not row[0]:
        raise CommandError(f"device {did} is not a board (commands go to boards only)",
                           field="device_id", value=did)
    pending = conn.execute(
        "SELECT count(*) FROM commands WHERE device_id = ? AND state IN ('queued', 'sent')",
        (did,)).fetchone()[0]
    if pending >= MAX_PENDING:
        raise CommandError(f"device {did} already has {pending} undelivered commands "
                           f"(limit {MAX_PENDING}); wait for results", field="device_id",
                           value=did)
    last = conn.execute("SELECT cmd_id FROM commands WHERE device_id = ? ORDER BY id DESC "
                        "LIMIT 1", (did,)).fetchone()
    cmd_id = (last[0] % 65535) + 1 if last else 1
    now = int(time.time()) if now is None else now
    conn.execute(
        "INSERT INTO commands (device_id, cmd_id, name, params, ref, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (did, cmd_id, name, json.dumps(clean), ref, now, now))
    return cmd_id


def _wire(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    return {"cmd_id": row[0], "name": row[1], "params": json.loads(row[2])}


def pending_commands(conn: sqlite3.Connection, device_id: int | str) -> list[dict[str, Any]]:
    """Commands of a device still awaiting a result (queued or sent), oldest first."""
    rows = conn.execute(
        "SELECT cmd_id, name, params FROM commands WHERE device_id = ? "
        "AND state IN ('queued', 'sent') ORDER BY id", (format_device_id(device_id),))
    return [_wire(r) for r in rows]


def take_for_ack(conn: sqlite3.Connection, device_id: int | str, *,
                 exclude: Collection[int] = (), limit: int = MAX_PER_ACK,
                 now: int | None = None) -> list[dict[str, Any]]:
    """Pending commands not in `exclude`, at most `limit`; marks them sent (in this txn)."""
    did = format_device_id(device_id)
    rows = conn.execute(
        "SELECT id, cmd_id, name, params FROM commands WHERE device_id = ? "
        "AND state IN ('queued', 'sent') ORDER BY id", (did,)).fetchall()
    picked = [r for r in rows if r[1] not in exclude][:limit]
    if picked:
        now = int(time.time()) if now is None else now
        conn.executemany(
            "UPDATE commands SET state = 'sent', send_count = send_count + 1, updated_at = ? "
            "WHERE id = ?", [(now, r[0]) for r in picked])
    return [_wire(r[1:]) for r in picked]


def record_result(conn: sqlite3.Connection, device_id: int | str, cmd_id: int, status: str,
                  detail: int = 0, *, now: int | None = None) -> bool:
    """Store a COMMAND_RESULT: ``ok`` → done, any other status → failed.

    Returns False (and changes nothing) when no command of that id awaits a result: a
    repeated result, or a cmd_id the gateway never sent.
    """
    if status not in RESULT_STATUSES:
        raise CommandError(f"{status!r} is not one of {', '.join(RESULT_STATUSES)}",
                           field="status", value=status)
    did = format_device_id(device_id)
    row = conn.execute(
        "SELECT id FROM commands WHERE device_id = ? AND cmd_id = ? "
        "AND state IN ('queued', 'sent') ORDER BY id DESC LIMIT 1", (did, cmd_id)).fetchone()
    if row is None:
        return False
    now = int(time.time()) if now is None else now
    conn.execute(
        "UPDATE commands SET state = ?, result = ?, updated_at = ?, result_seq = "
        "(SELECT coalesce(max(result_seq), 0) + 1 FROM commands) WHERE id = ?",
        ("done" if status == "ok" else "failed",
         json.dumps({"status": status, "detail": detail}), now, row[0]))
    return True


def results_since(conn: sqlite3.Connection, seq: int, *,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Commands whose result was recorded after `seq`, in order (to publish them upstream).

    Each dict: device_id, cmd_id, name, params, state, result, ref, result_seq, updated_at.
    Keep the last ``result_seq`` handled as a cursor, in the same transaction as the output.
    """
    rows = conn.execute(
        "SELECT device_id, cmd_id, name, params, state, result, ref, result_seq, updated_at "
        "FROM commands WHERE result_seq > ? ORDER BY result_seq LIMIT ?", (seq, limit))
    return [{"device_id": r[0], "cmd_id": r[1], "name": r[2], "params": json.loads(r[3]),
             "state": r[4], "result": json.loads(r[5]) if r[5] else None, "ref": r[6],
             "result_seq": r[7], "updated_at": r[8]} for r in rows]


def find_command(conn: sqlite3.Connection, device_id: int | str, *, ref: str | None = None,
                 cmd_id: int | None = None) -> dict[str, Any] | None:
    """The newest command of a device with requester id `ref` (or wire id `cmd_id`), or None.

    Dict: id (the row's own id, unique for ever), cmd_id, name, params, state, result,
    result_seq. Used to recognise a command the platform's broker delivered twice.
    """
    if (ref is None) == (cmd_id is None):
        raise ValueError("find_command: give exactly one of ref and cmd_id")
    col, val = ("ref", ref) if ref is not None else ("cmd_id", cmd_id)
    r = conn.execute(
        "SELECT id, cmd_id, name, params, state, result, result_seq FROM commands "
        f"WHERE device_id = ? AND {col} = ? ORDER BY id DESC LIMIT 1",
        (format_device_id(device_id), val)).fetchone()
    if r is None:
        return None
    return {"id": r[0], "cmd_id": r[1], "name": r[2], "params": json.loads(r[3]),
            "state": r[4], "result": json.loads(r[5]) if r[5] else None, "result_seq": r[6]}


def list_commands(conn: sqlite3.Connection, device_id: int | str | None = None, *,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Recent commands (newest first) with state and result, for the CLI."""
    sql = ("SELECT device_id, cmd_id, name, params, state, send_count, result, created_at, "
           "updated_at, ref FROM commands")
    args: tuple[Any, ...] = ()
    if device_id is not None:
        sql += " WHERE device_id = ?"
        args = (format_device_id(device_id),)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
    return [
        {"device_id": r[0], "cmd_id": r[1], "name": r[2], "params": json.loads(r[3]),
         "state": r[4], "send_count": r[5], "result": json.loads(r[6]) if r[6] else None,
         "created_at": r[7], "updated_at": r[8], "ref": r[9]}
        for r in rows
    ]
