"""The Modbus plugin's exceptions: bad map files, unreachable buses, failed device reads."""

from __future__ import annotations

from pathlib import Path

__all__ = ["BusUnavailable", "DeviceReadError", "MapError", "ModbusPluginError"]


class ModbusPluginError(Exception):
    """Base of every error raised by gateway.modbus."""


class MapError(ModbusPluginError):
    """A register map file is unreadable or wrong: `source` (file), `key` (path in it), why."""

    def __init__(self, source: str | Path, key: str, message: str) -> None:
        where = f"{source}: {key}" if key else str(source)
        super().__init__(f"{where}: {message}")
        self.source = str(source)
        self.key = key
        self.message = message


class BusUnavailable(ModbusPluginError):
    """A bus is not connected and may not be retried yet (`retry_in_s`); no request was sent."""

    def __init__(self, bus: str, reason: str, retry_in_s: float) -> None:
        super().__init__(f"bus {bus}: {reason} (next connection attempt in {retry_in_s:.1f} s)")
        self.bus = bus
        self.reason = reason
        self.retry_in_s = retry_in_s


class DeviceReadError(ModbusPluginError):
    """One device did not give a usable answer: `device`, the `register` asked for, why.

    `lost_connection` is True when the bus itself went away (the bus, not the device, backs off).
    """

    def __init__(self, device: str, register: str, reason: str, *,
                 lost_connection: bool = False) -> None:
        super().__init__(f"device {device}, register {register}: {reason}")
        self.device = device
        self.register = register
        self.reason = reason
        self.lost_connection = lost_connection
