"""`meterkit gateway run`: one asyncio process, every component a named task in one TaskGroup.

Start order: database → writer → ingest server → normaliser → plugin host → uplink → health.
SIGTERM/SIGINT stop them in data-flow order, each finishing what it holds before the next one
stops: ingest stops accepting and ACKs what is committed, the writer commits its queue, the
normaliser catches up, plugins drain their queues and stop, the uplink waits for in-flight
PUBACKs, the status file says "stopped", the database is checkpointed and closed; exit 0.
A component that crashes takes the TaskGroup down: exit 1, and systemd restarts the service.
A start that fails for a known environmental reason (database, secret, port) raises
StartupError instead: `meterkit gateway run` prints it in one line and exits 2.
SIGUSR1 logs the health snapshot (also in <state_dir>/status.json).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from gateway.config.model import Config
from gateway.health import Health, on_demand
from gateway.ingest.keys import KeyCache
from gateway.ingest.limits import IngestLimits
from gateway.ingest.server import IngestServer
from gateway.normaliser import Normaliser
from gateway.plugins.host import PluginHost
from gateway.plugins.runner import Backoff
from gateway.store import series as _series  # noqa: F401  (registers the series tables)
from gateway.store.db import Database, StorageError
from gateway.store.keybox import KeyBox, KeyBoxError
from gateway.store.retention import Retention, RetentionPolicy
from gateway.uplink.publisher import Publisher
from gateway.writer import Writer

__all__ = ["Gateway", "StartupError", "run_gateway"]

log = logging.getLogger("gateway.service")

STOP_STEP_TIMEOUT_S = 20.0   # per component; systemd's TimeoutStopSec covers the sum


@dataclass(slots=True)
class Component:
    """A named long-running task and how to ask it to finish."""

    name: str
    run: Callable[[], Awaitable[Any]]
    stop: Callable[[], Awaitable[Any]] | None
    task: asyncio.Task[Any] | None = None


class StartupError(Exception):
    """The service cannot start for a reason in its environment or config, not a bug: the
    database or secret cannot be opened, the port is taken. `hint` says what to do."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message + (f"; {hint}" if hint else ""))
        self.hint = hint


_AS_SERVICE_USER = ("the service runs as user meterkit: check the path exists and is owned by "
                    "it, and run manual commands as `sudo -u meterkit meterkit gateway ...`")


