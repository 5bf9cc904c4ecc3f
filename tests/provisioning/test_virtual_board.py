"""The virtual board models the hazard provisioning avoids: an armed watchdog after Ctrl-C."""

from __future__ import annotations

import json
import time
from pathlib import Path

from provisioning.board import open_serial
from provisioning.firmware_files import load_image
from simulator.virtual_board import VirtualBoard


def test_naive_ctrl_c_after_the_watchdog_is_armed_ends_in_a_reset(tmp_path: Path) -> None:
    root = tmp_path / "board"
    for path, data in load_image(target="unix").files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    (root / "config.json").write_text(json.dumps({
        "device_id": 7, "key": "00" * 16, "gateway": {"host": "127.0.0.1", "port": 9},
        "modem": {"type": "none"}, "watchdog_s": 10,
        "channels": [{"id": 1, "type": "pulse"}]}))
    with VirtualBoard(root, boot_window_ms=200) as vb:
        assert vb.wait_for(b"@wdt armed 10000", timeout_s=15)
        ser = open_serial(vb.port)
        try:
            ser.write(b"\x03")                         # stop the app, do not reset
            assert vb.wait_for(b"KeyboardInterrupt", timeout_s=5)
            t0 = time.monotonic()
            assert vb.wait_for(b"@hw-watchdog reset", timeout_s=15)
            assert 9 <= time.monotonic() - t0 <= 12
            assert vb.wdt_resets == 1 and vb.boots >= 2
        finally:
            ser.close()


def test_started_by_hand_it_prints_its_port_and_answers(tmp_path: Path) -> None:
    """`python -m simulator.virtual_board DIR` (docs/INSTALLER.md, training)."""
    import signal
    import subprocess
    import sys

    from provisioning.board import Board
    from tests.support.micropython import REPO

    proc = subprocess.Popen([sys.executable, "-m", "simulator.virtual_board",
                             str(tmp_path / "fs")], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("virtual board on /dev/"), first
        port = first.split()[3]
        with Board.open(port) as board:
            info = board.connect()
        assert info.implementation == "micropython" and info.platform == "linux"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
