"""`meterkit gateway run` as a real process: SIGTERM while boards send; every ACKed frame stays.

Three boards stream READINGS frames over TCP; SIGTERM arrives in the middle. The process must
exit 0 after draining, and every frame a board saw acknowledged must be in the database (an
ACK promises the frame is committed). The normaliser must have caught up before the exit.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.config import load_config
from tests.gateway.ingest.board import Board, readings
from tests.gateway.service.conftest import register_board, write_config
from tests.support.ports import wait_for_port

REPO = Path(__file__).resolve().parents[3]
BOARDS = {0x0000A1B2 + i: bytes([i + 1] * 16) for i in range(3)}


async def stream(board: Board, device: int, stop: asyncio.Event, start: int) -> None:
    counter = 0
    try:
        while not stop.is_set():
            counter += 1
            await board.send(readings(device, counter, n=4, start=start + (counter - 1) * 3600))
            await asyncio.sleep(0.01)
    except (ConnectionError, OSError):
        pass   # the gateway closed the connection while draining


async def test_sigterm_drains_and_keeps_every_acked_frame(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    config = load_config(path, plugins={})
    for device, key in BOARDS.items():
        await register_board(config, device, key)
    log = (tmp_path / "gateway.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "meterkit", "gateway", "run", "--config",
                             str(path)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        await asyncio.to_thread(wait_for_port, config.ingest.port, timeout=20)
        stop = asyncio.Event()
        start = int(time.time()) // 3600 * 3600 - 30 * 86400
        boards = [Board(d, k, config.ingest.port) for d, k in BOARDS.items()]
        for b in boards:
            await b.connect()
        senders = [asyncio.create_task(stream(b, d, stop, start))
                   for b, d in zip(boards, BOARDS, strict=True)]
        async with asyncio.timeout(10):   # let some frames get acknowledged first
            while min(b.acked for b in boards) < 5:
                await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGUSR1)          # logs the status snapshot
        status = await asyncio.to_thread(_status, path)
        assert status.returncode == 0, status.stdout + status.stderr
        live = json.loads(status.stdout)
        assert live["running"] and live["status"]["ingest"]["connections_open"] == 3
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
        stop.set()
        await asyncio.gather(*senders)
        for b in boards:
            await b.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "gateway.log").read_text()
    assert code == 0, output
    assert "Traceback" not in output, output
    assert 'msg="gateway stopped"' in output and 'msg=status' in output
    conn = sqlite3.connect(config.gateway.db_path)
    try:
        for board, device in zip(boards, BOARDS, strict=True):
            stored = {c for (c,) in conn.execute(
                "SELECT counter FROM frames WHERE device_id = ?", (f"{device:08x}",))}
            acked = set(range(1, board.acked + 1))
            assert board.acked >= 5 and acked <= stored, (device, board.acked, sorted(stored))
        # The normaliser caught up before the exit: every stored reading is past its cursor.
        last = conn.execute("SELECT max(id) FROM readings").fetchone()[0]
        cursor = conn.execute("SELECT value FROM cursors WHERE name = 'readings'").fetchone()[0]
        assert cursor == last
    finally:
        conn.close()
    after = _status(path)
    assert after.returncode == 3 and json.loads(after.stdout)["status"]["state"] == "stopped"


def _status(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meterkit", "gateway", "status", "--json",
                           "--config", str(config)], capture_output=True, text=True, timeout=30)
