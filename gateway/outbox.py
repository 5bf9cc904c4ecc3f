"""The durable outbox: every message for upstream, kept in SQLite until the broker's PUBACK.

All functions are synchronous and take a connection, so they run *inside the caller's
transaction* (``await db.write(fn, ...)``): the normaliser stores a reading and its outbox row in
one commit, and the publisher marks rows delivered only after the broker acknowledged them.

Ordering: ``id`` is the global order (AUTOINCREMENT, never reused, also after pruning); ``stream``
is the ordering key (``"<device>:<channel>"`` for readings). The publisher never publishes a row
while an older pending row of the same stream is still unsent (docs/MQTT.md, "Ordering").

States: ``pending`` (not yet acknowledged; may be in flight) → ``delivered`` (PUBACK received) or
``quarantined`` (the broker kept rejecting it; kept for an operator, see :func:`requeue`).
Times are Unix seconds (UTC, float).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.store.db import register_schema

__all__ = [
    "OutboxRow", "add", "backlog", "counts", "fetch_oldest", "fetch_pending", "fetch_newest_heads",
    "mark_delivered", "prunable", "prune_delivered", "quarantine", "record_attempt", "requeue",
]

PENDING, DELIVERED, QUARANTINED = "pending", "delivered", "quarantined"

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL DEFAULT 1 CHECK (qos IN (0, 1, 2)),
    retain INTEGER NOT NULL DEFAULT 0 CHECK (retain IN (0, 1)),
    stream TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivered', 'quarantined')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending_id ON outbox (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_pending_stream ON outbox (stream, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_delivered_at ON outbox (delivered_at) WHERE state = 'delivered';
CREATE INDEX IF NOT EXISTS outbox_msg_id ON outbox (msg_id);
"""
register_schema("gateway.outbox", SCHEMA)

