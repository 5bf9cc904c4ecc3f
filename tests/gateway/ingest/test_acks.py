"""ACK semantics: after commit only, cumulative, idempotent for resends, fresh downlink counters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.ingest.acks import AckTracker
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import Stack, make_devices, start_stack


async def test_duplicates_and_out_of_order_resends(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    async with Board(did, key, stack.port) as b:
        for c in (1, 2, 3, 4, 5):
            await b.send(readings(did, c))
        await b.wait_acked(5)
        for c in (3, 1, 7, 6, 5):           # resends of 3, 1, 5 and new 7 before 6
            await b.send(readings(did, c))
        await b.wait_acked(7)
    assert await stack.count("SELECT count(*) FROM frames") == 7
    assert await stack.count("SELECT count(*) FROM readings") == 7 * 4
    assert stack.server.stats.frames_duplicate == 3
    assert stack.server.stats.frames_committed == 10
    assert sum(stack.server.stats.dropped.values()) == 0
    # a resent frame is acknowledged again even on a new connection
    async with Board(did, key, stack.port) as b2:
        await b2.send(readings(did, 2))
        await b2.wait_acked(2)
    assert b2.acks[-1]["acked"] == 2
    assert await stack.count("SELECT count(*) FROM frames") == 7


async def test_ack_only_covers_committed_rows(stack: Stack) -> None:
    """Whenever an ACK arrives, every frame it covers is already readable in the database."""
    did, key = next(iter(stack.devices.items()))
    seen: list[tuple[int, int]] = []
    async with Board(did, key, stack.port) as b:
        for c in range(1, 61):
            await b.send(readings(did, c, n=2))
            if c % 10 == 0:
                await b.wait_acked(c)
                stored = await stack.count("SELECT count(*) FROM frames WHERE counter <= ?",
                                           b.acked)
                seen.append((b.acked, stored))
    assert seen == [(c, c) for c in range(10, 61, 10)]


async def test_downlink_counters_never_repeat_across_restarts(tmp_path: Path) -> None:
    devices = make_devices(1)
    did, key = next(iter(devices.items()))
    counters: list[int] = []
    for run in range(3):
        stack = await start_stack(tmp_path, devices, register=run == 0)
        try:
            for conn in range(2):
                async with Board(did, key, stack.port) as b:
                    base = run * 100 + conn * 10
                    for c in range(base + 1, base + 4):
                        await b.send(readings(did, c))
                        await b.wait_acked(c)
                counters += [a["counter"] for a in b.acks]
        finally:
            await stack.stop()
    assert len(counters) == 18
    assert counters == sorted(set(counters))       # strictly increasing, never reused


async def test_downlink_counters_increase_within_a_busy_connection(stack: Stack) -> None:
    # The board drops a downlink frame at or below the highest counter it accepted
    # (PROTOCOL.md 7): blocks reserved by frames and by ACKs must never interleave backwards.
    did, key = next(iter(stack.devices.items()))
    async with Board(did, key, stack.port) as b:
        for burst in range(8):
            for c in range(burst * 40 + 1, burst * 40 + 41):
                await b.send(readings(did, c))
            await b.wait_acked(burst * 40 + 40)
    counters = [a["counter"] for a in b.acks]
    assert len(counters) > 8
    assert counters == sorted(set(counters))


async def test_server_time_from_injected_clock(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    stack.now[0] = 1_800_000_123.7
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await b.wait_acked(1)
    assert b.acks[0]["server_time"] == 1_800_000_123
    assert await stack.count("SELECT received_at FROM frames") == 1_800_000_123


async def test_shutdown_acks_committed_frames_then_hangs_up(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    b = Board(did, key, stack.port)
    await b.connect()
    for c in range(1, 31):
        await b.send(readings(did, c))
    await asyncio.sleep(0.05)
    await stack.server.close()
    await b.wait_closed()
    stored = await stack.count("SELECT count(*) FROM frames")
    assert stored == 30
    assert b.acked == 30
    await b.close()


def test_ack_tracker_rules() -> None:
    t = AckTracker()
    assert t.acked() is None
    for c in (5, 6, 7):
        t.received(c)
    t.committed(6)
    assert t.acked() is None             # 5 still pending: nothing up to 6 may be acked
    t.committed(5)
    assert t.acked() == 6
    t.blocked(7)                         # refused by storage: never acked, blocks above it
    t.received(8)
    t.committed(8)
    assert t.acked() == 6
    t.received(7)                        # the board resends 7 and this time it commits
    t.committed(7)
    assert t.acked() == 8
    t2 = AckTracker()
    for c in (1, 2, 3):
        t2.received(c)
    t2.committed(1)
    t2.dropped(2)                        # a forged/replayed frame does not block
    t2.committed(3)
    assert t2.acked() == 3
    t2.received(3)                       # a resend in flight holds the ACK back below it
    assert t2.acked() is None            # 1 was forgotten (memory bound): no ACK, not a wrong one
    t2.committed(3)
    assert t2.acked() == 3
    t3 = AckTracker()
    for c in range(1, 20_001):
        t3.received(c)
        t3.committed(c)
        assert t3.acked() == c
    assert len(t3._committed) == 1      # a months-long connection keeps O(1) state


async def test_ack_waits_for_the_commit_to_return(stack: Stack) -> None:
    """A commit that takes 300 ms to return holds the ACK back exactly that long."""
    did, key = next(iter(stack.devices.items()))
    real_write = stack.db.write
    returned: list[float] = []

    async def slow_write(fn, *args):  # type: ignore[no-untyped-def]
        result = await real_write(fn, *args)
        await asyncio.sleep(0.3)       # e.g. a slow fsync: the commit has not returned yet
        returned.append(asyncio.get_running_loop().time())
        return result

    stack.writer.db = type("SlowDb", (), {"write": staticmethod(slow_write)})()
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await b.wait_acked(1)
        acked_at = asyncio.get_running_loop().time()
    assert returned and acked_at >= returned[0]


async def test_failed_commit_is_not_acked_and_resend_recovers(stack: Stack) -> None:
    import sqlite3

    did, key = next(iter(stack.devices.items()))
    real_write = stack.db.write
    failures = [sqlite3.OperationalError("disk I/O error")]

    async def flaky_write(fn, *args):  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop()
        return await real_write(fn, *args)

    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await b.wait_acked(1)
        stack.writer.db = type("FlakyDb", (), {"write": staticmethod(flaky_write)})()
        await b.send(readings(did, 2))           # its commit fails: no ACK for 2
        await asyncio.sleep(0.1)
        await b.send(readings(did, 3))           # committed, but 2 below it is missing
        await asyncio.sleep(0.1)
        assert b.acked == 1
        await b.send(readings(did, 2))           # the board resends 2: now all is stored
        await b.wait_acked(3)
    assert stack.writer.stats["commit_errors"] == 1
    assert stack.server.stats.dropped == {"storage_error": 1}
    assert await stack.rows("SELECT counter FROM frames ORDER BY counter") == [(1,), (2,), (3,)]
