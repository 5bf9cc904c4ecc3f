"""Plugins cannot hold up ingest: failing, slow and crashing plugins next to boards over real TCP.

The whole gateway runs in-process (real SQLite file, real TCP ingest, writer, normaliser,
plugin host); a board sends frames and measures how long each ACK takes while the plugins
misbehave. Errors, timeouts, drops and run() restarts are counted per plugin.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from gateway.model import PluginResult, ReadingBatch
from gateway.plugins.hookspecs import PluginContext, PluginError
from gateway.registry import get_device
from tests.gateway.ingest.board import Board, readings
from tests.gateway.service.conftest import DEVICE, KEY
from tests.gateway.service.example_plugin import ExamplePlugin

FRAMES = 12
INTERVALS = 4


class Failing:
    """Every data hook raises."""

    def __init__(self, config: dict[str, Any], ctx: PluginContext) -> None:
        self.calls = 0

    async def on_readings(self, batch: ReadingBatch) -> None:
        self.calls += 1
        raise RuntimeError("boom")


class Slow:
    """Hangs on its first batch (until the hook timeout cancels it), then keeps up."""

    def __init__(self, config: dict[str, Any], ctx: PluginContext) -> None:
        self.calls = 0
        self.cancelled = 0

    async def on_readings(self, batch: ReadingBatch) -> None:
        self.calls += 1
        if self.calls > 1:
            return
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


class CrashingRun:
    """An input plugin whose poll loop dies at once, every time."""

    def __init__(self, config: dict[str, Any], ctx: PluginContext) -> None:
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        raise ConnectionError("modbus device unreachable")


class Listener:
    """Receives what other plugins publish."""

    def __init__(self, config: dict[str, Any], ctx: PluginContext) -> None:
        self.results: list[PluginResult] = []
        self.readings = 0

    async def on_readings(self, batch: ReadingBatch) -> None:
        self.readings += len(batch.readings)

    async def on_result(self, result: PluginResult) -> None:
        self.results.append(result)


PLUGINS = {"failing": Failing, "slow": Slow, "crashing": CrashingRun, "example": ExamplePlugin,
           "listener": Listener}
# No broker listens on port 1: results are queued in the outbox, the publisher keeps retrying.
EXTRA = """
[mqtt]
host = "127.0.0.1"
port = 1
reconnect_min_s = 0.1
reconnect_max_s = 0.5

