"""Registry: keys sealed at rest, secret file handling, CRUD errors naming the field."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gateway.registry import (
    RegistryError,
    add_device,
    format_device_id,
    get_device,
    get_device_key,
    list_devices,
    next_downlink_counter,
    remove_device,
    update_device,
)
from gateway.store.db import Database
from gateway.store.keybox import KeyBox, KeyBoxError
from tests.gateway.ingest.conftest import CHANNELS


async def test_key_never_stored_in_clear(tmp_path: Path) -> None:
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "g.db")
    keys = {0xA1B2 + i: os.urandom(16) for i in range(20)}
    for did, key in keys.items():
        await db.write(add_device, box, did, key, site="s", channels=CHANNELS)
    for did, key in keys.items():
        assert await db.read(get_device_key, box, did) == key
    # the WAL still holds the pages before the checkpoint at close: grep both states
    files = [p for p in tmp_path.iterdir() if p.name.startswith("g.db")]
    blob_open = b"".join(p.read_bytes() for p in files)
    await db.close()
    blob_closed = (tmp_path / "g.db").read_bytes()
    for key in keys.values():
        assert key not in blob_open and key not in blob_closed
        assert key.hex().encode() not in blob_open and key.hex().encode() not in blob_closed
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


async def test_other_secret_or_copied_row_cannot_open_key(tmp_path: Path) -> None:
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "g.db")
    try:
        await db.write(add_device, box, 1, os.urandom(16), site="s")
        await db.write(add_device, box, 2, os.urandom(16), site="s")
        other = KeyBox.load_or_create(tmp_path / "other-secret")
        with pytest.raises(KeyBoxError, match="does not open with this gateway secret"):
            await db.read(get_device_key, other, 1)
        # a sealed key moved to another device's row does not open there
        await db.write(lambda c: c.execute(
            "UPDATE devices SET key_enc = (SELECT key_enc FROM devices WHERE device_id = "
            "'00000001') WHERE device_id = '00000002'"))
        with pytest.raises(KeyBoxError, match="device 00000002"):
            await db.read(get_device_key, box, 2)
    finally:
        await db.close()


def test_secret_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("not hex\n")
    with pytest.raises(KeyBoxError, match="not hex text"):
        KeyBox.load_or_create(bad)
    short = tmp_path / "short"
    short.write_text("00" * 16)
    with pytest.raises(KeyBoxError, match="has 16 bytes, expected 32"):
        KeyBox.load_or_create(short)
    box = KeyBox.load_or_create(tmp_path / "new")
    assert "secret hidden" in repr(box)
    assert KeyBox.load_or_create(tmp_path / "new").open("x", box.seal("x", b"k" * 16)) == b"k" * 16


async def test_registry_crud_and_errors(tmp_path: Path) -> None:
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "g.db")
    try:
        dev = await db.write(add_device, box, "0xA1B2", os.urandom(16), site="scuola",
                             channels=CHANNELS)
        assert dev.device_id == "0000a1b2" and dev.has_key and dev.is_board
        assert dev.channels["1"]["name"] == "gas"
        with pytest.raises(RegistryError, match="already registered"):
            await db.write(add_device, box, 0xA1B2, os.urandom(16), site="x")
        with pytest.raises(RegistryError, match="needs a 16-byte AES-128 key, got 8 bytes"):
            await db.write(add_device, box, 7, b"12345678", site="x")
        with pytest.raises(RegistryError) as err:
            await db.write(add_device, box, 8, os.urandom(16), site="x",
                           channels={0: {"name": "a", "kind": "water"}})
        assert err.value.field == "channels.0.kind"
        with pytest.raises(RegistryError, match="neither a board id"):
            format_device_id("not an id!")
        plugin = await db.write(add_device, None, "modbus:sdm630-1", None, site="scuola",
                                channels={"el": {"name": "el", "kind": "electric"}})
        assert not plugin.has_key and not plugin.is_board
        n1 = await db.write(next_downlink_counter, 0xA1B2)
        n2 = await db.write(next_downlink_counter, 0xA1B2)
        assert (n1, n2) == (1, 2)
        new_key = os.urandom(16)
        await db.write(add_device, box, 0xA1B2, new_key, site="scuola", replace=True)
        assert await db.read(get_device_key, box, 0xA1B2) == new_key
        assert (await db.read(get_device, 0xA1B2)).downlink_counter == 2   # kept on replace
        moved = await db.write(update_device, 0xA1B2, site="palestra")
        assert moved.site == "palestra"
        assert [d.device_id for d in await db.read(list_devices)] == ["0000a1b2",
                                                                      "modbus:sdm630-1"]
        assert await db.write(remove_device, 0xA1B2) is True
        assert await db.write(remove_device, 0xA1B2) is False
        assert await db.read(get_device, 0xA1B2) is None
    finally:
        await db.close()


async def test_a_removed_and_re_added_board_never_reuses_a_downlink_counter(
        tmp_path: Path) -> None:
    # Same id, same key (a bundle imported again): counters 1..3 were sealed under this key;
    # the next downlink frame must be 4 (nonce never repeated; the board drops <= 3).
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "g.db")
    key = os.urandom(16)
    try:
        await db.write(add_device, box, 0xA1B2, key, site="scuola", channels=CHANNELS)
        for _ in range(3):
            await db.write(next_downlink_counter, 0xA1B2)
        assert await db.write(remove_device, 0xA1B2) is True
        await db.write(add_device, box, 0xA1B2, key, site="scuola", channels=CHANNELS)
        assert (await db.read(get_device, 0xA1B2)).downlink_counter == 3
        assert await db.write(next_downlink_counter, 0xA1B2) == 4
        # a second removal does not lower what the first one kept
        await db.write(remove_device, 0xA1B2)
        await db.write(add_device, box, 0xA1B2, key, site="scuola", channels=CHANNELS)
        assert await db.write(next_downlink_counter, 0xA1B2) == 5
    finally:
        await db.close()


async def test_the_replay_floor_counts_as_stored_for_provisioning(tmp_path: Path) -> None:
    # Retention pruned every frame up to counter 500: a board re-provisioned under this id
    # must start above 500, or each of its frames would be dropped as a replay.
    from gateway.registry import max_stored_counter
    from gateway.store.frames import raise_replay_floor
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "g.db")
    try:
        await db.write(add_device, box, 0xA1B2, os.urandom(16), site="scuola",
                       channels=CHANNELS)
        assert await db.read(max_stored_counter, 0xA1B2) is None
        await db.write(raise_replay_floor, "0000a1b2", 500)
        assert await db.read(max_stored_counter, 0xA1B2) == 500
    finally:
        await db.close()
