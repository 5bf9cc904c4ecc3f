"""Provision a virtual board (real firmware, real REPL on a pty) and see its frames accepted."""

from __future__ import annotations

import hashlib
import logging
import stat
from pathlib import Path

import numpy as np
import png as pypng
import pytest
import zxingcpp

from provisioning.firmware_files import load_image
from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, device_args, last_json


def grey_pixels(data: bytes) -> np.ndarray:
    """A PNG as 8-bit grey pixels (the label is 1-bit grey)."""
    _w, _h, rows, info = pypng.Reader(bytes=data).asDirect()
    assert info["greyscale"] and info["planes"] == 1
    return (np.array([list(r) for r in rows], dtype=np.uint8)
            * (255 // ((1 << info["bitdepth"]) - 1))).astype(np.uint8)


def test_provision_boot_and_gateway_accepts_frames(
        board: VirtualBoard, gateway: Gateway, cli, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    from gateway.registry import get_device, get_device_key

    caplog.set_level(logging.DEBUG)
    gateway.start()
    code, out, err = cli(*device_args(
        board, gateway, "--id", "0000a1b2", "--site", "lodi", "--building", "palestra",
        "--channel", "0:ct:SCT-013-030:nominal_v=230:pf=0.95", "--channel", "1:gas:10",
        "--label-dir", str(tmp_path / "labels"), "--key-out", str(tmp_path / "keys"),
        "--wait-hello", "30", "--json"))
    assert code == 0, err
    result = last_json(out)
    assert result["device_id"] == "0000a1b2" and result["hello"] is True

    # Every file on the board is byte-identical to the firmware image, renamed into place.
    image = load_image(target="unix")
    for path, data in image.files.items():
        assert (board.root / path).read_bytes() == data
        assert result["files"][path] == hashlib.sha256(data).hexdigest()
    assert not list(board.root.rglob("*.new"))

    # The board rebooted into the app with the written config and said hello to the gateway.
    assert b"@wdt armed" in board.log
    assert board.boots >= 2
    device = gateway.query(lambda c: get_device(c, "0000a1b2"))
    assert device.fw == "1.1.0" and device.config_hash == result["config_hash"]
    assert device.site == "lodi"
    assert device.channels["0"]["ct_model"] == "SCT-013-030"
    assert device.channels["1"] == {"name": "gas", "kind": "gas", "unit": "L", "factor": 1,
                                    "litres_per_pulse": 10.0, "building": "palestra"}
    frames = gateway.query(lambda c: c.execute(
        "SELECT count(*) FROM frames WHERE device_id = '0000a1b2'").fetchone()[0])
    assert frames >= 1

    # The key: sealed in the registry, equal to the board's and the key file; 0600; never shown.
    key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000a1b2"))
    key_file = tmp_path / "keys" / "0000a1b2.key"
    assert key_file.read_text().strip() == key.hex()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f'"key": "{key.hex()}"' in (board.root / "config.json").read_text()
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for text in (out, err, logs, board.log.decode(errors="replace")):
        assert key.hex() not in text and key.hex().upper() not in text

    # The label holds the settings, not the key.
    label = (tmp_path / "labels" / "label-0000a1b2.txt").read_text()
    assert "0:el1 CT SCT-013-030" in label and "1:gas gas 10 L/pulse" in label
    png = (tmp_path / "labels" / "label-0000a1b2.png").read_bytes()
    assert png.startswith(b"\x89PNG") and key.hex().encode() not in png
    # What a phone reads from the QR code, decoded by another library than the one that drew it
    assert [c.text for c in zxingcpp.read_barcodes(grey_pixels(png))] == [
        "MK1;id=0000a1b2;site=lodi;bld=palestra;ch=0:ct:SCT-013-030,1:gas:10"]


def test_running_app_is_caught_in_its_boot_window(board: VirtualBoard, gateway: Gateway,
                                                  cli) -> None:
    code, _out, err = cli(*device_args(board, gateway, "--site", "lodi",
                                       "--channel", "1:gas:100", "--json"))
    assert code == 0, err
    assert board.wait_for(b"@wdt armed", timeout_s=15)   # the app runs, its watchdog is armed
    boots = board.boots
    code, out, err = cli("provision", "check", "--port", board.port, "--json")
    assert code == 0, err
    report = last_json(out)
    assert report["checks"]["config"][0] == "ok" and report["checks"]["pulse1"][0] == "ok"
    # The tool reset the running board and stopped it in the window. (That its watchdog
    # then never fires is shown with a 10 s watchdog: test_running_board.py.)
    assert board.boots > boots
