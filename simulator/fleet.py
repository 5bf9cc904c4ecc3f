"""From a scenario to per-device signal sources: which model drives which channel of which board.

`build_fleet(scenario)` returns one :class:`SimDevice` per board with its channels in index
order; each channel is driven by an electric profile (watts) or a gas profile (m³/h). Keys are
fresh random AES-128 keys (they do not affect what is measured, so runs stay reproducible).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from simulator.models.climate import lookup
from simulator.models.faults import FaultPlan, plan_faults
from simulator.models.household import Household
from simulator.models.lighting import LightingCircuit
from simulator.models.noise import derive_seed
from simulator.models.office import Office
from simulator.models.profile import ElectricProfile, GasProfile, SiteContext
from simulator.models.pv import PVPlant
from simulator.models.school import School
from simulator.models.signals import ReedMeter
from simulator.models.weather import SyntheticWeather
from simulator.scenario import DeviceSpec, Scenario

__all__ = ["SimChannel", "SimDevice", "build_fleet", "channel_map"]

UNITS = {"electric": "Wh", "gas": "L"}


@dataclass
class SimChannel:
    """One input of a board and what drives it."""

    index: int
    name: str
    kind: str                                  # "electric" | "gas"
    electric: ElectricProfile | None = None
    gas: GasProfile | None = None
    meter: ReedMeter | None = None             # gas channels: the reed output


@dataclass
class SimDevice:
    spec: DeviceSpec
    key: bytes
    site: SiteContext
    channels: list[SimChannel]
    faults: FaultPlan
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id


def channel_map(dev: SimDevice) -> dict[str, dict[str, Any]]:
    """The registry's channel map for a board: index text -> {name, kind, unit, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for ch in dev.channels:
        entry: dict[str, Any] = {"name": ch.name, "kind": ch.kind, "unit": UNITS[ch.kind]}
        if ch.meter is not None:
            entry["litres_per_pulse"] = ch.meter.litres_per_pulse
        out[str(ch.index)] = entry
    return out


def _sources(spec: DeviceSpec, site: SiteContext, seed: int, t0: float) -> dict[str, Any]:
    opts = spec.options
    if spec.profile in ("school", "office"):
        building = (School if spec.profile == "school" else Office)(site, seed, size=spec.size)
        if "retrofit_day" in opts:  # an efficiency measure on the heating from that day on
            building.heating.measure_at = t0 + float(opts["retrofit_day"]) * 86400.0
            building.heating.measure_factor = 1.0 - float(opts.get("retrofit_saving", 0.2))
        if "lights_left_on_day" in opts and isinstance(building, School):
            # left on from 19:00 local (18:00 UTC in winter) until 07:00 the next morning
            at = t0 + float(opts["lights_left_on_day"]) * 86400.0 + 19 * 3600.0
            building.left_on = (at, at + 12 * 3600.0)
        return {"el1": building, "gas": building}
    if spec.profile == "lighting":
        return {"el1": LightingCircuit(site, seed, lamps_w=float(opts.get("lamps_w", 9000.0))
                                       * spec.size,
                                       mode=str(opts.get("lighting_mode", "ten-day")))}
    if spec.profile == "household":
        return {"el1": Household(seed, size=spec.size)}
    pv = PVPlant(site, seed ^ 0x9F, kwp=float(opts.get("kwp", 3.0)) * spec.size)
    if spec.profile == "household-pv":
        return {"el1": Household(seed, size=spec.size), "pv": pv}
    return {"pv": pv}


def build_fleet(scenario: Scenario) -> list[SimDevice]:
    sites: dict[str, SiteContext] = {}
    for s in scenario.sites:
        weather = SyntheticWeather(lookup(s.municipality, s.province), scenario.seed)
        sites[s.id] = SiteContext(s.id, weather, s.latitude, s.longitude, s.holidays)
    t0, t1 = scenario.start.timestamp(), scenario.end.timestamp()
    fleet: list[SimDevice] = []
    for spec in scenario.devices:
        seed = derive_seed(scenario.seed, spec.id)
        site = sites[spec.site]
        sources = _sources(spec, site, seed, t0)
        channels = []
        for i, (name, kind) in enumerate(spec.channels):
            ch = SimChannel(i, name, kind)
            if kind == "gas":
                ch.gas = sources[name]
                ch.meter = ReedMeter(seed ^ 0x6A, float(spec.options.get("litres_per_pulse",
                                                                         100.0)))
            else:
                ch.electric = sources[name]
            channels.append(ch)
        key = secrets.token_bytes(16)  # fresh AES-128 key per run, as provisioning makes
        plan = plan_faults(spec.id, scenario.seed, t0, t1, scenario.faults, scenario.link)
        fleet.append(SimDevice(spec, key, site, channels, plan))
    return fleet
