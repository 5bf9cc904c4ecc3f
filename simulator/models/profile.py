"""What every load model offers: electric power or gas flow at an instant, plus its site context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from simulator.models.noise import gauss
from simulator.models.weather import SyntheticWeather

__all__ = ["ROME", "ElectricProfile", "GasProfile", "SiteContext", "jitter"]

ROME = ZoneInfo("Europe/Rome")


@dataclass(frozen=True)
class SiteContext:
    """Where a building stands: its weather, coordinates and local holidays."""

    name: str
    weather: SyntheticWeather
    latitude: float
    longitude: float
    local_holidays: tuple[str, ...] = ()


class ElectricProfile(Protocol):
    """Average electric power in watts over the minute containing `t_utc` (aware UTC)."""

    def power_w(self, t_utc: datetime) -> float: ...


class GasProfile(Protocol):
    """Average gas flow in m³/h over the minute containing `t_utc` (aware UTC)."""

    def flow_m3h(self, t_utc: datetime) -> float: ...


def jitter(seed: int, t_utc: datetime, relative: float) -> float:
    """Multiplicative noise factor, constant within a minute: 1 + relative * N(0,1), >= 0."""
    minute = int(t_utc.timestamp()) // 60
    return max(0.0, 1.0 + relative * gauss(seed, minute))
