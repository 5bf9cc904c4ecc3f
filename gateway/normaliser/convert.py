"""One interval amount in raw register units → a normalised :class:`Reading` (pure, no I/O).

Channel specs come from the registry (``devices.channels``): ``name``, ``kind`` (electric |
gas), optional ``unit`` (register unit when the wire gives none: input plugins) and optional
``factor`` (register units → Wh or litres; required for ``pulse`` channels, e.g. 10 L/pulse;
a CT correction on Wh channels). Electricity: Wh → kWh plus the ARERA band. Gas: litres → m³
→ Smc with the site's coefficient C (ARERA, from altitude and degree days unless configured),
Smc → kWh with the site's calorific value, plus the gas day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.config.model import Config, SiteSettings
from gateway.model import Reading
from gateway.normalise.bands import band_of
from gateway.normalise.gas import coefficient_c, gas_day_of, litres_to_m3, m3_to_smc, smc_to_kwh
from gateway.normalise.holidays_it import HolidayCalendar, parse_extra_dates
from gateway.normalise.localtime import local_date_of

__all__ = ["ChannelError", "SiteContext", "SiteFactors", "check_channel", "to_reading"]

ELECTRIC_UNITS = {"Wh": "energy_import", "Wh_export": "energy_export", "pulse": "energy_import"}
GAS_UNITS = ("L", "pulse")


class ChannelError(ValueError):
    """A channel cannot be normalised; `reason` is a short counter name for health."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SiteFactors:
    """What conversion needs from a site: coefficient C, calorific value, band calendar."""

    name: str
    coefficient_c: float
    kwh_per_smc: float
    calendar: HolidayCalendar

    @classmethod
    def from_settings(cls, s: SiteSettings) -> SiteFactors:
        c = s.gas_coefficient_c or coefficient_c(s.altitude_m, s.degree_days, s.zone)
        extra = parse_extra_dates(s.band_holidays, f"sites.{s.name}.band_holidays")
        return cls(s.name, c, s.gas_kwh_per_smc, HolidayCalendar("bands", extra=extra))


class SiteContext:
    """Site factors by name; a device on an unconfigured site uses the gateway's default."""

    def __init__(self, sites: dict[str, SiteFactors], default: str) -> None:
        self.sites = sites
        self.default = default

    @classmethod
    def from_config(cls, config: Config) -> SiteContext:
        sites = {n: SiteFactors.from_settings(s) for n, s in config.sites.items()}
        return cls(sites, config.gateway.site)

    def get(self, name: str) -> SiteFactors:
        return self.sites.get(name) or self.sites[self.default]


def channel_spec(channels: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    """The spec of channel `key` (a board's index, or an input plugin's channel name)."""
    spec = channels.get(key)
    if spec is None:
        spec = next((s for s in channels.values() if s.get("name") == key), None)
    if spec is None:
        raise ChannelError(f"channel {key} is not in the device's channel map",
                           reason="unknown_channel")
    return spec


def check_channel(device: Any, channel: str, wire_unit: str) -> tuple[dict[str, Any], str, float]:
    """(spec, register unit, factor) of a channel, or ChannelError saying why it cannot be
    normalised: ``unknown_channel``, ``bad_calibration`` or ``unit_mismatch``."""
    spec = channel_spec(device.channels, channel)
    kind = spec.get("kind")
    unit = wire_unit or spec.get("unit", "")
    factor = spec.get("factor", 1 if unit != "pulse" else None)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        raise ChannelError(f"channel {channel}: factor {factor!r} must be a positive number "
                           "(required for pulse channels)", reason="bad_calibration")
    if not ((kind == "electric" and unit in ELECTRIC_UNITS)
            or (kind == "gas" and unit in GAS_UNITS)):
        raise ChannelError(f"channel {channel}: unit {unit!r} does not fit kind {kind!r}",
                           reason="unit_mismatch")
    return spec, unit, factor


def to_reading(sites: SiteContext, device: Any, channel: str, wire_unit: str, length_s: int,
               amount: int, start: datetime, register: int,
               flags: frozenset[str]) -> Reading:
    """The normalised Reading of `amount` register units in the interval starting at `start`."""
    spec, unit, factor = check_channel(device, channel, wire_unit)
    site_name = device.site or sites.default
    site = sites.get(site_name)
    base = amount * factor   # Wh or litres
    common = {"site": site_name, "device": device.device_id, "channel": spec["name"],
              "start": start, "length_s": length_s, "register": register,
              "register_unit": unit, "flags": flags}
    local_date = local_date_of(start).isoformat()
    if spec["kind"] == "electric":
        kwh = round(base / 1000, 6)
        return Reading(quantity=ELECTRIC_UNITS[unit], value=kwh, unit="kWh", kwh=kwh,
                       band=band_of(start, calendar=site.calendar),
                       extra={"local_date": local_date}, **common)
    m3 = litres_to_m3(base)
    smc = round(m3_to_smc(m3, site.coefficient_c), 6)
    return Reading(quantity="gas_volume", value=smc, unit="Smc",
                   kwh=round(smc_to_kwh(smc, site.kwh_per_smc), 6),
                   extra={"local_date": local_date, "gas_day": gas_day_of(start).isoformat(),
                          "m3": round(m3, 6), "c": site.coefficient_c}, **common)
