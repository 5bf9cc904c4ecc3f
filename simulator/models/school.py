"""A school complex (seed 003, Genova): lessons, holidays, summer closure, lights, pumps, gas.

Defaults reproduce the order of magnitude of the seed's complex (its baselines: 63.5 MWh/yr
electricity, 426 MWh/yr of gas ≈ 45,000 Sm³ in zone D): at size 1 in Genova the model draws
about 52 MWh/yr (1.5 kW always on 13 MWh, 24 kW on 174 school days x 10 h at 80-100 % 36 MWh,
pumps 3 MWh, summer office 1 MWh) and burns about 45,800 m³/yr; `size` scales every power.
Opening hours and heating-plant hours are those of seed 003 Table 2.3 (plant: Mon 00:00-17:30,
Tue 05:00-17:30, Wed-Fri 05:00-12:00, within the zone's heating season, off on holidays and
breaks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simulator.models.heating import SpaceHeating
from simulator.models.profile import ROME, SiteContext, jitter
from simulator.models.schedule import WeeklySchedule
from simulator.models.sun import elevation_deg

__all__ = ["School", "school_schedule"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
LESSON_CLOSURES = ("12-23..01-06", "easter", "06-10..09-14")


def school_schedule(local_holidays: tuple[str, ...] = ()) -> WeeklySchedule:
    """The building is open Mon-Fri 08:00-18:00 outside holidays and school breaks."""
    return WeeklySchedule.build({d: ("08:00-18:00",) for d in WEEKDAYS},
                                closures=LESSON_CLOSURES, local_holidays=local_holidays)


def plant_schedule(local_holidays: tuple[str, ...] = ()) -> WeeklySchedule:
    """Heating plant clock of seed 003 Table 2.3 (ZT01), off during holidays and breaks."""
    windows = {"mon": ("00:00-17:30",), "tue": ("05:00-17:30",), "wed": ("05:00-12:00",),
               "thu": ("05:00-12:00",), "fri": ("05:00-12:00",)}
    return WeeklySchedule.build(windows, closures=("12-23..01-06", "easter"),
                                local_holidays=local_holidays)


@dataclass
class School:
    """Electric load (`power_w`) and heating gas (`flow_m3h`) of one school building."""

    site: SiteContext
    seed: int
    size: float = 1.0
    base_w: float = 1500.0        # fridges, servers, emergency lights: always on
    occupied_w: float = 24000.0   # lights, ICT, kitchen while the building is open
    admin_w: float = 3500.0       # office staff in summer, Mon-Fri 08:00-14:00
    pumps_w: float = 2500.0       # circulators while the heating plant runs
    ua_kw_per_k: float = 40.0     # envelope losses seen by the boiler
    left_on: tuple[float, float] | None = None  # Unix [from, to): lights left on (an anomaly)
    open_hours: WeeklySchedule = field(init=False)
    heating: SpaceHeating = field(init=False)

    def __post_init__(self) -> None:
        self.open_hours = school_schedule(self.site.local_holidays)
        admin = {d: ("08:00-14:00",) for d in WEEKDAYS}
        self.admin_hours = WeeklySchedule.build(admin, closures=("08-01..08-20",),
                                                local_holidays=self.site.local_holidays)
        self.heating = SpaceHeating(self.site, plant_schedule(self.site.local_holidays),
                                    seed=self.seed, ua_kw_per_k=self.ua_kw_per_k * self.size)

    def is_open(self, t_utc: datetime) -> bool:
        return self.open_hours.is_open(t_utc.astimezone(ROME))

    def power_w(self, t_utc: datetime) -> float:
        local = t_utc.astimezone(ROME)
        watts = self.base_w
        if self.open_hours.is_open(local):
            dark = elevation_deg(t_utc, self.site.latitude, self.site.longitude) < 15.0
            watts += self.occupied_w * (1.0 if dark else 0.8)
        elif self.admin_hours.is_open(local) and _summer_break(local):
            watts += self.admin_w
        if self.heating.plant_on(local):
            watts += self.pumps_w
        if self.left_on is not None and self.left_on[0] <= t_utc.timestamp() < self.left_on[1]:
            watts += 0.5 * self.occupied_w
        return self.size * watts * jitter(self.seed, t_utc, 0.04)

    def flow_m3h(self, t_utc: datetime) -> float:
        return self.heating.flow_m3h(t_utc)


def _summer_break(local: datetime) -> bool:
    return (6, 10) <= (local.month, local.day) <= (9, 14)
