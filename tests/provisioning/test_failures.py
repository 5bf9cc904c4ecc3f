"""Failures mid-session: a vanished board, unwritable folders, a damaged config, a failed
self-test. Each ends in a message naming the device and the state left, never a traceback.

Unwritable paths go through a regular file (`blocker/dir`): ENOTDIR holds for root too.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, device_args, last_json


def _unplug_when(vb: VirtualBoard, path: Path, stop: threading.Event) -> threading.Thread:
    """Pull the cable as soon as the board creates `path` (the tool is mid-write then)."""
    def watch() -> None:
        while not stop.is_set():
            if path.exists():
                vb.unplug()
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _blocked(tmp_path: Path) -> Path:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    return blocker / "dir"


def test_board_unplugged_mid_write_rolls_back(board: VirtualBoard, gateway: Gateway,
                                              cli) -> None:
    from gateway.registry import list_devices

    stop = threading.Event()
    watcher = _unplug_when(board, board.root / "firmware" / "config.py.new", stop)
    try:
        code, out, err = cli(*device_args(board, gateway, "--id", "0000d001", "--site", "lodi",
                                          "--channel", "1:gas:10", "--json"))
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert code == 1
    error = last_json(out)
    assert error["error"] == "board_lost", error
    assert error["why"]   # pyserial's own words (write failed / device disconnected)
    assert error["device_id"] == "0000d001" and error["registered"] == "no (rolled back)"
    assert "plug the board back in" in error["todo"] and "--id 0000d001" in error["todo"]
    assert gateway.query(list_devices) == []
    assert "Traceback" not in err


def test_unplugged_board_in_text_mode(board: VirtualBoard, gateway: Gateway, cli) -> None:
    stop = threading.Event()
    watcher = _unplug_when(board, board.root / "firmware" / "app.py.new", stop)
    try:
        code, _out, err = cli(*device_args(board, gateway, "--id", "0000d002", "--site",
                                           "lodi", "--channel", "1:gas:10", "--lang", "en"))
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert code == 1
    assert "the board disappeared" in err and "registered: no (rolled back)" in err
    assert "device_id: 0000d002" in err and "Traceback" not in err


def test_unwritable_label_dir_is_refused_before_the_board_is_touched(
        board: VirtualBoard, gateway: Gateway, cli, tmp_path: Path) -> None:
    from gateway.registry import list_devices

    code, out, err = cli(*device_args(board, gateway, "--site", "lodi", "--channel",
                                      "1:gas:10", "--label-dir", str(_blocked(tmp_path)),
                                      "--json"))
    assert code == 1, err
    error = last_json(out)
    assert error["error"] == "file_write" and "label folder" in error["what"]
    assert error["where"] == str(_blocked(tmp_path))
    assert "not a folder" in error["todo"]
    assert gateway.query(list_devices) == [] and not (board.root / "config.json").exists()


def test_unwritable_key_dir(board: VirtualBoard, gateway: Gateway, cli, tmp_path: Path) -> None:
    code, out, _err = cli(*device_args(board, gateway, "--site", "lodi", "--channel",
                                       "1:gas:10", "--key-out", str(_blocked(tmp_path)),
                                       "--json"))
    assert code == 1
    error = last_json(out)
    assert error["error"] == "file_write" and "key folder" in error["what"]


def test_keys_into_an_unwritable_folder(cli, tmp_path: Path) -> None:
    code, out, err = cli("provision", "keys", "gateway", "--dir", str(_blocked(tmp_path)),
                         "--json")
    assert code == 1
    error = last_json(out)
    assert error["error"] == "file_write" and error["where"].endswith("bundle.key")
    code, _out, err = cli("provision", "keys", "installer", "--dir", str(_blocked(tmp_path)))
    assert code == 1 and "cannot write the private key" in err and "Traceback" not in err


def test_bundle_in_an_unwritable_folder(board: VirtualBoard, cli, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert cli("provision", "keys", "gateway", "--dir", str(keys))[0] == 0
    assert cli("provision", "keys", "installer", "--dir", str(keys))[0] == 0
    code, out, _err = cli("provision", "device", "--port", board.port, "--target", "unix",
                          "--gateway-host", "127.0.0.1", "--site", "lodi", "--channel",
                          "1:gas:10", "--bundle", str(_blocked(tmp_path) / "day.mkb"),
                          "--gateway-pubkey", str(keys / "bundle.pub"),
                          "--installer-key", str(keys / "installer.key"), "--json")
    assert code == 1
    error = last_json(out)
    assert error["error"] == "file_write" and "bundle" in error["what"]
    assert not (board.root / "config.json").exists()


def test_damaged_board_config_in_rotate_and_decommission(board: VirtualBoard, gateway: Gateway,
                                                        cli) -> None:
    from gateway.registry import get_device

    code, _out, err = cli(*device_args(board, gateway, "--id", "0000d003", "--site", "lodi",
                                       "--channel", "1:gas:10", "--no-reboot", "--json"))
    assert code == 0, err
    for damaged in (b'{"device_id": 3, "ke', b'["not", "an", "object"]',
                    b'{"device_id": "0000d003"}'):
        board.power_cycle()
        (board.root / "config.json").write_bytes(damaged)
        code, out, err = cli("provision", "rotate", "--port", board.port, "--gateway-config",
                             str(gateway.config), "--json")
        assert code == 1, damaged
        error = last_json(out)
        assert error["what"] == "the board's config.json is damaged"
        assert "--replace" in error["todo"] and "Traceback" not in err
    # The registry kept the device's key; decommission still wipes the damaged config.
    assert gateway.query(lambda c: get_device(c, "0000d003")) is not None
    code, out, err = cli("provision", "decommission", "0000d003", "--port", board.port,
                         "--gateway-config", str(gateway.config), "--yes", "--json")
    assert code == 0, err
    assert last_json(out)["board_wiped"] is True
    assert not (board.root / "config.json").exists()
    assert gateway.query(lambda c: get_device(c, "0000d003")) is None


def _miswired(tmp_path: Path) -> VirtualBoard:
    """A board whose gas input rests low: a falling-edge contact that is closed or shorted."""
    return VirtualBoard(tmp_path / "miswired", pulse_idle={1: 0})


def test_failed_selftest_names_the_registered_board(gateway: Gateway, cli,
                                                    tmp_path: Path) -> None:
    from gateway.registry import get_device, get_device_key

    with _miswired(tmp_path) as board:
        code, out, err = cli(*device_args(
            board, gateway, "--id", "0000d004", "--site", "lodi", "--channel", "1:gas:10",
            "--label-dir", str(tmp_path / "labels"), "--key-out", str(tmp_path / "keys"),
            "--json"))
        assert board.wait_for(b"@wdt armed", timeout_s=15)   # rebooted into its app
    assert code == 1, err
    error = last_json(out)
    assert error["error"] == "selftest_failed" and error["what"] == "self-test failed: pulse1"
    assert "idle level 0, expected 1" in error["why"]
    assert error["device_id"] == "0000d004" and error["registered"] == "yes"
    assert error["board"] == "rebooted: its app runs with the new config"
    assert "provision check" in error["todo"]
    # Registered, so its key file and label exist for the installer to find it again.
    key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000d004"))
    assert (tmp_path / "keys" / "0000d004.key").read_text().strip() == key.hex()
    assert error["key_file"] == str(tmp_path / "keys" / "0000d004.key")
    assert (tmp_path / "labels" / "label-0000d004.png").exists()
    assert gateway.query(lambda c: get_device(c, "0000d004")).site == "lodi"
    assert json.loads((board.root / "config.json").read_text())["device_id"] == 0x0000d004


def test_failed_selftest_in_text_mode_with_no_reboot(gateway: Gateway, cli,
                                                     tmp_path: Path) -> None:
    with _miswired(tmp_path) as board:
        code, _out, err = cli(*device_args(board, gateway, "--id", "0000d005", "--site",
                                           "lodi", "--channel", "1:gas:10", "--no-reboot"))
    assert code == 1
    assert "device_id: 0000d005" in err and "registered: yes" in err
    assert "left in its REPL (--no-reboot)" in err


def test_bulk_goes_on_after_a_board_disappears(gateway: Gateway, cli, tmp_path: Path) -> None:
    from gateway.registry import list_devices

    with VirtualBoard(tmp_path / "b1") as lost, VirtualBoard(tmp_path / "b2") as good:
        rows = tmp_path / "boards.csv"
        rows.write_text("port,site,channels,device_id\n"
                        f"{lost.port},lodi,1:gas:10,0000d006\n"
                        f"{good.port},lodi,1:gas:10,0000d007\n")
        stop = threading.Event()
        watcher = _unplug_when(lost, lost.root / "firmware" / "config.py.new", stop)
        try:
            code, out, err = cli("provision", "bulk", str(rows), "--target", "unix",
                                 "--gateway-config", str(gateway.config), "--gateway-host",
                                 "127.0.0.1", "--json")
        finally:
            stop.set()
            watcher.join(timeout=5)
    assert code == 1, err
    summary = last_json(out)
    assert (summary["ok"], summary["failed"], summary["total"]) == (1, 1, 2)
    first, second = summary["rows"]
    assert first["code"] == "board_lost" and "registered: no (rolled back)" in first["message"]
    assert second["ok"] is True
    assert [d.device_id for d in gateway.query(list_devices)] == ["0000d007"]


def test_a_rollback_that_fails_is_reported_with_the_first_error(board: VirtualBoard, cli,
                                                                 tmp_path: Path) -> None:
    # The board vanishes mid-write, and undoing the bundle record fails too (its folder is
    # replaced by a file at that moment): the installer still learns what failed first, and
    # that the id stays registered in the bundle with a key no board holds.
    keys, out_dir = tmp_path / "keys", tmp_path / "out"
    out_dir.mkdir()
    assert cli("provision", "keys", "gateway", "--dir", str(keys))[0] == 0
    assert cli("provision", "keys", "installer", "--dir", str(keys))[0] == 0
    stop = threading.Event()

    def pull_and_block() -> None:
        target = board.root / "firmware" / "config.py.new"
        while not stop.is_set():
            if target.exists():
                out_dir.rename(tmp_path / "moved")
                out_dir.write_text("not a folder any more\n")
                board.unplug()
                return
            time.sleep(0.002)

    watcher = threading.Thread(target=pull_and_block, daemon=True)
    watcher.start()
    try:
        code, out, err = cli("provision", "device", "--port", board.port, "--target", "unix",
                             "--gateway-host", "127.0.0.1", "--site", "lodi", "--id",
                             "0000d00f", "--channel", "1:gas:10", "--bundle",
                             str(out_dir / "day.mkb"), "--gateway-pubkey",
                             str(keys / "bundle.pub"), "--installer-key",
                             str(keys / "installer.key"), "--json")
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert code == 1 and "Traceback" not in err
    error = last_json(out)
    assert error["error"] == "board_lost", error
    assert error["device_id"] == "0000d00f"
    assert error["registered"].startswith("yes: undoing it failed"), error
    assert "devices remove 0000d00f" in error["todo"]
