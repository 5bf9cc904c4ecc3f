"""Gas space heating driven by outdoor temperature: boiler power = UA x (setpoint - T_out).

The plant runs only inside the zone's legal heating season (DPR 412/93 art. 9) and when its
clock says so; the first two hours after switch-on carry a recovery boost. Gas volume uses the
calorific value of seed 003 (9.42 kWh/Sm³) and a boiler efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from simulator.models.climate import heating_days
from simulator.models.profile import ROME, SiteContext, jitter
from simulator.models.schedule import WeeklySchedule

__all__ = ["KWH_PER_SMC", "SpaceHeating", "in_heating_season"]

KWH_PER_SMC = 9.42


def in_heating_season(zone: str, day: date) -> bool:
    season_year = day.year if day.month >= 7 else day.year - 1
    start, end = heating_days(zone, season_year)
    return start <= day <= end


@dataclass
class SpaceHeating:
    """Heating gas flow of one building."""

    site: SiteContext
    plant: WeeklySchedule
    seed: int
    ua_kw_per_k: float
    setpoint_c: float = 20.0
    efficiency: float = 0.9
    boost: float = 1.35
    measure_at: float | None = None   # Unix time an efficiency measure takes effect
    measure_factor: float = 1.0       # heating demand multiplier from then on (0.8: -20 %)

    def plant_on(self, local: datetime) -> bool:
        zone = self.site.weather.municipality.zone
        return in_heating_season(zone, local.date()) and self.plant.is_open(local)

    def flow_m3h(self, t_utc: datetime) -> float:
        local = t_utc.astimezone(ROME)
        if not self.plant_on(local):
            return 0.0
        deficit = self.setpoint_c - self.site.weather.temperature(local)
        if deficit <= 0.0:
            return 0.0
        kw = self.ua_kw_per_k * deficit
        if self.measure_at is not None and t_utc.timestamp() >= self.measure_at:
            kw *= self.measure_factor
        if not self.plant_on(local - timedelta(hours=2)):
            kw *= self.boost
        kw *= jitter(self.seed ^ 0x6A5, t_utc, 0.05)
        return kw / self.efficiency / KWH_PER_SMC
