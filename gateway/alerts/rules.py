"""A configured alert rule (one dataclass for every kind) and the threshold comparison.

Each rule names the data it watches (site, device, channel), its kind-specific limits, how many
consecutive intervals make it raise and clear, its severity and who is told. Kinds:

    threshold            power (kW, interval energy / interval length) or interval energy
    daily_energy         energy of the local day (23, 24 or 25 hours)
    band_share           share (%) of the local day's energy in ARERA band F1, F2 or F3
    closed_building      power above a base load while the building is closed
    gas_outside_heating  gas flow while the heating schedule is off
    no_data              nothing from a device/channel for N intervals (wall clock)
    device_event         tamper, power failure, queue overflow ... reported by the board
    anomaly              actual vs expected (baseline plugin or rolling weekly profile)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.alerts.lifecycle import Level
from gateway.alerts.schedule import Period
from gateway.normalise.holidays_it import ExtraDate

__all__ = ["INTERVAL_KINDS", "KINDS", "SEVERITIES", "Rule", "compare"]

KINDS = ("threshold", "daily_energy", "band_share", "closed_building", "gas_outside_heating",
         "no_data", "device_event", "anomaly")
INTERVAL_KINDS = ("threshold", "closed_building", "gas_outside_heating")
SEVERITIES = ("info", "warning", "critical")
Week = tuple[tuple[Period, ...], ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule from ``[plugins.alerts.rules.<name>]``; unused fields keep their defaults."""

    name: str
    kind: str
    device: str | None = None
    channel: str | None = None
    site: str | None = None
    severity: str = "warning"
    recipients: tuple[str, ...] = ()
    email: bool = True
    description: str = ""
    raise_after: int = 1
    clear_after: int = 1
    # threshold, daily_energy, band_share, schedules
    metric: Literal["power", "energy"] = "power"
    above: float | None = None
    below: float | None = None
    hysteresis: float = 0.0
    band: str | None = None
    min_energy: float = 0.0
    # closed_building, gas_outside_heating
    hours: Week | None = None
    closures: tuple[ExtraDate, ...] = ()
    zone: str | None = None
    season: tuple[tuple[int, int], tuple[int, int]] | None = None
    base_load_heating: float | None = None
    # no_data
    max_intervals: int = 4
    interval_s: int | None = None
    # device_event
    events: tuple[str, ...] = ()
    clear_on: tuple[str, ...] = ()
    quiet_s: int = 3600
    # anomaly
    k: float = 3.0
    clear_k: float = 2.0
    direction: Literal["above", "below", "both"] = "above"
    source: Literal["auto", "baseline", "profile"] = "auto"
    weeks: int = 4
    min_weeks: int = 3
    min_sigma: float = 0.1
    min_rel_sigma: float = 0.05

    def matches(self, site: str | None, device: str, channel: str | None) -> bool:
        """True if data of (site, device, channel) is what this rule watches."""
        if self.site is not None and site is not None and site != self.site:
            return False
        if self.device is not None and device != self.device:
            return False
        return self.channel is None or channel is None or channel == self.channel


def compare(value: float, above: float | None, below: float | None,
            hysteresis: float) -> tuple[Level, float | None]:
    """Breach beyond a limit, normal once back past it by `hysteresis`, hold in between."""
    if above is not None and value > above:
        return "breach", above
    if below is not None and value < below:
        return "breach", below
    ok_high = above is None or value <= above - hysteresis
    ok_low = below is None or value >= below + hysteresis
    limit = above if above is not None else below
    return ("normal" if ok_high and ok_low else "hold"), limit
