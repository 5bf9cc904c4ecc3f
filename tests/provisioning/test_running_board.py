"""Provisioning a board whose app is running: its watchdog never fires, its counts survive."""

from __future__ import annotations

import binascii
import json
import time
from pathlib import Path

from provisioning.board import Board
from provisioning.board_counter import _state_dir
from provisioning.firmware_files import load_image
from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import last_json


def _seed(root: Path, **config: object) -> None:
    """A board that already runs the firmware with `config` (as after an earlier visit)."""
    for path, data in load_image(target="unix").files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    (root / "config.json").write_text(json.dumps({
        "device_id": 0x0000E001, "key": "00" * 16,
        "gateway": {"host": "127.0.0.1", "port": 9}, "modem": {"type": "none"},
        "channels": [{"id": 1, "type": "pulse", "litres_per_pulse": 10}], **config}))


def test_a_board_with_a_10_s_watchdog_is_not_reset_by_a_longer_session(
        tmp_path: Path, cli) -> None:
    root = tmp_path / "board"
    _seed(root, watchdog_s=10)          # the shortest watchdog the firmware accepts
    with VirtualBoard(root) as vb:
        assert vb.wait_for(b"@wdt armed 10000", timeout_s=20)
        code, out, err = cli("provision", "check", "--port", vb.port, "--no-reboot", "--json")
        assert code == 0, err
        assert last_json(out)["device_id"] == 0x0000E001
        # Stay connected past the watchdog's 10 s: a board stopped by Ctrl-C alone (its
        # watchdog armed) would reset in this time (tests/provisioning/test_virtual_board.py).
        with Board.open(vb.port) as board:
            board.connect()
            time.sleep(12)
            assert board.probe().has_config
    assert b"@hw-watchdog reset" not in vb.log
    assert vb.wdt_resets == 0


def test_pulses_counted_before_check_survive_it(tmp_path: Path, cli) -> None:
    root = tmp_path / "board"
    _seed(root)                          # persist_s: the default 300 s
    vb = VirtualBoard(root)
    # Five pulses of 10 L, 500 ms apart (more than the firmware's default min_period_ms of
    # 250), 8 s after the app starts, when its inputs are set up: 50 L in the register.
    (vb.state_dir / "feed.txt").write_text("+8 pulses 1 n=5 period_ms=500\n")
    with vb:
        assert vb.wait_for(b"@wdt armed", timeout_s=20)
        time.sleep(12)                   # the pulses are counted; no save is due for 300 s
        code, _out, err = cli("provision", "check", "--port", vb.port, "--no-reboot",
                              "--json")
        assert code == 0, err
        with Board.open(vb.port) as board:
            board.connect()
            with _state_dir(board, "linux") as flash:
                assert flash
                raw = board.read_file(f"{flash}/state")
    assert raw is not None
    # firmware/atomic.py: CRC-32 (big-endian) of the content, then the content (JSON).
    assert int.from_bytes(raw[:4], "big") == binascii.crc32(raw[4:])
    register = json.loads(raw[4:])["ch"]["1"][0]
    assert register == 50
