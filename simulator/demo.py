"""`meterkit demo`: a small municipal fleet simulated end to end, in about a minute.

A school in Genova (electricity + heating gas, with a heating retrofit half-way), a public-
lighting circuit on the seed-002 ten-day schedule and a few households with PV of an energy
community; a link outage in the middle of the period, a power cut or two. Real firmware under
MicroPython, the real gateway process with its SQLite database, a real MQTT broker; an upstream
subscriber checks every reading against the boards' ground truth.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from simulator.demo_alerts import alerts_available, demo_alert_rules
from simulator.models.climate import lookup
from simulator.models.weather import SyntheticWeather
from simulator.results import RunResult
from simulator.runner import Progress, RunOptions, run_scenario
from simulator.savings import retrofit_savings
from simulator.scenario import Scenario, parse_scenario

__all__ = ["DemoOptions", "demo_scenario", "run_demo"]

START = "2026-01-12"       # a Monday in the heating season
SEED = 2026
SCHOOL, LIGHTING = "5c000001", "1c000001"
RETROFIT_SAVING = 0.2      # thermostatic valves + climatic control: -20 % heating demand


@dataclass
class DemoOptions:
    devices: int = 6
    days: float = 14.0
    speed: float | None = None      # default: the period in about 60 s
    broker: str = "auto"
    progress: Progress | None = None
    workdir: Path | None = None     # keep logs, databases and board truth here (else a temp dir)


def retrofit_day(days: float) -> int:
    """Whole weeks on both sides when possible, so weekends weigh the same in both periods."""
    weeks = int(days // 14)
    return 7 * weeks if weeks else max(1, int(days // 2))


def demo_scenario(devices: int, days: float, speed: float) -> Scenario:
    outage_h = round(min(36.0, days * 24 * 0.15), 2)
    fleet: list[dict[str, Any]] = [
        {"id": SCHOOL, "site": "genova-scuola", "profile": "school", "size": 0.5,
         "options": {"litres_per_pulse": 1000.0, "retrofit_day": float(retrofit_day(days)),
                     "retrofit_saving": RETROFIT_SAVING,
                     # the caretaker forgets the lights on the first Saturday evening
                     "lights_left_on_day": 5.0 if days >= 6 else max(0.0, days - 1)}},
    ]
    if devices >= 2:
        fleet.append({"id": LIGHTING, "site": "genova-illuminazione", "profile": "lighting",
                      "options": {"lamps_w": 7200.0}})
    if devices >= 3:
        fleet.append({"id": "ce000001", "site": "genova-cer", "profile": "household-pv",
                      "count": devices - 2, "options": {"kwp": 3.0}})
    sites = [{"id": sid, "municipality": "GENOVA", "latitude": 44.41, "longitude": 8.93,
              "holidays": ["06-24"]}
             for sid in ("genova-scuola", "genova-illuminazione", "genova-cer")]
    data = {
        "scenario": {"name": "demo", "description": "meterkit demo", "seed": SEED,
                     "start": START, "days": days, "speed": speed},
        "sites": sites,
        "devices": fleet,
        "link": {"latency_ms": [150, 1500],
                 "outages": [{"start_day": max(0.0, days / 2 - outage_h / 48),
                              "hours": outage_h}]},
        "faults": {"power_cuts_per_week": 0.5, "power_cut_minutes": [5, 120],
                   "link_drops_per_day": 1.0},
    }
    return parse_scenario(data, source="meterkit demo")


def run_demo(options: DemoOptions) -> tuple[RunResult, Scenario]:
    # the CLI validates its options; these guard callers of the library function
    if options.devices < 1:
        raise ValueError("devices must be at least 1")
    if not (math.isfinite(options.days) and options.days > 0):
        raise ValueError(f"days must be a positive finite number, not {options.days!r}")
    speed = options.speed or max(500.0, options.days * 86400.0 / 60.0)
    scenario = demo_scenario(options.devices, options.days, speed)
    run = RunOptions(broker=options.broker, progress=options.progress, drain_timeout_s=90.0)
    with contextlib.ExitStack() as stack:
        if options.workdir is None:
            run.workdir = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="meterkit-demo-")))
        else:
            run.workdir, run.keep = options.workdir, True
            run.workdir.mkdir(parents=True, exist_ok=True)
        if alerts_available():
            run.plugins["alerts"] = demo_alert_rules(
                run.workdir / "gateway" / "state", SCHOOL,
                LIGHTING if options.devices >= 2 else None,
                school_site="genova-scuola", lighting_site="genova-illuminazione")
        result = run_scenario(scenario, run)
    if result.alerts is None:
        result.notes.append("alerts: the gateway's alerts plugin is not installed "
                            "(entry point meterkit.plugins 'alerts'); no alert was evaluated")
    if result.comparison is not None:
        result.savings = _savings(result, scenario)
        if result.savings is not None and scenario.days < 14:
            result.notes.append("savings: fewer than 14 days, so weekdays and weekends weigh "
                                "differently before and after the measure; indicative only")
    return result, scenario


def _savings(result: RunResult, scenario: Scenario) -> dict[str, Any] | None:
    from gateway.analysis.errors import AnalysisError

    weather = SyntheticWeather(lookup("GENOVA"), scenario.seed)
    first = scenario.start_date
    last = first + timedelta(days=int(scenario.days) - 1)
    try:
        return retrofit_savings(
            result.readings, device=SCHOOL, weather=weather, first_day=first,
            retrofit_day=first + timedelta(days=retrofit_day(scenario.days)), last_day=last,
            expected_saving=RETROFIT_SAVING)
    except AnalysisError as exc:
        result.notes.append(f"savings not computed: {exc}")
        return None
