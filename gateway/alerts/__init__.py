"""Alerts plugin: threshold, schedule, missing-data, event and anomaly rules; MQTT and e-mail.

Public API (loaded lazily, so importing the package does not pull in aiosmtplib):
    AlertsPlugin        the plugin class (entry point ``gateway.alerts.plugin:AlertsPlugin``)
    parse_settings      validate a ``[plugins.alerts]`` table -> (settings | None, problems)
    AlertEngine         the I/O-free rule engine
    Rule, AlertState, Transition, Observation
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["AlertEngine", "AlertState", "AlertsPlugin", "Observation", "Rule", "Transition",
           "parse_settings"]

_WHERE = {"AlertsPlugin": "plugin", "parse_settings": "settings", "AlertEngine": "engine",
          "Rule": "rules", "AlertState": "lifecycle", "Transition": "lifecycle",
          "Observation": "lifecycle"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gateway.alerts' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gateway.alerts.{_WHERE[name]}"), name)
