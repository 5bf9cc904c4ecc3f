"""The dependency-free PNG chart: a valid PNG whose pixels show bars, limit and window."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

from gateway.alerts.chart import bar_chart
from tests.gateway.alerts.helpers import utc


def decode(png: bytes) -> tuple[int, int, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + data)
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert (depth, colour) == (8, 2)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def pixel(raw: bytes, width: int, x: int, y: int) -> tuple[int, int, int]:
    i = y * (width * 3 + 1) + 1 + x * 3      # each row starts with its filter byte (0)
    return raw[i], raw[i + 1], raw[i + 2]


def test_bars_limit_and_window() -> None:
    start = utc(2026, 11, 22, 12)
    end = start + timedelta(hours=48)
    points = [(start + timedelta(minutes=15 * i), 900, 4.0 if 96 <= i < 104 else 1.0)
              for i in range(192)]
    png = bar_chart(points, start=start, end=end, unit="kW", limit=3.0,
                    window=(start + timedelta(hours=24), start + timedelta(hours=26)))
    width, height, raw = decode(png)
    assert (width, height) == (600, 240)
    # Plot area x 48..590, y 16..216; scale 0..5 kW (4.0 x 1.1 rounded up to 5).
    # Limit 3 kW at y = 216 - 3/5 x 200 = 96; the first dash spans x 48..52 (the axis
    # line covers x = 48).
    assert pixel(raw, width, 50, 96) == (200, 30, 30)
    # 1 kW bars reach y = 216 - 40 = 176; at 24 h (x = 48 + 271 = 319) the 4 kW bars
    # reach y = 216 - 160 = 56, inside the pink window that spans x 319..342.
    assert pixel(raw, width, 60, 200) == (46, 110, 180)
    assert pixel(raw, width, 60, 150) == (255, 255, 255)
    assert pixel(raw, width, 320, 60) == (46, 110, 180)
    assert pixel(raw, width, 330, 30) == (252, 220, 220)
