"""Public-lighting circuit: on/off by the ten-day schedule of seed 002 or by dusk and dawn.

Seed 002 (M&V plan for 21 municipalities, section 3.2) fixes switch-on and switch-off times
for each ten-day period of the year in local legal time; the lamps switch on on day d at the
period's on-time and off on day d+1 at the same row's off-time, which gives the plan's
4,110 burning hours in a non-leap year (4,122 h 41 min in a leap year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from simulator.models.profile import ROME, SiteContext, jitter
from simulator.models.sun import crossing

__all__ = ["TEN_DAY_SCHEDULE", "LightingCircuit", "ten_day_times"]

# (month, decade) -> (switch on, switch off), seed 002 section 3.2
TEN_DAY_SCHEDULE: dict[tuple[int, int], tuple[str, str]] = {
    (1, 1): ("17:12", "07:48"), (1, 2): ("17:22", "07:43"), (1, 3): ("17:32", "07:38"),
    (2, 1): ("17:47", "07:28"), (2, 2): ("18:02", "07:13"), (2, 3): ("18:17", "06:58"),
    (3, 1): ("18:27", "06:43"), (3, 2): ("18:42", "06:23"), (3, 3): ("18:57", "06:03"),
    (4, 1): ("20:12", "06:43"), (4, 2): ("20:22", "06:23"), (4, 3): ("20:37", "06:03"),
    (5, 1): ("20:52", "05:48"), (5, 2): ("21:02", "05:33"), (5, 3): ("21:17", "05:23"),
    (6, 1): ("21:27", "05:13"), (6, 2): ("21:33", "05:12"), (6, 3): ("21:38", "05:12"),
    (7, 1): ("21:38", "05:22"), (7, 2): ("21:27", "05:33"), (7, 3): ("21:17", "05:38"),
    (8, 1): ("21:02", "05:55"), (8, 2): ("20:47", "06:08"), (8, 3): ("20:27", "06:23"),
    (9, 1): ("20:07", "06:38"), (9, 2): ("19:47", "06:48"), (9, 3): ("19:27", "07:03"),
    (10, 1): ("19:07", "07:13"), (10, 2): ("18:47", "07:28"), (10, 3): ("18:32", "07:38"),
    (11, 1): ("17:17", "06:52"), (11, 2): ("17:02", "07:08"), (11, 3): ("16:57", "07:18"),
    (12, 1): ("16:57", "07:33"), (12, 2): ("16:57", "07:38"), (12, 3): ("17:02", "07:48"),
}


def ten_day_times(day: date) -> tuple[datetime, datetime]:
    """Switch-on on `day` and switch-off the next morning, aware local datetimes."""
    decade = 1 if day.day <= 10 else 2 if day.day <= 20 else 3
    on_text, off_text = TEN_DAY_SCHEDULE[(day.month, decade)]
    on = datetime.combine(day, time.fromisoformat(on_text), ROME)
    off = datetime.combine(day + timedelta(days=1), time.fromisoformat(off_text), ROME)
    return on, off


@dataclass
class LightingCircuit:
    """A circuit of lamps drawing `lamps_w` while lit (ballast losses included)."""

    site: SiteContext
    seed: int
    lamps_w: float = 9000.0
    mode: str = "ten-day"            # or "astronomical"
    dusk_elevation_deg: float = -2.0  # twilight switch threshold in astronomical mode

    def night(self, day: date) -> tuple[datetime, datetime]:
        """The burning period that starts in the evening of `day`."""
        if self.mode == "ten-day":
            return ten_day_times(day)
        lat, lon = self.site.latitude, self.site.longitude
        on = crossing(day, lat, lon, self.dusk_elevation_deg, rising=False)
        off = crossing(day + timedelta(days=1), lat, lon, self.dusk_elevation_deg, rising=True)
        return on.astimezone(ROME), off.astimezone(ROME)

    def is_lit(self, t_utc: datetime) -> bool:
        local = t_utc.astimezone(ROME)
        for day in (local.date() - timedelta(days=1), local.date()):
            on, off = self.night(day)
            if on <= local < off:
                return True
        return False

    def power_w(self, t_utc: datetime) -> float:
        if not self.is_lit(t_utc):
            return 0.0
        return self.lamps_w * jitter(self.seed, t_utc, 0.01)
