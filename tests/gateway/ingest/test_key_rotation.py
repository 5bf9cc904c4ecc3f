"""Key rotation: the board's backlog sealed with its previous key is still stored and acked.

After `meterkit provision rotate` the board's flash queue still holds frames sealed with the
old key (sealed when their interval closed), ahead of its HELLO sealed with the new key. The
gateway keeps the previous key for a grace period (docs/decisions/016-key-rotation-grace.md):
old-key frames are accepted below the first counter seen under the new key, ACKs are always
sealed with the new key (the only one the board still has), nothing is lost or invented.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.commands import list_commands, queue_command
from gateway.ingest.keys import PREVIOUS_KEY_GRACE_S
from gateway.registry import (
    add_device,
    forget_previous_key,
    get_device,
    get_previous_key,
    remove_device,
)
from protocol import codec
from protocol.errors import BadTag
from protocol.stream import Deframer
from tests.gateway.ingest.board import Board, hello, readings, status
from tests.gateway.ingest.conftest import CHANNELS, CLOCK, Stack, start_stack

DID = 0x0000C0DE
A = bytes(range(16))                       # the key before the rotation
B = bytes(range(100, 116))                 # the key after it
C = bytes(range(200, 216))
REBOOT_S = 10.0  # the board writes its config, resets and re-attaches to the network


def sealed(key: bytes, msg: dict[str, Any]) -> bytes:
    return codec.encode(msg, key)


def let_time_pass(stack: Stack, seconds: float) -> None:
    """Advance the key cache's monotonic clock (TTLs) as if `seconds` went by."""
    base, offset = time.monotonic, seconds + (stack.keys.clock() - time.monotonic())
    stack.keys.clock = lambda: base() + offset


def gateway_config(tmp: Path) -> Path:
    """A gateway.toml over the stack's own database and secret, for the provisioning tools."""
    path = tmp / "gateway.toml"
    path.write_text(
        f'[gateway]\nsite = "lodi"\nstate_dir = "{tmp}/state"\n'
        f'db_path = "{tmp}/gateway.db"\nsecret_file = "{tmp}/secret"\n\n'
        '[ingest]\nhost = "127.0.0.1"\nport = 4590\n\n[sites.lodi]\nmunicipality = "LODI"\n')
    return path


async def rotate_like_provisioning(tmp: Path, device_id: int, key: bytes, *,
                                   first_counter: int | None = None) -> None:
    """What `meterkit provision rotate` does to the registry: a "rotate" record through the
    Direct registrar, in its own process-like database connection (another thread).
    `first_counter`: the counter limit provisioning read from the board (None: unknown)."""
    from provisioning.gateway_link import DirectRegistrar
    from provisioning.record import DeviceRecord
    from provisioning.registrars import Direct

    def apply() -> None:
        direct = Direct(DirectRegistrar(gateway_config(tmp)))
        record = direct.check(DeviceRecord(f"{device_id:08x}", "rotate", int(time.time()),
                                           key=key, firmware="1.2.3",
                                           first_counter=first_counter))
        direct.apply(record)

    await asyncio.to_thread(apply)


async def rotate(stack: Stack, key: bytes, *, at: float | None = None) -> None:
    """Rotate in the registry (as provisioning does: replace) at gateway time `at`."""
    await stack.db.write(add_device, stack.box, DID, key, site="test-site", channels=CHANNELS,
                         replace=True, now=int(stack.now[0] if at is None else at))


async def stored(stack: Stack) -> list[tuple[int, str]]:
    return [(c, t) for c, t in await stack.rows(
        "SELECT counter, type FROM frames WHERE device_id = ? ORDER BY id", f"{DID:08x}")]


@pytest.fixture
async def one(tmp_path: Path) -> Any:
    s = await start_stack(tmp_path, {DID: A})
    try:
        yield s
    finally:
        await s.stop()


async def send_before_rotation(stack: Stack, counters: range) -> None:
    async with Board(DID, A, stack.port) as b:
        for c in counters:
            await b.send(hello(DID, c) if c == 1 else readings(DID, c))
        await b.wait_acked(counters[-1])


