"""Deframer: frames split anyhow across reads, garbage skipped, false headers recovered, bounded."""

from __future__ import annotations

import pytest

from protocol import frame
from protocol.errors import BadTag
from protocol.stream import Deframer
from tests.protocol.conftest import load_vectors

FRAMES = [bytes.fromhex(v["frame"]) for v in load_vectors("frames.json")]
KEY = bytes(range(16))


def feed_in_chunks(d: Deframer, data: bytes, size: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(0, len(data), size):
        out += d.feed(data[i : i + size])
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 15, 16, 64, 10_000])
def test_back_to_back_frames_in_any_chunking(size: int) -> None:
    d = Deframer()
    assert feed_in_chunks(d, b"".join(FRAMES), size) == FRAMES
    assert (d.frames, d.discarded_bytes, d.buffered()) == (len(FRAMES), 0, 0)


def test_garbage_between_frames_is_counted_and_skipped() -> None:
    garbage = [b"\r\n+CIPRCV:17,", b"MK", b"M", b"MK\x01\x02", b"\x00" * 40, b"OK\r\n"]
    stream = b"".join(g + f for g, f in zip(garbage, FRAMES, strict=False))
    d = Deframer()
    assert feed_in_chunks(d, stream, 5) == FRAMES[: len(garbage)]
    assert d.discarded_bytes == sum(len(g) for g in garbage)


def test_magic_split_across_reads() -> None:
    d = Deframer()
    assert d.feed(b"xxM") == []
    assert d.buffered() == 1  # the "M" is kept: it may start a magic
    assert d.feed(FRAMES[0][1:]) == [FRAMES[0]]


def test_partial_frame_waits_for_the_rest() -> None:
    d = Deframer()
    assert d.feed(FRAMES[0][:20]) == []
    assert d.buffered() == 20
    assert d.feed(FRAMES[0][20:]) == [FRAMES[0]]


def test_bad_header_skips_one_byte_past_the_magic() -> None:
    bad = bytearray(FRAMES[0])
    bad[14] ^= 0xFF  # header check fails: the real frame after it must still be found
    d = Deframer()
    assert d.feed(bytes(bad) + FRAMES[1]) == [FRAMES[1]]
    assert d.discarded_bytes == len(bad)


def test_too_long_length_is_skipped_at_once() -> None:
    hdr = bytearray(b"MK\x01\x02\x00\x00\x00\x01\x00\x00\x00\x01\x04\x01\x00")  # length 1025
    hdr[14] = frame.crc8(hdr, 0, 14)
    d = Deframer()
    assert d.feed(bytes(hdr) + FRAMES[0]) == [FRAMES[0]]
    assert d.buffered() == 0


def tag_ok(raw: bytes) -> bool:
    try:
        frame.open_frame(KEY, raw)
    except BadTag:
        return False
    return True


def false_header(length: int) -> bytes:
    """Garbage that happens to be a valid header (right CRC) announcing `length` bytes."""
    hdr = bytearray(b"MK\x01\x02\x00\x00\x00\x09\x00\x00\x00\x01\x00\x00\x00")
    hdr[13] = length
    hdr[14] = frame.crc8(hdr, 0, 14)
    return bytes(hdr)


def test_false_header_swallows_frames_without_accept() -> None:
    d = Deframer()
    got = d.feed(false_header(40) + FRAMES[0] + FRAMES[1])
    assert got[0].startswith(false_header(40)) and FRAMES[0] not in got
    with pytest.raises(BadTag):
        frame.open_frame(KEY, got[0])


def test_false_header_with_valid_crc_is_recovered_with_accept() -> None:
    d = Deframer(accept=tag_ok)
    assert d.feed(false_header(40) + FRAMES[0] + FRAMES[1]) == [FRAMES[0], FRAMES[1]]
    assert d.discarded_bytes == 15 and d.buffered() == 0


def test_reject_rescans_a_false_frame_that_swallowed_a_whole_frame() -> None:
    # The false header's "body" ends in garbage after FRAMES[0]: reject() finds FRAMES[0]. (A
    # frame it covers only in part would be lost; accept= has no such gap.)
    garbage = b"\r\nOK\r\n" + bytes(12)
    d = Deframer()
    fh = false_header(55 + len(garbage) - 8)
    got = d.feed(fh + FRAMES[0] + garbage + FRAMES[1])
    assert len(got) == 2 and got[0].startswith(fh) and got[1] == FRAMES[1]
    assert d.reject(got[0]) == [FRAMES[0]]
    assert d.buffered() == 0


def test_buffer_stays_bounded() -> None:
    d = Deframer(max_payload=64)
    for _ in range(200):
        d.feed(b"\x00MK\x01garbage" * 50)
        assert d.buffered() <= d.max_buffer == 15 + 64 + 8
    big = frame.seal(KEY, frame.READINGS, 1, 1, bytes(65))
    assert d.feed(big) == []  # longer than this deframer's max_payload: skipped as garbage


def test_reset_drops_a_half_received_frame() -> None:
    d = Deframer()
    d.feed(FRAMES[0][:30])
    d.reset()
    assert d.buffered() == 0
    assert d.feed(FRAMES[1]) == [FRAMES[1]]
