"""Offline provisioning via the CLI: bundle and key files 0600, the key shown only on request."""

from __future__ import annotations

import json
import logging
import stat
import time
from pathlib import Path

import pytest

from provisioning.bundle import open_bundle
from provisioning.keyfiles import load_private, load_public
from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, last_json


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


def test_offline_bundle_imported_then_the_board_is_heard(board: VirtualBoard,
                                                         gateway: Gateway, cli) -> None:
    """Provision without the gateway (--bundle), import the bundle on the gateway with
    `meterkit gateway devices import`, and the board's frames are accepted there."""
    from gateway.registry import get_device, get_device_key

    # The gateway's bundle key and trusted installers, where the import looks by default:
    # next to the gateway secret file.
    assert cli("provision", "keys", "gateway", "--dir", str(gateway.workdir))[0] == 0
    me = gateway.workdir.parent / "me"
    assert cli("provision", "keys", "installer", "--dir", str(me))[0] == 0
    (gateway.workdir / "installers.pub").write_text((me / "installer.pub").read_text())
    bundle = gateway.workdir.parent / "lodi.mkb"
    code, out, err = cli("provision", "device", "--port", board.port, "--target", "unix",
                         "--id", "0000b0b0", "--site", "lodi", "--gateway-host", "127.0.0.1",
                         "--gateway-port", str(gateway.port), "--channel", "1:gas:10",
                         "--bundle", str(bundle), "--gateway-pubkey",
                         str(gateway.workdir / "bundle.pub"), "--installer-key",
                         str(me / "installer.key"), "--no-reboot", "--json")
    assert code == 0, err
    config_hash = last_json(out)["config_hash"]
    assert gateway.query(lambda c: get_device(c, "0000b0b0")) is None   # not registered yet

    code, out, err = cli("gateway", "devices", "import", str(bundle), "--config",
                         str(gateway.config), "--json")
    assert code == 0, out + err
    key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000b0b0"))
    assert json.loads((board.root / "config.json").read_text())["key"] == key.hex()

    gateway.start()
    board.power_cycle()                  # the board starts its app with the written config
    deadline = time.monotonic() + 60
    device = None
    while time.monotonic() < deadline:
        device = gateway.query(lambda c: get_device(c, "0000b0b0"))
        if device.last_hello_at:
            break
        time.sleep(0.5)
    assert device is not None and device.last_hello_at, (
        board.log[-2000:], (gateway.workdir / "ingest.log").read_text()[-2000:])
    assert device.config_hash == config_hash and device.site == "lodi"
    frames = gateway.query(lambda c: c.execute(
        "SELECT count(*) FROM frames WHERE device_id = '0000b0b0'").fetchone()[0])
    assert frames >= 1
