"""Frame layer: header, CRC-8 header check, nonce, seal/open, in-place variants (CPython side)."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from protocol import crypto, frame
from protocol.errors import (
    BadHeaderCheck,
    BadMagic,
    BadTag,
    BadType,
    BadVersion,
    ProtocolError,
    TooLong,
    Truncated,
)

KEY = bytes(range(16))
# Header of the READINGS worked example in PROTOCOL.md (generated independently, see
# protocol/vectors/generate.py): device 00a1b2c3, counter 42, 32 payload bytes, CRC 38.
EXAMPLE_HEADER = bytes.fromhex("4d4b010200a1b2c30000002a002038")


def test_crc8_is_crc8_smbus() -> None:
    # Check value of CRC-8/SMBUS (poly 0x07, init 0, no reflection) from the CRC catalogue.
    assert frame.crc8(b"123456789") == 0xF4
    assert frame.crc8(b"") == 0
    assert frame.crc8(b"\x01") == 0x07


def test_constants_match_adr_001() -> None:
    assert (frame.MAGIC, frame.VERSION, frame.HEADER_LEN, frame.TAG_LEN) == (b"MK", 1, 15, 8)
    assert frame.MAX_PAYLOAD == 1024 and frame.MAX_FRAME == 15 + 1024 + 8
    assert (frame.HELLO, frame.READINGS, frame.STATUS, frame.EVENT) == (1, 2, 3, 4)
    assert (frame.ACK, frame.COMMAND, frame.COMMAND_RESULT) == (5, 6, 7)


def test_parse_header_of_the_worked_example() -> None:
    h = frame.parse_header(EXAMPLE_HEADER)
    assert (h.ftype, h.downlink, h.device_id, h.counter, h.length) == (2, False, 0xA1B2C3, 42, 32)
    assert h.total_len == 15 + 32 + 8
    assert "readings" in repr(h) and "00a1b2c3" in repr(h)


def test_write_header_reproduces_the_worked_example() -> None:
    buf = bytearray(15)
    frame.write_header(buf, frame.READINGS, 0xA1B2C3, 42, 32)
    assert bytes(buf) == EXAMPLE_HEADER


def header_with(**changes: int) -> bytes:
    """The example header with some bytes replaced and the CRC recomputed by hand."""
    b = bytearray(EXAMPLE_HEADER)
    for k, v in changes.items():
        b[int(k[1:])] = v
    b[14] = frame.crc8(b, 0, 14)
    return bytes(b)


@pytest.mark.parametrize(
    ("raw", "error", "words"),
    [
        (EXAMPLE_HEADER[:14], Truncated, "15 bytes"),
        (b"MX" + EXAMPLE_HEADER[2:], BadMagic, "4d 58"),
        (header_with(b2=2), BadVersion, "version"),
        (EXAMPLE_HEADER[:14] + b"\x00", BadHeaderCheck, "CRC-8"),
        (header_with(b3=0x00), BadType, "not 1..7"),
        (header_with(b3=0x09), BadType, "not 1..7"),
        (header_with(b3=0x22), BadType, "reserved"),
        (header_with(b3=0x82), BadType, "downlink bit clear"),
        (header_with(b3=0x05), BadType, "downlink bit set"),
        (header_with(b12=0x04, b13=0x01), TooLong, "1025"),
    ],
)
def test_parse_header_errors_name_the_field(raw: bytes, error: type, words: str) -> None:
    with pytest.raises(error) as e:
        frame.parse_header(raw)
    assert isinstance(e.value, ProtocolError)
    assert words in e.value.detail
    assert str(e.value).startswith(e.value.reason + ": ")


def test_seal_equals_an_independent_aesccm_frame() -> None:
    pt = b"\x01payload"
    raw = frame.seal(KEY, frame.EVENT, 0x01020304, 0x0A0B0C0D, pt)
    header = b"MK" + struct.pack(">BBIIH", 1, 4, 0x01020304, 0x0A0B0C0D, len(pt))
    header += bytes([frame.crc8(header)])
    nonce = b"\x00" + bytes.fromhex("01020304") + bytes.fromhex("0a0b0c0d") + bytes(4)
    assert raw == header + AESCCM(KEY, tag_length=8).encrypt(nonce, pt, header)


def test_downlink_nonce_and_header_bit() -> None:
    raw = frame.seal(KEY, frame.ACK, 7, 9, b"", downlink=True)
    assert raw[3] == 0x85
    assert bytes(frame.nonce_for(True, 7, 9)) == bytes.fromhex("01000000070000000900000000")
    h, pt = frame.open_frame(KEY, raw)
    assert (h.downlink, h.ftype, pt) == (True, frame.ACK, b"")


def test_open_frame_round_trip_and_length_errors() -> None:
    raw = frame.seal(KEY, frame.STATUS, 1, 2, b"abc")
    h, pt = frame.open_frame(KEY, raw)
    assert (h.counter, pt) == (2, b"abc")
    with pytest.raises(Truncated):
        frame.open_frame(KEY, raw[:-1])
    with pytest.raises(TooLong):
        frame.open_frame(KEY, raw + b"\x00")
    with pytest.raises(BadTag):
        frame.open_frame(bytes(16), raw)


def test_seal_into_and_open_into_work_in_one_buffer() -> None:
    cipher = crypto.Cipher(KEY)
    buf = bytearray(frame.MAX_FRAME)
    buf[15:18] = b"xyz"
    nonce_buf = bytearray(13)
    n = frame.seal_into(cipher, buf, frame.HELLO, 5, 6, 3, False, nonce_buf)
    assert bytes(buf[:n]) == frame.seal(KEY, frame.HELLO, 5, 6, b"xyz")
    h = frame.open_into(cipher, buf, n, nonce_buf)
    assert bytes(buf[15 : 15 + h.length]) == b"xyz"


@pytest.mark.parametrize(
    "args",
    [
        (0, 1, 1, 0, False),
        (8, 1, 1, 0, False),
        (frame.ACK, 1, 1, 0, False),
        (frame.READINGS, 1, 1, 0, True),
        (frame.READINGS, -1, 1, 0, False),
        (frame.READINGS, 1, 2**32, 0, False),
        (frame.READINGS, 1, 1, 1025, False),
    ],
)
def test_write_header_refuses_what_the_wire_cannot_carry(args: tuple) -> None:
    with pytest.raises(ValueError):
        frame.write_header(bytearray(15), *args)


def test_seal_refuses_an_oversized_payload() -> None:
    with pytest.raises(ValueError, match="1025"):
        frame.seal(KEY, frame.READINGS, 1, 1, bytes(1025))


def test_cpython_table_crc8_equals_the_bitwise_definition():
    import random

    from protocol import fastcrc, frame

    assert frame.crc8 is fastcrc.crc8  # CPython takes the table-driven one
    # CRC-8/SMBUS check value of "123456789" (catalogue of CRC parameters) is 0xF4
    assert fastcrc.crc8(b"123456789") == 0xF4
    rng = random.Random(8)
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        crc = 0
        for b in data:  # the bitwise definition, written out here independently
            crc ^= b
            for _ in range(8):
                crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        assert fastcrc.crc8(data) == crc
        assert fastcrc.crc8(b"xx" + data + b"yy", 2, 2 + len(data)) == crc
