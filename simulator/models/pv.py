"""A photovoltaic plant: clear-sky irradiance x daily cloudiness x kWp x performance ratio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from simulator.models.noise import uniform
from simulator.models.profile import ROME, SiteContext, jitter
from simulator.models.sun import clear_sky_ghi, elevation_deg

__all__ = ["PVPlant"]

# probability of (clear, partly cloudy, overcast) by month; clearness of each kind of day
SKY_BY_MONTH = {
    1: (0.40, 0.30), 2: (0.40, 0.30), 3: (0.45, 0.30), 4: (0.50, 0.30), 5: (0.55, 0.30),
    6: (0.70, 0.20), 7: (0.80, 0.15), 8: (0.75, 0.17), 9: (0.60, 0.25), 10: (0.45, 0.30),
    11: (0.35, 0.30), 12: (0.35, 0.30),
}
CLEARNESS = (0.97, 0.6, 0.22)


@dataclass
class PVPlant:
    """AC output of a plant in watts; exactly zero while the sun is below the horizon."""

    site: SiteContext
    seed: int
    kwp: float = 3.0
    performance_ratio: float = 0.8
    tilt_gain: float = 1.12  # south-facing ~30° panel vs horizontal, yearly average

    def clearness(self, t_utc: datetime) -> float:
        local = t_utc.astimezone(ROME)
        clear, partly = SKY_BY_MONTH[local.month]
        u = uniform(self.seed ^ 0x5C1, local.date().toordinal())
        kind = 0 if u < clear else 1 if u < clear + partly else 2
        return CLEARNESS[kind]

    def power_w(self, t_utc: datetime) -> float:
        elevation = elevation_deg(t_utc, self.site.latitude, self.site.longitude)
        if elevation <= 0.0:
            return 0.0
        ghi = clear_sky_ghi(elevation) * self.clearness(t_utc)
        watts = self.kwp * ghi * self.tilt_gain * self.performance_ratio
        return watts * jitter(self.seed, t_utc, 0.05)
