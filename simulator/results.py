"""What a run produced, computed from the upstream subscriber's messages and the ground truth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from simulator.truth import Comparison, Delivered

__all__ = ["RunResult", "alert_summary", "energy_summary", "unique_readings"]

ALERT_KEYS = ("time", "site", "device", "channel", "rule", "kind", "state", "severity", "value",
              "limit", "unit", "message")


def alert_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """One alert transition as received upstream (alert or plugin_result schema), flattened."""
    if isinstance(doc.get("payload"), dict):
        body = doc["payload"]
    elif isinstance(doc.get("details"), dict):  # alert schema: the rule's own fields in details
        body = {**doc, **doc["details"]}
    else:
        body = doc
    return {k: body.get(k, doc.get(k)) for k in ALERT_KEYS}


def unique_readings(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First copy of each reading (consumers de-duplicate by msg_id)."""
    seen: dict[tuple[str, str, int], dict[str, Any]] = {}
    for doc in messages:
        seen.setdefault(Delivered.key_of(doc), doc)
    return list(seen.values())


def energy_summary(readings: list[dict[str, Any]]) -> dict[str, Any]:
    """Electricity drawn by ARERA band (kWh), PV production (kWh) and gas (Smc/kWh)."""
    bands: dict[str, float] = {"F1": 0.0, "F2": 0.0, "F3": 0.0}
    pv = 0.0
    gas: dict[str, float] = defaultdict(float)
    by_site: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in readings:
        value = float(r.get("value", 0.0))
        site = str(r.get("site", ""))
        if r.get("quantity") == "gas_volume":
            gas[str(r.get("unit"))] += value
            gas["kWh"] += float(r.get("kwh") or 0.0)
            by_site[site]["gas_" + str(r.get("unit"))] += value
        elif r.get("channel") == "pv" or r.get("quantity") == "energy_export":
            pv += value
            by_site[site]["pv_kWh"] += value
        elif r.get("band") in bands:
            bands[r["band"]] += value
            by_site[site][r["band"] + "_kWh"] += value
    return {
        "energy_by_band": {k: round(v, 3) for k, v in bands.items()},
        "pv_kwh": round(pv, 3),
        "gas": {k: round(v, 3) for k, v in gas.items()},
        "by_site": {s: {k: round(v, 3) for k, v in d.items()} for s, d in by_site.items()},
    }


@dataclass
class RunResult:
    """Everything the report shows; `as_dict()` is the --json object."""

    scenario: str
    devices: int
    days: float
    wall_s: float
    comparison: Comparison | None
    readings_stored: int | None
    readings_normalised: int | None
    energy: dict[str, Any]
    alerts: list[dict[str, Any]] | None        # None: no alerts plugin in the gateway
    plugin_results: list[dict[str, Any]]
    savings: dict[str, Any] | None
    faults: dict[str, int]
    broker: str
    degraded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    readings: list[dict[str, Any]] = field(default_factory=list, repr=False)  # in-period, unique
    # per board: power cuts as played (planned, board time at the SIGKILL, restart), the clock
    # speed its HAL announced (drift included) and the planned drift
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, Any] = (self.comparison.as_dict() if self.comparison else {
            k: None for k in ("readings_produced", "readings_delivered", "readings_lost",
                              "readings_invented", "duplicates_delivered")})
        return {
            "scenario": self.scenario,
            "devices": self.devices,
            "days": self.days,
            "wall_s": round(self.wall_s, 2),
            **counts,
            "readings_stored": self.readings_stored,
            "readings_normalised": self.readings_normalised,
            "ok": bool(self.comparison and self.comparison.ok and not self.degraded),
            "energy_by_band": self.energy.get("energy_by_band"),
            "pv_kwh": self.energy.get("pv_kwh"),
            "gas": self.energy.get("gas"),
            "energy_by_site": self.energy.get("by_site"),
            "alerts": self.alerts,
            "plugin_results": self.plugin_results,
            "savings": self.savings,
            "faults": self.faults,
            "broker": self.broker,
            "degraded": self.degraded,
            "notes": self.notes,
            "boards": self.boards,
        }
