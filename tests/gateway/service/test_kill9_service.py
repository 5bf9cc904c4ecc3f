"""kill -9 of the real service (`meterkit gateway run`) during a stream of frames.

Three boards stream READINGS frames (4 contiguous quarter hours of channel 0 each) to the full
service — ingest, writer, normaliser, plugins host, uplink (its broker unreachable, so every
message stays pending in the outbox), retention, health. SIGKILL arrives mid-stream. After a
restart every board resends its whole history, as a board that lost its RAM would. Then:

* every frame acknowledged before the kill is stored; no frame is stored twice;
* every stored reading was normalised exactly once: the cursor reached the last reading, each
  reading but a channel's first (its baseline) has its series row, and there is exactly one
  outbox row per series row (normalising a batch again after the crash must not queue a second
  message for it).
"""

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

from gateway.config import Config, load_config
from tests.gateway.ingest.board import Board, readings
from tests.gateway.service.conftest import register_board, write_config
from tests.support.ports import wait_for_port

REPO = Path(__file__).resolve().parents[3]
BOARDS = {0x0000C100 + i: bytes([0x40 + i] * 16) for i in range(3)}
N = 4                                               # intervals per frame
MQTT = '[mqtt]\nhost = "127.0.0.1"\nport = 1\nreconnect_max_s = 1.0\n'
START = (int(time.time()) // 3600 - 24 * 40) * 3600  # 40 days ago, on the hour


def frame(device: int, counter: int) -> dict[str, object]:
    return readings(device, counter, n=N, start=START + (counter - 1) * N * 900)


def spawn(path: Path, config: Config, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:     # a file, not a pipe: a full pipe would block the gateway
        proc = subprocess.Popen([sys.executable, "-m", "meterkit", "gateway", "run",
                                 "--config", str(path)], cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_for_port(config.ingest.port, timeout=30)
    except Exception:
        proc.kill()
        raise
    return proc


async def stream(device: int, key: bytes, port: int, sent: dict[int, int],
                 boards: dict[int, Board]) -> None:
    """Frames 1, 2, 3, ... as fast as the gateway takes them, until it dies."""
    b = Board(device, key, port)
    boards[device] = b
    await b.connect()
    with contextlib.suppress(ConnectionError, OSError):
        while not b.closed.is_set():
            await b.send(frame(device, sent.get(device, 0) + 1))
            sent[device] = sent.get(device, 0) + 1
            await asyncio.sleep(0.002)
    await b.close()


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_kill_9_of_the_service_keeps_acked_frames_and_normalises_once(
        tmp_path: Path) -> None:
    path = write_config(tmp_path, extra=MQTT)
    config = load_config(path, plugins={})
    for device, key in BOARDS.items():
        await register_board(config, device, key)
    db, log = config.gateway.db_path, tmp_path / "gateway.log"

    proc = await asyncio.to_thread(spawn, path, config, log)
    sent: dict[int, int] = {}
    boards: dict[int, Board] = {}
    try:
        tasks = [asyncio.create_task(stream(d, k, config.ingest.port, sent, boards))
                 for d, k in BOARDS.items()]
        async with asyncio.timeout(30):
            while len(boards) < len(BOARDS) or min(b.acked for b in boards.values()) < 30:
                await asyncio.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    finally:
        if proc.poll() is None:
            proc.kill()
    acked = {d: b.acked for d, b in boards.items()}
    for device in BOARDS:
        stored = {c for (c,) in query(db, "SELECT counter FROM frames WHERE device_id = ?",
                                      f"{device:08x}")}
        assert set(range(1, acked[device] + 1)) <= stored, f"lost ACKed frames of {device:08x}"

    proc = await asyncio.to_thread(spawn, path, config, log)
    try:
        async def resend(device: int, key: bytes) -> None:
            async with Board(device, key, config.ingest.port) as b:
                for c in range(1, sent[device] + 1):
                    await b.send(frame(device, c))
                await b.wait_acked(sent[device], timeout=30)

        await asyncio.gather(*(resend(d, k) for d, k in BOARDS.items()))
        async with asyncio.timeout(30):    # the normaliser catches up with the last reading
            while query(db, "SELECT (SELECT max(id) FROM readings) = "
                            "(SELECT value FROM cursors WHERE name = 'readings')") != [(1,)]:
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()

    for device in BOARDS:
        dev = f"{device:08x}"
        n = sent[device]
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT counter), min(counter), max(counter) "
                         "FROM frames WHERE device_id = ?", dev) == [(n, n, 1, n)]
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT interval_start) FROM readings "
                         "WHERE device_id = ?", dev) == [(N * n, N * n)]
        # every reading after the channel's first has its series row, and nothing else exists
        assert query(db, "SELECT COUNT(*) FROM series WHERE device_id = ?", dev) == [
            (N * n - 1,)]
        assert query(db, "SELECT COUNT(*) FROM readings r WHERE r.device_id = ? "
                         "AND r.interval_start > ? AND NOT EXISTS (SELECT 1 FROM series s "
                         "WHERE s.device_id = r.device_id AND s.channel = 'el1' "
                         "AND s.interval_start = r.interval_start)", dev, START) == [(0,)]
        # one outbox message per series row: none lost, none queued twice
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT msg_id) FROM outbox "
                         "WHERE stream = ?", f"{dev}:el1") == [(N * n - 1, N * n - 1)]
        assert query(db, "SELECT COUNT(*) FROM series s WHERE s.device_id = ? AND NOT EXISTS "
                         "(SELECT 1 FROM outbox o WHERE o.msg_id = s.device_id || ':' || "
                         "s.channel || ':' || s.interval_start)", dev) == [(0,)]
    assert any(sent[d] > acked[d] for d in BOARDS)   # frames really were in flight at the kill
