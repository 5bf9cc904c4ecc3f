"""The ``[plugins.modbus]`` table: buses, devices on them, register maps, channel names, timing.

``parse_settings(options) -> (ModbusSettings | None, problems)``; every problem is a
``"key.path: message"`` string (``buses[0].devices[1].map: ...``) that the config loader
prefixes with ``plugins.modbus``. Register maps are loaded here, so a broken map file is
reported by ``meterkit gateway check`` before the service starts. See gateway/modbus/example.toml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.modbus.errors import MapError
from gateway.modbus.regmap import RegisterMap, RegisterSpec, load_map

__all__ = ["BusSettings", "DeviceSettings", "ModbusSettings", "parse_settings"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")   # fits the registry's "<plugin>:<name>" device ids
_TOP = {"interval_s", "power_period_s", "max_lag_s", "reset_max_kwh", "backoff", "buses"}
_BACKOFF = {"initial_s", "maximum_s", "jitter"}
_BUS = {"name", "type", "host", "port", "serial", "baudrate", "parity", "stopbits", "bytesize",
        "timeout_s", "retries", "devices"}
_DEVICE = {"name", "unit", "map", "site", "channels"}


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """One meter: Modbus unit id, its map, and which map registers feed which channels."""

    name: str
    unit: int
    map: RegisterMap
    channels: dict[str, str]            # map register name -> channel name
    site: str | None = None

    def specs(self, *, energy: bool) -> list[tuple[RegisterSpec, str]]:
        """(register, channel) pairs of the energy (cumulative) or the power registers."""
        return [(self.map.registers[reg], ch) for reg, ch in self.channels.items()
                if self.map.registers[reg].is_energy == energy]


@dataclass(frozen=True, slots=True)
class BusSettings:
    """A serial port or a TCP host:port, and the devices that answer on it."""

    name: str
    type: str                            # "tcp" | "rtu"
    devices: tuple[DeviceSettings, ...]
    host: str = ""
    port: int = 502
    serial: str = ""
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout_s: float = 1.0
    retries: int = 1

    @property
    def address(self) -> str:
        """What makes two bus entries the same bus (they would need one lock)."""
        return f"tcp:{self.host}:{self.port}" if self.type == "tcp" else f"rtu:{self.serial}"


@dataclass(frozen=True, slots=True)
class ModbusSettings:
    interval_s: int = 900                # energy readings' interval; polls at its UTC multiples
    power_period_s: int = 0              # 0: power registers are not polled
    max_lag_s: float = 60.0              # a reading finished later than this after the boundary
    backoff_initial_s: float = 5.0       # is dropped (that interval becomes a gap)
    backoff_maximum_s: float = 300.0
    backoff_jitter: float = 0.5
    buses: tuple[BusSettings, ...] = ()
    reset_max_kwh: float = 20.0          # a register that went down to at most this is a new
                                         # meter counting from 0 (flag register_reset)


class _Checker:
    """Collects problems; each getter returns the default when the value is bad."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def unknown(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(table) - allowed):
            self.problems.append(f"{where}{key}: unknown key (expected one of "
                                 f"{', '.join(sorted(allowed))})")

    def get(self, table: dict[str, Any], key: str, where: str, default: Any,
            ok: Callable[[Any], bool], expected: str) -> Any:
        value = table.get(key, default)
        if not ok(value):
            self.problems.append(f"{where}{key}: {value!r} is not {expected}")
            return default
        return value


def _number(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, bool) and isinstance(v, int | float) and lo <= v <= hi


