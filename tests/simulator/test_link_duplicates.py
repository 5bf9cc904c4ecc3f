"""The duplicate-delivery fault: a copy due while the board is mid-frame waits for the frame
boundary and is then sent, once (frames built by the real protocol encoder)."""

from __future__ import annotations

from typing import Any

from protocol import codec
from simulator.link import LinkProxy, _Conn
from simulator.models.faults import LinkSpec

KEY = bytes(range(16))
DEV = 0x5C0000E1


class Wire:
    """What the proxy writes towards the gateway."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))


def readings(counter: int) -> bytes:
    return codec.encode({"type": "readings", "device_id": DEV, "counter": counter, "blocks": [
        {"channel": 0, "unit": "Wh", "interval_s": 900, "start": 1767225600 + 900 * counter,
         "registers": [1000 + counter], "flags": [0]}]}, KEY)


def ack(acked: int) -> bytes:
    return codec.encode({"type": "ack", "device_id": DEV, "counter": acked, "acked": acked,
                         "server_time": 1767225600, "commands": []}, KEY)


def test_a_copy_due_mid_frame_is_sent_at_the_next_frame_boundary() -> None:
    proxy = LinkProxy(0, LinkSpec(), 1.0, key=KEY, clock=lambda: 100.0, duplicate_at=[50.0])
    wire = Wire()
    conn: Any = _Conn(gw=wire)  # type: ignore[arg-type]
    first, second = readings(1), readings(2)
    proxy._watch_up(conn, first)
    proxy._watch_up(conn, second[:10])       # the board is in the middle of frame 2
    proxy._watch_down(conn, ack(1))          # the copy of frame 1 is due now: it must wait
    assert (wire.sent, proxy.stats.duplicated) == ([], 0)
    proxy._watch_up(conn, second[10:])       # frame boundary
    assert (wire.sent, proxy.stats.duplicated) == ([first], 1)
    proxy._watch_down(conn, ack(2))          # the one planned copy was used: no other
    assert proxy.stats.duplicated == 1 and proxy.duplicate_at == []
