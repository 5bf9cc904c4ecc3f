"""Two weeks of two real boards through a real gateway and mosquitto, with every fault on.

Power cuts, watchdog reboots, a 30-hour link outage plus random ones, TCP sessions cut mid-
exchange, connections lost by the network and dropped by a NAT, drifting board clocks, a
gateway SIGKILL and a broker restart: at the end the upstream subscriber must
hold exactly the readings the boards' firmware produced — none lost, none invented, no
register changed — and the gateway must have stored each of them once.
"""

from __future__ import annotations

import pytest

from simulator.deps import check_dependencies
from simulator.runner import RunOptions, run_scenario
from simulator.scenario import parse_scenario

pytestmark = pytest.mark.slow

SCENARIO = {
    "scenario": {"name": "e2e-faults", "seed": 7, "start": "2026-01-19", "days": 14,
                 "speed": 40000},
    "sites": [{"id": "genova", "municipality": "GENOVA", "latitude": 44.41,
               "longitude": 8.93}],
    "devices": [
        {"id": "5c0000e1", "site": "genova", "profile": "school", "size": 0.5,
         "options": {"litres_per_pulse": 1000.0}},
        {"id": "ce0000e1", "site": "genova", "profile": "household-pv",
         "options": {"kwp": 3.0}},
    ],
    "link": {"outages": [{"start_day": 6.0, "hours": 30.0}], "random_outages_per_week": 0.5,
             "random_outage_hours": [1.0, 12.0], "latency_ms": [200.0, 3000.0], "loss": 0.02,
             "nat_timeout_s": 45.0},
    "faults": {"power_cuts_per_week": 1.5, "power_cut_minutes": [5.0, 300.0],
               "reboots_per_week": 1.0, "link_drops_per_day": 3.0, "gateway_crashes": 1,
               "clock_drift_ppm": [-40.0, 40.0],
               "broker_restarts": 1},
}


def test_nothing_lost_nothing_invented_with_every_fault(tmp_path) -> None:
    if check_dependencies().missing:
        pytest.skip(f"missing: {check_dependencies().missing}")
    scenario = parse_scenario(SCENARIO)
    result = run_scenario(scenario, RunOptions(workdir=tmp_path, keep=True, broker="mosquitto"))
    cmp = result.comparison
    assert cmp is not None, result.degraded
    # the faults really happened
    assert result.faults["power_cuts"] >= 1
    assert result.faults["reboots"] >= 1
    assert result.faults["gateway_crashes"] == 1
    assert result.faults["broker_restarts"] == 1
    assert result.faults["link_outages"] >= 2
    assert result.faults["link_refused"] + result.faults["link_cut"] >= 1
    # school el1 + household el1 and pv at 15 min, school gas hourly, 14 days, minus the
    # intervals the boards could not measure (powered off)
    full = 14 * (3 * 96 + 24)
    assert 0.9 * full < cmp.produced <= full
    assert cmp.lost == () and cmp.invented == () and cmp.altered == (), (
        cmp.lost[:5], cmp.invented[:5], cmp.altered[:5], result.notes)
    assert cmp.delivered_unique == cmp.produced
    assert result.readings_stored == cmp.produced   # each stored exactly once
    # a stalled board process is restarted like a power cut and reported; nothing else
    assert all("stalled" in n for n in result.notes), result.notes