def _integer(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, bool) and isinstance(v, int) and lo <= v <= hi


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def parse_settings(options: dict[str, Any]) -> tuple[ModbusSettings | None, list[str]]:
    """Validated settings, or None and every problem found (with its key path)."""
    c = _Checker()
    c.unknown(options, _TOP, "")
    interval = c.get(options, "interval_s", "", 900, lambda v: v in (900, 3600),
                     "900 or 3600 (the gateway's interval lengths)")
    power = c.get(options, "power_period_s", "", 0, _integer(0, 3600),
                  "0 (off) or a period of 1..3600 seconds")
    lag = c.get(options, "max_lag_s", "", 60.0, _number(1, 600), "1..600 seconds")
    reset_max = c.get(options, "reset_max_kwh", "", 20.0, _number(0, 1e6), "0..1000000 kWh")
    backoff = options.get("backoff", {})
    if not isinstance(backoff, dict):
        c.problems.append("backoff: must be a table with initial_s, maximum_s, jitter")
        backoff = {}
    c.unknown(backoff, _BACKOFF, "backoff.")
    initial = c.get(backoff, "initial_s", "backoff.", 5.0, _number(0.01, 3600), "0.01..3600 s")
    maximum = c.get(backoff, "maximum_s", "backoff.", 300.0, _number(0.01, 86400),
                    "0.01..86400 s")
    jitter = c.get(backoff, "jitter", "backoff.", 0.5, _number(0, 1), "a fraction 0..1")
    raw_buses = options.get("buses")
    if not isinstance(raw_buses, list) or not raw_buses:
        c.problems.append("buses: missing; add at least one [[plugins.modbus.buses]] table")
        raw_buses = []
    buses = [_bus(c, raw, f"buses[{i}].") for i, raw in enumerate(raw_buses)]
    _unique(c, [(b.name, f"buses[{i}].name") for i, b in enumerate(buses) if b], "bus name")
    _unique(c, [(b.address, f"buses[{i}]") for i, b in enumerate(buses) if b], "bus address",
            hint="; list every device of a serial port or TCP host:port under one bus entry, "
                 "which holds the one lock of that bus")
    _unique(c, [(d.name, f"buses[{i}].devices[{j}].name") for i, b in enumerate(buses) if b
                for j, d in enumerate(b.devices)], "device name")
    for i, b in enumerate(buses):
        if b is not None:
            _poll_budget(c, b, float(lag), f"buses[{i}]")
    if c.problems:
        return None, c.problems
    return ModbusSettings(interval, power, float(lag), float(initial), float(maximum),
                          float(jitter), tuple(b for b in buses if b), float(reset_max)), []


def _poll_budget(c: _Checker, bus: BusSettings, max_lag_s: float, where: str) -> None:
    """Devices are read one after another under the bus lock: when every one of them times
    out (a cut RS-485 cable, a converter gone), the last is read after all the others' full
    timeouts, and a reading finished later than max_lag_s after the boundary is dropped."""
    per_device = bus.timeout_s * (bus.retries + 1)
    worst = per_device * len(bus.devices)
    if worst >= max_lag_s:
        c.problems.append(
            f"{where}: {len(bus.devices)} device(s) x timeout_s {bus.timeout_s:g} x "
            f"(retries {bus.retries} + 1) = {worst:g} s, not below max_lag_s {max_lag_s:g}: "
            "when the bus is silent the last devices would be read too late and their "
            "readings dropped; lower timeout_s or retries, or raise max_lag_s (at most 600)")


def _unique(c: _Checker, items: list[tuple[Any, str]], what: str, hint: str = "") -> None:
    seen: dict[Any, str] = {}
    for value, where in items:
        if value in seen:
            c.problems.append(f"{where}: {what} {value!r} is already used at {seen[value]}"
                              f"{hint}")
        seen.setdefault(value, where)


