"""A small PNG bar chart of the last hours of a channel, drawn without any dependency.

Bars are interval power; a red line is the limit; a pink band is the alert window; the axes
carry the scale and local times (a built-in 5×7 pixel font). The PNG is written with zlib
and struct only, so the gateway needs no plotting library.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway.normalise.localtime import to_local

__all__ = ["Canvas", "bar_chart", "png_bytes"]

RGB = tuple[int, int, int]
WHITE, GRID, AXIS = (255, 255, 255), (225, 225, 225), (90, 90, 90)
BAR, LIMIT, WINDOW = (46, 110, 180), (200, 30, 30), (252, 220, 220)

_GLYPHS = {
    "0": "01110100011001110101110011000101110", "1": "00100011000010000100001000010001110",
    "2": "01110100010000100010001000100011111", "3": "11111000100010000010000011000101110",
    "4": "00010001100101010010111110001000010", "5": "11111100001111000001000011000101110",
    "6": "00110010001000011110100011000101110", "7": "11111000010001000100010000100001000",
    "8": "01110100011000101110100011000101110", "9": "01110100011000101111000010001001100",
    ":": "00000011000110000000011000110000000", ".": "00000000000000000000000000110001100",
    ",": "00000000000000000000011000010001000", "/": "00000000010001000100010001000000000",
    "-": "00000000000000011111000000000000000", " ": "0" * 35,
    "k": "10000100001001010100110001010010010", "W": "10001100011000110101101011010101010",
    "h": "10000100001011011001100011000110001", "S": "01111100001000001110000010000111110",
    "m": "00000000001101010101101011000110001", "c": "00000000000111010000100001000101110",
    "C": "01110100011000010000100001000101110", "E": "11111100001000011110100001000011111",
    "T": "11111001000010000100001000010000100", "%": "11000110010001000100010001001100011",
    "³": "11100001000110000100111000000000000",
}


class Canvas:
    """An RGB raster with the few drawing primitives the chart needs."""

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.px = bytearray(b"\xff" * (width * height * 3))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        """Fill [x0, x1) × [y0, y1), clipped."""
        x0, x1 = max(0, min(x0, x1)), min(self.w, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.h, max(y0, y1))
        if x0 >= x1:
            return
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            i = (y * self.w + x0) * 3
            self.px[i:i + len(row)] = row

    def text(self, x: int, y: int, s: str, color: RGB = AXIS) -> None:
        for ch in s:
            bits = _GLYPHS.get(ch)
            if bits is not None:
                for i, b in enumerate(bits):
                    if b == "1":
                        self.rect(x + i % 5, y + i // 5, x + i % 5 + 1, y + i // 5 + 1, color)
            x += 6


def png_bytes(c: Canvas) -> bytes:
    """Encode the canvas as an 8-bit RGB PNG."""
    stride = c.w * 3
    raw = b"".join(b"\x00" + bytes(c.px[y * stride:(y + 1) * stride]) for y in range(c.h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", c.w, c.h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _nice(x: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above x."""
    if x <= 0:
        return 1.0
    p = 10 ** len(str(int(x))) / 10 if x >= 1 else 1.0
    while p > x:
        p /= 10
    for m in (1, 2, 5, 10):
        if m * p >= x:
            return m * p
    return 10 * p


def _fmt(v: float) -> str:
    return f"{v:g}" if v >= 10 or v == int(v) else f"{v:.1f}"


def bar_chart(points: Sequence[tuple[datetime, int, float]], *, start: datetime, end: datetime,
              unit: str, limit: float | None = None,
              window: tuple[datetime, datetime] | None = None,
              width: int = 600, height: int = 240) -> bytes:
    """PNG of (interval start, length_s, power) bars over [start, end)."""
    c = Canvas(width, height)
    left, right, top, bottom = 48, width - 10, 16, height - 24
    span = (end - start).total_seconds() or 1.0
    top_value = _nice(max([p[2] for p in points] + [limit or 0.0, 0.0]) * 1.1)

    def x_of(t: datetime) -> int:
        return left + round((t - start).total_seconds() / span * (right - left))

    def y_of(v: float) -> int:
        return bottom - round(max(0.0, min(v, top_value)) / top_value * (bottom - top))
    if window is not None:
        c.rect(x_of(max(window[0], start)), top, x_of(min(window[1], end)), bottom, WINDOW)
    for i in range(5):  # horizontal grid and scale
        v = top_value * i / 4
        c.rect(left, y_of(v), right, y_of(v) + 1, GRID)
        c.text(2, y_of(v) - 3, _fmt(v)[:7])
    c.text(2, 2, unit)
    for t0, length, v in points:
        x0, x1 = x_of(t0), x_of(t0 + timedelta(seconds=length))
        c.rect(x0, y_of(v), max(x1 - (1 if x1 - x0 > 2 else 0), x0 + 1), bottom, BAR)
    if limit is not None:
        y = y_of(limit)
        for x in range(left, right, 8):
            c.rect(x, y, min(x + 5, right), y + 2, LIMIT)
    c.rect(left, bottom, right, bottom + 1, AXIS)
    c.rect(left, top, left + 1, bottom, AXIS)
    tick = to_local(start).replace(minute=0, second=0, microsecond=0)
    while tick < to_local(end):  # a label every 6 local hours
        if tick >= to_local(start) and tick.hour % 6 == 0:
            x = x_of(tick)
            c.rect(x, bottom, x + 1, bottom + 4, AXIS)
            label = tick.strftime("%d/%m") if tick.hour == 0 else tick.strftime("%H:%M")
            c.text(x - 14, bottom + 8, label)
        tick = to_local(tick + timedelta(hours=1))
    return png_bytes(c)
