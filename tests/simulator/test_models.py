"""Load, weather and signal models: degree days, schedules, lighting hours, PV, meters."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from simulator.models.climate import UnknownMunicipality, lookup
from simulator.models.faults import FaultSpec, LinkSpec, Outage, plan_faults
from simulator.models.household import Household
from simulator.models.lighting import LightingCircuit
from simulator.models.profile import ROME, SiteContext
from simulator.models.pv import PVPlant
from simulator.models.school import School
from simulator.models.signals import CTSignal, ReedMeter
from simulator.models.sun import elevation_deg
from simulator.models.weather import SyntheticWeather, degree_days


def site(name: str = "GENOVA", lat: float = 44.41, lon: float = 8.93) -> SiteContext:
    return SiteContext(name.lower(), SyntheticWeather(lookup(name), seed=11), lat, lon, ("06-24",))


@pytest.mark.parametrize("name", ["PALERMO", "GENOVA", "MILANO", "CORTINA D'AMPEZZO"])
def test_hourly_degree_days_match_dpr412(name: str) -> None:
    """Zones B, D, E, F: degree days recomputed from the synthetic HOURLY series, season 2025/26."""
    m = lookup(name)
    w = SyntheticWeather(m, seed=3)
    season = {"B": (date(2025, 12, 1), date(2026, 3, 31)),
              "D": (date(2025, 11, 1), date(2026, 4, 15)),
              "E": (date(2025, 10, 15), date(2026, 4, 15)),
              "F": (date(2025, 7, 1), date(2026, 6, 30))}[m.zone]
    means = []
    day = season[0]
    while day <= season[1]:
        hours = [w.temperature(datetime(day.year, day.month, day.day, h, tzinfo=ROME))
                 for h in range(24)]
        means.append(sum(hours) / 24)
        day += timedelta(days=1)
    gg = degree_days(np.array(means))
    assert abs(gg - m.degree_days) / m.degree_days < 0.02, (name, gg, m.degree_days)


def test_weather_is_seasonal_and_reproducible() -> None:
    w1, w2 = SyntheticWeather(lookup("MILANO"), 5), SyntheticWeather(lookup("MILANO"), 5)
    jan = [w1.daily_mean(date(2026, 1, d)) for d in range(1, 29)]
    jul = [w1.daily_mean(date(2026, 7, d)) for d in range(1, 29)]
    assert sum(jul) / 28 - sum(jan) / 28 > 12
    assert jan == [w2.daily_mean(date(2026, 1, d)) for d in range(1, 29)]
    assert SyntheticWeather(lookup("MILANO"), 6).daily_mean(date(2026, 1, 5)) != jan[4]


def test_unknown_municipality_suggests() -> None:
    with pytest.raises(UnknownMunicipality) as err:
        lookup("GENVOA")
    assert "GENOVA" in err.value.suggestions


def test_school_closed_at_night_weekends_holidays_and_summer() -> None:
    school = School(site(), seed=1)
    base = school.base_w * 1.25
    t = lambda *a: datetime(*a, tzinfo=ROME).astimezone(UTC)  # noqa: E731
    assert school.is_open(t(2026, 1, 14, 10, 0))                     # Wednesday morning
    assert school.power_w(t(2026, 1, 14, 10, 0)) > 10 * school.base_w
    for when in (t(2026, 1, 14, 23, 0), t(2026, 1, 14, 3, 0),       # night (plant off)
                 t(2026, 1, 17, 11, 0), t(2026, 1, 18, 11, 0),       # Saturday, Sunday
                 t(2026, 6, 2, 11, 0), t(2026, 6, 24, 11, 0),        # Republic day, patron
                 t(2026, 12, 29, 11, 0), t(2026, 8, 10, 11, 0)):     # Christmas, August
        assert not school.is_open(when), when
        assert school.power_w(when) < base, when
    assert school.flow_m3h(t(2026, 1, 14, 23, 0)) == 0.0              # plant clock off
    assert school.flow_m3h(t(2026, 1, 14, 8, 0)) > 0.0                # winter morning
    assert school.flow_m3h(t(2026, 6, 3, 8, 0)) == 0.0                # outside the season


def test_school_gas_follows_degree_days() -> None:
    """A colder site burns more gas with the same building (zone E vs zone D)."""
    def january_gas(s: SiteContext) -> float:
        school = School(s, seed=1)
        t0 = datetime(2026, 1, 12, tzinfo=UTC)
        return sum(school.flow_m3h(t0 + timedelta(minutes=15 * i)) / 4 for i in range(96 * 14))
    assert january_gas(site("MILANO", 45.46, 9.19)) > 1.3 * january_gas(site())


def test_lighting_burns_4110_hours_with_the_ten_day_schedule() -> None:
    lamp = LightingCircuit(site(), seed=1)
    hours = sum((off - on).total_seconds() for on, off in
                (lamp.night(date(2025, 1, 1) + timedelta(days=i)) for i in range(365))) / 3600
    assert hours == pytest.approx(4110, abs=1.0)  # DST nights: -1 h in March, +1 h in October
    jan = datetime(2026, 1, 5, 17, 30, tzinfo=ROME).astimezone(UTC)
    assert lamp.power_w(jan) > 0 and lamp.power_w(jan - timedelta(hours=1)) == 0


def test_astronomical_lighting_is_close_to_the_table() -> None:
    lamp = LightingCircuit(site(), seed=1, mode="astronomical")
    hours = sum((off - on).total_seconds() for on, off in
                (lamp.night(date(2025, 1, 1) + timedelta(days=i)) for i in range(365))) / 3600
    assert 3900 < hours < 4300


def test_pv_is_zero_at_night_and_produces_by_day() -> None:
    s = site()
    pv = PVPlant(s, seed=2, kwp=3.0)
    day = datetime(2026, 6, 21, tzinfo=UTC)
    energy = 0.0
    for minute in range(0, 24 * 60, 5):
        t = day + timedelta(minutes=minute)
        p = pv.power_w(t)
        if elevation_deg(t, s.latitude, s.longitude) <= 0:
            assert p == 0.0, t
        energy += p / 12000
    assert pv.power_w(datetime(2026, 6, 21, 0, 0, tzinfo=UTC)) == 0.0
    assert 4.0 < energy < 25.0  # kWh on midsummer day for 3 kWp


def test_household_yearly_energy_is_plausible() -> None:
    h = Household(seed=4)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    kwh = sum(h.power_w(t0 + timedelta(minutes=15 * i)) / 4000 for i in range(96 * 28))
    assert 1800 < kwh * 365 / 28 < 3800


def test_ct_samples_carry_the_requested_rms_current() -> None:
    ct = CTSignal()
    x = ct.samples(12.5, 4000, 4000.0, seed=9).astype(float)
    assert abs(x.mean() - ct.offset_counts) < 5
    irms = np.sqrt(((x - x.mean()) ** 2).mean()) / ct.counts_per_amp
    assert irms == pytest.approx(12.5, rel=0.02)


def test_reed_meter_counts_pulses_with_bounce() -> None:
    meter = ReedMeter(seed=3, litres_per_pulse=100.0)
    edges = meter.advance(0.0, 3600.0, 12.0)  # 12 m³ in an hour
    assert meter.pulses == 120
    closes = [e for e in edges if e.closed]
    assert len(closes) > meter.pulses  # bounce adds spurious closing edges
    assert all(a.t <= b.t for a, b in itertools.pairwise(edges))


def test_fault_plan_is_reproducible() -> None:
    faults = FaultSpec(power_cuts_per_week=2, reboots_per_week=1, clock_drift_ppm=(-20, 20))
    link = LinkSpec(outages=(Outage(3.0, 36.0),), random_outages_per_week=1)
    a = plan_faults("5c000001", 7, 0.0, 28 * 86400.0, faults, link)
    b = plan_faults("5c000001", 7, 0.0, 28 * 86400.0, faults, link)
    assert a == b and a.power_cuts and a.reboots
    assert any(w.start == 3 * 86400.0 and w.hours == 36.0 for w in a.link_outages)
    assert not a.link_up(4 * 86400.0)
    assert plan_faults("5c000002", 7, 0.0, 28 * 86400.0, faults, link).power_cuts != a.power_cuts
