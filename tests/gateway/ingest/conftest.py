"""Fixtures: a real ingest stack (SQLite file, writer, TCP server) with registered boards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.ingest.keys import KeyCache
from gateway.ingest.limits import IngestLimits
from gateway.ingest.server import IngestServer
from gateway.registry import add_device
from gateway.store.db import Database
from gateway.store.keybox import KeyBox
from gateway.writer import Writer

CHANNELS = {0: {"name": "el1", "kind": "electric", "unit": "Wh"},
            1: {"name": "gas", "kind": "gas", "unit": "L"}}
CLOCK = 1_790_000_000


@dataclass
class Stack:
    """A running ingest stack on real files; the clock is a settable number for ACK checks."""

    path: Path
    box: KeyBox
    db: Database
    writer: Writer
    keys: KeyCache
    server: IngestServer
    writer_task: asyncio.Task[None]
    devices: dict[int, bytes]
    now: list[float]

    @property
    def port(self) -> int:
        return self.server.port

    async def count(self, sql: str, *args: Any) -> int:
        return await self.db.read(lambda c: c.execute(sql, args).fetchone()[0])

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return await self.db.read(lambda c: [tuple(r) for r in c.execute(sql, args)])

    async def stop(self) -> None:
        await self.server.close()
        await self.writer.close()
        await self.writer_task
        await self.db.close()


async def start_stack(tmp: Path, devices: dict[int, bytes], *, limits: IngestLimits | None = None,
                      register: bool = True, **writer_opts: Any) -> Stack:
    box = KeyBox.load_or_create(tmp / "secret")
    db = await Database.open(tmp / "gateway.db")
    if register:
        def add_all(conn: Any) -> None:
            for did, key in devices.items():
                add_device(conn, box, did, key, site="test-site", channels=CHANNELS)
        await db.write(add_all)
    now = [float(CLOCK)]

    def clock() -> float:
        return now[0]

    writer = Writer(db, clock=clock, **writer_opts)
    keys = KeyCache(db, box)
    await keys.load()
    server = IngestServer(writer, keys, host="127.0.0.1", port=0,
                          limits=limits or IngestLimits(), clock=clock)
    task = asyncio.create_task(writer.run(), name="writer")
    await server.start()
    return Stack(tmp / "gateway.db", box, db, writer, keys, server, task, dict(devices), now)


def make_devices(n: int, first: int = 0x0000A100) -> dict[int, bytes]:
    return {first + i: os.urandom(16) for i in range(n)}


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    s = await start_stack(tmp_path, make_devices(4))
    try:
        yield s
    finally:
        await s.stop()
