"""Fixtures for the service tests: config files on disk, an in-process Gateway on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config, load_config
from gateway.plugins.runner import Backoff
from gateway.registry import add_device
from gateway.service import Gateway
from gateway.store.db import Database
from gateway.store.keybox import KeyBox
from tests.support.ports import free_port

KEY = bytes(range(16))
DEVICE = 0x0000A1B2
CHANNELS = {0: {"name": "el1", "kind": "electric", "unit": "Wh"},
            1: {"name": "gas", "kind": "gas", "unit": "L"}}


def write_config(tmp: Path, *, port: int = 0, extra: str = "") -> Path:
    """A minimal valid gateway.toml in `tmp` (one site: LODI), plus `extra` TOML."""
    path = tmp / "gateway.toml"
    path.write_text(f"""
[gateway]
state_dir = "state"
db_path = "state/gateway.db"
secret_file = "state/secret"
status_interval_s = 0.5
log_level = "DEBUG"

[ingest]
host = "127.0.0.1"
port = {port or free_port()}
writer_linger_ms = 1

[sites.lodi]
municipality = "LODI"
gas_kwh_per_smc = 9.4227
{extra}
""")
    return path


async def register_board(config: Config, device: int = DEVICE, key: bytes = KEY) -> None:
    """Add a board to the config's database before the gateway starts."""
    db = await Database.open(config.gateway.db_path)
    try:
        box = KeyBox.load_or_create(config.gateway.secret_file)
        await db.write(lambda c: add_device(c, box, device, key, site="lodi", channels=CHANNELS))
    finally:
        await db.close()


@pytest.fixture
def running_gateway(tmp_path: Path) -> Callable[..., Any]:
    """`async with running_gateway(extra_toml, plugins={...}) as gw:` a real in-process Gateway."""
    started: list[tuple[Gateway, asyncio.Task[int]]] = []

    class _Running:
        def __init__(self, extra: str = "", plugins: dict[str, type] | None = None) -> None:
            self.extra = extra
            self.plugins = plugins or {}

        async def __aenter__(self) -> Gateway:
            path = write_config(tmp_path, extra=self.extra)
            config = load_config(path, plugins=self.plugins)
            await register_board(config)
            gw = Gateway(config, plugins=self.plugins,
                         plugin_backoff=Backoff(initial_s=0.02, maximum_s=0.1))
            task = asyncio.create_task(gw.run(), name="gateway-under-test")
            started.append((gw, task))
            async with asyncio.timeout(10):
                ready = asyncio.create_task(gw.ready.wait())
                await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    task.result()   # surface a start-up failure
            return gw

        async def __aexit__(self, *exc: object) -> None:
            gw, task = started.pop()
            gw.request_stop()
            async with asyncio.timeout(30):
                assert await task == 0

    return _Running