class Gateway:
    """Owns the components; `run()` returns the process exit code."""

    def __init__(self, config: Config, *, plugins: dict[str, type] | None = None,
                 plugin_backoff: Backoff | None = None) -> None:
        self.config = config
        self.plugin_classes = plugins            # None: discover installed plugins
        self.plugin_backoff = plugin_backoff
        self.ready = asyncio.Event()             # set once every component is running
        self.stopping = asyncio.Event()
        self.status_request = asyncio.Event()
        self.components: list[Component] = []
        self.db: Database | None = None
        self.health: Health | None = None
        self.ingest: IngestServer | None = None
        self.writer: Writer | None = None
        self.normaliser: Normaliser | None = None
        self.host: PluginHost | None = None
        self.uplink: Publisher | None = None

    async def run(self) -> int:
        cfg = self.config
        try:
            self.db = db = await Database.open(cfg.gateway.db_path,
                                               synchronous=cfg.storage.synchronous)
        except (StorageError, sqlite3.Error, OSError) as exc:
            raise StartupError(f"database: {exc}", hint=_AS_SERVICE_USER) from exc
        try:
            try:
                await self._build(db)
            except KeyBoxError as exc:
                raise StartupError(f"gateway secret: {exc}", hint=_AS_SERVICE_USER) from exc
            except (StorageError, sqlite3.Error) as exc:
                raise StartupError(f"database: {exc}", hint=_AS_SERVICE_USER) from exc
            except OSError as exc:   # the ingest bind is the only other I/O of the start
                raise StartupError(
                    f"cannot listen on {cfg.ingest.host}:{cfg.ingest.port}: "
                    f"{exc.strerror or exc}",
                    hint="another process holds the port (`ss -ltnp`), or change ingest.port "
                         "/ ingest.host") from exc
            await self._supervise()
        finally:
            await db.close()
            log.info("gateway stopped", extra={"db": str(cfg.gateway.db_path)})
        return 0

    async def _build(self, db: Database) -> None:
        cfg, ing = self.config, self.config.ingest
        box = KeyBox.load_or_create(cfg.gateway.secret_file)
        writer = Writer(db, queue_size=ing.writer_queue, max_batch=ing.writer_max_batch,
                        linger_s=ing.writer_linger_ms / 1000,
                        max_db_bytes=cfg.storage.max_db_mb * 2**20)
        keys = KeyCache(db, box, previous_key_grace_s=ing.previous_key_days * 86400)
        await keys.load()
        ingest = IngestServer(writer, keys, host=ing.host, port=ing.port, limits=_limits(cfg))
        uplink = Publisher(db, cfg.mqtt) if cfg.mqtt is not None else None
        wake = uplink.wake_up if uplink is not None else None
        host = PluginHost(cfg, db, writer=writer, on_outbox=wake, plugins=self.plugin_classes,
                          backoff=self.plugin_backoff)
        normaliser = Normaliser(db, cfg, committed=writer.committed, sink=host, on_outbox=wake)
        self.health = health = Health(db, cfg.gateway.state_dir,
                                      interval_s=cfg.gateway.status_interval_s,
                                      max_db_bytes=cfg.storage.max_db_mb * 2**20)
        retention = Retention(db, RetentionPolicy(
            keep_days=cfg.storage.retention_days, raw_days=cfg.storage.raw_days,
            outbox_days=cfg.storage.outbox_keep_days))
        health.sources.update({
            "retention": retention.snapshot,
            "ingest": ingest.stats.snapshot,
            "writer": lambda: {"queue": writer.queue_depth, **writer.stats},
            "normaliser": normaliser.snapshot,
            "plugins": host.snapshot,
        })
        if uplink is not None:
            health.sources["uplink"] = lambda: {"connected": uplink.link.connected,
                                                **asdict(uplink.stats),
                                                "commands": uplink.commands.snapshot()}
        else:
            log.warning("no [mqtt] section: data is stored locally, nothing goes upstream")
        await ingest.start()   # bind now: a taken port fails the start, not a task later
        self.ingest, self.writer, self.normaliser, self.host, self.uplink = (
            ingest, writer, normaliser, host, uplink)
        # Order = shutdown order: each stops after the one before has handed everything on.
        self.components = [
            Component("ingest", ingest.run, ingest.close),
            Component("writer", writer.run, writer.close),
            Component("normaliser", normaliser.run, _sync(normaliser.stop)),
            Component("plugins", host.run, host.stop),
        ]
        if uplink is not None:
            self.components.append(Component("uplink", uplink.run, _sync(uplink.stop)))
        self.components.append(Component("retention", retention.run, retention.stop))
        self.components.append(Component("health", health.run, health.stop))

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop, sig)
        loop.add_signal_handler(signal.SIGUSR1, self.status_request.set)
        try:
            async with asyncio.TaskGroup() as tg:
                for c in self.components:
                    c.task = tg.create_task(c.run(), name=c.name)
                assert self.health is not None
                status = tg.create_task(on_demand(self.status_request, self.health.log_snapshot),
                                        name="status-on-demand")
                self.health.state = "running"
                self.ready.set()
                log.info("gateway running", extra={
                    "listen": f"{self.config.ingest.host}:{self.config.ingest.port}",
                    "site": self.config.gateway.site, "port": self.ingest.port if self.ingest
                    else None})
                await self.stopping.wait()
                await self._shutdown()
                status.cancel()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
                loop.remove_signal_handler(sig)

    def request_stop(self) -> None:
        """What SIGTERM does (for embedding and tests)."""
        self._request_stop(signal.SIGTERM)

    def _request_stop(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning("second stop signal: still draining", extra={"signal": sig.name})
            return
        log.info("stop requested: draining", extra={"signal": sig.name})
        self.stopping.set()

    async def _shutdown(self) -> None:
        if self.health is not None:
            self.health.state = "stopping"
        for c in self.components:
            if c.stop is None or c.task is None:
                continue
            try:
                async with asyncio.timeout(STOP_STEP_TIMEOUT_S):
                    await c.stop()
                    await asyncio.shield(c.task)
            except TimeoutError:
                log.error("component did not stop in time; cancelled", extra={
                    "component": c.name, "timeout_s": STOP_STEP_TIMEOUT_S})
                c.task.cancel()
            log.info("component stopped", extra={"component": c.name})


def _limits(cfg: Config) -> IngestLimits:
    ing = cfg.ingest
    return IngestLimits(
        idle_timeout_s=ing.idle_timeout_s, auth_timeout_s=ing.auth_timeout_s,
        max_buffered_bytes=ing.max_buffered_bytes,
        max_frames_per_s=ing.max_frames_per_s, burst=ing.burst, max_failures=ing.max_failures,
        max_garbage_bytes=ing.max_garbage_bytes, max_connections=ing.max_connections,
        drain_timeout_s=ing.drain_timeout_s)


def _sync(fn: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        fn()
    return call


async def run_gateway(config: Config) -> int:
    """Run until SIGTERM/SIGINT; 0 after a clean drain, 1 if a component crashed.

    A :class:`StartupError` propagates: the caller reports it in one line (exit 2)."""
    try:
        return await Gateway(config).run()
    except StartupError:
        raise
    except Exception as exc:  # a crashed component (a bug): one record with the traceback
        log.critical("gateway crashed", exc_info=exc, extra={"error": repr(exc)})
        return 1
