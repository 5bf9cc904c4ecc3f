"""The school model's yearly electricity matches the figure its docstring documents.

Hand calculation for 2026 in Genova at size 1 (simulator/models/school.py defaults):
  always on   1.5 kW x 8760 h                                               = 13.14 MWh
  lessons     261 weekdays - 87 closed (Jan 1-6: 4, Easter Thu-Tue: 4, May 1, Jun 2, Dec 8,
              summer Jun 10 - Sep 14: 69, Dec 23-31: 7) = 174 days x 10 h = 1740 h x 24 kW
              x 0.8 in daylight .. 1.0 with the sun below 15 degrees         = 33.4 .. 41.8 MWh
  summer office 55 weekdays (69 minus Aug 1-20) x 6 h x 3.5 kW               =  1.16 MWh
  pumps       ~20.5 weeks of the Nov 1 - Apr 15 season x 51 h/week x 2.5 kW  = ~2.6 MWh
In a school day 08-18 the sun is below 15 degrees mostly in winter's first and last hours, so
the daylight factor lies near 0.8-0.9: 50.3 .. 54.5 MWh. Random jitter (4 %) averages out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulator.models.climate import lookup
from simulator.models.profile import SiteContext
from simulator.models.school import School
from simulator.models.weather import SyntheticWeather


def test_yearly_electricity_is_the_documented_52_mwh() -> None:
    site = SiteContext("ge", SyntheticWeather(lookup("GENOVA"), 3), 44.41, 8.93)
    school = School(site, 3)
    start = datetime(2025, 12, 31, 23, 7, 30, tzinfo=UTC)   # local midnight + half a slot
    wh = sum(school.power_w(start + timedelta(minutes=15 * i)) * 0.25
             for i in range(365 * 96))
    assert 50.3e6 <= wh <= 54.5e6
