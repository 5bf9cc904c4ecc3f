"""The ingest TCP server: accepts board connections and runs a Connection for each.

    keys = KeyCache(db, KeyBox.load_or_create(secret_file))
    server = IngestServer(writer, keys, *, host="0.0.0.0", port=4700, limits=IngestLimits(),
                          clock=time.time, logger=None)
    # limits from config: IngestLimits.from_settings(config.ingest)
    await server.start()          # binds; server.port is the bound port (port=0 picks one)
    await server.run()            # start() if needed, then serve until close() or cancellation
    await server.close()          # stop accepting; connections stop reading, ACK what is
                                  # committing (up to limits.drain_timeout_s), then hang up
    server.stats                  # IngestStats (connections, frames, acks, drops per reason)
    server.snapshot()             # dict for health/status (stats + listen address + keys)

``serve`` is an alias of ``run``. The writer must keep running until close() returns, so the
last commits can still be acknowledged.

One bad connection never takes the server down: every connection runs in its own task and
any exception in it is logged, counted and confined to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from gateway.ingest.connection import Connection
from gateway.ingest.keys import KeyCache
from gateway.ingest.limits import IngestLimits
from gateway.ingest.stats import IngestStats
from gateway.writer import Writer

__all__ = ["IngestServer"]


class IngestServer:
    """Board-facing TCP listener; see the module docstring for the API."""

    def __init__(self, writer: Writer, keys: KeyCache, *, host: str = "0.0.0.0",
                 port: int = 4700, limits: IngestLimits | None = None,
                 clock: Callable[[], float] = time.time,
                 logger: logging.Logger | None = None) -> None:
        self.writer = writer
        self.keys = keys
        self.host = host
        self.requested_port = port
        self.limits = limits or IngestLimits()
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.ingest")
        self.stats = IngestStats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._conns: set[Connection] = set()
        self._stopped = asyncio.Event()

    @property
    def port(self) -> int:
        """The bound port (after start())."""
        if self._server is None or not self._server.sockets:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Warm the key cache (if nobody did) and bind the listening socket."""
        if self._server is not None:
            return
        if not self.keys.loaded:
            count = await self.keys.load()
            self.log.info("device keys loaded", extra={"devices": count})
        self._server = await asyncio.start_server(
            self._accept, self.host, self.requested_port, backlog=1024, reuse_address=True)
        self.log.info("ingest listening", extra={"host": self.host, "port": self.port})

    async def run(self) -> None:
        await self.start()
        try:
            await self._stopped.wait()
        finally:
            await self.close()

    serve = run

    def snapshot(self) -> dict[str, object]:
        return {"listen": f"{self.host}:{self.port}", "keys": repr(self.keys),
                **self.stats.snapshot()}

    async def close(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.stop_reading()
        tasks = list(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.limits.drain_timeout_s + 1)
            for task in late:
                task.cancel()
            if late:
                _, stuck = await asyncio.wait(late, timeout=2.0)
                if stuck:
                    self.log.error("ingest connections did not end on shutdown",
                                   extra={"connections": len(stuck)})
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if self._stopped.is_set() or len(self._tasks) >= self.limits.max_connections:
            self.stats.connections_rejected += 1
            self.log.warning("ingest connection refused: limit reached",
                             extra={"peer": str(stream.get_extra_info("peername")),
                                    "max_connections": self.limits.max_connections})
            stream.close()
            return
        assert task is not None  # start_server runs each callback in its own task
        self._tasks.add(task)
        self.stats.connections_open += 1
        self.stats.connections_total += 1
        conn = Connection(reader, stream, store=self.writer, keys=self.keys, limits=self.limits,
                          stats=self.stats, clock=self.clock, log=self.log)
        self._conns.add(conn)
        reason = "internal_error"
        try:
            reason = await conn.run()
        except Exception:
            self.log.exception("ingest connection crashed", extra={"peer": conn.peer})
        finally:
            self._conns.discard(conn)
            self.stats.connections_open -= 1
            self.stats.closed[reason] += 1
            self._tasks.discard(task)
