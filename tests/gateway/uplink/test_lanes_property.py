"""Property: whatever is in flight, the lanes never hand out a row that overtakes its stream."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import outbox
from gateway.store.db import _split


def _db(streams: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for stmt in _split(outbox.SCHEMA):
        conn.execute(stmt)
    for i, s in enumerate(streams):
        outbox.add(conn, topic=f"t/{s}", payload=b"{}", stream=s, msg_id=f"{s}:{i}")
    return conn


@settings(max_examples=150, deadline=None)
@given(streams=st.lists(st.sampled_from("abcde"), min_size=1, max_size=60),
       inflight_frac=st.floats(0, 1), delivered_frac=st.floats(0, 0.5),
       held=st.sets(st.sampled_from("abcde"), max_size=2),
       limit=st.integers(1, 30), scan=st.integers(0, 80))
def test_batches_keep_per_stream_order(streams: list[str], inflight_frac: float,
                                       delivered_frac: float, held: set[str], limit: int,
                                       scan: int) -> None:
    conn = _db(streams)
    rows = conn.execute("SELECT id, stream FROM outbox ORDER BY id").fetchall()
    # a realistic state: per stream, a prefix delivered, then a prefix in flight
    inflight: set[int] = set()
    for s in set(streams):
        ids = [i for i, st_ in rows if st_ == s]
        d = int(len(ids) * delivered_frac)
        f = int((len(ids) - d) * inflight_frac)
        outbox.mark_delivered(conn, ids[:d])
        inflight.update(ids[d:d + f])
    live = outbox.fetch_newest_heads(conn, limit, scan=scan, skip=inflight, held=held)
    back = outbox.fetch_oldest(conn, limit, skip=inflight | {r.id for r in live}, held=held)
    batch = live + back                       # the publisher sends live first, then backlog
    pending = {i for i, _ in rows} - {r[0] for r in conn.execute(
        "SELECT id FROM outbox WHERE state = 'delivered'")}
    sent = set(inflight)
    for row in batch:
        assert row.stream not in held
        assert row.id not in inflight
        older = {i for i, s in rows if s == row.stream and i < row.id and i in pending}
        assert older <= sent, f"row {row.id} would overtake {sorted(older - sent)}"
        sent.add(row.id)
    assert len({r.stream for r in live}) == len(live)       # live: one head per stream
