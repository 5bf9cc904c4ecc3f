"""A frame captured on the wire and replayed after retention deleted its row is still a replay
(PROTOCOL.md §6), while out-of-order resends of never-stored counters are still accepted."""

from __future__ import annotations

import sqlite3

from gateway.store.frames import delete_frames, raise_replay_floor, replay_floor
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import Stack


async def prune_frames(stack: Stack, did: int, upto: int) -> int:
    """What retention does after keep_days: the frames' readings go, then the frame rows."""
    dev = f"{did:08x}"

    def prune(conn: sqlite3.Connection) -> int:
        conn.execute("DELETE FROM readings WHERE device_id = ? AND frame_counter <= ?",
                     (dev, upto))
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM frames WHERE device_id = ? AND counter <= ?", (dev, upto))]
        return delete_frames(conn, ids)
    return await stack.db.write(prune)


async def test_replayed_frame_after_its_row_was_pruned_is_dropped(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    async with Board(did, key, stack.port) as b:
        captured = {c: b.frame(readings(did, c)) for c in range(1, 6)}
        for c in (1, 2, 3, 4, 5):
            await b.send(captured[c])
        await b.wait_acked(5)
    assert await prune_frames(stack, did, 3) == 3
    assert await stack.db.read(replay_floor, f"{did:08x}") == 3
    readings_before = await stack.count("SELECT count(*) FROM readings")

    async with Board(did, key, stack.port) as b:
        await b.send(captured[2])        # pruned: its bytes would look new without the floor
        await b.send(captured[4])        # still stored: a duplicate, acknowledged again
        await b.wait_acked(4)
        # out of order, above the floor and never stored: both accepted
        await b.send(readings(did, 7))
        await b.send(readings(did, 6))
        await b.wait_acked(7)
    assert stack.server.stats.dropped == {"replay": 1}
    assert await stack.rows("SELECT counter FROM frames ORDER BY counter") == [
        (4,), (5,), (6,), (7,)]
    assert await stack.count("SELECT count(*) FROM readings") == readings_before + 8
    assert await stack.count("SELECT count(*) FROM readings WHERE frame_counter = 2") == 0


async def test_floor_never_goes_down(stack: Stack) -> None:
    dev = "0000a100"
    await stack.db.write(raise_replay_floor, dev, 50)
    await stack.db.write(raise_replay_floor, dev, 10)
    assert await stack.db.read(replay_floor, dev) == 50
    assert await stack.db.read(replay_floor, "0000a101") is None
