"""Alert persistence: states, the transition log, the e-mail outbox and rate-limit state.

The tables are registered with :func:`gateway.store.db.register_schema` (owner "alerts"), so
they exist in the gateway database. The plugin context offers no write path into that
database yet, so the plugin keeps them in its own SQLite file (``state_db``) through
:class:`LocalDb`, which has the same ``write(fn, *args)`` / ``read(fn, *args)`` interface as
:class:`gateway.store.db.Database`: once the host exposes one, the functions below run on it
unchanged. Every function here is synchronous and takes the connection first.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gateway.alerts.errors import AlertsError
from gateway.alerts.lifecycle import AlertState
from gateway.store.db import register_schema

__all__ = ["SCHEMA_SQL", "LocalDb", "MailRow", "due_mail", "load_states", "log_transitions",
           "mail_done", "mail_retry", "mark_published", "msg_id", "pending_mail", "prune",
           "save_states", "unpublished"]

T = TypeVar("T")

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS alert_state (
    key        TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    active     INTEGER NOT NULL,
    state      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_log (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    published  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alert_log_unpublished ON alert_log (published, id);
CREATE TABLE IF NOT EXISTS alert_mail (
    id         INTEGER PRIMARY KEY,
    recipient  TEXT NOT NULL,
    address    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    message    BLOB NOT NULL,
    created_at REAL NOT NULL,
    next_at    REAL NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS alert_mail_due ON alert_mail (status, next_at);
CREATE TABLE IF NOT EXISTS alert_kv (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL
)
"""

register_schema("alerts", SCHEMA_SQL)


class LocalDb:
    """The plugin's own SQLite file: one thread, every write one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerts-db")
        self._conn: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path | str) -> LocalDb:
        db = cls(Path(path))
        await asyncio.get_running_loop().run_in_executor(db._pool, db._open)
        return db

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA busy_timeout = 10000")
            for stmt in (s.strip() for s in SCHEMA_SQL.split(";")):
                if stmt:
                    conn.execute(stmt)
        except (OSError, sqlite3.Error) as exc:
            raise AlertsError(f"cannot open the alerts database: {exc}", where=str(self.path),
                              hint="check state_db and that the service user may write it"
                              ) from exc
        self._conn = conn

    def _write(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._conn
        if conn is None:
            raise AlertsError("database is closed", where=str(self.path))
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn, *args)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._conn is None:
            raise AlertsError("database is closed", where=str(self.path))
        return fn(self._conn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in one committed transaction."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._write, fn,
                                                                args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._read, fn,
                                                                args)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._pool, conn.close)
        self._pool.shutdown(wait=True)


# -- states and the transition log -------------------------------------------------------------

def load_states(conn: sqlite3.Connection) -> list[AlertState]:
    return [AlertState.from_json(json.loads(row[0]))
            for row in conn.execute("SELECT state FROM alert_state")]


def save_states(conn: sqlite3.Connection, states: Iterable[AlertState]) -> None:
    conn.executemany(
        "INSERT INTO alert_state (key, rule, active, state) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET active = excluded.active, state = excluded.state",
        [(s.key, s.rule, int(s.active), json.dumps(s.to_json(), default=str)) for s in states])


def log_transitions(conn: sqlite3.Connection, items: Iterable[tuple[str, str, int, dict[str, Any]]]
                    ) -> list[int]:
    """Append (key, kind, at epoch, payload) rows; returns their ids (payload gets "alert_id"
    and "msg_id")."""
    ids = []
    for key, kind, at, payload in items:
        cur = conn.execute("INSERT INTO alert_log (key, kind, at, payload) VALUES (?, ?, ?, '')",
                           (key, kind, at))
        rid = int(cur.lastrowid or 0)
        payload["alert_id"] = rid
        payload["msg_id"] = msg_id(rid, kind)
        conn.execute("UPDATE alert_log SET payload = ? WHERE id = ?",
                     (json.dumps(payload, default=str), rid))
        ids.append(rid)
    return ids


def msg_id(alert_id: int, kind: str) -> str:
    """The de-duplication id of one published transition: the same on every republish."""
    return f"alert:{alert_id}:{kind}"


def unpublished(conn: sqlite3.Connection) -> list[tuple[int, dict[str, Any]]]:
    rows = conn.execute("SELECT id, payload FROM alert_log WHERE published = 0 ORDER BY id")
    return [(int(r[0]), json.loads(r[1])) for r in rows]


def mark_published(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    conn.executemany("UPDATE alert_log SET published = 1 WHERE id = ?", [(i,) for i in ids])


def get_kv(conn: sqlite3.Connection, name: str) -> Any:
    row = conn.execute("SELECT value FROM alert_kv WHERE name = ?", (name,)).fetchone()
    return json.loads(row[0]) if row else None


def put_kv(conn: sqlite3.Connection, name: str, value: Any) -> None:
    conn.execute("INSERT INTO alert_kv (name, value) VALUES (?, ?) ON CONFLICT (name) "
                 "DO UPDATE SET value = excluded.value", (name, json.dumps(value)))


# -- the e-mail outbox --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MailRow:
    id: int
    recipient: str
    address: str
    subject: str
    message: bytes
    attempts: int


def pending_mail(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM alert_mail WHERE status = 'pending'")
               .fetchone()[0])


def add_mail(conn: sqlite3.Connection, recipient: str, address: str, subject: str,
             message: bytes, now: float, max_queue: int) -> int | None:
    """Queue an e-mail; None (and nothing stored) when `max_queue` are already waiting."""
    if pending_mail(conn) >= max_queue:
        return None
    cur = conn.execute(
        "INSERT INTO alert_mail (recipient, address, subject, message, created_at, next_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", (recipient, address, subject, message, now, now))
    return int(cur.lastrowid or 0)


def due_mail(conn: sqlite3.Connection, now: float, limit: int = 20
             ) -> tuple[list[MailRow], float | None]:
    """E-mails due now, and when the next one falls due (None if the queue is empty)."""
    rows = conn.execute(
        "SELECT id, recipient, address, subject, message, attempts FROM alert_mail "
        "WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?",
        (now, limit)).fetchall()
    nxt = conn.execute("SELECT min(next_at) FROM alert_mail WHERE status = 'pending' "
                       "AND next_at > ?", (now,)).fetchone()[0]
    return [MailRow(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows], nxt


def mail_done(conn: sqlite3.Connection, mail_id: int, status: str = "sent",
              error: str | None = None) -> None:
    conn.execute("UPDATE alert_mail SET status = ?, last_error = ?, attempts = attempts + 1 "
                 "WHERE id = ?", (status, error, mail_id))


def mail_retry(conn: sqlite3.Connection, mail_id: int, next_at: float, error: str) -> None:
    conn.execute("UPDATE alert_mail SET next_at = ?, last_error = ?, attempts = attempts + 1 "
                 "WHERE id = ?", (next_at, error, mail_id))


def prune(conn: sqlite3.Connection, now: float, keep_log_s: float,
          keep_mail_s: float) -> tuple[int, int]:
    """Delete published log rows and finished e-mails older than their retention."""
    log = conn.execute("DELETE FROM alert_log WHERE published = 1 AND at < ?",
                       (now - keep_log_s,)).rowcount
    mail = conn.execute("DELETE FROM alert_mail WHERE status != 'pending' AND created_at < ?",
                        (now - keep_mail_s,)).rowcount
    return log, mail
