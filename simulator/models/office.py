"""A municipal office: weekday hours, lunch dip, small always-on load, optional gas heating."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simulator.models.heating import SpaceHeating
from simulator.models.profile import ROME, SiteContext, jitter
from simulator.models.schedule import WeeklySchedule

__all__ = ["Office"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@dataclass
class Office:
    """Electric load and heating gas of an office building (Mon-Fri 08:00-19:00)."""

    site: SiteContext
    seed: int
    size: float = 1.0
    base_w: float = 600.0
    occupied_w: float = 7000.0
    ua_kw_per_k: float = 6.0
    open_hours: WeeklySchedule = field(init=False)
    heating: SpaceHeating = field(init=False)

    def __post_init__(self) -> None:
        holidays = self.site.local_holidays
        self.open_hours = WeeklySchedule.build({d: ("08:00-19:00",) for d in WEEKDAYS},
                                               local_holidays=holidays)
        plant = WeeklySchedule.build({d: ("06:00-18:00",) for d in WEEKDAYS},
                                     local_holidays=holidays)
        self.heating = SpaceHeating(self.site, plant, seed=self.seed,
                                    ua_kw_per_k=self.ua_kw_per_k * self.size)

    def is_open(self, t_utc: datetime) -> bool:
        return self.open_hours.is_open(t_utc.astimezone(ROME))

    def power_w(self, t_utc: datetime) -> float:
        local = t_utc.astimezone(ROME)
        watts = self.base_w
        if self.open_hours.is_open(local):
            watts += self.occupied_w * (0.7 if local.hour == 13 else 1.0)
        return self.size * watts * jitter(self.seed, t_utc, 0.05)

    def flow_m3h(self, t_utc: datetime) -> float:
        return self.heating.flow_m3h(t_utc)
