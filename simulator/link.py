"""The cellular network between one board and the gateway, at the TCP level: latency,
connection loss, NAT idle timeouts and duplicate delivery, in virtual time (divided by speed).

Each board connects to its own proxy instead of the gateway (directly, or through its
simulated AT modem, simulator/modem.py). Each chunk is forwarded after a seeded latency; a new
connection fails with probability `loss` (as a PDP context or a TCP handshake that never
completes) and an established one is cut mid-exchange with the same probability per uplink
chunk; an idle connection is dropped silently after `nat_timeout_s` (the carrier's NAT forgets
it: the gateway side is closed, the board side just goes quiet). Duplicate delivery: at the
board times listed in `duplicate_at`, the next ACK that passes makes the proxy send the latest
uplink READINGS frame that ACK covers to the gateway again, byte for byte, at a frame boundary
(a retransmission the network made on its own: the gateway must count a duplicate and store
nothing new). Outages of hours to days are not here: the board's HAL refuses connections
itself (`link down` in the sim feed), or the modem loses its registration.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol import codec
from protocol.errors import ProtocolError
from protocol.stream import Deframer
from simulator.models.faults import LinkSpec
from simulator.models.noise import derive_seed, uniform

__all__ = ["LinkProxy", "LinkStats"]

_READINGS = 2    # frame types (header byte 3, low nibble; counter at bytes 8..12)
_ACK = 5
_KEEP = 64       # READINGS frames remembered per connection (candidates for a duplicate)


@dataclass
class LinkStats:
    connections: int = 0
    refused: int = 0
    cut: int = 0
    nat_dropped: int = 0
    duplicated: int = 0               # frames delivered a second time (planned duplicates)
    bytes_up: int = 0
    bytes_down: int = 0

    def add(self, other: LinkStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Conn:
    """One proxied TCP connection: what went up (by counter) and whether it is mid-frame."""

    gw: asyncio.StreamWriter
    up: Deframer = field(default_factory=Deframer)
    down: Deframer = field(default_factory=Deframer)
    readings: dict[int, bytes] = field(default_factory=dict)  # counter -> raw frame sent
    pending: bytes | None = None      # a duplicate waiting for the uplink's frame boundary


@dataclass
class LinkProxy:
    target_port: int
    spec: LinkSpec
    speed: float
    seed: int = 0
    key: bytes | None = None          # the board's key: opens ACKs (duplicates need it)
    clock: Callable[[], float] | None = None  # the board's virtual time
    duplicate_at: list[float] = field(default_factory=list)  # board times, ascending
    stats: LinkStats = field(default_factory=LinkStats)

    def __post_init__(self) -> None:
        self._seed = derive_seed(self.seed, "link")
        self._draws = itertools.count()
        self._server: asyncio.Server | None = None
        self.duplicate_at = sorted(self.duplicate_at)

    def _u(self) -> float:
        return uniform(self._seed, next(self._draws))

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _client(self, br: asyncio.StreamReader, bw: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if self.spec.loss and self._u() < self.spec.loss:
            self.stats.refused += 1
            bw.transport.abort()
            return
        try:
            gr, gw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # gateway down (a crash fault): the board sees the connection drop
            bw.transport.abort()
            return
        conn = _Conn(gw)
        last = [time.monotonic()]
        up = asyncio.create_task(self._pump(br, gw, last, conn, uplink=True))
        down = asyncio.create_task(self._pump(gr, bw, last, conn, uplink=False))
        nat = asyncio.create_task(self._nat(last))
        done, pending = await asyncio.wait({up, down, nat}, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await t
        gw.transport.abort()
        if nat in done:
            self.stats.nat_dropped += 1  # the board's side stays open but silent
            await asyncio.sleep(self.real_s(self.spec.nat_timeout_s))
        bw.transport.abort()

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, last: list[float],
                    conn: _Conn, *, uplink: bool) -> None:
        """Forward one direction until EOF, a reset, or a simulated loss (all end the pair)."""
        with contextlib.suppress(ConnectionError, OSError):
            await self._forward(r, w, last, conn, uplink=uplink)

    async def _forward(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                       last: list[float], conn: _Conn, *, uplink: bool) -> None:
        lo, hi = self.spec.latency_ms
        while data := await r.read(4096):
            delay = (lo + (hi - lo) * self._u()) / 1000.0 / self.speed
            if delay > 0.0005:
                await asyncio.sleep(delay)
            if uplink and self.spec.loss and self._u() < self.spec.loss:
                self.stats.cut += 1
                return
            w.write(data)
            last[0] = time.monotonic()
            if uplink:
                self.stats.bytes_up += len(data)
                self._watch_up(conn, data)
            else:
                self.stats.bytes_down += len(data)
                self._watch_down(conn, data)
            await w.drain()

    # -- duplicate delivery -----------------------------------------------------------------------
    def _watch_up(self, conn: _Conn, data: bytes) -> None:
        """Remember the READINGS frames written to the gateway; play a waiting duplicate once
        the uplink stands at a frame boundary (never inside a frame the board is sending)."""
        if not self.duplicate_at:
            return
        for raw in conn.up.feed(data):
            if raw[3] & 0x0F == _READINGS:
                conn.readings[int.from_bytes(raw[8:12], "big")] = bytes(raw)
                if len(conn.readings) > _KEEP:
                    del conn.readings[min(conn.readings)]
        if conn.pending is not None and conn.up.buffered() == 0:
            self._send_duplicate(conn, conn.pending)

    def _watch_down(self, conn: _Conn, data: bytes) -> None:
        """At an ACK, when a duplicate is due: the newest READINGS frame it covers goes again."""
        if not self.duplicate_at or self.key is None or self.clock is None:
            return
        for raw in conn.down.feed(data):
            if raw[3] & 0x0F != _ACK or self.clock() < self.duplicate_at[0]:
                continue
            try:
                acked = int(codec.decode(raw, self.key)["acked"])
            except (ProtocolError, KeyError, ValueError):
                continue  # not this board's ACK: nothing to duplicate
            covered = [c for c in conn.readings if c <= acked]
            if not covered or conn.pending is not None:
                continue
            dup = conn.readings[max(covered)]
            # the planned time is used up when the copy is sent: a copy still waiting for a
            # frame boundary when the connection closes goes at a later ACK instead
            if conn.up.buffered() == 0:
                self._send_duplicate(conn, dup)
            else:
                conn.pending = dup

    def _send_duplicate(self, conn: _Conn, raw: bytes) -> None:
        conn.pending = None
        if self.duplicate_at:
            self.duplicate_at.pop(0)
        conn.gw.write(raw)
        self.stats.duplicated += 1

    def real_s(self, virtual_s: float) -> float:
        """Wall seconds for a network timer of `virtual_s`: scaled by the speed, but never
        below min(virtual_s, 2 s) — the gateway's commit and ACK take real milliseconds that
        do not shrink with the clock (the HAL's `io_ms` uses the same rule)."""
        return max(virtual_s / self.speed, min(virtual_s, 2.0))

    def nat_real_s(self) -> float:
        """Wall seconds of NAT idle time before a session is forgotten: scaled by the speed,
        never below min(nat_timeout_s, 0.5 s). The floor only has to outlast one exchange
        (the gateway commits and ACKs in tens of ms): at 2 s, as for the other timers, an
        accelerated board is never idle that long and no session would ever be forgotten."""
        return max(self.spec.nat_timeout_s / self.speed, min(self.spec.nat_timeout_s, 0.5))

    async def _nat(self, last: list[float]) -> None:
        if self.spec.nat_timeout_s <= 0:
            await asyncio.Event().wait()
        limit = self.nat_real_s()
        while time.monotonic() - last[0] < limit:
            await asyncio.sleep(max(0.01, limit / 4))

