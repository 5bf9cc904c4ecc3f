"""Offline bundles: sealed round trip, every kind of tampering refused, import into the registry."""

from __future__ import annotations

import argparse
import base64
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from provisioning.bundle import (
    create_bundle,
    fingerprint,
    new_gateway_keypair,
    new_installer_keypair,
    open_bundle,
)
from provisioning.errors import BundleError
from provisioning.gateway_import import register_import
from provisioning.identity import write_secret_file
from provisioning.record import DeviceRecord
from tests.provisioning.conftest import Gateway

KEY = bytes(range(16))
CHANNELS = {"0": {"name": "el1", "kind": "electric", "unit": "Wh"}}


def _records(issued_at: int = 1_800_000_000, key: bytes = KEY) -> list[DeviceRecord]:
    return [DeviceRecord("0000a1b2", "add", issued_at, site="lodi", key=key,
                         channels=CHANNELS, config_hash=123, firmware="1.0.0")]


@pytest.fixture
def keys() -> dict[str, bytes]:
    gw_priv, gw_pub = new_gateway_keypair()
    in_priv, in_pub = new_installer_keypair()
    return {"gw_priv": gw_priv, "gw_pub": gw_pub, "in_priv": in_priv, "in_pub": in_pub}


def test_round_trip_keeps_records_and_hides_the_key(keys: dict[str, bytes]) -> None:
    blob = create_bundle(_records(), gateway_public=keys["gw_pub"],
                         installer_private=keys["in_priv"])
    assert KEY.hex().encode() not in blob and KEY not in blob
    bundle = open_bundle(blob, gateway_private=keys["gw_priv"],
                         trusted_installers=[keys["in_pub"]])
    assert bundle.installer == fingerprint(keys["in_pub"])
    assert bundle.records == _records()


def _tamper(blob: bytes, field: str, value: object) -> bytes:
    env = json.loads(blob)
    env[field] = value
    return json.dumps(env).encode()


