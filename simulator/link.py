"""The cellular network between boards and the gateway, at the TCP level: latency, connection
loss and NAT idle timeouts, in virtual time (divided by the run's speed).

Boards connect to this proxy instead of the gateway. Each chunk is forwarded after a seeded
latency; a new connection fails with probability `loss` (as a PDP context or a TCP handshake
that never completes) and an established one is cut mid-exchange with the same probability per
uplink chunk; an idle connection is dropped silently after `nat_timeout_s` (the carrier's NAT
forgets it: the gateway side is closed, the board side just goes quiet). Outages of hours to
days are not here: the board's HAL refuses connections itself (`link down` in the sim feed).
The AT-command modem (`simulator/modem.py`) is the other, finer path for single-board tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field

from simulator.models.faults import LinkSpec
from simulator.models.noise import derive_seed, uniform

__all__ = ["LinkProxy", "LinkStats"]


@dataclass
class LinkStats:
    connections: int = 0
    refused: int = 0
    cut: int = 0
    nat_dropped: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass
class LinkProxy:
    target_port: int
    spec: LinkSpec
    speed: float
    seed: int = 0
    stats: LinkStats = field(default_factory=LinkStats)

    def __post_init__(self) -> None:
        self._seed = derive_seed(self.seed, "link")
        self._draws = itertools.count()
        self._server: asyncio.Server | None = None

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
        last = [time.monotonic()]
        up = asyncio.create_task(self._pump(br, gw, last, uplink=True))
        down = asyncio.create_task(self._pump(gr, bw, last, uplink=False))
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
                    *, uplink: bool) -> None:
        """Forward one direction until EOF, a reset, or a simulated loss (all end the pair)."""
        with contextlib.suppress(ConnectionError, OSError):
            await self._forward(r, w, last, uplink=uplink)

    async def _forward(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                       last: list[float], *, uplink: bool) -> None:
        lo, hi = self.spec.latency_ms
        while data := await r.read(4096):
            delay = (lo + (hi - lo) * self._u()) / 1000.0 / self.speed
            if delay > 0.0005:
                await asyncio.sleep(delay)
            if uplink and self.spec.loss and self._u() < self.spec.loss:
                self.stats.cut += 1
                return
            w.write(data)
            await w.drain()
            last[0] = time.monotonic()
            if uplink:
                self.stats.bytes_up += len(data)
            else:
                self.stats.bytes_down += len(data)

    def real_s(self, virtual_s: float) -> float:
        """Wall seconds for a network timer of `virtual_s`: scaled by the speed, but never
        below min(virtual_s, 2 s) — the gateway's commit and ACK take real milliseconds that
        do not shrink with the clock (the HAL's `io_ms` uses the same rule)."""
        return max(virtual_s / self.speed, min(virtual_s, 2.0))

    async def _nat(self, last: list[float]) -> None:
        if self.spec.nat_timeout_s <= 0:
            await asyncio.Event().wait()
        limit = self.real_s(self.spec.nat_timeout_s)
        while time.monotonic() - last[0] < limit:
            await asyncio.sleep(max(0.01, limit / 4))
