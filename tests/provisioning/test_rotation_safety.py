"""`provision rotate` against a real registry with a scripted board: the counter limit read from
the board, the exact undo of a rotation the board never received, the unconfirmed-rotation
refusal (docs/decisions/016-key-rotation-grace.md)."""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from provisioning.board import BoardInfo
from provisioning.board_counter import read_counter_limit
from provisioning.errors import VerificationMismatch
from provisioning.flow import rotate
from provisioning.gateway_link import DirectRegistrar
from provisioning.record import DeviceRecord
from provisioning.registrars import Direct, UnconfirmedRotation
from tests.provisioning.conftest import Gateway

DID = "0000b0b0"
K1 = bytes(range(16))
CHANNELS = {"0": {"name": "el1", "kind": "electric", "unit": "Wh"}}


def ctr_file(limit: int) -> bytes:
    """The firmware's `ctr` file (firmware/atomic.py: CRC-32 then the data, big-endian)."""
    data = limit.to_bytes(4, "big")
    return binascii.crc32(data).to_bytes(4, "big") + data


@dataclass
class ScriptedBoard:
    """Just what flow.rotate uses of provisioning.board.Board, over an in-memory filesystem."""

    files: dict[str, bytes]
    platform: str = "esp32"
    queued_segments: int = 0
    fail_put: bool = False
    resets: int = 0
    runs: list[str] = field(default_factory=list)
    where: str = "/dev/ttyFAKE"

    def connect(self) -> BoardInfo:
        return BoardInfo("micropython", (1, 22, 0), self.platform, False, (1, 0, 0), True,
                         1 << 20, "config.json" in self.files)

    def read_file(self, path: str) -> bytes | None:
        return self.files.get(path)

    def run(self, code: str) -> str:
        self.runs.append(code)
        return f"{self.queued_segments}\n"

    def put_file(self, path: str, data: bytes) -> str:
        if self.fail_put:
            raise VerificationMismatch("file written to the board does not match",
                                       where=f"{self.where}:{path}")
        self.files[path] = data
        return hashlib.sha256(data).hexdigest()

    def reset(self) -> None:
        self.resets += 1

    def key(self) -> bytes:
        return bytes.fromhex(json.loads(self.files["config.json"])["key"])


def board_with(limit: int | None, key: bytes = K1, **kw: Any) -> ScriptedBoard:
    files = {"config.json": json.dumps({"device_id": int(DID, 16), "key": key.hex()}).encode()}
    if limit is not None:
        files["/data/ctr"] = ctr_file(limit)
    return ScriptedBoard(files, **kw)


@pytest.fixture
def direct(gateway: Gateway) -> Direct:
    d = Direct(DirectRegistrar(gateway.config))
    d.apply(d.check(DeviceRecord(DID, "add", 1_800_000_000, site="genova", key=K1,
                                 channels=CHANNELS, building="palestra")))
    return d


def stored_frame(direct: Direct, counter: int) -> None:
    """As ingest stores a frame of the board (only the frames row matters here)."""
    direct.link.run(lambda c: c.execute(
        "INSERT INTO frames (device_id, counter, type, raw, received_at) "
        "VALUES (?, ?, 'hello', x'00', 1)", (DID, counter)))


def state(direct: Direct) -> tuple[Any, Any]:
    from gateway.registry import get_device, get_key_state

    return direct.link.run(lambda c: (get_key_state(c, DID), get_device(c, DID)), write=False)


def test_rotation_records_the_counter_limit_read_from_the_board(direct: Direct) -> None:
    board = board_with(4160)
    out = rotate(board, direct, now=1_800_000_100)
    assert out.counter_limit == 4160 and board.resets == 1
    _keys, device = state(direct)
    assert device.previous_kept and device.first_counter_since_rotation == 4160
    assert device.rotation_confirmed is False
    assert device.site == "genova" and device.channels == CHANNELS
    assert device.calibration["provisioning"]["building"] == "palestra"
    stored_frame(direct, 4100)     # backlog (old key, below the limit): confirms nothing
    assert state(direct)[1].rotation_confirmed is False
    stored_frame(direct, 4160)     # only the new key can have sealed this one
    assert state(direct)[1].rotation_confirmed is True


@pytest.mark.parametrize("board, limit", [
    (board_with(None), 1),                            # never sealed a frame
    (board_with(None, queued_segments=2), None),      # counter file lost, frames queued
    (board_with(70, platform="rp2"), None),           # flash state not reachable here
])
def test_counter_limit_when_the_counter_file_is_missing(board: ScriptedBoard,
                                                        limit: int | None) -> None:
    assert read_counter_limit(board, board.platform) == limit
    if board.platform == "rp2":
        assert not board.runs