[plugins.failing]
[plugins.slow]
hook_timeout_s = 2.5
queue_size = 2
[plugins.crashing]
[plugins.example]
min_kwh = 0.0
[plugins.listener]
"""


async def test_misbehaving_plugins_never_block_ingest(running_gateway: Any) -> None:
    async with running_gateway(EXTRA, plugins=PLUGINS) as gw:
        latencies = []
        # Start in the recent past so the readings are live (not backfill).
        start = int(time.time()) // 3600 * 3600 - 6 * 3600
        async with Board(DEVICE, KEY, gw.ingest.port) as board:
            for c in range(1, FRAMES + 1):
                sent = time.monotonic()
                await board.send(readings(DEVICE, c, n=INTERVALS,
                                          start=start + (c - 1) * INTERVALS * 900))
                await board.wait_acked(c, timeout=5)
                latencies.append(time.monotonic() - sent)
                await asyncio.sleep(0.05)   # one batch each for the plugins
        # Every frame was acknowledged promptly although "slow" held its first batch for its
        # 2.5 s timeout and "failing" raises on every one: waiting on either would show here.
        assert max(latencies) < 1.5, latencies
        host, runners = gw.host, gw.host.runners
        expected = FRAMES * INTERVALS - 1   # the very first register is only a baseline
        async with asyncio.timeout(5):
            while host.runners["listener"].plugin.readings < expected:
                await asyncio.sleep(0.05)
        failing = runners["failing"]
        assert failing.counters["errors"] == failing.plugin.calls >= 1
        assert failing.state == "running" and "RuntimeError: boom" in failing.last_error
        slow = runners["slow"]
        async with asyncio.timeout(10):
            while slow.counters["timeouts"] < 1:
                await asyncio.sleep(0.05)
        assert slow.plugin.cancelled == 1
        assert slow.counters["dropped"] >= 1   # queue of 2 overflowed while it was stuck
        crashing = runners["crashing"]
        async with asyncio.timeout(5):
            while crashing.counters["restarts"] < 3:
                await asyncio.sleep(0.02)
        assert crashing.plugin.runs >= 3 and crashing.counters["errors"] >= 3
        # The example plugin published band totals on its schedule; the listener got them.
        example = runners["example"].plugin
        async with asyncio.timeout(5):
            while not runners["listener"].plugin.results:
                await asyncio.sleep(0.05)
        result = runners["listener"].plugin.results[0]
        assert result.plugin == "example" and result.name == "band_totals"
        assert all(t.timestamp() % 1 == 0 for t in example.ticks)   # aligned to the period
        stored = await gw.db.read(lambda c: c.execute(
            "SELECT count(*) FROM plugin_results WHERE plugin = 'example'").fetchone()[0])
        queued = await gw.db.read(lambda c: c.execute(
            "SELECT count(*) FROM outbox WHERE topic LIKE 'meterkit/lodi/results/example/%'"
        ).fetchone()[0])
        assert stored >= 1 and queued == stored
        # What plugins can query back: the normalised series.
        ctx = runners["example"].plugin.ctx
        assert ctx.state_dir.is_dir() and ctx.state_dir.name == "example"
        got = await ctx.series(device="0000a1b2", channel="el1",
                               start=datetime.fromtimestamp(start, UTC),
                               end=datetime.fromtimestamp(start + 86400, UTC))
        assert len(got) == expected and got[0].unit == "kWh"
        status = await gw.health.snapshot()
        assert status["plugins"]["failing"]["errors"] == failing.counters["errors"]
        assert "connected" in status["uplink"] and status["db"]["outbox_backlog"] >= 1
    assert example.stopped


async def test_plugin_that_fails_to_start_gets_no_data(running_gateway: Any) -> None:
    class NoStart(Listener):
        async def start(self) -> None:
            raise OSError("port busy")

    async with running_gateway("[plugins.nostart]\n", plugins={"nostart": NoStart}) as gw:
        runner = gw.host.runners["nostart"]
        async with asyncio.timeout(5):
            while runner.state != "failed":
                await asyncio.sleep(0.02)
        gw.host.deliver_readings(ReadingBatch(()))
        assert runner.queue.qsize() == 0 and runner.counters["errors"] == 1


class FakeMeter:
    """An input plugin: its run() submits cumulative registers like a Modbus poll would."""

    def __init__(self, config: dict[str, Any], ctx: PluginContext) -> None:
        self.ctx = ctx
        self.refused: list[str] = []

    async def start(self) -> None:
        await self.ctx.register_device(
            "fakemeter:m1", channels={"import": {"name": "el9", "kind": "electric",
                                                 "unit": "Wh"}})
        try:
            await self.ctx.register_device("boards:x", channels={})
        except PluginError as exc:
            self.refused.append(str(exc))

    async def run(self) -> None:
        end = int(time.time()) // 900 * 900
        rows = [SimpleNamespace(device="fakemeter:m1", channel="import", length_s=900,
                                end=datetime.fromtimestamp(end - (3 - i) * 900, UTC),
                                register=10_000 + 250 * i, flags=frozenset())
                for i in range(4)]
        await self.ctx.submit_readings(rows)
        try:
            await self.ctx.submit_readings([SimpleNamespace(**{**vars(rows[0]),
                                                               "device": "other:m1"})])
        except PluginError as exc:
            self.refused.append(str(exc))


async def test_input_plugin_readings_take_the_board_path(running_gateway: Any) -> None:
    async with running_gateway("[plugins.fakemeter]\n[plugins.listener]\n",
                               plugins={"fakemeter": FakeMeter, "listener": Listener}) as gw:
        runner = gw.host.runners["fakemeter"]
        listener = gw.host.runners["listener"].plugin
        async with asyncio.timeout(5):
            while listener.readings < 3:
                await asyncio.sleep(0.02)
        # 4 registers 250 Wh apart: the first is the baseline, then 3 x 0.25 kWh.
        rows = await gw.db.read(lambda c: c.execute(
            "SELECT value, unit, quantity FROM series WHERE device_id = 'fakemeter:m1' "
            "ORDER BY interval_start").fetchall())
        assert [tuple(r) for r in rows] == [(0.25, "kWh", "energy_import")] * 3
        assert len(runner.plugin.refused) == 2
        assert all("must be named 'fakemeter:<device>'" in r for r in runner.plugin.refused)
        device = await gw.db.read(lambda c: get_device(c, "fakemeter:m1"))
        assert device.site == "lodi" and not device.has_key
