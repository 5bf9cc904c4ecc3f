"""A scripted fake board for tests: real TCP, frames from the protocol encoder, ACKs decoded."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from protocol import codec
from protocol.stream import Deframer

__all__ = ["Board", "hello", "readings", "status"]

T0 = 1_790_000_100 - (1_790_000_100 % 3600)  # an hour boundary in 2026


def hello(device_id: int, counter: int) -> dict[str, Any]:
    return {"type": "hello", "device_id": device_id, "counter": counter, "fw": [1, 2, 3],
            "config_hash": 0xDEADBEEF, "reset_cause": "power_on", "time": T0,
            "time_synced": False}


def readings(device_id: int, counter: int, *, channel: int = 0, n: int = 4,
             base: int = 1000, start: int | None = None, unit: str = "Wh") -> dict[str, Any]:
    """n 15-min intervals of one channel; `start` defaults to a slot derived from the counter."""
    if start is None:
        start = T0 + counter * n * 900
    return {"type": "readings", "device_id": device_id, "counter": counter, "blocks": [{
        "channel": channel, "unit": unit, "interval_s": 900, "start": start,
        "registers": [base + counter * 100 + i for i in range(n)], "flags": [0] * n}]}


def status(device_id: int, counter: int, *, queue_depth: int = 0) -> dict[str, Any]:
    return {"type": "status", "device_id": device_id, "counter": counter, "time": T0,
            "supply_mv": 5000, "battery_mv": 3900, "csq": 17, "temp_dc": 215,
            "uptime_s": 60, "free_heap": 50000, "queue_depth": queue_depth,
            "queue_dropped": 0, "boot_count": 3}


class Board:
    """One device's TCP session: `send` frames, `wait_acked(n)` for an ACK covering n."""

    def __init__(self, device_id: int, key: bytes, port: int, host: str = "127.0.0.1") -> None:
        self.device_id = device_id
        self.key = key
        self.port = port
        self.host = host
        self.acks: list[dict[str, Any]] = []
        self.acked = -1
        self._deframer = Deframer()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._rx: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.closed = asyncio.Event()

    def frame(self, msg: dict[str, Any]) -> bytes:
        return codec.encode(msg, self.key)

    async def __aenter__(self) -> Board:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._rx = asyncio.create_task(self._receive())

    async def _receive(self) -> None:
        assert self._reader is not None
        try:
            while data := await self._reader.read(4096):
                for raw in self._deframer.feed(data):
                    ack = codec.decode(raw, self.key)
                    self.acks.append(ack)
                    self.acked = max(self.acked, ack["acked"])
                    self._changed.set()
        except ConnectionError:
            pass
        finally:
            self.closed.set()
            self._changed.set()

    async def send(self, data: bytes | dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer.write(self.frame(data) if isinstance(data, dict) else data)
        await self._writer.drain()

    async def wait_acked(self, counter: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.acked < counter:
                if self.closed.is_set():
                    raise ConnectionError(f"closed before ack {counter} (acked {self.acked})")
                self._changed.clear()
                await self._changed.wait()

    async def wait_closed(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.closed.wait(), timeout)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._rx is not None:
            await asyncio.wait_for(self._rx, 5)
