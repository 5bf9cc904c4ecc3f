"""kill -9 of a gateway process mid-stream: every ACKed frame survives, resends never duplicate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.registry import add_device
from gateway.store.db import Database
from gateway.store.keybox import KeyBox
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import CHANNELS, make_devices
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[3]
BOARDS = 6
INTERVALS = 4


def spawn(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    ready = tmp / "ready"
    ready.unlink(missing_ok=True)
    log = tmp / "gateway.log"
    with log.open("ab") as err:   # a file, not a pipe: a full pipe would block the gateway
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.ingest.standalone", "--db", str(tmp / "g.db"),
             "--secret", str(tmp / "secret"), "--port", str(port), "--ready-file", str(ready),
             "--log-level", "INFO"],
            cwd=REPO, stderr=err)
    deadline = time.monotonic() + 15
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"gateway did not start: {log.read_text()}")
        time.sleep(0.02)
    return proc


async def stream(did: int, key: bytes, port: int, sent: dict[int, int],
                 boards: dict[int, Board]) -> None:
    """Send frames 1, 2, 3, ... as fast as TCP takes them until the gateway dies."""
    b = Board(did, key, port)
    boards[did] = b
    await b.connect()
    c = 0
    with contextlib.suppress(ConnectionError, OSError):
        while not b.closed.is_set():
            await b.send(readings(did, c + 1, n=INTERVALS))
            c += 1
            sent[did] = c
            await asyncio.sleep(0.001)
    await b.close()


def stored(db: Path) -> dict[int, set[int]]:
    conn = sqlite3.connect(db)      # recovers the WAL like the gateway would
    try:
        out: dict[int, set[int]] = {}
        for did, counter in conn.execute("SELECT device_id, counter FROM frames"):
            out.setdefault(int(did, 16), set()).add(counter)
        return out
    finally:
        conn.close()


async def test_kill_9_loses_no_acknowledged_frame(tmp_path: Path) -> None:
    devices = make_devices(BOARDS)
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "g.db")
    for did, key in devices.items():
        await db.write(add_device, box, did, key, site="s", channels=CHANNELS)
    await db.close()

    port = free_port()
    proc = spawn(tmp_path, port)
    sent: dict[int, int] = {}
    boards: dict[int, Board] = {}
    try:
        tasks = [asyncio.create_task(stream(d, k, port, sent, boards))
                 for d, k in devices.items()]
        async with asyncio.timeout(15):
            while len(boards) < BOARDS or min(b.acked for b in boards.values()) < 40:
                await asyncio.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)            # mid-stream, no goodbye
        proc.wait(timeout=10)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    acked = {d: b.acked for d, b in boards.items()}
    first_run_downlink = {d: max(a["counter"] for a in b.acks) for d, b in boards.items()}
    after_kill = stored(tmp_path / "g.db")
    for did in devices:
        assert acked[did] >= 40
        assert set(range(1, acked[did] + 1)) <= after_kill[did], f"lost ACKed frames of {did:08x}"
    assert any(sent[d] > acked[d] for d in devices)   # some frames really were in flight

    # Restart; each board resends its whole history (acked and unacked) as a board would
    # after losing its RAM state: nothing is stored twice, everything ends up acknowledged.
    proc = spawn(tmp_path, port)
    try:
        async def resend(did: int, key: bytes) -> Board:
            async with Board(did, key, port) as b:
                for c in range(1, sent[did] + 1):
                    await b.send(readings(did, c, n=INTERVALS))
                await b.wait_acked(sent[did], timeout=20)
            return b

        again = await asyncio.gather(*(resend(d, k) for d, k in devices.items()))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR2)
            time.sleep(0.5)
            proc.kill()
            raise AssertionError("gateway did not stop on SIGTERM:\n"
                                 + (tmp_path / "gateway.log").read_text()) from None
    final = stored(tmp_path / "g.db")
    conn = sqlite3.connect(tmp_path / "g.db")
    try:
        for b in again:
            n = sent[b.device_id]
            assert final[b.device_id] == set(range(1, n + 1))
            assert conn.execute("SELECT count(*) FROM readings WHERE device_id = ?",
                                (f"{b.device_id:08x}",)).fetchone()[0] == n * INTERVALS
            # downlink counters keep rising across the crash
            assert min(a["counter"] for a in b.acks) > first_run_downlink[b.device_id]
        total = conn.execute("SELECT count(*) FROM frames").fetchone()[0]
        assert total == sum(sent.values())
    finally:
        conn.close()