_COLS = "id, topic, payload, qos, retain, stream, msg_id, attempts"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One pending message as the publisher needs it."""

    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    stream: str
    msg_id: str
    attempts: int


def _row(r: Sequence[object]) -> OutboxRow:
    return OutboxRow(int(r[0]), str(r[1]), bytes(r[2]), int(r[3]), bool(r[4]), str(r[5]),
                     str(r[6]), int(r[7]))


def add(conn: sqlite3.Connection, *, topic: str, payload: bytes, stream: str, msg_id: str,
        retain: bool = False, qos: int = 1) -> int:
    """Append one message (in the caller's transaction); returns its outbox id.

    Call ``publisher.wake()`` (or set the wake-up event) *after* the transaction committed.
    """
    if not topic or any(c in topic for c in "+#\0"):
        raise ValueError(f"outbox.add: topic {topic!r} is empty or contains a wildcard/NUL")
    if qos not in (0, 1, 2):
        raise ValueError(f"outbox.add: qos {qos!r} (expected 0, 1 or 2)")
    cur = conn.execute(
        "INSERT INTO outbox (topic, payload, qos, retain, stream, msg_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (topic, bytes(payload), qos, int(retain), stream, msg_id, time.time()),
    )
    return int(cur.lastrowid or 0)


def _skip_json(skip: Iterable[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in skip) + "]"


def fetch_oldest(conn: sqlite3.Connection, limit: int, *, skip: Iterable[int] = (),
                 held: Iterable[str] = ()) -> list[OutboxRow]:
    """The oldest pending rows in id order, leaving out ids in `skip` and streams in `held`.

    Taking a prefix in id order keeps every stream's order. Used for the backlog lane.
    """
    rows = conn.execute(
        f"SELECT {_COLS} FROM outbox WHERE state = 'pending'"
        " AND id NOT IN (SELECT value FROM json_each(?))"
        " AND stream NOT IN (SELECT value FROM json_each(?))"
        " ORDER BY id LIMIT ?",
        (_skip_json(skip), _str_json(held), int(limit)),
    ).fetchall()
    return [_row(r) for r in rows]


fetch_pending = fetch_oldest  # the name the issue asks for; same function


def fetch_newest_heads(conn: sqlite3.Connection, limit: int, *, scan: int, since: float = 0.0,
                       skip: Iterable[int] = (), held: Iterable[str] = ()) -> list[OutboxRow]:
    """Among the newest `scan` pending rows created at or after `since`, those whose stream has
    no older unsent row.

    "Unsent" = pending and not in `skip` (the in-flight ids). Such a row can be published now
    without overtaking anything of its stream: this is the live lane. At most one row per stream
    is returned per call (a stream's second row waits for the first to be in flight).
    """
    skip_j = _skip_json(skip)
    rows = conn.execute(
        f"SELECT {_COLS} FROM (SELECT * FROM outbox WHERE state = 'pending'"
        "  ORDER BY id DESC LIMIT :scan) o"
        " WHERE o.created_at >= :since AND o.id NOT IN (SELECT value FROM json_each(:skip))"
        " AND o.stream NOT IN (SELECT value FROM json_each(:held))"
        " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state = 'pending'"
        "   AND p.stream = o.stream AND p.id < o.id"
        "   AND p.id NOT IN (SELECT value FROM json_each(:skip)))"
        " ORDER BY o.id LIMIT :limit",
        {"skip": skip_j, "held": _str_json(held), "scan": int(scan), "limit": int(limit),
         "since": float(since)},
    ).fetchall()
    return [_row(r) for r in rows]


def _str_json(values: Iterable[str]) -> str:
    return json.dumps(list(values))


def mark_delivered(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Mark rows delivered (call only for ids whose PUBACK arrived); returns rows changed."""
    now = time.time()
    cur = conn.executemany(
        "UPDATE outbox SET state = 'delivered', delivered_at = ?"
        " WHERE id = ? AND state = 'pending'",
        [(now, int(i)) for i in ids],
    )
    return cur.rowcount


def record_attempt(conn: sqlite3.Connection, id: int, error: str) -> int:
    """Count one attempt the broker rejected for row `id`; returns the rejections so far.

    ``attempts`` counts rejections only (a publish cut short by a lost connection is not one).
    """
    conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                 (error, int(id)))
    row = conn.execute("SELECT attempts FROM outbox WHERE id = ?", (int(id),)).fetchone()
    return int(row[0]) if row else 0


def quarantine(conn: sqlite3.Connection, id: int, error: str) -> None:
    """Take row `id` out of the publishing queue for good, remembering why."""
    conn.execute("UPDATE outbox SET state = 'quarantined', last_error = ? WHERE id = ?",
                 (error, int(id)))


def requeue(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Operator action: put quarantined rows back to pending (e.g. after raising a broker limit)."""
    cur = conn.executemany(
        "UPDATE outbox SET state = 'pending', attempts = 0 WHERE id = ? AND state = 'quarantined'",
        [(int(i),) for i in ids],
    )
    return cur.rowcount


def backlog(conn: sqlite3.Connection) -> int:
    """Number of rows not yet acknowledged by the broker."""
    return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0])


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per state, e.g. ``{"pending": 3, "delivered": 10, "quarantined": 0}``."""
    out = {PENDING: 0, DELIVERED: 0, QUARANTINED: 0}
    for state, n in conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state"):
        out[str(state)] = int(n)
    return out


def prunable(state: str, delivered_at: float | None, *, now: float, keep_days: float) -> bool:
    """The retention rule: only *delivered* rows acknowledged more than `keep_days` ago.

    Pending rows are never prunable (they are the data not yet upstream); quarantined rows are
    kept for an operator to inspect or :func:`requeue`.
    """
    return (state == DELIVERED and delivered_at is not None
            and delivered_at < now - keep_days * 86400.0)


def prune_delivered(conn: sqlite3.Connection, *, keep_days: float, now: float | None = None,
                    limit: int = 10000) -> int:
    """Delete up to `limit` rows for which :func:`prunable` holds; returns rows deleted."""
    cutoff = (time.time() if now is None else now) - keep_days * 86400.0
    cur = conn.execute(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'delivered'"
        " AND delivered_at < ? ORDER BY delivered_at LIMIT ?)",
        (cutoff, int(limit)),
    )
    return cur.rowcount