def _bus(c: _Checker, raw: Any, where: str) -> BusSettings | None:
    if not isinstance(raw, dict):
        c.problems.append(f"{where.rstrip('.')}: must be a table")
        return None
    before = len(c.problems)
    c.unknown(raw, _BUS, where)
    name = c.get(raw, "name", where, "", lambda v: _text(v) and bool(_NAME.match(v)),
                 "a name of letters, digits, '_', '.', '-'")
    kind = c.get(raw, "type", where, "tcp", lambda v: v in ("tcp", "rtu"), "'tcp' or 'rtu'")
    common: dict[str, Any] = {
        "timeout_s": float(c.get(raw, "timeout_s", where, 1.0, _number(0.01, 60),
                                 "0.01..60 seconds")),
        "retries": c.get(raw, "retries", where, 1, _integer(0, 5), "0..5"),
    }
    if kind == "tcp":
        common["host"] = c.get(raw, "host", where, "", _text, "a host name or IP address")
        common["port"] = c.get(raw, "port", where, 502, _integer(1, 65535), "a TCP port")
        for key in ("serial", "baudrate", "parity", "stopbits", "bytesize"):
            if key in raw:
                c.problems.append(f"{where}{key}: only for type = 'rtu'")
    else:
        common["serial"] = c.get(raw, "serial", where, "", _text,
                                 "a serial device such as /dev/ttyUSB0")
        common["baudrate"] = c.get(raw, "baudrate", where, 9600, _integer(300, 921600),
                                   "a baud rate such as 9600")
        common["parity"] = c.get(raw, "parity", where, "N", lambda v: v in ("N", "E", "O"),
                                 "'N', 'E' or 'O'")
        common["stopbits"] = c.get(raw, "stopbits", where, 1, lambda v: v in (1, 2), "1 or 2")
        common["bytesize"] = c.get(raw, "bytesize", where, 8, lambda v: v in (7, 8), "7 or 8")
        for key in ("host", "port"):
            if key in raw:
                c.problems.append(f"{where}{key}: only for type = 'tcp' (use serial = ...)")
    raw_devices = raw.get("devices")
    if not isinstance(raw_devices, list) or not raw_devices:
        c.problems.append(f"{where}devices: missing; add [[...buses.devices]] tables")
        raw_devices = []
    devices = [_device(c, d, f"{where}devices[{j}].", kind) for j, d in enumerate(raw_devices)]
    _unique(c, [(d.unit, f"{where}devices[{j}].unit") for j, d in enumerate(devices) if d],
            "unit id")
    if len(c.problems) > before:
        return None
    return BusSettings(name=name, type=kind, devices=tuple(d for d in devices if d), **common)


def _device(c: _Checker, raw: Any, where: str, kind: str) -> DeviceSettings | None:
    if not isinstance(raw, dict):
        c.problems.append(f"{where.rstrip('.')}: must be a table")
        return None
    before = len(c.problems)
    c.unknown(raw, _DEVICE, where)
    name = c.get(raw, "name", where, "", lambda v: _text(v) and bool(_NAME.match(v)),
                 "a name of letters, digits, '_', '.', '-' (the device id is modbus:<name>)")
    # RTU unit ids are 1..247 (0 is broadcast, which meters never answer).
    unit = c.get(raw, "unit", where, 1, _integer(1, 247) if kind == "rtu" else _integer(0, 255),
                 "a unit id 1..247" if kind == "rtu" else "a unit id 0..255")
    site = c.get(raw, "site", where, None, lambda v: v is None or _text(v), "a site name")
    regmap: RegisterMap | None = None
    ref = raw.get("map")
    if not _text(ref):
        c.problems.append(f"{where}map: {ref!r} is not a map name (sdm120, sdm630) or the path "
                          "of a map file")
    else:
        try:
            regmap = load_map(ref)
        except MapError as exc:
            c.problems.append(f"{where}map: {exc}")
    channels = raw.get("channels")
    if not isinstance(channels, dict) or not channels:
        c.problems.append(f"{where}channels: must map register names of the map to channel "
                          "names, e.g. {{ import_energy = \"el_import\" }}")
        channels = {}
    names: set[str] = set()
    for reg, channel in channels.items():
        if regmap is not None and reg not in regmap.registers:
            c.problems.append(f"{where}channels.{reg}: map {regmap.name} has no register "
                              f"{reg!r} (it has {', '.join(sorted(regmap.registers))})")
        if not _text(channel) or not _NAME.match(channel):
            c.problems.append(f"{where}channels.{reg}: {channel!r} is not a channel name")
        elif channel in names:
            c.problems.append(f"{where}channels.{reg}: channel name {channel!r} is used twice")
        names.add(str(channel))
    if len(c.problems) > before or regmap is None:
        return None
    return DeviceSettings(name, unit, regmap, dict(channels), site)