async def test_backlog_sealed_with_the_old_key_is_stored_after_a_rotation(
        one: Stack, tmp_path: Path) -> None:
    """The reported bug: backlog behind a rotation is stored and acked, in order, once."""
    await send_before_rotation(one, range(1, 4))
    await rotate_like_provisioning(tmp_path, DID, B)
    let_time_pass(one, REBOOT_S)
    # After its reset the board only has B: it must be able to open every ACK (Board does).
    async with Board(DID, B, one.port) as b:
        for c in range(4, 7):                         # the backlog, sealed before the reset
            await b.send(sealed(A, readings(DID, c)))
        await b.wait_acked(6)                         # a batch of backlog only: acked
        await b.send(hello(DID, 7))                   # sealed with B, behind the backlog
        await b.send(readings(DID, 8))
        await b.send(status(DID, 9, queue_depth=0))
        await b.wait_acked(9)
    assert b.acks and all(a["acked"] <= 9 for a in b.acks)
    assert await stored(one) == [(1, "hello"), (2, "readings"), (3, "readings"),
                                 (4, "readings"), (5, "readings"), (6, "readings"),
                                 (7, "hello"), (8, "readings"), (9, "status")]
    assert await one.count("SELECT count(*) FROM readings WHERE device_id = ?",
                           f"{DID:08x}") == 6 * 4   # 6 READINGS frames
    stats = one.server.stats
    assert stats.frames_old_key == 3
    assert sum(stats.dropped.values()) == 0
    device = await one.db.read(get_device, DID)
    assert device is not None and device.previous_kept and device.first_counter_since_rotation == 7
    assert device.site == "test-site" and device.channels["0"]["name"] == "el1"


async def test_backlog_pipelined_with_new_key_frames_is_not_lost(
        one: Stack, tmp_path: Path) -> None:
    """One batch with old-key backlog then new-key frames: an ACK of the last one releases the
    whole batch on the board, so every old-key frame in it must have been stored."""
    await send_before_rotation(one, range(1, 3))
    await rotate_like_provisioning(tmp_path, DID, B)
    let_time_pass(one, REBOOT_S)
    async with Board(DID, B, one.port) as b:
        for c in range(3, 9):
            await b.send(sealed(A, readings(DID, c)))
        await b.send(hello(DID, 9))
        await b.send(readings(DID, 10))
        await b.wait_acked(10)
    assert [c for c, _ in await stored(one)] == list(range(1, 11))
    assert one.server.stats.frames_old_key == 6
    assert sum(one.server.stats.dropped.values()) == 0


async def test_acks_and_commands_for_old_key_frames_are_sealed_with_the_new_key(
        one: Stack) -> None:
    """The board has only the new key after the rotation: replies to its backlog use it (and
    never the old key, which may have leaked)."""
    await send_before_rotation(one, range(1, 2))
    await rotate(one, B)
    let_time_pass(one, REBOOT_S)
    cmd = await one.db.write(queue_command, DID, "reboot", {})
    reader, writer = await asyncio.open_connection("127.0.0.1", one.port)
    try:
        writer.write(sealed(A, readings(DID, 2)))
        await writer.drain()
        deframer, acks = Deframer(), []
        async with asyncio.timeout(10):
            while not acks:
                acks += deframer.feed(await reader.read(4096))
    finally:
        writer.close()
    ack = codec.decode(acks[0], B)
    assert ack["type"] == "ack" and ack["acked"] == 2
    assert [c["cmd_id"] for c in ack["commands"]] == [cmd]
    with pytest.raises(BadTag):
        codec.decode(acks[0], A)
    assert [c["state"] for c in await one.db.read(list_commands, DID)] == ["sent"]


async def test_old_key_refused_at_or_above_the_first_new_key_counter(tmp_path: Path) -> None:
    """Whoever holds a leaked old key cannot inject frames once the board used its new key."""
    one = await start_stack(tmp_path, {DID: A})
    try:
        await send_before_rotation(one, range(1, 3))
        await rotate(one, B)
        let_time_pass(one, REBOOT_S)
        async with Board(DID, B, one.port) as b:
            await b.send(hello(DID, 10))                     # first new-key frame: counter 10
            await b.wait_acked(10)
            await b.send(sealed(A, readings(DID, 11)))       # forged with the old key: refused
            await b.send(sealed(A, readings(DID, 10)))       # the new-key frame's counter
            await b.send(sealed(A, readings(DID, 5)))        # below 10: genuine backlog
            await b.send(readings(DID, 12))
            await b.wait_acked(12)
        assert [c for c, _ in await stored(one)] == [1, 2, 10, 5, 12]
        assert one.server.stats.dropped["old_key_counter"] == 2
        assert one.server.stats.frames_old_key == 1
    finally:
        await one.stop()
    # The limit survives a gateway restart (it is in the registry, not only in memory).
    again = await start_stack(tmp_path, {DID: B}, register=False)
    try:
        async with Board(DID, B, again.port) as b:
            await b.send(sealed(A, readings(DID, 13)))
            await b.send(sealed(A, readings(DID, 6)))
            await b.send(readings(DID, 14))
            await b.wait_acked(14)
        assert [c for c, _ in await stored(again)] == [1, 2, 10, 5, 12, 6, 14]
        assert again.server.stats.dropped["old_key_counter"] == 1
        # a lower new-key counter (a late new-key frame) lowers the limit further
        async with Board(DID, B, again.port) as b:
            await b.send(readings(DID, 9))
            await b.send(sealed(A, readings(DID, 9)))       # same counter: a replay anyway
            await b.send(sealed(A, readings(DID, 8)))
            await b.send(readings(DID, 15))
            await b.wait_acked(15)
        assert [c for c, _ in await stored(again)][-3:] == [9, 8, 15]
        assert again.server.stats.dropped["old_key_counter"] == 2
        prev = await again.db.read(get_previous_key, again.box, DID)
        assert prev is not None and prev.first_new_counter == 9
    finally:
        await again.stop()


