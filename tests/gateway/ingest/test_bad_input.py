"""Hostile or broken input: garbage, truncation, wrong keys, unknown boards, replays, floods."""

from __future__ import annotations

import asyncio
import os

from protocol import codec
from protocol.frame import ACK
from tests.gateway.ingest.board import Board, hello, readings
from tests.gateway.ingest.conftest import Stack


def first(stack: Stack, i: int = 0) -> tuple[int, bytes]:
    return list(stack.devices.items())[i]


async def test_garbage_and_truncated_frames_between_good_ones(stack: Stack) -> None:
    did, key = first(stack)
    async with Board(did, key, stack.port) as b:
        f1, f2, f3 = (b.frame(readings(did, c)) for c in (1, 2, 3))
        # garbage containing a fake magic, then frame 1
        await b.send(b"\x00MK\x01garbage" + os.urandom(50) + f1)
        # frame 2 cut short (modem dropped bytes), frame 3 whole right after it: the cut
        # frame swallows frame 3 as "body", fails its tag, and the rescan finds frame 3.
        await b.send(f2[: len(f2) - 10] + f3)
        await b.wait_acked(3)
    assert await stack.rows("SELECT counter FROM frames ORDER BY counter") == [(1,), (3,)]
    assert await stack.count("SELECT count(*) FROM readings") == 8
    assert stack.server.stats.dropped == {"bad_tag": 1}
    assert stack.server.stats.garbage_bytes > 60
    # counter 2 never stored: the ACK covers 3 only because 2 was never a valid frame here
    assert b.acked == 3


async def test_wrong_key_is_dropped_and_connection_closed_after_failures(stack: Stack) -> None:
    did, _ = first(stack)
    async with Board(did, os.urandom(16), stack.port) as b:
        for c in range(1, 10):
            await b.send(hello(did, c))
        await b.wait_closed()
    assert b.acks == []
    assert await stack.count("SELECT count(*) FROM frames") == 0
    assert stack.server.stats.dropped["bad_tag"] == 5   # closed at the 5th consecutive failure
    assert stack.server.stats.closed["too_many_failures"] == 1


async def test_unknown_device_dropped(stack: Stack) -> None:
    async with Board(0x0BADBEEF, os.urandom(16), stack.port) as b:
        for c in range(1, 6):
            await b.send(hello(0x0BADBEEF, c))
        await b.wait_closed()
    assert b.acks == []
    assert await stack.count("SELECT count(*) FROM frames") == 0
    assert stack.server.stats.dropped == {"unknown_device": 5}


async def test_replay_same_counter_different_bytes(stack: Stack) -> None:
    did, key = first(stack)
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1, base=1000))
        await b.wait_acked(1)
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1, base=5000))          # same counter, other content
        await b.send(readings(did, 2, base=1000))
        await b.wait_acked(2)
    regs = await stack.rows("SELECT register FROM readings WHERE frame_counter = 1 "
                            "ORDER BY interval_start")
    assert regs == [(1100,), (1101,), (1102,), (1103,)]    # the first content stays
    assert await stack.count("SELECT count(*) FROM frames") == 2
    assert stack.server.stats.dropped == {"replay": 1}
    assert [a["acked"] for a in b.acks] == [2]             # the replay was never acknowledged


async def test_malformed_payload_and_downlink_frames_dropped(stack: Stack) -> None:
    did, key = first(stack)
    from protocol.frame import READINGS, seal

    bad_payload = seal(key, READINGS, did, 1, b"\x01\x00")          # a block cut short
    ack_frame = codec.encode({"type": "ack", "device_id": did, "counter": 2, "acked": 1,
                              "server_time": 0, "commands": []}, key)
    assert ack_frame[3] & 0x0F == ACK
    async with Board(did, key, stack.port) as b:
        await b.send(bad_payload + ack_frame)
        await b.send(readings(did, 3))
        await b.wait_acked(3)
    assert stack.server.stats.dropped == {"malformed_payload": 1, "downlink_frame": 1}
    assert await stack.rows("SELECT counter FROM frames") == [(3,)]


async def test_one_bad_connection_does_not_disturb_others(stack: Stack) -> None:
    good_did, good_key = first(stack, 1)

    async def vandal() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        for _ in range(200):
            writer.write(os.urandom(100))
        writer.write(b"MK" * 5000)
        with __import__("contextlib").suppress(ConnectionError):
            await writer.drain()
            await reader.read()   # the server hangs up on the garbage
        writer.close()

    async def honest() -> Board:
        async with Board(good_did, good_key, stack.port) as b:
            for c in range(1, 21):
                await b.send(readings(good_did, c))
            await b.wait_acked(20)
        return b

    _, b = await asyncio.gather(vandal(), honest())
    assert b.acked == 20
    assert await stack.count("SELECT count(*) FROM frames") == 20
    assert stack.server.stats.closed["garbage"] == 1
