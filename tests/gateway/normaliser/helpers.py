"""A real ingest stack (TCP, writer, SQLite file) with a normaliser on the same database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import Config, load_config
from gateway.normaliser import Normaliser
from gateway.registry import add_device
from tests.gateway.ingest.board import Board
from tests.gateway.ingest.conftest import Stack, make_devices, start_stack
from tests.gateway.service.conftest import write_config

MQTT = '[mqtt]\nhost = "127.0.0.1"\nport = 1\nprefix = "meterkit"\n'


@dataclass
class Env:
    stack: Stack
    config: Config
    normaliser: Normaliser
    did: int
    key: bytes

    @property
    def dev(self) -> str:
        return f"{self.did:08x}"

    async def send(self, *msgs: dict[str, Any]) -> None:
        """Send frames over real TCP and wait until all are committed and acknowledged."""
        async with Board(self.did, self.key, self.stack.port) as b:
            for m in msgs:
                await b.send(m)
            await b.wait_acked(max(m["counter"] for m in msgs))

    async def drain(self) -> None:
        while await self.normaliser.step():
            pass

    async def series(self, channel: str) -> list[tuple[int, int, float, list[str]]]:
        """(interval_start, interval_s, value, flag names) of a channel's series rows."""
        from gateway.store.series import decode_flags
        rows = await self.stack.rows(
            "SELECT interval_start, interval_s, value, flags FROM series WHERE channel = ? "
            "ORDER BY interval_start", channel)
        return [(s, n, v, sorted(decode_flags(f))) for s, n, v, f in rows]

    async def outbox_ids(self) -> list[str]:
        return [r[0] for r in await self.stack.rows("SELECT msg_id FROM outbox ORDER BY id")]

    async def set_channels_raw(self, channels: dict[str, Any]) -> None:
        """Write a channel map bypassing validation (a registry row from an older release)."""
        await self.stack.db.write(lambda c: c.execute(
            "UPDATE devices SET channels = ? WHERE device_id = ?",
            (json.dumps(channels), self.dev)))


def block(channel: int, unit: str, interval_s: int, start: int,
          registers: list[int]) -> dict[str, Any]:
    return {"channel": channel, "unit": unit, "interval_s": interval_s, "start": start,
            "registers": registers, "flags": [0] * len(registers)}


def frame(did: int, counter: int, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "readings", "device_id": did, "counter": counter, "blocks": list(blocks)}


@asynccontextmanager
async def running(tmp: Path, channels: dict[Any, Any]) -> AsyncIterator[Env]:
    devices = make_devices(1)
    (did, key), = devices.items()
    stack = await start_stack(tmp, devices, register=False)
    await stack.db.write(lambda c: add_device(c, stack.box, did, key, site="lodi",
                                              channels=channels))
    config = load_config(write_config(tmp, extra=MQTT), plugins={})
    normaliser = Normaliser(stack.db, config, committed=stack.writer.committed)
    try:
        yield Env(stack, config, normaliser, did, key)
    finally:
        await stack.stop()
