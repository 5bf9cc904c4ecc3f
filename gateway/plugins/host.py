"""The plugin host: discovers plugins, starts the enabled ones, fans data out, supervises them.

Discovery: the entry-point group ``meterkit.plugins``, built-ins included (meterkit declares its
own in pyproject.toml, exactly as a third party would). :data:`BUILTIN_PLUGINS` is only the
fallback for a built-in whose entry point is missing (a source tree run without installed
package metadata); a third-party entry point cannot take a built-in's name. Only plugins
enabled in the config are instantiated, as ``PluginClass(options, context)``. Each gets a
:class:`PluginRunner`: its own bounded queue and named tasks (``plugin:<name>``,
``plugin:<name>:run``, ``plugin:<name>:schedule``). Delivery (:meth:`deliver_readings` …)
never awaits, so a slow or broken plugin cannot hold up the normaliser, the writer or ingest:
its queue fills and drops.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from importlib.metadata import entry_points
from typing import Any

from gateway import registry
from gateway.config.model import Config
from gateway.model import DeviceEvent, PluginResult, Reading, ReadingBatch
from gateway.plugins.hookspecs import ENTRY_POINT_GROUP, InputReading, PluginError
from gateway.plugins.results import store_result
from gateway.plugins.runner import Backoff, PluginRunner
from gateway.store import series
from gateway.store.db import Database

__all__ = ["BUILTIN_PLUGINS", "OWN_DISTRIBUTION", "HostContext", "PluginHost", "discover_plugins"]

log = logging.getLogger("gateway.plugins")

# Built-in plugins, name -> "module:Class": the same as their entry points in pyproject.toml,
# used only when the package metadata that carries those is missing.
BUILTIN_PLUGINS: dict[str, str] = {
    "alerts": "gateway.alerts.plugin:AlertsPlugin",
    "baseline": "gateway.analysis.plugin:BaselinePlugin",
    "cer": "gateway.analysis.cer_plugin:CerPlugin",
    "expected_profile": "gateway.analysis.profile_plugin:ExpectedProfilePlugin",
    "modbus": "gateway.modbus.plugin:ModbusPlugin",
}
OWN_DISTRIBUTION = "meterkit"


def discover_plugins(errors: dict[str, str] | None = None,
                     sources: dict[str, str] | None = None) -> dict[str, type]:
    """Every installed plugin class by name; import failures go to `errors` (and the log).

    `sources` receives where each name came from: ``"entry point (<distribution>)"`` or
    ``"built-in fallback"``.
    """
    targets: dict[str, tuple[str, str]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        if ep.name in BUILTIN_PLUGINS and dist != OWN_DISTRIBUTION:
            log.warning("plugin entry point ignored: the name belongs to a built-in",
                        extra={"plugin": ep.name, "distribution": dist, "target": ep.value})
            continue
        targets.setdefault(ep.name, (ep.value, f"entry point ({dist})"))
    for name, target in BUILTIN_PLUGINS.items():
        targets.setdefault(name, (target, "built-in fallback"))
    found: dict[str, type] = {}
    for name, (target, source) in sorted(targets.items()):
        module_name, _, attr = target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name.strip())
            for part in attr.strip().split("."):
                obj = getattr(obj, part)
        except ModuleNotFoundError as exc:
            if name in BUILTIN_PLUGINS and exc.name == module_name.strip():
                continue  # a built-in left out of this build (a slimmed-down package)
            _broken(name, target, exc, errors)
            continue
        except Exception as exc:  # a broken third-party package must not stop the gateway
            _broken(name, target, exc, errors)
            continue
        found[name] = obj
        if sources is not None:
            sources[name] = source
    return found


def _broken(name: str, target: str, exc: Exception, errors: dict[str, str] | None) -> None:
    log.error("plugin cannot be imported", extra={"plugin": name, "target": target,
                                                  "error": repr(exc)})
    if errors is not None:
        errors[name] = repr(exc)


class HostContext:
    """What one plugin gets from the host (implements hookspecs.PluginContext)."""

    def __init__(self, name: str, host: PluginHost) -> None:
        self.name = name
        self.logger = logging.getLogger(f"gateway.plugins.{name}")
        self.state_dir = host.config.gateway.state_dir / "plugins" / name
        self._host = host

    async def publish(self, result: PluginResult) -> None:
        """Store a result and queue it upstream (same transaction); other plugins see it too."""
        await self._host.publish(self.name, result)

    async def submit_readings(self, readings: Sequence[InputReading]) -> None:
        """Input plugins only: feed cumulative registers into the same path as board frames."""
        await self._host.submit_readings(self.name, readings)

    async def register_device(self, device_id: str, *, channels: dict[str, dict[str, Any]],
                              site: str | None = None) -> None:
        """Input plugins only: create or update its own device "<plugin>:<name>" (no key)."""
        await self._host.register_device(self.name, device_id, channels, site)

    async def series(self, *, device: str, channel: str, start: datetime,
                     end: datetime) -> list[Reading]:
        """Read-only query of normalised readings in [start, end), ordered by interval start."""
        return await self._host.db.read(series.query_series, device, channel, start, end)

    def sites(self) -> dict[str, dict[str, Any]]:
        """The configured sites (name, municipality, altitude, degree days, climate zone...)."""
        return {name: s.as_dict() for name, s in self._host.config.sites.items()}


class PluginHost:
    """Runs the enabled plugins under :meth:`run`; :meth:`stop` drains and stops them."""

    def __init__(self, config: Config, db: Database, *, writer: Any = None,
                 plugins: dict[str, type] | None = None, backoff: Backoff | None = None,
                 on_outbox: Any = None) -> None:
        self.config = config
        self.db = db
        self.writer = writer
        self.on_outbox = on_outbox
        self.backoff = backoff or Backoff()
        self.classes = plugins if plugins is not None else discover_plugins()
        self.runners: dict[str, PluginRunner] = {}
        self.published = 0
        self._stopped = asyncio.Event()

    def _instantiate(self) -> None:
        for name, settings in self.config.plugins.items():
            cls = self.classes.get(name)
            if not settings.enabled or cls is None:
                continue
            try:
                context = HostContext(name, self)
                context.state_dir.mkdir(parents=True, exist_ok=True)
                plugin = cls(dict(settings.options), context)
            except Exception as exc:  # the constructor is plugin code too
                log.error("plugin cannot be created", exc_info=exc, extra={"plugin": name})
                continue
            self.runners[name] = PluginRunner(
                name, plugin, queue_size=settings.queue_size,
                hook_timeout_s=settings.hook_timeout_s, backoff=self.backoff,
                logger=logging.getLogger(f"gateway.plugins.{name}"))

    async def run(self) -> None:
        """Start every enabled plugin in its own tasks; return once stop() has drained them."""
        self._instantiate()
        log.info("plugins starting", extra={"plugins": ",".join(self.runners) or "-"})
        async with asyncio.TaskGroup() as tg:
            for name, runner in self.runners.items():
                tg.create_task(runner.serve(), name=f"plugin:{name}")
                if runner.has("run"):
                    tg.create_task(runner.run_forever(), name=f"plugin:{name}:run")
                period = getattr(runner.plugin, "schedule_s", None)
                if runner.has("on_schedule") and isinstance(period, int) and period > 0:
                    tg.create_task(runner.tick_forever(period), name=f"plugin:{name}:schedule")
            await self._stopped.wait()
            for runner in self.runners.values():
                tg.create_task(runner.drain_and_stop(), name=f"plugin:{runner.name}:drain")

    async def stop(self) -> None:
        """Let queued hooks finish, call each plugin's stop(); run() then returns."""
        self._stopped.set()

    # -- data in: never awaits, never raises --------------------------------------------------

    def deliver_readings(self, batch: ReadingBatch) -> None:
        for runner in self.runners.values():
            runner.offer("on_readings", batch)

    def deliver_event(self, event: DeviceEvent) -> None:
        for runner in self.runners.values():
            runner.offer("on_event", event)

    def _deliver_result(self, source: str, result: PluginResult) -> None:
        for name, runner in self.runners.items():
            if name != source:
                runner.offer("on_result", result)

    # -- the way back out, used by HostContext -------------------------------------------------

    async def publish(self, name: str, result: PluginResult) -> None:
        if result.plugin != name:  # a plugin publishes under its own name only
            result = replace(result, plugin=name)
        await self.db.write(partial(store_result, result=result, prefix=self.config.mqtt_prefix,
                                    default_site=self.config.gateway.site, now=int(time.time())))
        self.published += 1
        if self.on_outbox is not None:
            self.on_outbox()
        self._deliver_result(name, result)

    async def submit_readings(self, name: str, readings: Sequence[InputReading]) -> None:
        if self.writer is None:
            raise PluginError("this gateway has no writer (readings cannot be submitted)")
        for i, r in enumerate(readings):
            device = str(getattr(r, "device", ""))
            if not device.startswith(f"{name}:"):
                raise PluginError(f"device {device!r} must be named '{name}:<device>'",
                                  key=f"readings[{i}].device")
        await self.writer.submit_input_readings(readings)

    async def register_device(self, name: str, device_id: str,
                              channels: dict[str, dict[str, Any]], site: str | None) -> None:
        if not device_id.startswith(f"{name}:"):
            raise PluginError(f"device {device_id!r} must be named '{name}:<device>'",
                              key="device_id")
        site = site or self.config.gateway.site

        def upsert(conn: Any) -> None:
            if registry.get_device(conn, device_id) is None:
                registry.add_device(conn, None, device_id, None, site=site, channels=channels)
            else:
                registry.update_device(conn, device_id, site=site, channels=channels)

        try:
            await self.db.write(upsert)
        except registry.RegistryError as exc:
            raise PluginError(str(exc), key=exc.field) from exc

    def snapshot(self) -> dict[str, Any]:
        return {name: runner.snapshot() for name, runner in self.runners.items()}
