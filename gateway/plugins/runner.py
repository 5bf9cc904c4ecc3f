"""One plugin under supervision: its bounded queue, its named tasks, its counters.

Every hook call goes through :meth:`PluginRunner.call`, which refuses names outside
`hookspecs.HOOKS`, applies the plugin's timeout, and turns any exception into a logged,
counted error. Nothing a plugin does propagates to the host or blocks the producer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.plugins.hookspecs import HOOKS, SNAPSHOT

__all__ = ["Backoff", "PluginRunner"]

_STOP = object()      # queue sentinel: drain what came before, then stop
STOP_TIMEOUT_S = 5.0  # hookspecs: stop() must return within 5 seconds


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter for restarting a failed `run()` hook."""

    initial_s: float = 1.0
    maximum_s: float = 300.0
    healthy_after_s: float = 60.0   # a run that lasted this long resets the delay

    def delay(self, failures: int) -> float:
        ceiling = min(self.maximum_s, self.initial_s * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)


class PluginRunner:
    """Feeds one plugin instance from its queue in its own task; never raises into the host."""

    def __init__(self, name: str, plugin: Any, *, queue_size: int, hook_timeout_s: float,
                 backoff: Backoff, logger: logging.Logger) -> None:
        self.name = name
        self.plugin = plugin
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self.hook_timeout_s = hook_timeout_s
        self.backoff = backoff
        self.log = logger
        self.state = "created"
        self.counters = {"calls": 0, "errors": 0, "timeouts": 0, "dropped": 0, "restarts": 0}
        self.last_error: str | None = None
        self._stopping = asyncio.Event()
        self._started = asyncio.Event()

    def has(self, hook: str) -> bool:
        return hook in HOOKS and callable(getattr(self.plugin, hook, None))

    def offer(self, hook: str, arg: Any) -> bool:
        """Queue `hook(arg)` without waiting; a full queue drops it and counts the drop."""
        if self.state in ("failed", "stopped") or not self.has(hook):
            return False
        try:
            self.queue.put_nowait((hook, arg))
        except asyncio.QueueFull:
            self.counters["dropped"] += 1
            if self.counters["dropped"] in (1, 10, 100) or self.counters["dropped"] % 1000 == 0:
                self.log.warning("plugin queue full, dropping", extra={
                    "plugin": self.name, "hook": hook, "dropped": self.counters["dropped"]})
            return False
        return True

    async def call(self, hook: str, *args: Any, timeout: float | None = None) -> bool:
        """Call one hook with a timeout (0 = none); True if it returned normally."""
        if hook not in HOOKS:
            raise ValueError(f"{hook!r} is not a hook of gateway.plugins.hookspecs")
        self.counters["calls"] += 1
        limit = self.hook_timeout_s if timeout is None else timeout
        try:
            async with asyncio.timeout(limit or None):
                result = getattr(self.plugin, hook)(*args)
                if inspect.isawaitable(result):
                    await result
            return True
        except TimeoutError:
            self.counters["timeouts"] += 1
            self._error(hook, f"timed out after {limit:g} s")
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise   # the host is cancelling us (shutdown): not the plugin's doing
            self._error(hook, "CancelledError raised by the plugin", exc)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt too: a plugin calling
            # sys.exit() must not end the gateway
            self._error(hook, f"{type(exc).__name__}: {exc}", exc)
        return False

    def _error(self, hook: str, text: str, exc: BaseException | None = None) -> None:
        self.counters["errors"] += 1
        self.last_error = f"{hook}: {text}"
        n = self.counters["errors"]
        # The traceback for the first few and then every 100th: a plugin failing on every
        # batch must not flood the journal, but each failure still leaves one line.
        trace = exc if n <= 3 or n % 100 == 0 else None
        self.log.error("plugin hook failed", exc_info=trace, extra={
            "plugin": self.name, "hook": hook, "error": text, "errors": n})

    async def serve(self) -> None:
        """start(), then hooks from the queue one at a time, then stop() after the sentinel."""
        self.state = "starting"
        if self.has("start") and not await self.call("start"):
            self.state = "failed"
            self._started.set()
            self.log.error("plugin failed to start; it gets no data", extra={"plugin": self.name})
            return
        self.state = "running"
        self._started.set()
        while True:
            item = await self.queue.get()
            if item is _STOP:
                break
            hook, arg = item
            await self.call(hook, arg)
        if self.has("stop"):
            await self.call("stop", timeout=STOP_TIMEOUT_S)
        self.state = "stopped"

    async def run_forever(self) -> None:
        """The plugin's run() hook, restarted with backoff after errors until shutdown."""
        await self._started.wait()
        failures = 0
        while self.state == "running" and not self._stopping.is_set():
            began = time.monotonic()
            ok = await self._run_once()
            if ok or self._stopping.is_set():
                return  # run() returned by itself: the plugin is done with it
            healthy = time.monotonic() - began > self.backoff.healthy_after_s
            failures = 1 if healthy else failures + 1
            self.counters["restarts"] += 1
            delay = self.backoff.delay(failures)
            self.log.warning("plugin run() restarting", extra={
                "plugin": self.name, "in_s": round(delay, 3), "failures": failures})
            try:
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            except TimeoutError:
                pass

    async def _run_once(self) -> bool:
        # run() is long-lived, so no hook timeout; shutdown cancels it instead.
        task = asyncio.ensure_future(self.call("run", timeout=0))
        stop = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stop.cancel()
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    async def tick_forever(self, period_s: int) -> None:
        """Offer on_schedule at wall-clock multiples of `period_s` (aligned, never bunched)."""
        await self._started.wait()
        while self.state == "running" and not self._stopping.is_set():
            now = time.time()
            due = (now // period_s + 1) * period_s
            try:
                async with asyncio.timeout(due - now):
                    await self._stopping.wait()
                return
            except TimeoutError:
                self.offer("on_schedule", datetime.fromtimestamp(due, UTC))

    async def drain_and_stop(self) -> None:
        """Ask the tasks to finish: queued hooks still run, then stop()."""
        self._stopping.set()
        if self.state not in ("failed", "stopped"):
            # Waits for room when the queue is full: the consumer is draining it.
            await self.queue.put(_STOP)

    def snapshot(self) -> dict[str, Any]:
        """The host's counters, plus the plugin's own under "plugin" when it has snapshot()."""
        out: dict[str, Any] = {"state": self.state, "queue": self.queue.qsize(),
                               **self.counters, "last_error": self.last_error}
        own = getattr(self.plugin, SNAPSHOT, None)
        if callable(own):
            try:
                value = own()
                out["plugin"] = value if isinstance(value, dict) else {
                    "error": f"snapshot() returned {type(value).__name__}, expected a dict"}
            except Exception as exc:  # a broken status method must not break the status file
                out["plugin"] = {"error": f"{type(exc).__name__}: {exc}"}
        return out
