"""Seeded fault plans: power cuts, reboots, clock drift, link outages and drops, duplicates.

A plan is decided before the run from the scenario's seed, so a run can be repeated exactly
and a test can tell which intervals a board could not have measured (it had no power). Lost
frames are not planned here: the link proxy (simulator/link.py) refuses or cuts connections
with the link's `loss` probability; duplicate deliveries are planned (`duplicates`) and
played by the proxy, which re-sends an uplink frame verbatim after the gateway acknowledged it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from simulator.models.noise import derive_seed, uniform

__all__ = ["FaultPlan", "FaultSpec", "LinkSpec", "Outage", "Window", "plan_faults"]

WEEK_S = 7 * 86400


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in virtual Unix seconds."""

    start: float
    end: float

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600.0


@dataclass(frozen=True, slots=True)
class Outage:
    """A scheduled link outage, relative to the scenario start, for some or all devices."""

    start_day: float
    hours: float
    devices: tuple[str, ...] = ()  # empty: every device


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """Cellular link quality: latency range, frame loss, outages, NAT idle timeout."""

    latency_ms: tuple[float, float] = (150.0, 1500.0)
    loss: float = 0.0                 # probability a TCP connection attempt or exchange fails
    nat_timeout_s: float = 0.0        # idle TCP sessions silently dropped after this (0: never)
    outages: tuple[Outage, ...] = ()
    random_outages_per_week: float = 0.0
    random_outage_hours: tuple[float, float] = (1.0, 48.0)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Board faults: rates per device and week, durations, clock drift range."""

    power_cuts_per_week: float = 0.0
    power_cut_minutes: tuple[float, float] = (1.0, 240.0)
    # "kill": SIGKILL at the planned instant, wherever the firmware is (real power loss);
    # "feed": the HAL exits when it reads the feed's `cut` line (only at its yield points).
    power_cut_mode: str = "kill"
    reboots_per_week: float = 0.0
    clock_drift_ppm: tuple[float, float] = (0.0, 0.0)
    link_drops_per_day: float = 0.0   # TCP session cut mid-exchange: the board resends
    duplicates_per_day: float = 0.0   # an acknowledged frame delivered a second time, verbatim
    gateway_crashes: int = 0          # SIGKILL of the gateway during the run, then restart
    broker_restarts: int = 0          # broker stopped and started again during the run


@dataclass
class FaultPlan:
    """Everything that will go wrong for one device, in virtual Unix seconds."""

    device: str
    power_cuts: list[Window] = field(default_factory=list)
    reboots: list[float] = field(default_factory=list)
    link_drops: list[float] = field(default_factory=list)
    duplicates: list[float] = field(default_factory=list)
    link_outages: list[Window] = field(default_factory=list)
    clock_drift_ppm: float = 0.0

    def powered(self, t: float) -> bool:
        return not any(w.contains(t) for w in self.power_cuts)

    def link_up(self, t: float) -> bool:
        return not any(w.contains(t) for w in self.link_outages)


def _poisson_times(seed: int, start: float, end: float, per_week: float) -> list[float]:
    """Event times of a Poisson process with `per_week` mean rate in [start, end)."""
    times: list[float] = []
    if per_week <= 0.0:
        return times
    rate = per_week / WEEK_S
    t, i = start, 0
    while True:
        t += -math.log(1.0 - uniform(seed, i)) / rate
        i += 1
        if t >= end:
            return times
        times.append(t)


def _span(seed: int, index: int, lo: float, hi: float) -> float:
    return lo + (hi - lo) * uniform(seed, index)


def plan_faults(device: str, seed: int, start: float, end: float, faults: FaultSpec,
                link: LinkSpec) -> FaultPlan:
    """The fault plan of `device` for a run from `start` to `end` (virtual Unix seconds)."""
    plan = FaultPlan(device)
    s_cut = derive_seed(seed, device, "power")
    for i, t in enumerate(_poisson_times(s_cut, start, end, faults.power_cuts_per_week)):
        minutes = _span(s_cut ^ 1, i, *faults.power_cut_minutes)
        plan.power_cuts.append(Window(t, min(end, t + minutes * 60.0)))
    s_boot = derive_seed(seed, device, "reboot")
    plan.reboots = _poisson_times(s_boot, start, end, faults.reboots_per_week)
    s_clock = derive_seed(seed, device, "clock")
    plan.clock_drift_ppm = _span(s_clock, 0, *faults.clock_drift_ppm)
    for o in link.outages:
        if not o.devices or device in o.devices:
            t0 = start + o.start_day * 86400.0
            plan.link_outages.append(Window(t0, t0 + o.hours * 3600.0))
    s_link = derive_seed(seed, device, "link")
    for i, t in enumerate(_poisson_times(s_link, start, end, link.random_outages_per_week)):
        hours = _span(s_link ^ 1, i, *link.random_outage_hours)
        plan.link_outages.append(Window(t, t + hours * 3600.0))
    s_drop = derive_seed(seed, device, "drop")
    plan.link_drops = _poisson_times(s_drop, start, end, faults.link_drops_per_day * 7)
    s_dup = derive_seed(seed, device, "duplicate")
    plan.duplicates = _poisson_times(s_dup, start, end, faults.duplicates_per_day * 7)
    plan.power_cuts.sort(key=lambda w: w.start)
    plan.link_outages.sort(key=lambda w: w.start)
    return plan
