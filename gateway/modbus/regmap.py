"""Register maps: TOML files naming each register's address, function, type, order, scale, unit.

    load_map("sdm630")                  -> RegisterMap   (built-in, gateway/modbus/maps/)
    load_map("/etc/meterkit/x.toml")    -> RegisterMap   (any other meter or inverter)
    spec.decode([0x449A, 0x5000])       -> 1234.5        (raw value, before scale)
    spec.to_base(1234.5)                -> 1234500.0     (Wh for energy, W for power)

A map file::

    [meter]
    name = "sdm630"                     # optional; defaults to the file name
    description = "Eastron SDM630 ..."  # optional
    source = "where the addresses come from"

    [registers.import_energy]
    address = 0x0048      # 0-based address on the wire (30073 in "3xxxx" notation is 0x0048)
    function = 4          # 3 = holding registers, 4 = input registers
    type = "float32"      # float32 | int32 | uint32 | int16 | uint16
    word_order = "big"    # big: high word first; little: low word first (32-bit types only)
    scale = 1.0           # raw value x scale = value in `unit`
    unit = "kWh"          # Wh | kWh (cumulative energy) or W | kW (power)
    direction = "import"  # energy only: import | export

Every problem raises :class:`MapError` naming the file and the key path (``registers.x.type``).
"""

from __future__ import annotations

import math
import struct
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.modbus.errors import MapError

__all__ = ["BUILTIN_DIR", "ENERGY_UNITS", "POWER_UNITS", "RegisterMap", "RegisterSpec",
           "load_map"]

BUILTIN_DIR = Path(__file__).with_name("maps")
ENERGY_UNITS = {"Wh": 1.0, "kWh": 1000.0}     # factor to Wh
POWER_UNITS = {"W": 1.0, "kW": 1000.0}        # factor to W
TYPES = {"float32": (">f", 2), "int32": (">i", 2), "uint32": (">I", 2),
         "int16": (">h", 1), "uint16": (">H", 1)}
_REGISTER_KEYS = {"address", "function", "type", "word_order", "scale", "unit", "direction",
                  "description"}


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """One value of a meter: where it is, how to decode it, what it measures."""

    name: str
    address: int
    function: int            # 3 holding | 4 input
    type: str
    word_order: str          # "big" | "little"
    scale: float
    unit: str
    direction: str = "import"

    @property
    def count(self) -> int:
        return TYPES[self.type][1]

    @property
    def is_energy(self) -> bool:
        return self.unit in ENERGY_UNITS

    def decode(self, registers: list[int]) -> float:
        """The raw number held in `registers` (16-bit words as read from the wire)."""
        if len(registers) != self.count:
            raise ValueError(f"{self.name}: {len(registers)} registers, expected {self.count}")
        words = registers if self.word_order == "big" else list(reversed(registers))
        raw = b"".join(int(w).to_bytes(2, "big") for w in words)
        return float(struct.unpack(TYPES[self.type][0], raw)[0])

    def to_base(self, raw: float) -> float:
        """Raw value -> Wh (energy) or W (power), after `scale`."""
        factor = ENERGY_UNITS.get(self.unit) or POWER_UNITS[self.unit]
        return raw * self.scale * factor


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """A checked map: its name, where it came from, and its registers by name."""

    name: str
    source: str
    registers: dict[str, RegisterSpec]
    description: str = ""


def load_map(ref: str | Path) -> RegisterMap:
    """A built-in map by name (``"sdm120"``) or a map file by path; MapError if anything is off."""
    path = Path(ref)
    if isinstance(ref, str) and "/" not in ref and not ref.endswith(".toml"):
        path = BUILTIN_DIR / f"{ref}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.toml")))
            raise MapError(ref, "", f"no built-in map of that name (built-in: {known}; "
                                    "or give the path of a .toml map file)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MapError(path, "", f"cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise MapError(path, "", f"is not valid TOML ({exc})") from None
    return parse_map(data, source=str(path), default_name=path.stem)


def parse_map(data: dict[str, Any], *, source: str, default_name: str) -> RegisterMap:
    """Check a map already parsed from TOML (see the module docstring for the format)."""
    unknown = set(data) - {"meter", "registers"}
    if unknown:
        raise MapError(source, sorted(unknown)[0], "unknown section (expected meter, registers)")
    meter = data.get("meter", {})
    if not isinstance(meter, dict):
        raise MapError(source, "meter", "must be a table")
    odd = set(meter) - {"name", "description", "source"}
    if odd:
        raise MapError(source, f"meter.{sorted(odd)[0]}",
                       "unknown key (expected description, name, source)")
    registers = data.get("registers")
    if not isinstance(registers, dict) or not registers:
        raise MapError(source, "registers", "missing or empty: a map needs at least one "
                                            "[registers.<name>] table")
    specs = {name: _register(source, name, body) for name, body in registers.items()}
    return RegisterMap(name=str(meter.get("name") or default_name), source=source,
                       registers=specs, description=str(meter.get("description", "")))


def _register(source: str, name: str, body: Any) -> RegisterSpec:
    where = f"registers.{name}"
    if not isinstance(body, dict):
        raise MapError(source, where, "must be a table")
    unknown = set(body) - _REGISTER_KEYS
    if unknown:
        raise MapError(source, f"{where}.{sorted(unknown)[0]}",
                       f"unknown key (expected {', '.join(sorted(_REGISTER_KEYS))})")
    address = body.get("address")
    if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 0xFFFF:
        raise MapError(source, f"{where}.address",
                       f"{address!r} is not a register address 0..65535 (0-based, as on the wire)")
    function = body.get("function", 4)
    if function not in (3, 4) or isinstance(function, bool):
        raise MapError(source, f"{where}.function",
                       f"{function!r} is not 3 (holding registers) or 4 (input registers)")
    kind = body.get("type")
    if kind not in TYPES:
        raise MapError(source, f"{where}.type",
                       f"{kind!r} is not one of {', '.join(TYPES)}")
    order = body.get("word_order", "big")
    if order not in ("big", "little"):
        raise MapError(source, f"{where}.word_order", f"{order!r} is not 'big' or 'little'")
    scale = body.get("scale", 1.0)
    if (isinstance(scale, bool) or not isinstance(scale, int | float)
            or not math.isfinite(scale) or scale <= 0):
        raise MapError(source, f"{where}.scale", f"{scale!r} is not a number > 0")
    unit = body.get("unit")
    if unit not in ENERGY_UNITS and unit not in POWER_UNITS:
        raise MapError(source, f"{where}.unit", f"{unit!r} is not one of "
                       f"{', '.join([*ENERGY_UNITS, *POWER_UNITS])}")
    direction = body.get("direction", "import")
    if direction not in ("import", "export"):
        raise MapError(source, f"{where}.direction", f"{direction!r} is not import or export")
    if "direction" in body and unit in POWER_UNITS:
        raise MapError(source, f"{where}.direction", "only energy registers have a direction")
    if address + TYPES[kind][1] - 1 > 0xFFFF:
        raise MapError(source, f"{where}.address", f"{kind} at {address} runs past 65535")
    return RegisterSpec(name, address, function, kind, order, float(scale), unit, direction)
