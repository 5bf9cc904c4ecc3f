"""Modbus meters as a gateway input: RTU and TCP buses, register maps as data files.

Public API (loaded lazily, so importing the package does not pull in pymodbus):
    ModbusPlugin     the input plugin (entry point ``gateway.modbus.plugin:ModbusPlugin``)
    parse_settings   validate a ``[plugins.modbus]`` table -> (settings | None, problems)
    load_map         read and check a register map file (built-in name or path)
    RegisterMap, RegisterSpec, MapError, SystemClock
See docs/MODBUS.md and docs/decisions/012-modbus.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MapError", "ModbusPlugin", "RegisterMap", "RegisterSpec", "SystemClock",
           "load_map", "parse_settings"]

_WHERE = {"ModbusPlugin": "plugin", "parse_settings": "settings", "load_map": "regmap",
          "RegisterMap": "regmap", "RegisterSpec": "regmap", "MapError": "errors",
          "SystemClock": "clock"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gateway.modbus' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gateway.modbus.{_WHERE[name]}"), name)