async def test_the_boards_counter_limit_closes_the_old_key_from_the_rotation_on(
        one: Stack, tmp_path: Path) -> None:
    """Provisioning read the board's reserved counter limit (64) before writing its new key:
    every frame it sealed with the old key is below it, and it continues at or above it. So a
    leaked old key cannot pre-store frames at the counters the board is about to use, even
    before the board's first new-key frame arrives."""
    await send_before_rotation(one, range(1, 3))
    await rotate_like_provisioning(tmp_path, DID, B, first_counter=64)
    let_time_pass(one, REBOOT_S)
    device = await one.db.read(get_device, DID)
    assert device.first_counter_since_rotation == 64 and device.rotation_confirmed is False
    async with Board(DID, B, one.port) as b:
        await b.send(sealed(A, readings(DID, 64)))       # forged: the board's next counters
        await b.send(sealed(A, readings(DID, 70)))
        await b.send(sealed(A, readings(DID, 3)))        # genuine backlog: below the limit
        await b.send(sealed(A, readings(DID, 63)))
        await b.wait_acked(63)
    async with Board(DID, B, one.port) as b:
        await b.send(hello(DID, 64))                      # the board after its reset
        await b.send(readings(DID, 70))
        await b.wait_acked(70)
    assert [c for c, _ in await stored(one)] == [1, 2, 3, 63, 64, 70]
    assert one.server.stats.dropped["old_key_counter"] == 2
    assert one.server.stats.frames_old_key == 2
    device = await one.db.read(get_device, DID)
    assert device.first_counter_since_rotation == 64 and device.rotation_confirmed is True


async def test_a_forgotten_previous_key_opens_nothing_after_the_next_reread(
        one: Stack) -> None:
    """forget_previous_key changes the registry; the running gateway drops its cached copy on
    its next re-read, which an old-key frame forces at most once per miss_ttl_s (5 s)."""
    await send_before_rotation(one, range(1, 2))
    await rotate(one, B)
    let_time_pass(one, REBOOT_S)
    async with Board(DID, B, one.port) as b:
        await b.send(sealed(A, readings(DID, 2)))    # re-reads the registry: rotation seen
        await b.wait_acked(2)
        await one.db.write(forget_previous_key, DID)
        await b.send(sealed(A, readings(DID, 3)))    # within miss_ttl_s of that re-read
        await b.wait_acked(3)
        let_time_pass(one, one.keys.miss_ttl_s)
        await b.send(sealed(A, readings(DID, 4)))    # re-read: the key is gone
        await b.send(readings(DID, 5))
        await b.wait_acked(5)
    assert [c for c, _ in await stored(one)] == [1, 2, 3, 5]
    assert one.server.stats.dropped["bad_tag"] == 1
    assert one.keys.previous(DID) is None


async def test_old_key_refused_after_the_grace_period(one: Stack) -> None:
    await send_before_rotation(one, range(1, 2))
    await rotate(one, B, at=CLOCK)
    let_time_pass(one, REBOOT_S)
    one.now[0] = CLOCK + PREVIOUS_KEY_GRACE_S - 60          # still inside the grace period
    async with Board(DID, B, one.port) as b:
        await b.send(sealed(A, readings(DID, 2)))
        await b.wait_acked(2)
    one.now[0] = CLOCK + PREVIOUS_KEY_GRACE_S + 1           # over
    async with Board(DID, B, one.port) as b:
        await b.send(sealed(A, readings(DID, 3)))
        await b.send(hello(DID, 4))
        await b.wait_acked(4)
    assert [c for c, _ in await stored(one)] == [1, 2, 4]
    assert one.server.stats.dropped["old_key_expired"] == 1
    assert PREVIOUS_KEY_GRACE_S == 30 * 86400


