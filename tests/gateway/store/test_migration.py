"""Additive schema migrations: a database from the previous release gets the new columns."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gateway.registry import (
    add_device,
    get_device,
    get_device_key,
    get_previous_key,
    list_devices,
)
from gateway.store import db as dbmod
from gateway.store.db import AddColumn, Database
from gateway.store.keybox import KeyBox
from gateway.store.schema import ADDED_COLUMNS

# The devices table exactly as release 0.1.0 created it.
OLD_DEVICES = """
CREATE TABLE IF NOT EXISTS devices (
    device_id        TEXT PRIMARY KEY,
    key_enc          BLOB,
    site             TEXT NOT NULL DEFAULT '',
    channels         TEXT NOT NULL DEFAULT '{}',
    calibration      TEXT NOT NULL DEFAULT '{}',
    fw               TEXT,
    config_hash      INTEGER,
    reset_cause      TEXT,
    time_synced      INTEGER,
    csq              INTEGER,
    queue_depth      INTEGER,
    supply_mv        INTEGER,
    last_seen        INTEGER,
    last_peer        TEXT,
    last_hello_at    INTEGER,
    downlink_counter INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
)
"""
NEW = {"prev_key_enc", "key_rotated_at", "key_first_counter"}
KEY = bytes(range(16))


def old_database(path: Path, box: KeyBox) -> None:
    conn = sqlite3.connect(path)
    conn.execute(OLD_DEVICES)
    conn.execute(
        "INSERT INTO devices (device_id, key_enc, site, channels, fw, last_seen, "
        "downlink_counter, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("0000a1b2", box.seal("0000a1b2", KEY), "lodi",
         '{"0": {"name": "el1", "kind": "electric", "unit": "Wh"}}', "1.2.3", 1_790_000_000,
         64, 1_780_000_000, 1_780_000_500))
    conn.execute("INSERT INTO devices (device_id, site, created_at, updated_at) "
                 "VALUES ('modbus:sdm630-1', 'lodi', 1, 2)")
    conn.commit()
    conn.close()


def columns(conn: sqlite3.Connection, table: str = "devices") -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


async def test_previous_release_database_gets_the_new_columns(tmp_path: Path) -> None:
    box = KeyBox.load_or_create(tmp_path / "secret")
    old_database(tmp_path / "g.db", box)
    db = await Database.open(tmp_path / "g.db")
    try:
        assert db.migrations == [f"devices.{c.column}" for c in ADDED_COLUMNS]
        assert await db.read(columns) >= NEW
        device = await db.read(get_device, 0xA1B2)
        assert device is not None
        assert (device.site, device.fw, device.last_seen, device.downlink_counter) == (
            "lodi", "1.2.3", 1_790_000_000, 64)
        assert device.channels == {"0": {"name": "el1", "kind": "electric", "unit": "Wh"}}
        assert (device.created_at, device.updated_at) == (1_780_000_000, 1_780_000_500)
        assert not device.previous_kept and device.rotated_at is None
        assert await db.read(get_device_key, box, 0xA1B2) == KEY
        assert [d.device_id for d in await db.read(list_devices)] == ["0000a1b2",
                                                                     "modbus:sdm630-1"]
        # and the new feature works on it: a key rotation keeps the previous key
        new_key = os.urandom(16)
        await db.write(add_device, box, 0xA1B2, new_key, site="lodi", replace=True,
                       now=1_790_000_100)
        prev = await db.read(get_previous_key, box, 0xA1B2)
        assert prev is not None and prev.key == KEY and prev.rotated_at == 1_790_000_100
        assert (await db.read(get_device, 0xA1B2)).downlink_counter == 64
    finally:
        await db.close()
    again = await Database.open(tmp_path / "g.db")       # once only
    try:
        assert again.migrations == []
        assert await again.read(get_device_key, box, 0xA1B2) == new_key
    finally:
        await again.close()


async def test_new_database_needs_no_migration_and_has_the_same_columns(
        tmp_path: Path) -> None:
    box = KeyBox.load_or_create(tmp_path / "secret")
    old_database(tmp_path / "old.db", box)
    old = await Database.open(tmp_path / "old.db")
    new = await Database.open(tmp_path / "new.db")
    try:
        assert new.migrations == []
        assert await new.read(columns) == await old.read(columns)
    finally:
        await old.close()
        await new.close()


async def test_added_columns_come_before_the_indexes_that_use_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO widgets (name) VALUES ('a')")
    conn.commit()
    conn.close()
    monkeypatch.setitem(dbmod._SCHEMAS, "test-widgets", """
        CREATE INDEX IF NOT EXISTS widgets_colour ON widgets (colour);
        CREATE TABLE IF NOT EXISTS widgets (id INTEGER PRIMARY KEY, name TEXT,
                                            colour TEXT NOT NULL DEFAULT 'red', size INTEGER)
    """)
    monkeypatch.setitem(dbmod._ADD_COLUMNS, "test-widgets", (
        AddColumn("widgets", "colour", "TEXT NOT NULL DEFAULT 'red'"),
        AddColumn("widgets", "size", "INTEGER")))
    db = await Database.open(path)
    try:
        assert db.migrations == ["widgets.colour", "widgets.size"]
        rows = await db.read(lambda c: [tuple(r) for r in c.execute("SELECT * FROM widgets")])
        assert rows == [(1, "a", "red", None)]
        assert await db.read(lambda c: c.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'widgets_colour'").fetchone()[0]) == 1
    finally:
        await db.close()


def test_add_column_takes_plain_identifiers_only() -> None:
    with pytest.raises(ValueError, match="plain SQL identifier"):
        AddColumn("devices; DROP TABLE x", "a", "TEXT")
    with pytest.raises(ValueError, match="plain SQL identifier"):
        AddColumn("devices", "a b", "TEXT")
    assert AddColumn("t", "c", "BLOB").sql == "ALTER TABLE t ADD COLUMN c BLOB"
