"""The outbox table and its functions, on a real SQLite file."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest

from gateway import outbox
from gateway.store.db import Database


def _add(conn: object, stream: str, n: int = 1) -> list[int]:
    return [outbox.add(conn, topic=f"t/{stream}", payload=b"{}", stream=stream,  # type: ignore
                       msg_id=f"{stream}:{i}") for i in range(n)]


async def test_lanes_queries_keep_stream_order(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.db")
    try:
        ids = await db.write(lambda c: _add(c, "a", 3) + _add(c, "b", 1) + _add(c, "c", 2))
        assert ids == [1, 2, 3, 4, 5, 6]
        heads = await db.read(functools.partial(outbox.fetch_newest_heads, limit=10, scan=100))
        assert [r.id for r in heads] == [1, 4, 5]               # one head per stream
        heads = await db.read(functools.partial(outbox.fetch_newest_heads, limit=10, scan=100,
                                                skip=[1, 5]))
        assert [r.id for r in heads] == [2, 4, 6]               # next after the in-flight row
        heads = await db.read(functools.partial(outbox.fetch_newest_heads, limit=10, scan=2))
        assert [r.id for r in heads] == [5]                     # newest two: 5, 6 (stream c)
        old = await db.read(functools.partial(outbox.fetch_oldest, limit=4, skip=[1],
                                              held=["b"]))
        assert [r.id for r in old] == [2, 3, 5, 6]
        assert await db.read(functools.partial(outbox.fetch_newest_heads, limit=10, scan=100,
                                               since=time.time() + 60)) == []
    finally:
        await db.close()


async def test_states_backlog_and_retention(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.db")
    try:
        await db.write(lambda c: _add(c, "s", 5))
        assert await db.write(outbox.mark_delivered, [1, 2, 3]) == 3
        assert await db.write(outbox.mark_delivered, [3]) == 0    # only pending rows change
        assert await db.write(outbox.record_attempt, 4, "Not authorized (0x87)") == 1
        await db.write(outbox.quarantine, 4, "Not authorized (0x87)")
        assert await db.read(outbox.backlog) == 1
        assert await db.read(outbox.counts) == {"pending": 1, "delivered": 3,
                                                "quarantined": 1}
        now = time.time()
        assert outbox.prunable("delivered", now - 8 * 86400, now=now, keep_days=7)
        assert not outbox.prunable("delivered", now - 6 * 86400, now=now, keep_days=7)
        assert not outbox.prunable("pending", None, now=now, keep_days=0)
        assert not outbox.prunable("quarantined", None, now=now, keep_days=0)
        assert await db.write(lambda c: outbox.prune_delivered(c, keep_days=7)) == 0
        assert await db.write(lambda c: outbox.prune_delivered(
            c, keep_days=7, now=now + 8 * 86400)) == 3
        assert await db.read(outbox.counts) == {"pending": 1, "delivered": 0,
                                                "quarantined": 1}
        assert await db.write(lambda c: _add(c, "s")) == [6]     # ids never reused
        assert await db.write(outbox.requeue, [4]) == 1
        assert await db.read(outbox.backlog) == 3
    finally:
        await db.close()


@pytest.mark.parametrize(("topic", "qos"), [("a/+/b", 1), ("a/#", 1), ("", 1), ("a", 3)])
async def test_add_refuses_bad_rows(tmp_path: Path, topic: str, qos: int) -> None:
    db = await Database.open(tmp_path / "g.db")
    try:
        with pytest.raises(ValueError, match=r"outbox\.add"):
            await db.write(lambda c: outbox.add(c, topic=topic, payload=b"", stream="s",
                                                msg_id="m", qos=qos))
    finally:
        await db.close()