def _flip_ciphertext(blob: bytes) -> bytes:
    env = json.loads(blob)
    ct = bytearray(base64.b64decode(env["ciphertext"]))
    ct[5] ^= 0x01
    env["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    return json.dumps(env).encode()


@pytest.mark.parametrize("mutate, message", [
    (_flip_ciphertext, "signature does not match"),
    (lambda b: _tamper(b, "created_at", 1), "signature does not match"),
    (lambda b: _tamper(b, "nonce", "00" * 12), "signature does not match"),
    (lambda b: b[: len(b) // 2], "not a provisioning bundle"),
])
def test_tampering_is_detected(keys: dict[str, bytes], mutate, message: str) -> None:
    blob = create_bundle(_records(), gateway_public=keys["gw_pub"],
                         installer_private=keys["in_priv"])
    with pytest.raises(BundleError, match=message):
        open_bundle(mutate(blob), gateway_private=keys["gw_priv"],
                    trusted_installers=[keys["in_pub"]])


def test_resigned_by_an_untrusted_installer_is_refused(keys: dict[str, bytes]) -> None:
    other_priv, _other_pub = new_installer_keypair()
    blob = create_bundle(_records(), gateway_public=keys["gw_pub"],
                         installer_private=other_priv)
    with pytest.raises(BundleError, match="not trusted"):
        open_bundle(blob, gateway_private=keys["gw_priv"], trusted_installers=[keys["in_pub"]])


def test_bundle_for_another_gateway_is_refused(keys: dict[str, bytes]) -> None:
    other_priv, _ = new_gateway_keypair()
    blob = create_bundle(_records(), gateway_public=keys["gw_pub"],
                         installer_private=keys["in_priv"])
    with pytest.raises(BundleError, match="is for gateway"):
        open_bundle(blob, gateway_private=other_priv, trusted_installers=[keys["in_pub"]])


def _import(gateway: Gateway, bundle: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int,
                                                                                         dict]:
    parser = argparse.ArgumentParser()
    register_import(parser.add_subparsers())
    args = parser.parse_args(["import", str(bundle), "--config", str(gateway.config), "--json"])
    capsys.readouterr()
    code = args.handler(args)
    return code, json.loads(capsys.readouterr().out or "{}")


def _trusted_bundle(gateway: Gateway, keys: dict[str, bytes], tmp_path: Path) -> Path:
    """The gateway trusts installer mario; site.mkb holds `_records()` from him."""
    write_secret_file(gateway.workdir / "bundle.key", keys["gw_priv"].hex().encode())
    (gateway.workdir / "installers.pub").write_text(f"{keys['in_pub'].hex()} mario\n")
    path = tmp_path / "site.mkb"
    path.write_bytes(create_bundle(_records(), gateway_public=keys["gw_pub"],
                                   installer_private=keys["in_priv"]))
    return path


def test_import_applies_once_refuses_replays_and_rotates(
        gateway: Gateway, keys: dict[str, bytes], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.registry import get_device, get_device_key

    path = _trusted_bundle(gateway, keys, tmp_path)
    code, out = _import(gateway, path, capsys)
    assert code == 0 and [r["result"] for r in out["records"]] == ["applied"]
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000a1b2")) == KEY
    assert gateway.query(lambda c: get_device(c, "0000a1b2")).channels == CHANNELS

    code, out = _import(gateway, path, capsys)        # the same bundle again: a replay
    assert [r["result"] for r in out["records"]] == ["skipped"]

    new_key = bytes(16)
    rotation = [DeviceRecord("0000a1b2", "rotate", 1_800_000_100, key=new_key)]
    path.write_bytes(create_bundle(rotation, gateway_public=keys["gw_pub"],
                                   installer_private=keys["in_priv"]))
    code, out = _import(gateway, path, capsys)
    assert code == 0 and out["records"][0]["result"] == "applied"
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000a1b2")) == new_key
    assert gateway.query(lambda c: get_device(c, "0000a1b2")).channels == CHANNELS


def test_import_refuses_a_world_readable_bundle_key(
        gateway: Gateway, keys: dict[str, bytes], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    key_path = gateway.workdir / "bundle.key"
    key_path.write_text(keys["gw_priv"].hex())
    key_path.chmod(0o644)
    (gateway.workdir / "installers.pub").write_text(keys["in_pub"].hex() + "\n")
    path = tmp_path / "site.mkb"
    path.write_bytes(create_bundle(_records(), gateway_public=keys["gw_pub"],
                                   installer_private=keys["in_priv"]))
    parser = argparse.ArgumentParser()
    register_import(parser.add_subparsers())
    args = parser.parse_args(["import", str(path), "--config", str(gateway.config)])
    assert args.handler(args) == 1
    assert "readable by other users" in capsys.readouterr().err
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o644  # reported, not silently changed


def test_import_applies_a_rotation_the_board_already_uses_even_if_unconfirmed(
        gateway: Gateway, keys: dict[str, bytes], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Offline, the installer rotated the board twice before anyone imported: the board now
    # seals with the newest key. Refusing that key at import would leave the gateway unable to
    # open anything the board sends; the import applies it and says what it gave up.
    from gateway.registry import get_device, get_device_key

    path = _trusted_bundle(gateway, keys, tmp_path)
    k1, k2 = bytes(range(32, 48)), bytes(range(48, 64))
    assert _import(gateway, path, capsys)[0] == 0
    path.write_bytes(create_bundle(
        [DeviceRecord("0000a1b2", "rotate", 1_800_000_100, key=k1, first_counter=65)],
        gateway_public=keys["gw_pub"], installer_private=keys["in_priv"]))
    code, out = _import(gateway, path, capsys)
    assert code == 0 and out["records"][0]["result"] == "applied"
    assert "discarded_backlog_key" not in out["records"][0]   # KEY was confirmed (never kept)
    device = gateway.query(lambda c: get_device(c, "0000a1b2"))
    assert device.previous_kept and device.first_counter_since_rotation == 65
    assert device.rotation_confirmed is False               # no frame under k1 yet

    path.write_bytes(create_bundle(
        [DeviceRecord("0000a1b2", "rotate", 1_800_000_200, key=k2, first_counter=129)],
        gateway_public=keys["gw_pub"], installer_private=keys["in_priv"]))
    code, out = _import(gateway, path, capsys)
    (row,) = out["records"]
    assert code == 0 and row["result"] == "applied", row
    assert row["discarded_backlog_key"] is True and "discarded" in row["note"]
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000a1b2")) == k2
    device = gateway.query(lambda c: get_device(c, "0000a1b2"))
    assert device.first_counter_since_rotation == 129 and device.channels == CHANNELS

    path.write_bytes(create_bundle([DeviceRecord("0000a1b2", "remove", 1_800_000_300)],
                                   gateway_public=keys["gw_pub"],
                                   installer_private=keys["in_priv"]))
    code, out = _import(gateway, path, capsys)
    assert code == 0 and out["records"][0]["result"] == "applied", out
    assert gateway.query(lambda c: get_device(c, "0000a1b2")) is None


def test_records_carry_the_counter_limit_and_old_bundles_still_open(
        keys: dict[str, bytes]) -> None:
    rec = DeviceRecord("0000a1b2", "rotate", 1_800_000_100, key=KEY, first_counter=4096)
    bundle = open_bundle(create_bundle([rec], gateway_public=keys["gw_pub"],
                                       installer_private=keys["in_priv"]),
                         gateway_private=keys["gw_priv"], trusted_installers=[keys["in_pub"]])
    assert bundle.records == [rec]
    old = rec.as_dict()
    del old["first_counter"]                 # a record written by an older tool
    assert DeviceRecord.from_dict(old).first_counter is None
    with pytest.raises(ValueError, match="first_counter"):
        DeviceRecord.from_dict({**old, "first_counter": -1})


def test_import_refuses_a_board_whose_counter_is_below_the_stored_frames(
        gateway: Gateway, keys: dict[str, bytes], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Offline the installer re-provisioned an erased board (its counter restarts at 1) under an
    # id the gateway holds frames of: every frame of it would be dropped as a replay.
    from gateway.registry import get_device_key

    path = _trusted_bundle(gateway, keys, tmp_path)
    assert _import(gateway, path, capsys)[0] == 0
    with sqlite3.connect(gateway.db) as conn:
        conn.executemany("INSERT INTO frames (device_id, counter, type, raw, received_at) "
                         "VALUES ('0000a1b2', ?, 'readings', x'00', 1)",
                         [(n,) for n in range(1, 71)])

    def replace(issued_at: int, first: int | None, key: bytes) -> tuple[int, dict]:
        path.write_bytes(create_bundle(
            [DeviceRecord("0000a1b2", "replace", issued_at, site="lodi", key=key,
                          channels=CHANNELS, first_counter=first)],
            gateway_public=keys["gw_pub"], installer_private=keys["in_priv"]))
        return _import(gateway, path, capsys)

    k1, k2, k3 = bytes(range(1, 17)), bytes(range(2, 18)), bytes(range(3, 19))
    for first in (1, 70):
        code, out = replace(1_800_000_100, first, k1)
        (row,) = out["records"]
        assert code == 1 and row["result"] == "failed", row
        assert "up to counter 70" in row["reason"] and "replay" in row["reason"]
        assert "new device id" in row["todo"] and "gateway host" in row["todo"]
        assert row["stored_counter"] == 70 and row["first_counter"] == first
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000a1b2")) == KEY

    code, out = replace(1_800_000_100, None, k2)      # a record that does not say: warned
    (row,) = out["records"]
    assert code == 0 and row["result"] == "applied" and row["counter_unknown"] is True
    assert "up to counter 70" in row["note"] and "new device id" in row["note"]

    code, out = replace(1_800_000_200, 71, k3)        # the board continues above them
    (row,) = out["records"]
    assert code == 0 and row["result"] == "applied" and "counter_unknown" not in row
    assert "counter" not in row.get("note", "")     # (k2 unconfirmed: its discard is noted)
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000a1b2")) == k3
