"""The writer: group commit, input-plugin readings, the committed event, size cap, backpressure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.ingest.inputs import InputRowError
from gateway.store.db import Database
from gateway.writer import FrameItem, StorageFull, Writer
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import Stack, make_devices, start_stack

END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    device: str
    channel: str
    end: datetime
    length_s: int
    register: int
    flags: frozenset[str] = field(default_factory=frozenset)


async def run_writer(tmp_path: Path, **opts: object) -> tuple[Database, Writer, asyncio.Task[None]]:
    import gateway.store.schema  # noqa: F401

    db = await Database.open(tmp_path / "w.db")
    writer = Writer(db, **opts)  # type: ignore[arg-type]
    return db, writer, asyncio.create_task(writer.run())


async def stop_writer(db: Database, writer: Writer, task: asyncio.Task[None]) -> None:
    await writer.close()
    await task
    await db.close()


async def test_input_readings_stored_once_and_signal_committed(tmp_path: Path) -> None:
    db, writer, task = await run_writer(tmp_path)
    try:
        rows = [Row("modbus:sdm630-1", "el1", END + timedelta(minutes=15 * i), 900, 500 + i,
                    frozenset({"partial"}) if i == 0 else frozenset()) for i in range(8)]
        assert not writer.committed.is_set()
        assert await writer.submit_input_readings(rows) == 8
        assert writer.committed.is_set()
        writer.committed.clear()
        later = Row("modbus:sdm630-1", "el1", END + timedelta(hours=3), 900, 999)
        assert await writer.submit_input_readings([*rows[4:], later]) == 1
        got = await db.read(lambda c: [tuple(r) for r in c.execute(
            "SELECT device_id, channel, unit, interval_start, interval_s, register, flags, "
            "frame_counter FROM readings ORDER BY id LIMIT 1")])
        assert got == [("modbus:sdm630-1", "el1", "", int(END.timestamp()) - 900, 900, 500, 1,
                        None)]
        assert writer.last_reading_id == 9
        assert writer.stats["input_readings_stored"] == 9
    finally:
        await stop_writer(db, writer, task)


@pytest.mark.parametrize(("row", "field", "text"), [
    (Row("modbus:x", "", END, 900, 1), "channel", "non-empty string"),
    (Row("modbus:x", "el", END.replace(tzinfo=None), 900, 1), "end", "timezone-aware"),
    (Row("modbus:x", "el", END, 0, 1), "length_s", "1..86400"),
    (Row("modbus:x", "el", END, 900, -5), "register", "0..2^63-1"),
    (Row("modbus:x", "el", END, 900, 1, frozenset({"wet"})), "flags", "unknown flag"),
    (Row("bad id!", "el", END, 900, 1), "device", "neither a board id"),
])
async def test_input_rows_validated_before_storing(tmp_path: Path, row: Row, field: str,
                                                   text: str) -> None:
    db, writer, task = await run_writer(tmp_path)
    try:
        good = Row("modbus:x", "el", END, 900, 1)
        with pytest.raises(InputRowError) as err:
            await writer.submit_input_readings([good, row])
        assert err.value.index == 1 and err.value.field == field and text in str(err.value)
        count = await db.read(lambda c: c.execute("SELECT count(*) FROM readings").fetchone()[0])
        assert count == 0
    finally:
        await stop_writer(db, writer, task)


async def test_size_cap_refuses_new_data_keeps_acking_duplicates(tmp_path: Path) -> None:
    stack: Stack = await start_stack(tmp_path, make_devices(1), max_db_bytes=10**9)
    try:
        did, key = next(iter(stack.devices.items()))
        async with Board(did, key, stack.port) as b:
            await b.send(readings(did, 1))
            await b.wait_acked(1)
            stack.writer.max_db_bytes = 4096          # now "full"
            await b.send(readings(did, 2))
            await b.send(readings(did, 1))            # duplicate: still acknowledged
            await asyncio.sleep(0.2)
        assert b.acked == 1                            # 2 refused: the board keeps it
        assert [a["acked"] for a in b.acks] == [1, 1]
        assert await stack.count("SELECT count(*) FROM frames") == 1
        assert stack.writer.stats["frames_refused"] == 1
        assert stack.writer.stats["size_cap_refusals"] >= 1
        assert stack.server.stats.dropped == {"storage_refused": 1}
        with pytest.raises(StorageFull, match="size cap of 4096 bytes"):
            await stack.writer.submit_input_readings([Row("modbus:x", "el", END, 900, 1)])
    finally:
        await stack.stop()


async def test_full_queue_blocks_producers(tmp_path: Path) -> None:
    db, writer, task = await run_writer(tmp_path, queue_size=8, max_batch=64)
    task.cancel()                       # stop the writer: the queue must fill up and block
    await asyncio.gather(task, return_exceptions=True)
    blocked = None
    try:
        for i in range(8):
            await writer.enqueue_frame(FrameItem("0000a100", i, "hello", b"x%d" % i, {}))
        blocked = asyncio.create_task(writer.enqueue_frame(
            FrameItem("0000a100", 99, "hello", b"x", {})))
        await asyncio.sleep(0.05)
        assert not blocked.done()       # backpressure: no unbounded queue
        assert writer.queue_depth == 8
    finally:
        if blocked is not None:
            blocked.cancel()
        await db.close()


async def test_one_bad_item_fails_alone_in_its_batch(tmp_path: Path) -> None:
    import gateway.store.schema  # noqa: F401

    db = await Database.open(tmp_path / "w.db")
    writer = Writer(db)
    good = [readings(0xA1, c) for c in (1, 2)]
    futs = [await writer.enqueue_frame(FrameItem("000000a1", m["counter"], "readings",
                                                 b"raw%d" % m["counter"], m)) for m in good]
    bad = await writer.enqueue_frame(FrameItem("000000a1", 3, "readings", b"raw3",
                                               {"blocks": [{"channel": 0}]}))  # no registers
    task = asyncio.create_task(writer.run())
    try:
        outcomes = [await f for f in futs]
        assert [o.status for o in outcomes] == ["stored", "stored"]
        assert (await bad).status == "error"
        assert writer.stats["commits"] == 1                 # one batch, one transaction
        n = await db.read(lambda c: c.execute("SELECT count(*) FROM readings").fetchone()[0])
        assert n == 8
        frames = await db.read(lambda c: c.execute("SELECT counter FROM frames").fetchall())
        assert sorted(r[0] for r in frames) == [1, 2]       # nothing of the bad item remains
    finally:
        await writer.close()
        await task
        await db.close()
