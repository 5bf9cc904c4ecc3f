"""The Modbus input plugin: one poller per bus under the host's run() task, as any plugin would.

    [plugins.modbus]            # see gateway/modbus/example.toml and docs/MODBUS.md
    [[plugins.modbus.buses]]
    name = "quadro"; type = "tcp"; host = "192.168.1.50"
    [[plugins.modbus.buses.devices]]
    name = "sdm630-1"; unit = 1; map = "sdm630"
    channels = { import_energy = "el_import", export_energy = "el_export", power = "p" }

Devices are ``<plugin name>:<device name>`` (``modbus:sdm630-1``); the plugin registers them
at every start with the channel specs of :meth:`ModbusPlugin.registry_entries`, so the
normaliser knows their channels. ``clock`` and ``rng`` are keyword-only for tests.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.backoff import Backoff
from gateway.modbus import last_registers
from gateway.modbus.bus import Bus
from gateway.modbus.clock import Clock, SystemClock
from gateway.modbus.poller import BusPoller, DeviceState
from gateway.modbus.settings import ModbusSettings, parse_settings
from gateway.plugins.hookspecs import PluginContext, PluginError

__all__ = ["ModbusPlugin"]

# Only when the plugin's registers file is missing (first start after an upgrade): how far back
# start() looks in the series for each channel's last register.
SEED_LOOKBACK = timedelta(days=31)
REGISTERS_FILE = "registers.json"


class ModbusPlugin:
    """Reads Eastron-class meters and inverters over Modbus RTU/TCP into the gateway's storage."""

    schedule_s: int | None = None

    @classmethod
    def validate_config(cls, config: dict[str, Any],
                        sites: dict[str, dict[str, Any]] | None = None) -> list[str]:
        """Problems in ``[plugins.modbus]`` (maps included), each starting with its key path;
        with `sites` (as ``context.sites()`` gives them) device sites are checked too."""
        problems = parse_settings(config)[1]
        if problems or sites is None:
            return problems
        return cls._site_problems(config, sites)

    @staticmethod
    def registry_entries(config: dict[str, Any], plugin_name: str = "modbus"
                         ) -> dict[str, dict[str, Any]]:
        """Device id -> {"site", "channels"} as the gateway registry needs them."""
        settings, problems = parse_settings(config)
        if settings is None:
            raise PluginError("; ".join(problems))
        out: dict[str, dict[str, Any]] = {}
        for bus in settings.buses:
            for dev in bus.devices:
                # modulus None: a meter's float register never wraps, so a drop is a meter
                # swap (flagged by the poller), never a rollover
                channels = {ch: {"name": ch, "kind": "electric", "modulus": None,
                                 "unit": "Wh_export" if spec.direction == "export" else "Wh"}
                            for spec, ch in dev.specs(energy=True)}
                out[f"{plugin_name}:{dev.name}"] = {"site": dev.site, "channels": channels}
        return out

    def __init__(self, config: dict[str, Any], context: PluginContext, *,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        settings, problems = parse_settings(config)
        if settings is None:
            raise PluginError("; ".join(problems))
        self.settings: ModbusSettings = settings
        self.config = dict(config)
        self.context = context
        self.clock = clock or SystemClock()
        self.log: logging.Logger = getattr(context, "logger", None) or logging.getLogger(
            "gateway.plugins.modbus")
        self.backoff = Backoff(settings.backoff_initial_s, settings.backoff_maximum_s,
                               settings.backoff_jitter, rng or random.Random())
        self.buses: list[Bus] = []
        self.pollers: list[BusPoller] = []
        self.devices: dict[str, DeviceState] = {}

    async def start(self) -> None:
        """Build buses and device states, register devices if the host can, seed last registers."""
        for bus_settings in self.settings.buses:
            bus = Bus(bus_settings, clock=self.clock, backoff=self.backoff, logger=self.log)
            states = [DeviceState(d, f"{self.context.name}:{d.name}") for d in bus_settings.devices]
            self.devices.update((s.device_id, s) for s in states)
            self.buses.append(bus)
            poller = BusPoller(bus, states, self.settings, context=self.context,
                               clock=self.clock, backoff=self.backoff, logger=self.log)
            poller.on_stored = self._save_registers
            self.pollers.append(poller)
        await self._register_devices()
        await self._seed_last_registers()

    @staticmethod
    def _site_problems(config: dict[str, Any], sites: dict[str, Any]) -> list[str]:
        # A misspelt site would send readings upstream under a site nobody configured,
        # banded by another site's calendar.
        settings, _ = parse_settings(config)
        return [f"buses[{i}].devices[{j}].site: {dev.site!r} is not one of the [sites] tables "
                f"({', '.join(sorted(sites))}); correct it or add [sites.{dev.site}]"
                for i, bus in enumerate(settings.buses if settings else ())
                for j, dev in enumerate(bus.devices)
                if dev.site is not None and dev.site not in sites]

    async def _register_devices(self) -> None:
        problems = self._site_problems(self.config, self.context.sites())
        if problems:
            raise PluginError("; ".join(problems), key="plugins.modbus")
        register = getattr(self.context, "register_device", None)
        entries = self.registry_entries(self.config, self.context.name)
        if register is None:
            self.log.info("modbus devices must be in the registry (docs/MODBUS.md)",
                          extra={"devices": ",".join(entries)})
            return
        for device_id, entry in entries.items():
            await register(device_id, channels=entry["channels"], site=entry["site"])

    @property
    def _registers_path(self) -> Path:
        return Path(self.context.state_dir) / REGISTERS_FILE

    async def _seed_last_registers(self) -> None:
        # After a restart, a meter swapped while the gateway was down must still be flagged,
        # and a swap already reported must not be reported again (see last_registers).
        saved = last_registers.load(self._registers_path)
        if saved is not None:
            for dev in self.devices.values():
                dev.last.update(saved.get(dev.device_id, {}))
            return
        now = datetime.fromtimestamp(self.clock.now(), UTC)
        for dev in self.devices.values():
            for _spec, channel in dev.settings.specs(energy=True):
                rows = await self.context.series(device=dev.device_id, channel=channel,
                                                 start=now - SEED_LOOKBACK,
                                                 end=now + timedelta(days=1))
                if rows:
                    dev.last[channel] = rows[-1].register

    async def _save_registers(self) -> None:
        registers = {d.device_id: dict(d.last) for d in self.devices.values()}
        try:
            # fsync off the event loop: it also serves the boards' ingest
            await asyncio.to_thread(last_registers.save, self._registers_path, registers)
        except OSError as exc:
            # The readings are stored; only the swap check after a restart is weaker.
            self.log.error("modbus registers file not written", extra={
                "path": str(self._registers_path), "error": str(exc)})

    async def run(self) -> None:
        """Every bus polls on its own; one bus failing never stops another."""
        async with asyncio.TaskGroup() as tg:
            for poller in self.pollers:
                tg.create_task(poller.energy_loop(), name=f"modbus:{poller.bus.name}:energy")
                if self.settings.power_period_s and any(
                        d.settings.specs(energy=False) for d in poller.devices):
                    tg.create_task(poller.power_loop(), name=f"modbus:{poller.bus.name}:power")

    async def stop(self) -> None:
        for bus in self.buses:
            bus.close()

    def snapshot(self) -> dict[str, Any]:
        """Counters per bus and device (for status pages and tests)."""
        return {
            "buses": {b.name: {**b.snapshot(), **p.counters}
                      for b, p in zip(self.buses, self.pollers, strict=True)},
            "devices": {d.device_id: {**d.counters, "backoff_failures": d.retry.failures,
                                      "last_error": d.last_error}
                        for d in self.devices.values()},
        }
