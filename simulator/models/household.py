"""A household: fridge cycling, morning and evening peaks, weekend daytime, random appliances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from simulator.models.noise import uniform
from simulator.models.profile import ROME, jitter

__all__ = ["Household"]


@dataclass
class Household:
    """Electric load of a flat (~2,700 kWh/yr at size 1)."""

    seed: int
    size: float = 1.0
    base_w: float = 110.0
    fridge_w: float = 90.0
    appliance_w: float = 1800.0      # washing machine, oven, dishwasher
    appliance_chance: float = 0.035  # per quarter hour between 07:00 and 23:00

    def power_w(self, t_utc: datetime) -> float:
        local = t_utc.astimezone(ROME)
        hour = local.hour + local.minute / 60.0
        watts = self.base_w
        if local.minute % 30 < 12:  # compressor on ~40% of the time
            watts += self.fridge_w
        weekend = local.weekday() >= 5
        if 6.5 <= hour < 8.5:
            watts += 500.0
        if 12.0 <= hour < 14.0:
            watts += 500.0 if weekend else 150.0
        if 18.5 <= hour < 22.5:
            watts += 450.0
        if weekend and 9.0 <= hour < 18.0:
            watts += 250.0
        quarter = int(t_utc.timestamp()) // 900
        if 7.0 <= hour < 23.0 and uniform(self.seed ^ 0xA991, quarter) < self.appliance_chance:
            watts += self.appliance_w
        return self.size * watts * jitter(self.seed, t_utc, 0.08)
