"""CPython only: a table-driven CRC-8/SMBUS for the gateway's ingest hot path.

`protocol.frame.crc8` is the bitwise definition a board runs; the gateway checks thousands of
headers a second and the bitwise loop was the largest single cost on its event loop. Not in
the board manifest: the 256-byte table and its code would cost a board's heap for nothing.
"""

from __future__ import annotations


def _table() -> bytes:
    table = bytearray(256)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[byte] = crc
    return bytes(table)


_TABLE = _table()


def crc8(buf: bytes | bytearray | memoryview, start: int = 0, end: int | None = None) -> int:
    """Same result as protocol.frame.crc8, one table lookup per byte."""
    crc = 0
    table = _TABLE
    for byte in bytes(buf[start:end]):
        crc = table[crc ^ byte]
    return crc
