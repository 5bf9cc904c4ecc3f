"""What each frame type leaves in the database: readings, events, status, HELLO fields."""

from __future__ import annotations

from tests.gateway.ingest.board import T0, Board, hello, status
from tests.gateway.ingest.conftest import CLOCK, Stack


async def test_every_frame_type_lands_in_its_table(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    dev = f"{did:08x}"
    async with Board(did, key, stack.port) as b:
        await b.send(hello(did, 1))
        await b.send({"type": "readings", "device_id": did, "counter": 2, "blocks": [
            {"channel": 0, "unit": "Wh", "interval_s": 900, "start": T0,
             "registers": [10, 20, 20], "flags": [0x01, 0, 0x04]},
            {"channel": 1, "unit": "L", "interval_s": 3600, "start": T0,
             "registers": [7], "flags": [0x02]}]})
        await b.send({"type": "event", "device_id": did, "counter": 3, "events": [
            {"time": T0 + 5, "code": "tamper", "channel": 1, "value": 1},
            {"time": T0 + 9, "code": "power_fail", "channel": None, "value": -2}]})
        await b.send(status(did, 5, queue_depth=9))
        await b.send(status(did, 4, queue_depth=1))     # older STATUS arriving late
        await b.wait_acked(5)
    assert await stack.rows(
        "SELECT channel, unit, interval_start, interval_s, register, flags, frame_counter, "
        "received_at FROM readings ORDER BY id") == [
        ("0", "Wh", T0, 900, 10, 1, 2, CLOCK),
        ("0", "Wh", T0 + 900, 900, 20, 0, 2, CLOCK),
        ("0", "Wh", T0 + 1800, 900, 20, 4, 2, CLOCK),
        ("1", "L", T0, 3600, 7, 2, 2, CLOCK),
    ]
    assert await stack.rows(
        "SELECT device_id, frame_counter, idx, time, code, channel, value FROM device_events "
        "ORDER BY id") == [(dev, 3, 0, T0 + 5, "tamper", 1, 1),
                           (dev, 3, 1, T0 + 9, "power_fail", None, -2)]
    assert await stack.rows("SELECT frame_counter, queue_depth, csq FROM device_status") == [
        (5, 9, 17)]
    assert await stack.rows(
        "SELECT fw, config_hash, reset_cause, time_synced, last_hello_at, queue_depth, "
        "last_seen FROM devices WHERE device_id = ?", dev) == [
        ("1.2.3", 0xDEADBEEF, "power_on", 0, CLOCK, 9, CLOCK)]
    assert await stack.rows("SELECT counter, type FROM frames ORDER BY counter") == [
        (1, "hello"), (2, "readings"), (3, "event"), (4, "status"), (5, "status")]
    assert stack.writer.committed.is_set()
    assert stack.writer.last_reading_id == 4
