"""A plugin that raises SystemExit, KeyboardInterrupt or CancelledError from a hook is isolated
like any other error; its optional snapshot() goes into the runner's snapshot, guarded too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

from gateway.plugins.runner import Backoff, PluginRunner


class Exits:
    """Every data hook ends the process the way careless plugin code would."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def on_readings(self, batch: Any) -> None:
        self.seen.append(batch)
        sys.exit(3)

    async def on_event(self, event: Any) -> None:
        self.seen.append(event)
        raise KeyboardInterrupt

    async def on_result(self, result: Any) -> None:
        self.seen.append(result)
        raise asyncio.CancelledError   # not a cancellation of ours: the plugin raised it

    def snapshot(self) -> dict[str, Any]:
        return {"seen": len(self.seen)}


def _runner(plugin: Any) -> PluginRunner:
    return PluginRunner("exits", plugin, queue_size=10, hook_timeout_s=1, backoff=Backoff(),
                        logger=logging.getLogger("test.isolation"))


async def test_base_exceptions_from_hooks_are_counted_not_propagated() -> None:
    plugin = Exits()
    runner = _runner(plugin)
    serve = asyncio.create_task(runner.serve())
    for hook, arg in (("on_readings", 1), ("on_event", 2), ("on_result", 3),
                      ("on_readings", 4)):
        assert runner.offer(hook, arg)
    await runner.drain_and_stop()
    async with asyncio.timeout(5):
        await serve
    assert plugin.seen == [1, 2, 3, 4]           # the runner went on after each
    snap = runner.snapshot()
    assert (snap["state"], snap["calls"], snap["errors"]) == ("stopped", 4, 4)
    assert snap["last_error"] == "on_readings: SystemExit: 3"
    assert snap["plugin"] == {"seen": 4}


async def test_cancelling_the_runner_still_cancels_it() -> None:
    class Sleeps:
        async def on_readings(self, batch: Any) -> None:
            await asyncio.sleep(60)

    runner = _runner(Sleeps())
    runner.hook_timeout_s = 0
    serve = asyncio.create_task(runner.serve())
    runner.offer("on_readings", 1)
    await asyncio.sleep(0.05)
    serve.cancel()
    async with asyncio.timeout(5):
        with contextlib.suppress(asyncio.CancelledError):
            await serve
    assert serve.cancelled() and runner.counters["errors"] == 0


def test_a_broken_snapshot_is_reported_in_place() -> None:
    class Broken:
        def snapshot(self) -> dict[str, Any]:
            raise RuntimeError("no counters yet")

    class NotADict:
        def snapshot(self) -> list[int]:
            return [1]

    assert _runner(Broken()).snapshot()["plugin"] == {
        "error": "RuntimeError: no counters yet"}
    assert _runner(NotADict()).snapshot()["plugin"] == {
        "error": "snapshot() returned list, expected a dict"}
