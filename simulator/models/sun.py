"""Sun position and clear-sky irradiance (NOAA low-precision formulas, ~0.5° accuracy)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

__all__ = ["clear_sky_ghi", "crossing", "elevation_deg"]

_RAD = math.pi / 180.0


def elevation_deg(t_utc: datetime, latitude: float, longitude: float) -> float:
    """Solar elevation above the horizon in degrees at an aware UTC instant."""
    t = t_utc.astimezone(UTC)
    doy = t.timetuple().tm_yday
    hours = t.hour + t.minute / 60.0 + t.second / 3600.0
    g = 2.0 * math.pi / 365.0 * (doy - 1 + (hours - 12.0) / 24.0)
    eqtime = 229.18 * (
        0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g)
    )
    true_solar_min = hours * 60.0 + eqtime + 4.0 * longitude
    hour_angle = (true_solar_min / 4.0 - 180.0) * _RAD
    lat = latitude * _RAD
    cos_zenith = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(
        hour_angle
    )
    return 90.0 - math.acos(max(-1.0, min(1.0, cos_zenith))) / _RAD


def clear_sky_ghi(elevation: float) -> float:
    """Global horizontal irradiance under a clear sky, W/m² (Haurwitz model); 0 below horizon."""
    if elevation <= 0.0:
        return 0.0
    s = math.sin(elevation * _RAD)
    return 1098.0 * s * math.exp(-0.057 / s)


def crossing(day: date, latitude: float, longitude: float, threshold_deg: float,
             *, rising: bool) -> datetime:
    """UTC instant of `day` when the sun crosses `threshold_deg` going up (dawn) or down (dusk).

    Bisection within the morning (00-12 local solar) or afternoon half of the UTC day shifted
    by longitude; accurate to a second.
    """
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) - timedelta(
        hours=longitude / 15.0
    )
    lo, hi = (noon - timedelta(hours=12), noon) if rising else (noon, noon + timedelta(hours=12))
    for _ in range(40):
        mid = lo + (hi - lo) / 2
        above = elevation_deg(mid, latitude, longitude) > threshold_deg
        if above == rising:
            hi = mid
        else:
            lo = mid
    return lo + (hi - lo) / 2
