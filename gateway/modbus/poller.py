"""The poll loops of one bus: cumulative energy at every UTC interval boundary, power faster.

Each boundary T (a multiple of ``interval_s``) every device's energy registers are read and
submitted, one batch per device, as :class:`MeterReading` (register at the END of the interval
that ends at T, integer Wh) through ``context.submit_readings`` — the same storage and
normalisation path as board frames. Per-device faults stay per device: a silent meter, or one
whose value storage refuses, is that device's problem while the others on the bus keep being
read and stored; no poll is ever repeated for a boundary that was missed, the next cumulative
reading fills the gap (the normaliser flags it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.backoff import Backoff, Retry
from gateway.modbus.bus import Bus
from gateway.modbus.clock import Clock, next_boundary
from gateway.modbus.errors import BusUnavailable, DeviceReadError
from gateway.modbus.regmap import RegisterSpec
from gateway.modbus.settings import DeviceSettings, ModbusSettings
from gateway.model import PluginResult

__all__ = ["MAX_WH", "BusPoller", "DeviceState", "MeterReading"]

# An energy register above this is a garbled or misread value, not a meter: 2**53 Wh (9 PWh)
# is the largest integer a float64 holds exactly, and far above any real register.
MAX_WH = 2**53


@dataclass(frozen=True, slots=True)
class MeterReading:
    """A cumulative register at an interval end (implements hookspecs.InputReading)."""

    device: str
    channel: str
    end: datetime
    length_s: int
    register: int                       # Wh
    flags: frozenset[str] = frozenset()
    unit: str = "Wh"                    # "Wh" (import) or "Wh_export": the normaliser's quantity


@dataclass(slots=True)
class DeviceState:
    """Backoff, last submitted registers and counters of one device."""

    settings: DeviceSettings
    device_id: str
    retry: Retry = field(default_factory=Retry)
    last: dict[str, int] = field(default_factory=dict)     # channel -> last submitted Wh
    counters: dict[str, int] = field(default_factory=lambda: {
        "polls": 0, "ok": 0, "failures": 0, "skipped_backoff": 0, "skipped_bus": 0,
        "late": 0, "resets": 0, "zero_ignored": 0})
    last_error: str | None = None


class BusPoller:
    """Runs the energy (and optionally power) loop of one :class:`Bus`."""

    def __init__(self, bus: Bus, devices: Sequence[DeviceState], settings: ModbusSettings, *,
                 context: Any, clock: Clock, backoff: Backoff, logger: logging.Logger) -> None:
        self.bus = bus
        self.devices = list(devices)
        self.settings = settings
        self.context = context
        self.clock = clock
        self.backoff = backoff
        self.log = logger
        self.counters = {"cycles": 0, "submitted": 0, "submit_errors": 0, "power_results": 0}
        # awaited after a poll was stored (the plugin saves the registers it reached)
        self.on_stored: Callable[[], Awaitable[None]] | None = None

    async def energy_loop(self) -> None:
        """Forever: sleep to the next boundary, read every device, submit what was read."""
        period = self.settings.interval_s
        while True:
            due = next_boundary(self.clock.now(), period)
            await self.clock.sleep_until(due)
            await self.poll_energy(due)

    async def power_loop(self) -> None:
        period = self.settings.power_period_s
        while True:
            due = next_boundary(self.clock.now(), period)
            await self.clock.sleep_until(due)
            await self.poll_power(due)

    async def poll_energy(self, due: float) -> None:
        """One boundary: read each device, convert to Wh, flag decreases, submit per device."""
        self.counters["cycles"] += 1
        end = datetime.fromtimestamp(due, UTC)
        stored = False
        for dev in self.devices:
            specs = dev.settings.specs(energy=True)
            if not specs:
                continue
            values = await self._read(dev, specs)
            if values is None:
                continue
            lag = self.clock.now() - due
            if lag > self.settings.max_lag_s:
                # A value read this late belongs to the next interval as much as to this one.
                dev.counters["late"] += 1
                self.log.warning("modbus reading too late, dropped (the interval becomes a gap)",
                                 extra={"device": dev.device_id, "lag_s": round(lag, 1)})
                continue
            stored = await self._submit(dev, self._readings(dev, specs, values, end)) or stored
        if stored and self.on_stored is not None:
            await self.on_stored()

    async def _submit(self, dev: DeviceState, readings: list[MeterReading]) -> bool:
        """Store one device's readings; then report swaps. A refusal stays this device's."""
        if not readings:
            return False
        swaps = [s for s in (self._swap(dev, r) for r in readings) if s is not None]
        try:
            await self.context.submit_readings(readings)
        except Exception as exc:  # storage trouble must not end the poll loop
            # Nothing buffered on purpose: the next cumulative reading carries this energy.
            self.counters["submit_errors"] += 1
            dev.last_error = f"not stored: {exc}"
            self.log.error("modbus readings not stored", extra={
                "bus": self.bus.name, "device": dev.device_id, "readings": len(readings),
                "error": repr(exc)})
            return False
        self.counters["submitted"] += len(readings)
        for r in readings:
            dev.last[r.channel] = r.register
        for result in swaps:
            await self._publish(result)
        return True

    def _readings(self, dev: DeviceState, specs: list[tuple[RegisterSpec, str]],
                  values: list[float], end: datetime) -> list[MeterReading]:
        out = []
        for (spec, channel), raw in zip(specs, values, strict=True):
            wh = round(spec.to_base(raw))
            flags: frozenset[str] = frozenset()
            before = dev.last.get(channel)
            if before is not None and wh < before:
                if wh == 0:
                    # Some meters answer 0.0 while booting; a real new meter shows up as > 0.
                    dev.counters["zero_ignored"] += 1
                    self.log.warning("modbus energy register read 0 after a non-zero value; "
                                     "ignored", extra={"device": dev.device_id,
                                                       "channel": channel, "before_wh": before})
                    continue
                dev.counters["resets"] += 1
                if wh <= self.settings.reset_max_kwh * 1000:
                    # A new meter counting from 0: flagged, its register is the interval's
                    # energy (and no rollover is guessed from the decrease).
                    flags = frozenset({"register_reset"})
            out.append(MeterReading(dev.device_id, channel, end, self.settings.interval_s, wh,
                                    flags, "Wh_export" if spec.direction == "export" else "Wh"))
        return out

    def _swap(self, dev: DeviceState, r: MeterReading) -> PluginResult | None:
        """A "meter_replaced" result for a register that went down (sent after it is stored)."""
        before = dev.last.get(r.channel)
        if before is None or r.register >= before:
            return None
        counted = "register_reset" in r.flags
        # Not counted: a used meter's register is not this interval's energy; the normaliser
        # records the amount as unknown (decision 004) and this result says why upstream.
        self.log.warning("modbus energy register went down: meter replaced?", extra={
            "device": dev.device_id, "channel": r.channel, "before_wh": before,
            "now_wh": r.register, "counted_from_zero": counted})
        return PluginResult(plugin=self.context.name, name="meter_replaced",
                            device=dev.device_id, site=dev.settings.site, time=r.end,
                            payload={"device": dev.device_id, "channel": r.channel,
                                     "before_wh": before, "now_wh": r.register,
                                     "counted_from_zero": counted})

    async def _publish(self, result: PluginResult) -> bool:
        try:
            await self.context.publish(result)
        except Exception as exc:  # storage trouble must not end the poll loop
            self.log.error("modbus result not stored", extra={
                "result": result.name, "device": result.device, "error": repr(exc)})
            return False
        return True

    async def poll_power(self, due: float) -> None:
        """Read every device's power registers and publish them as one result per device."""
        when = datetime.fromtimestamp(due, UTC)
        for dev in self.devices:
            specs = dev.settings.specs(energy=False)
            if not specs:
                continue
            if self.clock.now() - due > self.settings.power_period_s:
                # Woken (or held up) past the next period: a value labelled `due` would lie.
                dev.counters["late"] += 1
                continue
            values = await self._read(dev, specs)
            if values is None:
                continue
            watts = {ch: round(spec.to_base(v), 3) for (spec, ch), v in zip(specs, values,
                                                                             strict=True)}
            if await self._publish(PluginResult(
                    plugin=self.context.name, name="power", device=dev.device_id, time=when,
                    site=dev.settings.site, payload={"device": dev.device_id, "w": watts})):
                self.counters["power_results"] += 1

    async def _read(self, dev: DeviceState,
                    specs: list[tuple[RegisterSpec, str]]) -> list[float] | None:
        """All registers of one device in one bus transaction; None (and counted) on failure."""
        dev.counters["polls"] += 1
        now = self.clock.now()
        if not dev.retry.ready(now):
            dev.counters["skipped_backoff"] += 1
            return None
        try:
            async with self.bus.transaction():
                values = [await self.bus.read(dev.device_id, dev.settings.unit, spec)
                          for spec, _ in specs]
        except BusUnavailable as exc:
            dev.counters["skipped_bus"] += 1   # the bus backs off, not the device
            dev.last_error = str(exc)
            return None
        except Exception as exc:  # whatever one device does stays that device's problem
            if not isinstance(exc, DeviceReadError):
                self.log.error("modbus read failed unexpectedly", exc_info=exc, extra={
                    "device": dev.device_id, "bus": self.bus.name})
                exc = DeviceReadError(dev.device_id, "?", repr(exc))
            if exc.lost_connection:
                self.bus.lost(exc.reason)
                dev.counters["skipped_bus"] += 1
            else:
                wait = dev.retry.failed(now, self.backoff)
                dev.counters["failures"] += 1
                self.log.warning("modbus device did not answer", extra={
                    "device": dev.device_id, "bus": self.bus.name, "error": exc.reason,
                    "failures": dev.retry.failures, "retry_in_s": round(wait, 1)})
            dev.last_error = str(exc)
            return None
        bad = [spec.name for (spec, _), v in zip(specs, values, strict=True)
               if not math.isfinite(v)
               or (spec.is_energy and not 0 <= spec.to_base(v) <= MAX_WH)]
        if bad:
            dev.retry.failed(now, self.backoff)
            dev.counters["failures"] += 1
            dev.last_error = f"implausible value in {', '.join(bad)}"
            self.log.warning("modbus device returned an implausible value", extra={
                "device": dev.device_id, "registers": ",".join(bad)})
            return None
        if dev.retry.failures:
            self.log.info("modbus device answers again", extra={
                "device": dev.device_id, "after_failures": dev.retry.failures})
        dev.retry.succeeded()
        dev.counters["ok"] += 1
        dev.last_error = None
        return values
