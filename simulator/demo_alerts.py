"""Alert rules for the demo fleet, for the gateway's alerts plugin (if the gateway has it).

Rules follow gateway/alerts/example_school.toml, sized for the demo school (size 0.5: about
0.75 kW always on, plus 1.25 kW of circulation pumps while the heating runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["alerts_available", "demo_alert_rules"]


def alerts_available() -> bool:
    """True when the gateway's plugin discovery finds an `alerts` plugin."""
    try:
        from gateway.plugins.host import discover_plugins
    except ImportError:
        return False
    return "alerts" in discover_plugins()


def demo_alert_rules(state_dir: Path, school: str, lighting: str | None, *,
                     school_site: str, lighting_site: str) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "closed_building": {
            "kind": "closed_building", "device": school, "channel": "el1", "site": school_site,
            "open": {"mon-fri": ["07:30-18:30"]}, "base_load_kw": 1.5,
            "base_load_heating_kw": 2.5, "hysteresis": 0.3, "for_intervals": 4,
            "severity": "warning", "description": "Consumi elettrici a scuola chiusa"},
        "gas_outside_heating": {
            "kind": "gas_outside_heating", "device": school, "channel": "gas",
            "site": school_site,
            "heating": {"mon": ["00:00-17:30"], "tue": ["05:00-17:30"],
                        "wed-fri": ["05:00-12:00"]},
            "max_flow": 0.5, "hysteresis": 0.1, "for_intervals": 2, "severity": "warning"},
        "boards": {"kind": "device_event", "events": ["tamper", "queue_overflow"],
                   "quiet_s": 3600, "severity": "critical"},
    }
    if lighting:
        rules["lighting_daily_energy"] = {
            "kind": "daily_energy", "device": lighting, "channel": "el1", "above": 140.0,
            "site": lighting_site,
            "hysteresis": 5.0, "severity": "info"}
    return {"state_db": str(state_dir / "alerts.db"), "language": "it", "rules": rules}