def test_a_damaged_counter_file_gives_no_limit() -> None:
    board = board_with(None)
    board.files["/data/ctr"] = ctr_file(640)[:-1] + b"\x01"
    assert read_counter_limit(board, "esp32") is None
    board.files["/data/ctr"] = ctr_file(640)[:6]
    assert read_counter_limit(board, "esp32") is None


def test_a_failed_rotation_is_undone_exactly_and_can_be_retried(direct: Direct) -> None:
    from gateway.registry import get_device_key

    first = board_with(128)
    rotate(first, direct, now=1_800_000_100)           # K1 -> K2
    k2 = first.key()
    stored_frame(direct, 130)                          # the board's first frame under K2
    before_keys, before = state(direct)
    assert before.rotation_confirmed is True and before.first_counter_since_rotation == 128

    failing = board_with(192, key=k2, fail_put=True)   # K2 -> K3: the config write fails
    with pytest.raises(VerificationMismatch):
        rotate(failing, direct, now=1_800_000_200)
    after_keys, after = state(direct)
    assert after_keys == before_keys and after == before   # key columns, settings, updated_at
    assert direct.link.run(lambda c: get_device_key(c, direct.link.box(), DID),
                           write=False) == k2
    assert failing.key() == k2 and failing.resets == 0

    failing.fail_put = False                           # the installer retries at once
    rotate(failing, direct, now=1_800_000_300)
    keys, device = state(direct)
    assert keys.prev_key_enc == before_keys.key_enc and device.first_counter_since_rotation == 192
    assert direct.link.run(lambda c: get_device_key(c, direct.link.box(), DID),
                           write=False) == failing.key() != k2


def test_a_failed_first_provisioning_is_removed_and_a_failed_replace_undone(
        gateway: Gateway) -> None:
    d = Direct(DirectRegistrar(gateway.config))
    rec = DeviceRecord("0000b0b1", "add", 1_800_000_000, site="lodi", key=K1)
    d.apply(d.check(rec))
    d.rollback(rec)
    assert d.link.get("0000b0b1") is None

    d.apply(d.check(rec))
    before = d.link.run(lambda c: _row(c, "0000b0b1"), write=False)
    again = DeviceRecord("0000b0b1", "replace", 1_800_000_100, site="genova",
                         key=bytes(range(1, 17)), channels=CHANNELS)
    d.apply(d.check(again))
    d.rollback(again)
    assert d.link.run(lambda c: _row(c, "0000b0b1"), write=False) == before


def _row(conn: Any, did: str) -> tuple[Any, ...]:
    return tuple(conn.execute("SELECT * FROM devices WHERE device_id = ?", (did,)).fetchone())


def test_rollback_never_overwrites_a_later_change(direct: Direct) -> None:
    from provisioning.errors import RegistrationError

    rec = DeviceRecord(DID, "rotate", 1_800_000_100, key=bytes(range(1, 17)))
    direct.apply(direct.check(rec))
    other = Direct(direct.link)                        # someone else rotates meanwhile
    other.apply(DeviceRecord(DID, "rotate", 1_800_000_200, key=bytes(range(2, 18))))
    with pytest.raises(RegistrationError, match="changed meanwhile"):
        direct.rollback(rec)


def test_second_rotation_refused_before_the_board_is_touched(direct: Direct) -> None:
    board = board_with(64)
    rotate(board, direct, now=1_800_000_100)
    key = board.key()
    again = board_with(128, key=key)
    with pytest.raises(UnconfirmedRotation, match="not confirmed") as err:
        rotate(again, direct, now=1_800_000_200)
    assert "--discard-backlog-key" in err.value.todo
    assert again.key() == key and again.resets == 0
    # the installer gives the backlog up explicitly
    rotate(again, direct, now=1_800_000_200, discard_backlog_key=True)
    assert again.key() != key and direct.applied[DID].discarded_backlog_key is True


def test_replace_refused_while_a_rotation_is_unconfirmed(direct: Direct) -> None:
    rotate(board_with(64), direct, now=1_800_000_100)
    rec = DeviceRecord(DID, "replace", 1_800_000_200, site="lodi", key=bytes(range(3, 19)),
                       channels=CHANNELS)
    with pytest.raises(UnconfirmedRotation):
        direct.check(rec)
    assert direct.check(rec, discard_backlog_key=True).site == "lodi"
    stored_frame(direct, 64)                           # confirmed: no flag needed
    assert direct.check(rec).site == "lodi"
