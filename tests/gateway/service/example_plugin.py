"""A test-only plugin that shows the whole contract: config check, hooks, publish, series.

It sums kWh per ARERA band from the batches it receives and, every `schedule_s`, publishes the
totals as a `band_totals` result. Built-in plugins are written exactly like this and registered
under the entry-point group ``meterkit.plugins``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from gateway.model import DeviceEvent, PluginResult, ReadingBatch
from gateway.plugins.hookspecs import PluginContext


class ExamplePlugin:
    """Band totals: `[plugins.example] min_kwh = 0.0` (publish only totals above it)."""

    schedule_s: int | None = 1

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        problems = [f"{key}: unknown key (expected min_kwh)" for key in config
                    if key != "min_kwh"]
        value = config.get("min_kwh", 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(f"min_kwh: {value!r} is not a number >= 0")
        return problems

    def __init__(self, config: dict[str, Any], context: PluginContext) -> None:
        self.min_kwh = float(config.get("min_kwh", 0.0))
        self.ctx = context
        self.totals: dict[str, float] = defaultdict(float)
        self.events: list[DeviceEvent] = []
        self.results: list[PluginResult] = []
        self.ticks: list[datetime] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def on_readings(self, batch: ReadingBatch) -> None:
        for r in batch.readings:
            if r.band is not None and r.kwh is not None:
                self.totals[r.band] += r.kwh

    async def on_event(self, event: DeviceEvent) -> None:
        self.events.append(event)

    async def on_result(self, result: PluginResult) -> None:
        self.results.append(result)

    async def on_schedule(self, now: datetime) -> None:
        self.ticks.append(now)
        total = sum(self.totals.values())
        if total > self.min_kwh:
            await self.ctx.publish(PluginResult(plugin=self.ctx.name, name="band_totals",
                                                payload=dict(self.totals), time=now))

    async def stop(self) -> None:
        self.stopped = True
