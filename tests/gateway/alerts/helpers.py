"""Test support for the alerts plugin: a fake plugin context, readings, a settable clock."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.alerts.plugin import AlertsPlugin
from gateway.model import DeviceEvent, PluginResult, Reading, ReadingBatch
from gateway.normalise.bands import band_of

Z = UTC
GENOVA = {"name": "scuola", "municipality": "GENOVA", "zone": "D", "degree_days": 1435,
          "altitude_m": 19, "holidays": ("06-24",)}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Clock:
    """A wall clock the test sets by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeContext:
    """What the host gives a plugin: publish, series (from readings fed), sites, logger."""

    def __init__(self, sites: dict[str, dict[str, Any]] | None = None) -> None:
        self.name = "alerts"
        self.logger = logging.getLogger("tests.alerts")
        self.published: list[PluginResult] = []
        self.stored: dict[tuple[str, str], dict[datetime, Reading]] = {}
        self._sites = sites if sites is not None else {"scuola": GENOVA}

    async def publish(self, result: PluginResult) -> None:
        self.published.append(result)

    async def submit_readings(self, readings: Sequence[Any]) -> None:
        raise AssertionError("the alerts plugin is not an input plugin")

    async def series(self, *, device: str, channel: str, start: datetime,
                     end: datetime) -> list[Reading]:
        rows = self.stored.get((device, channel), {})
        return [rows[t] for t in sorted(rows) if start <= t < end]

    def sites(self) -> dict[str, dict[str, Any]]:
        return self._sites

    def alerts(self, state: str | None = None) -> list[dict[str, Any]]:
        return [r.payload for r in self.published
                if r.name == "alert" and (state is None or r.payload["state"] == state)]


def reading(start: datetime, power: float, *, length_s: int = 900, device: str = "dev1",
            channel: str = "el1", unit: str = "kWh", flags: Iterable[str] = (),
            site: str = "scuola") -> Reading:
    """One interval whose average power is `power` (kW, or Smc/h for unit Smc)."""
    value = power * length_s / 3600.0
    band = band_of(start) if unit == "kWh" else None
    return Reading(site=site, device=device, channel=channel,
                   quantity="energy_import" if unit == "kWh" else "gas_volume",
                   start=start, length_s=length_s, value=value, unit=unit, register=0,
                   register_unit="Wh" if unit == "kWh" else "L", flags=frozenset(flags),
                   band=band, kwh=value if unit == "kWh" else None)


def series(start: datetime, powers: Sequence[float], **kw: Any) -> list[Reading]:
    length = int(kw.get("length_s", 900))
    return [reading(start + timedelta(seconds=i * length), p, **kw)
            for i, p in enumerate(powers)]


async def feed(plugin: AlertsPlugin, ctx: FakeContext, readings: Sequence[Reading], *,
               live: bool = True, batch: int = 96) -> None:
    """Store readings where `series` sees them and deliver them as the host would."""
    for r in readings:
        ctx.stored.setdefault((r.device, r.channel), {})[r.start] = r
    for i in range(0, len(readings), batch):
        await plugin.on_readings(ReadingBatch(tuple(readings[i:i + batch]), live=live))


def event(kind: str, time: datetime, device: str = "dev1", **details: Any) -> DeviceEvent:
    return DeviceEvent(site="scuola", device=device, kind=kind, time=time, details=details)


def config(tmp_path: Path, rules: dict[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"state_db": str(tmp_path / "alerts.db"), "rules": rules, **top}


async def started(cfg: dict[str, Any], ctx: FakeContext, clock: Clock,
                  **kw: Any) -> AlertsPlugin:
    assert AlertsPlugin.validate_config(cfg) == []
    plugin = AlertsPlugin(cfg, ctx, clock=clock, **kw)
    await plugin.start()
    return plugin


def times(alerts: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(state, since, time) of published alerts, as local ISO strings."""
    return [(a["state"], a["since"], a["time"]) for a in alerts]

