"""Fixtures: a hand-driven clock, and the real gateway in-process with the Modbus plugin enabled.

The gateway is the production one (SQLite file, writer, normaliser, plugin host); only the
plugin's clock is replaced, so a quarter of an hour passes when the test says so. Nothing is
registered by hand: the plugin registers its devices at start, as in production.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from gateway.modbus.plugin import ModbusPlugin
from gateway.plugins.runner import Backoff as HostBackoff
from gateway.service import Gateway
from tests.support.ports import free_port

QUARTER = 900


class ManualClock:
    """now() only moves when the test calls advance_to(); sleepers wake then, in deadline order."""

    def __init__(self, start: float) -> None:
        self.t = float(start)
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Condition()

    def now(self) -> float:
        return self.t

    async def sleep_until(self, when: float) -> None:
        if when <= self.t:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((when, fut))
        async with self._changed:
            self._changed.notify_all()
        try:
            await fut
        finally:
            self._sleepers = [(w, f) for w, f in self._sleepers if f is not fut]

    async def settle(self, sleepers: int, timeout: float = 10.0) -> None:
        """Wait until `sleepers` loops sleep past now(): every woken loop finished its work."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: sum(
                1 for w, f in self._sleepers if w > self.t and not f.done()) >= sleepers)

    async def advance_to(self, when: float, *, sleepers: int) -> None:
        self.t = float(when)
        for w, f in list(self._sleepers):
            if w <= when and not f.done():
                f.set_result(None)
        await asyncio.sleep(0)
        await self.settle(sleepers)


def quarter_start() -> int:
    """A quarter-hour boundary near real time (so nothing counts as backfill)."""
    return int(datetime.now(UTC).timestamp()) // QUARTER * QUARTER


GATEWAY_TOML = """
[gateway]
state_dir = "state"
db_path = "state/gateway.db"
secret_file = "state/secret"
status_interval_s = 0.5

[ingest]
host = "127.0.0.1"
port = {port}
writer_linger_ms = 1

[sites.lodi]
municipality = "LODI"
gas_kwh_per_smc = 9.4227

# No broker listens on port 1: messages wait in the outbox, where the tests look at them.
[mqtt]
host = "127.0.0.1"
port = 1
reconnect_min_s = 0.1
reconnect_max_s = 0.5

{plugin}
"""


class Running:
    """A started gateway, its database and the plugin instance."""

    def __init__(self, gw: Gateway, clock: ManualClock) -> None:
        self.gw = gw
        self.clock = clock
        assert gw.host is not None and gw.db is not None
        self.db = gw.db
        self.plugin: ModbusPlugin = gw.host.runners["modbus"].plugin

    async def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        return await self.db.read(run)

    async def wait_for(self, sql: str, *args: Any, rows: int, timeout: float = 10.0
                       ) -> list[tuple[Any, ...]]:
        """Poll until the query returns `rows` rows (the normaliser runs in its own task)."""
        async with asyncio.timeout(timeout):
            while len(got := await self.query(sql, *args)) < rows:
                await asyncio.sleep(0.02)
        return got


@pytest.fixture
def modbus_gateway(tmp_path: Path) -> Callable[..., Any]:
    """``async with modbus_gateway(plugin_toml, clock, sleepers=n) as run:``."""

    @asynccontextmanager
    async def start(plugin_toml: str, clock: ManualClock, *, sleepers: int,
                    seed: int = 1) -> AsyncIterator[Running]:
        path = tmp_path / "gateway.toml"
        path.write_text(GATEWAY_TOML.format(port=free_port(), plugin=plugin_toml))

        class ClockedModbus(ModbusPlugin):
            def __init__(self, config: dict[str, Any], context: Any) -> None:
                super().__init__(config, context, clock=clock, rng=random.Random(seed))

        plugins = {"modbus": ClockedModbus}
        config = load_config(path, plugins=plugins)
        gw = Gateway(config, plugins=plugins,
                     plugin_backoff=HostBackoff(initial_s=0.02, maximum_s=0.1))
        task = asyncio.create_task(gw.run(), name="gateway-under-test")
        try:
            async with asyncio.timeout(10):
                ready = asyncio.create_task(gw.ready.wait())
                await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    task.result()
            await clock.settle(sleepers)
            yield Running(gw, clock)
        finally:
            gw.request_stop()
            async with asyncio.timeout(30):
                assert await task == 0

    return start
