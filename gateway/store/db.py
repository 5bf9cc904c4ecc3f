"""The gateway database: one writer thread, one reader thread, every write in a transaction.

Every module that owns tables registers its schema with :func:`register_schema`; `open()` applies
them all. Writes go through :meth:`Database.write`, which runs a plain synchronous function on the
single writer connection inside ``BEGIN IMMEDIATE … COMMIT`` and only returns after the commit (so
the caller may acknowledge). Composing a whole group commit as one sync function keeps it one
transaction and one thread hop. See docs/decisions/003-storage.md for the `synchronous` choice.

Schema changes. ``CREATE … IF NOT EXISTS`` never changes a table that already exists, so a column
added in a later release is also registered as an :class:`AddColumn` (additive migrations only):

    register_schema("ingest", SCHEMA_SQL, add_columns=[
        AddColumn("devices", "prev_key_enc", "BLOB"),
    ])

The new column goes into the ``CREATE TABLE`` statement too (new databases get it there). When
the database opens, each owner's ``CREATE TABLE`` statements run first, then every AddColumn
whose column is missing (``ALTER TABLE … ADD COLUMN``), then the owner's other statements
(indexes, triggers, which may use the new columns), all in the one opening transaction. A
column that exists is left alone, so this is idempotent and needs no version number; SQLite's
ADD COLUMN rules apply (no PRIMARY KEY/UNIQUE, NOT NULL only with a non-NULL default).
Renames, drops and data rewrites are not supported on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["AddColumn", "Database", "StorageError", "register_schema"]

T = TypeVar("T")

log = logging.getLogger("gateway.store")

_SCHEMAS: dict[str, str] = {}
_ADD_COLUMNS: dict[str, tuple[AddColumn, ...]] = {}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CREATE_TABLE = re.compile(r"^(?:\s*--[^\n]*\n)*\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE\b",
                           re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AddColumn:
    """An additive migration: ``ALTER TABLE <table> ADD COLUMN <column> <decl>`` when missing."""

    table: str
    column: str
    decl: str           # type and constraints, e.g. "BLOB" or "INTEGER NOT NULL DEFAULT 0"

    def __post_init__(self) -> None:
        for name in (self.table, self.column):
            if not _IDENT.match(name):
                raise ValueError(f"AddColumn: {name!r} is not a plain SQL identifier")

    @property
    def sql(self) -> str:
        return f"ALTER TABLE {self.table} ADD COLUMN {self.column} {self.decl}"


def register_schema(owner: str, sql: str, *, add_columns: Sequence[AddColumn] = ()) -> None:
    """Register `CREATE … IF NOT EXISTS` statements owned by module `owner` (idempotent), and
    the columns added since the first release of its tables (see the module docstring)."""
    _SCHEMAS[owner] = sql
    _ADD_COLUMNS[owner] = tuple(add_columns)


class StorageError(Exception):
    """The database cannot be opened or written; `path` says which file, `hint` what to do."""

    def __init__(self, message: str, *, path: Path, hint: str = "") -> None:
        super().__init__(f"{path}: {message}" + (f" ({hint})" if hint else ""))
        self.path = path
        self.hint = hint


class Database:
    """Owns the SQLite file. Use `await Database.open(path)` and `await db.close()`."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-reader")
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self.commits = 0
        self.last_commit_monotonic: float | None = None
        self.migrations: list[str] = []     # "table.column" added when this open()ed the file

    @classmethod
    async def open(cls, path: Path | str, *, synchronous: str = "FULL") -> Database:
        db = cls(Path(path), synchronous)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(db._writer, db._open_writer)
        await loop.run_in_executor(db._reader, db._open_reader)
        return db

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open database: {exc}", path=self.path,
                hint="check the directory exists and the service user may write it",
            ) from exc
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _open_writer(self) -> None:
        conn = self._connect()
        try:
            self._prepare_writer(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(
                f"cannot open database: {exc}", path=self.path,
                hint="check the service user may write the file and its directory, and that "
                     "it is a meterkit gateway database") from exc
        self._wconn = conn

    def _prepare_writer(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StorageError(f"WAL mode refused (got {mode})", path=self.path,
                               hint="the database must be on a local file system")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for owner, sql in _SCHEMAS.items():
                stmts = _split(sql)
                for stmt in stmts:
                    if _CREATE_TABLE.match(stmt):
                        conn.execute(stmt)
                self.migrations += _add_columns(conn, _ADD_COLUMNS.get(owner, ()))
                for stmt in stmts:
                    if not _CREATE_TABLE.match(stmt):
                        conn.execute(stmt)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for added in self.migrations:
            log.info("database schema migrated: column added",
                     extra={"db": str(self.path), "column": added})

    def _open_reader(self) -> None:
        conn = self._connect()
        try:
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(f"cannot open database: {exc}", path=self.path) from exc
        self._rconn = conn

    def _closed(self) -> StorageError:
        return StorageError("database is closed", path=self.path,
                            hint="a component used the database after shutdown")

    def _run_write(self, fn: Callable[..., T], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> T:
        conn = self._wconn
        if conn is None:
            raise self._closed()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn, *args, **kwargs)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1
        self.last_commit_monotonic = time.monotonic()
        return result

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> T:
        if self._rconn is None:
            raise self._closed()
        return fn(self._rconn, *args, **kwargs)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(conn, *args, **kwargs)` in one committed transaction on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._run_write, fn, args, kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(conn, *args, **kwargs)` on the read-only connection (sees the last commit)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, self._run_read, fn, args, kwargs)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._wconn is not None:
            wconn, self._wconn = self._wconn, None
            await loop.run_in_executor(self._writer, _close_checkpoint, wconn)
        if self._rconn is not None:
            rconn, self._rconn = self._rconn, None
            await loop.run_in_executor(self._reader, rconn.close)
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)


def _close_checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _add_columns(conn: sqlite3.Connection, wanted: Sequence[AddColumn]) -> list[str]:
    """Add each missing column (inside the caller's transaction); return "table.column" added."""
    added: list[str] = []
    have: dict[str, set[str]] = {}
    for col in wanted:
        if col.table not in have:
            have[col.table] = {r[1] for r in conn.execute(f"PRAGMA table_info({col.table})")}
        if col.column not in have[col.table]:
            conn.execute(col.sql)
            have[col.table].add(col.column)
            added.append(f"{col.table}.{col.column}")
    return added


def _split(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]
