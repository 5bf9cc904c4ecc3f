"""One Modbus bus (a serial port or a TCP host:port): its pymodbus client, its lock, reconnects.

Everything that goes on the wire goes through :meth:`Bus.transaction`, which holds the bus's
single lock: RS-485 is half duplex and a TCP-to-RS485 converter serialises anyway, so two
requests in flight only make both time out. pymodbus's own reconnect loop is switched off
(``reconnect_delay=0``); the bus reconnects on demand, with its own backoff and jitter on the
injected clock, so a dead converter costs one connection attempt per backoff step, not one
per device per poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from gateway.backoff import Backoff, Retry
from gateway.modbus.clock import Clock
from gateway.modbus.errors import BusUnavailable, DeviceReadError
from gateway.modbus.regmap import RegisterSpec
from gateway.modbus.settings import BusSettings

__all__ = ["Bus"]


class Bus:
    """A pymodbus async client plus the lock and the reconnect state of one bus."""

    def __init__(self, settings: BusSettings, *, clock: Clock, backoff: Backoff,
                 logger: logging.Logger) -> None:
        self.settings = settings
        self.name = settings.name
        self.clock = clock
        self.backoff = backoff
        self.log = logger
        self.lock = asyncio.Lock()
        self.retry = Retry()
        self.counters = {"connects": 0, "connect_failures": 0, "disconnects": 0, "requests": 0}
        self._client: Any = None

    def _make_client(self) -> Any:
        s = self.settings
        if s.type == "tcp":
            return AsyncModbusTcpClient(s.host, port=s.port, timeout=s.timeout_s,
                                        retries=s.retries, reconnect_delay=0,
                                        name=f"modbus:{s.name}")
        return AsyncModbusSerialClient(s.serial, baudrate=s.baudrate, parity=s.parity,
                                       stopbits=s.stopbits, bytesize=s.bytesize,
                                       timeout=s.timeout_s, retries=s.retries,
                                       reconnect_delay=0, name=f"modbus:{s.name}")

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Bus]:
        """Hold the bus (its one lock) and make sure it is connected; BusUnavailable if not."""
        async with self.lock:
            await self._ensure_connected()
            yield self

    async def _ensure_connected(self) -> None:
        if self.connected:
            return
        now = self.clock.now()
        if not self.retry.ready(now):
            raise BusUnavailable(self.name, "not connected", self.retry.not_before - now)
        if self._client is None:
            self._client = self._make_client()
        if await self._client.connect():
            self.counters["connects"] += 1
            if self.retry.failures:
                self.log.info("modbus bus reconnected", extra={
                    "bus": self.name, "after_failures": self.retry.failures})
            self.retry.succeeded()
            return
        self.counters["connect_failures"] += 1
        wait = self.retry.failed(now, self.backoff)
        self.log.warning("modbus bus cannot connect", extra={
            "bus": self.name, "address": self.settings.address,
            "failures": self.retry.failures, "retry_in_s": round(wait, 1)})
        raise BusUnavailable(self.name, f"cannot connect to {self.settings.address}", wait)

    def lost(self, reason: str) -> None:
        """The connection broke mid-transaction: close it; reconnects follow the backoff."""
        self.counters["disconnects"] += 1
        if self._client is not None:
            self._client.close()
        wait = self.retry.failed(self.clock.now(), self.backoff)
        self.log.warning("modbus bus connection lost", extra={
            "bus": self.name, "error": reason, "retry_in_s": round(wait, 1)})

    async def read(self, device: str, unit: int, spec: RegisterSpec) -> float:
        """Read and decode one register spec of one unit (hold :meth:`transaction` first)."""
        if not self.lock.locked():
            raise RuntimeError("Bus.read outside Bus.transaction()")  # a bug, not a bus fault
        fn = (self._client.read_input_registers if spec.function == 4
              else self._client.read_holding_registers)
        self.counters["requests"] += 1
        try:
            response = await fn(spec.address, count=spec.count, device_id=unit)
        except ConnectionException as exc:
            raise DeviceReadError(device, spec.name, f"connection lost ({exc})",
                                  lost_connection=True) from None
        except ModbusException as exc:   # no answer within timeout x (retries + 1)
            raise DeviceReadError(device, spec.name, f"no valid answer ({exc})") from None
        if response.isError():
            code = getattr(response, "exception_code", "?")
            raise DeviceReadError(device, spec.name, f"exception response, code {code} "
                                  f"(function {spec.function}, address {spec.address:#06x})")
        registers = list(getattr(response, "registers", []) or [])
        if len(registers) != spec.count:
            raise DeviceReadError(device, spec.name,
                                  f"{len(registers)} registers returned, {spec.count} asked")
        return spec.decode(registers)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def snapshot(self) -> dict[str, Any]:
        return {"connected": self.connected, "failures": self.retry.failures, **self.counters}
