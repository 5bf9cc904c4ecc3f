"""Many boards at once over real TCP: every frame stored exactly once and acknowledged."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.gateway.ingest.board import Board, hello, readings, status
from tests.gateway.ingest.conftest import CLOCK, make_devices, start_stack

N_BOARDS = 200
READINGS_FRAMES = 5
INTERVALS = 4


async def test_200_concurrent_boards_exact_counts(tmp_path: Path) -> None:
    stack = await start_stack(tmp_path, make_devices(N_BOARDS))
    try:
        async def session(did: int, key: bytes) -> Board:
            async with Board(did, key, stack.port) as b:
                await b.send(hello(did, 1))
                for c in range(2, 2 + READINGS_FRAMES):
                    # every third board puts modem garbage between its frames
                    if did % 3 == 0:
                        await b.send(os.urandom(37))
                    await b.send(readings(did, c, n=INTERVALS))
                last = 2 + READINGS_FRAMES
                await b.send(status(did, last, queue_depth=did % 7))
                await b.wait_acked(last, timeout=30)
            return b

        boards = await asyncio.gather(*(session(d, k) for d, k in stack.devices.items()))
        frames_per_board = READINGS_FRAMES + 2
        assert await stack.count("SELECT count(*) FROM frames") == N_BOARDS * frames_per_board
        assert (await stack.count("SELECT count(*) FROM readings")
                == N_BOARDS * READINGS_FRAMES * INTERVALS)
        assert await stack.count("SELECT count(*) FROM device_status") == N_BOARDS
        assert await stack.count(
            "SELECT count(*) FROM devices WHERE fw = '1.2.3' AND last_seen = ?", CLOCK) == N_BOARDS
        for b in boards:
            assert b.acked == frames_per_board
            # ACK counters: strictly increasing, so no downlink nonce ever repeats
            counters = [a["counter"] for a in b.acks]
            assert counters == sorted(set(counters))
            assert all(a["server_time"] == CLOCK for a in b.acks)
        stats = stack.server.stats
        assert stats.frames_committed == N_BOARDS * frames_per_board
        assert stats.frames_received == N_BOARDS * frames_per_board
        assert sum(stats.dropped.values()) == 0
        assert stats.connections_total == N_BOARDS
        # group commit: far fewer transactions than frames
        assert stack.writer.stats["commits"] < N_BOARDS * frames_per_board / 2
        qd = await stack.rows("SELECT device_id, queue_depth FROM devices")
        assert all(q == int(d, 16) % 7 for d, q in qd)
    finally:
        await stack.stop()
