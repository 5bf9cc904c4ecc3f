"""Per-connection limits: idle timeout, frame-rate pacing, connection cap, one device per link."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from gateway.ingest.limits import IngestLimits
from gateway.registry import add_device
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import Stack, make_devices, start_stack


async def test_idle_timeout_and_rate_limit(tmp_path: Path) -> None:
    limits = IngestLimits(idle_timeout_s=0.3, max_frames_per_s=50, burst=5)
    stack = await start_stack(tmp_path, make_devices(1), limits=limits)
    try:
        did, key = next(iter(stack.devices.items()))
        async with Board(did, key, stack.port) as b:
            t0 = time.monotonic()
            for c in range(1, 21):
                await b.send(readings(did, c))
            await b.wait_acked(20)
            elapsed = time.monotonic() - t0
            # 5 frames of burst, then 15 at 50/s: at least 0.3 s, and nothing dropped
            assert elapsed >= 0.28
            await b.wait_closed(timeout=3)     # then silence: closed by the idle timeout
        assert stack.server.stats.closed["idle_timeout"] == 1
        assert await stack.count("SELECT count(*) FROM frames") == 20
    finally:
        await stack.stop()


async def test_connection_cap(tmp_path: Path) -> None:
    stack = await start_stack(tmp_path, make_devices(3),
                              limits=IngestLimits(max_connections=2))
    try:
        boards = [Board(d, k, stack.port) for d, k in stack.devices.items()]
        for b in boards[:2]:
            await b.connect()
            await b.send(readings(b.device_id, 1))
            await b.wait_acked(1)
        await boards[2].connect()
        await boards[2].wait_closed()
        assert stack.server.stats.connections_rejected == 1
        for b in boards:
            await b.close()
    finally:
        await stack.stop()


async def test_frames_of_another_device_on_a_connection_dropped(stack: Stack) -> None:
    (d1, k1), (d2, k2) = list(stack.devices.items())[:2]
    async with Board(d1, k1, stack.port) as b:
        await b.send(readings(d1, 1))
        await b.send(Board(d2, k2, stack.port).frame(readings(d2, 1)))
        await b.send(readings(d1, 2))
        await b.wait_acked(2)
    assert stack.server.stats.dropped == {"device_mismatch": 1}
    assert await stack.rows("SELECT device_id, counter FROM frames ORDER BY id") == [
        (f"{d1:08x}", 1), (f"{d1:08x}", 2)]


async def test_key_replaced_while_running_is_picked_up(stack: Stack) -> None:
    did, _ = next(iter(stack.devices.items()))
    new_key = os.urandom(16)
    await stack.db.write(add_device, stack.box, did, new_key, site="s", replace=True)
    async with Board(did, new_key, stack.port) as b:   # the cache still has the old key
        await b.send(readings(did, 1))
        await b.wait_acked(1)
    assert sum(stack.server.stats.dropped.values()) == 0


async def test_board_added_while_running_is_picked_up(stack: Stack) -> None:
    did, key = 0x00C0FFEE, os.urandom(16)
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await asyncio.sleep(0.1)
    assert stack.server.stats.dropped == {"unknown_device": 1}
    stack.keys.miss_ttl_s = 0.05        # unknown ids are re-checked after the TTL
    await stack.db.write(add_device, stack.box, did, key, site="s")
    await asyncio.sleep(0.1)
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await b.wait_acked(1)


async def test_removed_board_stops_being_served(stack: Stack) -> None:
    from gateway.registry import remove_device

    did, key = next(iter(stack.devices.items()))
    stack.keys.hit_ttl_s = 0.05
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await b.wait_acked(1)
    await stack.db.write(remove_device, did)
    await asyncio.sleep(0.1)
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 2))
        await asyncio.sleep(0.2)
    assert b.acks == []
    assert stack.server.stats.dropped == {"unknown_device": 1}
