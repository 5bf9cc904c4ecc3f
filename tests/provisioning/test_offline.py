"""Offline provisioning via the CLI: bundle and key files 0600, the key shown only on request."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from provisioning.bundle import open_bundle
from provisioning.keyfiles import load_private, load_public
from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import last_json


def _keys(cli, tmp_path: Path) -> tuple[Path, Path]:
    assert cli("provision", "keys", "gateway", "--dir", str(tmp_path / "gw"), "--json")[0] == 0
    assert cli("provision", "keys", "installer", "--dir", str(tmp_path / "me"), "--json")[0] == 0
    for private in (tmp_path / "gw" / "bundle.key", tmp_path / "me" / "installer.key"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    return tmp_path / "gw", tmp_path / "me"


def _provision(cli, vb: VirtualBoard, gw: Path, me: Path, bundle: Path, *extra: str):
    return cli("provision", "device", "--port", vb.port, "--target", "unix", "--site",
               "scuola-rodari", "--gateway-host", "gw.comune.example", "--channel",
               "0:ct:SCT-013-000:burden_ohm=22", "--bundle", str(bundle), "--gateway-pubkey",
               str(gw / "bundle.pub"), "--installer-key", str(me / "installer.key"), *extra)


def test_offline_bundle_never_shows_the_key(board: VirtualBoard, cli, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gw, me = _keys(cli, tmp_path)
    bundle_path = tmp_path / "rodari.mkb"
    code, out, err = _provision(cli, board, gw, me, bundle_path, "--no-reboot")
    assert code == 0, err
    assert stat.S_IMODE(bundle_path.stat().st_mode) == 0o600
    bundle = open_bundle(bundle_path.read_bytes(),
                         gateway_private=load_private(gw / "bundle.key"),
                         trusted_installers=[load_public(me / "installer.pub")])
    (record,) = bundle.records
    key = record.key
    assert key is not None and len(key) == 16
    board_cfg = json.loads((board.root / "config.json").read_text())
    assert board_cfg["key"] == key.hex() and board_cfg["gateway"]["host"] == "gw.comune.example"
    assert board_cfg["device_id"] == int(record.device_id, 16)
    assert record.site == "scuola-rodari" and record.channels["0"]["burden_ohm"] == 22.0
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for text in (out, err, logs, bundle_path.read_text()):
        assert key.hex() not in text
    assert record.device_id in out      # the id is shown; the key is not


def test_show_key_prints_it_on_request(board: VirtualBoard, cli, tmp_path: Path) -> None:
    gw, me = _keys(cli, tmp_path)
    code, out, err = _provision(cli, board, gw, me, tmp_path / "b.mkb", "--show-key",
                                "--no-reboot", "--json")
    assert code == 0, err
    shown = last_json(out)["key"]
    assert json.loads((board.root / "config.json").read_text())["key"] == shown


def test_runs_append_to_one_bundle(tmp_path: Path, cli) -> None:
    from provisioning.record import DeviceRecord
    from provisioning.registrars import BundleRegistrar

    gw, me = _keys(cli, tmp_path)
    path = tmp_path / "day.mkb"
    for n, did in enumerate(("00000001", "00000002")):
        reg = BundleRegistrar(path, gateway_public=load_public(gw / "bundle.pub"),
                              installer_private=load_private(me / "installer.key"))
        reg.apply(DeviceRecord(did, "add", 1_800_000_000 + n, site="lodi", key=bytes(16)))
        rolled_back = DeviceRecord("0000dead", "add", 1, site="lodi", key=bytes(16))
        reg.apply(rolled_back)
        reg.rollback(rolled_back)     # a board that failed: not in the bundle
    bundle = open_bundle(path.read_bytes(), gateway_private=load_private(gw / "bundle.key"),
                         trusted_installers=[load_public(me / "installer.pub")])
    assert [r.device_id for r in bundle.records] == ["00000001", "00000002"]
