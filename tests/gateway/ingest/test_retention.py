"""Retention prunes only what is old, normalised and delivered; never anything else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway import outbox
from gateway.store import series
from gateway.store.retention import Retention, RetentionPolicy
from tests.gateway.ingest.board import T0, Board, readings
from tests.gateway.ingest.conftest import make_devices, start_stack

DAY = 86400


async def test_prunes_only_normalised_and_delivered(tmp_path: Path) -> None:
    stack = await start_stack(tmp_path, make_devices(1))
    try:
        did, key = next(iter(stack.devices.items()))
        async with Board(did, key, stack.port) as b:
            for c in range(1, 7):                     # 6 frames x 4 intervals
                await b.send(readings(did, c))
            await b.wait_acked(6)
        dev = f"{did:08x}"
        ids = [r[0] for r in await stack.rows("SELECT id FROM readings ORDER BY id")]
        starts = dict(await stack.rows("SELECT id, interval_start FROM readings"))

        def normalise_some(conn: sqlite3.Connection) -> None:
            # normaliser got through frame 4 (16 readings); outbox: frames 1-2 delivered,
            # frame 3 still pending, frame 4 had its outbox rows pruned after delivery
            series.set_cursor(conn, "readings", ids[15])
            for i in ids[:16]:      # their values reached the series (none was skipped)
                conn.execute(
                    "INSERT INTO series (device_id, channel, interval_start, interval_s, site, "
                    "quantity, value, unit, register, register_unit, updated_at) VALUES "
                    "(?, 'el1', ?, 900, 'test-site', 'energy_import', 0.1, 'kWh', 0, 'Wh', 0)",
                    (dev, starts[i]))
            for i in ids[:12]:
                oid = outbox.add(conn, topic="t", payload=b"{}", stream=f"{dev}:el1",
                                 msg_id=f"{dev}:el1:{starts[i]}")
                if i in ids[:8]:
                    outbox.mark_delivered(conn, [oid])

        await stack.db.write(normalise_some)
        retention = Retention(stack.db, RetentionPolicy(keep_days=30, raw_days=7),
                              clock=lambda: T0 + 40 * DAY)
        counts = await retention.prune_now()
        assert counts["readings"] == 8 + 4            # frames 1-2 delivered, frame 4 gone
        left = [r[0] for r in await stack.rows("SELECT frame_counter FROM readings")]
        assert sorted(set(left)) == [3, 5, 6]         # pending outbox / not normalised
        assert await stack.rows("SELECT counter FROM frames ORDER BY counter") == [
            (3,), (5,), (6,)]
        # raw bytes of frame 3 (normalised, pending upstream) may go; 5 and 6 keep theirs
        assert await stack.rows("SELECT counter, raw IS NULL FROM frames ORDER BY counter") == [
            (3, 1), (5, 0), (6, 0)]
        assert (await retention.prune_now())["readings"] == 0     # idempotent
        # nothing is pruned before its age, whatever its state
        early = Retention(stack.db, RetentionPolicy(keep_days=400, raw_days=300),
                          clock=lambda: T0 + 40 * DAY)
        assert not any((await early.prune_now()).values())
        # a resend of a frame whose raw bytes were pruned is still a duplicate, not new data
        async with Board(did, key, stack.port) as b:
            await b.send(readings(did, 3))
            await b.wait_acked(3)
        assert stack.server.stats.frames_duplicate == 1
    finally:
        await stack.stop()


async def test_delivered_outbox_rows_are_pruned_after_keep_days(tmp_path: Path) -> None:
    stack = await start_stack(tmp_path, make_devices(1))
    try:
        now = T0 + 40 * DAY

        def fill(conn: sqlite3.Connection) -> None:
            for n, (state, age_days) in enumerate(
                    [("delivered", 31), ("delivered", 29), ("pending", 31), ("delivered", 45)]):
                oid = outbox.add(conn, topic="t", payload=b"{}", stream="s", msg_id=f"m{n}")
                if state == "delivered":
                    outbox.mark_delivered(conn, [oid])
                conn.execute("UPDATE outbox SET created_at = ?, delivered_at = "
                             "CASE WHEN state = 'delivered' THEN ? END WHERE id = ?",
                             (now - age_days * DAY, now - age_days * DAY, oid))

        await stack.db.write(fill)
        retention = Retention(stack.db, RetentionPolicy(keep_days=30, raw_days=7),
                              clock=lambda: now)
        counts = await retention.prune_now()
        assert counts["outbox"] == 2                  # the two delivered more than 30 days ago
        left = await stack.rows("SELECT msg_id, state FROM outbox ORDER BY msg_id")
        assert left == [("m1", "delivered"), ("m2", "pending")]
    finally:
        await stack.stop()