async def test_remove_then_add_and_forget_drop_the_old_key(one: Stack) -> None:
    await send_before_rotation(one, range(1, 2))
    await rotate(one, B)
    assert await one.db.read(get_previous_key, one.box, DID) is not None
    await one.db.write(forget_previous_key, DID)
    assert await one.db.read(get_previous_key, one.box, DID) is None
    let_time_pass(one, REBOOT_S)
    async with Board(DID, B, one.port) as b:
        await b.send(sealed(A, readings(DID, 2)))
        await b.send(readings(DID, 3))
        await b.wait_acked(3)
    assert one.server.stats.dropped["bad_tag"] == 1

    # decommission + add again (a new identity at the same id): no previous key at all
    await rotate(one, C)
    assert (await one.db.read(get_previous_key, one.box, DID)).key == B
    await one.db.write(remove_device, DID)
    await one.db.write(add_device, one.box, DID, A, site="test-site", channels=CHANNELS)
    assert await one.db.read(get_previous_key, one.box, DID) is None
    device = await one.db.read(get_device, DID)
    assert device is not None and not device.previous_kept and device.rotated_at is None


async def test_only_the_last_previous_key_is_kept(one: Stack) -> None:
    await send_before_rotation(one, range(1, 2))
    await rotate(one, B)
    await rotate(one, C)
    prev = await one.db.read(get_previous_key, one.box, DID)
    assert prev is not None and prev.key == B and prev.first_new_counter is None
    assert B.hex() not in repr(prev) and repr(B) not in repr(prev)
    # re-registering the same key (settings only) keeps the previous key as it was
    await one.db.write(add_device, one.box, DID, C, site="other", replace=True,
                       now=int(CLOCK + 5))
    again = await one.db.read(get_previous_key, one.box, DID)
    assert again is not None and again.key == B and again.rotated_at == prev.rotated_at
    let_time_pass(one, REBOOT_S)
    async with Board(DID, C, one.port) as b:
        await b.send(sealed(A, readings(DID, 2)))    # two rotations ago: not accepted
        await b.send(sealed(B, readings(DID, 3)))
        await b.send(readings(DID, 4))
        await b.wait_acked(4)
    assert [c for c, _ in await stored(one)] == [1, 3, 4]
    assert one.server.stats.dropped["bad_tag"] == 1


async def test_previous_key_sealed_at_rest_and_never_logged(
        one: Stack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await send_before_rotation(one, range(1, 2))
    await rotate(one, B)
    let_time_pass(one, REBOOT_S)
    async with Board(DID, B, one.port) as b:
        for c in range(2, 6):
            await b.send(sealed(A, readings(DID, c)))
        await b.wait_acked(5)
    async with Board(DID, B, one.port) as b:
        await b.send(sealed(A, readings(DID, 6)))
        await b.wait_acked(6)
    notes = [r for r in caplog.records if "previous key" in r.getMessage()]
    assert len(notes) == 2 and all(r.levelno == logging.INFO for r in notes)  # one/connection
    assert all(getattr(r, "device", None) == f"{DID:08x}" for r in notes)
    for r in caplog.records:
        text = r.getMessage() + repr(r.__dict__)
        for key in (A, B):
            assert key.hex() not in text and key.hex().upper() not in text
            assert repr(key) not in text
    assert A.hex() not in repr(one.keys) and B.hex() not in repr(one.keys)
    assert one.server.stats.snapshot()["frames_old_key"] == 5
    # the database holds both keys sealed only, the previous one bound to the device id
    blob = b"".join(p.read_bytes() for p in one.path.parent.iterdir()
                    if p.name.startswith("gateway.db"))
    assert A not in blob and B not in blob
    await one.db.write(add_device, one.box, 0x0000C0DF, os.urandom(16), site="test-site")
    await one.db.write(lambda c: c.execute(
        "UPDATE devices SET prev_key_enc = (SELECT prev_key_enc FROM devices WHERE device_id = "
        "'0000c0de'), key_rotated_at = 1 WHERE device_id = '0000c0df'"))
    assert await one.db.read(get_previous_key, one.box, 0x0000C0DF) is None  # logged, skipped
