"""Scenario files (TOML): period, speed, sites, fleet and profiles, link and faults, validated.

`load_scenario(path)` returns a :class:`Scenario` or raises :class:`ScenarioError` listing every
problem with its key path, the value found and what was expected. See docs/SIMULATOR.md for
the format and `simulator/scenarios/*.toml` for examples.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from simulator.errors import ScenarioError, ScenarioProblem
from simulator.fields import Reader
from simulator.models.climate import UnknownMunicipality, lookup
from simulator.models.faults import FaultSpec, LinkSpec, Outage
from simulator.models.profile import ROME

__all__ = ["MAX_AT_SPEED", "PROFILES", "DeviceSpec", "Scenario", "SiteSpec", "check_speed",
           "load_scenario", "parse_scenario"]

# profile -> channels it measures: (channel name, kind)
PROFILES: dict[str, tuple[tuple[str, str], ...]] = {
    "school": (("el1", "electric"), ("gas", "gas")),
    "office": (("el1", "electric"), ("gas", "gas")),
    "lighting": (("el1", "electric"),),
    "household": (("el1", "electric"),),
    "household-pv": (("el1", "electric"), ("pv", "electric")),
    "pv": (("pv", "electric"),),
}
MODES = ("process",)  # one MicroPython process per board (see ADR 009 for "inprocess")
MODEMS = ("tcp", "at")  # how a board reaches the network: HAL socket, or the real AT driver
# The modem answers in real milliseconds, which become virtual seconds to minutes on an
# accelerated board, and the AT driver's waits have real-time floors (the HAL's io_ms). The
# test runs here (tests/simulator/test_at_modem.py: one board, outage, nothing lost); 40,000
# also lost nothing by hand, but what no test runs is refused rather than trusted.
MAX_AT_SPEED = 20000.0


@dataclass(frozen=True)
class SiteSpec:
    id: str
    municipality: str
    province: str | None
    latitude: float
    longitude: float
    holidays: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceSpec:
    id: str                       # 8 lowercase hex digits
    site: str
    profile: str
    size: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> tuple[tuple[str, str], ...]:
        return PROFILES[self.profile]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    start_date: date
    days: float
    speed: float
    mode: str
    sites: tuple[SiteSpec, ...]
    devices: tuple[DeviceSpec, ...]
    link: LinkSpec
    faults: FaultSpec

    @property
    def start(self) -> datetime:
        """Local midnight of the start date, as aware UTC."""
        return datetime.combine(self.start_date, time(0), ROME).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.start.timestamp() + self.days * 86400, UTC)

    def site(self, site_id: str) -> SiteSpec:
        return next(s for s in self.sites if s.id == site_id)


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(str(path), [ScenarioProblem("", "not found")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), [ScenarioProblem(
            "", f"not UTF-8 text (byte {exc.start}): save it as UTF-8")]) from None
    except OSError as exc:
        raise ScenarioError(str(path), [ScenarioProblem(
            "", f"cannot be read: {exc.strerror or exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), [ScenarioProblem("", f"not valid TOML: {exc}")]) from None
    return parse_scenario(data, source=str(path))


def parse_scenario(data: dict[str, Any], *, source: str = "<scenario>") -> Scenario:
    problems: list[ScenarioProblem] = []
    root = Reader(data, "", problems)
    head = root.sub("scenario")
    name = head.str("name")
    description = head.str("description", "")
    seed = head.number("seed", 0, lo=0, integer=True)
    start = head.date("start")
    days = head.number("days", lo=0.01, hi=3660)
    speed = head.number("speed", 1000, lo=1, hi=1_000_000)
    mode = head.str("mode", "process", choices=MODES)
    head.finish()
    site_readers = root.tables("sites", required=True)
    sites = tuple(s for r in site_readers if (s := _site(r)))
    declared = [r.table.get("id") for r in site_readers if isinstance(r.table.get("id"), str)]
    site_ids = set(declared)
    if len(site_ids) != len(declared):
        problems.append(ScenarioProblem("sites", "site ids must be unique"))
    devices = _devices(root.tables("devices", required=True), site_ids, problems)
    link = _link(root.sub("link"))
    faults = _faults(root.sub("faults"))
    root.finish()
    if speed is not None:
        problems += _speed_problems(devices, float(speed), "scenario.speed")
    if problems:
        raise ScenarioError(source, problems)
    return Scenario(name, description, seed, start, float(days), float(speed), mode, sites,
                    devices, link, faults)


def _speed_problems(devices: tuple[DeviceSpec, ...], speed: float,
                    key: str) -> list[ScenarioProblem]:
    at = [d.id for d in devices if d.options.get("modem") == "at"]
    if not at or speed <= MAX_AT_SPEED:
        return []
    return [ScenarioProblem(key, f"too fast for boards on the AT modem path ({', '.join(at[:3])}"
                                 f"{', ...' if len(at) > 3 else ''} with modem = \"at\")", speed,
                            f"at most {MAX_AT_SPEED:g}, or modem = \"tcp\" for those devices")]


def check_speed(scenario: Scenario, speed: float) -> None:
    """Raise ScenarioError if `speed` (e.g. a --speed override) is too fast for the scenario."""
    problems = _speed_problems(scenario.devices, speed, "speed")
    if problems:
        raise ScenarioError(scenario.name, problems)


def _site(r: Reader) -> SiteSpec | None:
    sid, muni = r.str("id"), r.str("municipality")
    province = r.str("province", None)
    lat = r.number("latitude", lo=35.0, hi=48.0)
    lon = r.number("longitude", lo=6.0, hi=19.0)
    holidays = r.str_list("holidays")
    r.finish()
    if muni:
        try:
            lookup(muni, province)
        except UnknownMunicipality as exc:
            r.problem("municipality", "not in DPR 412/93 Annex A", muni,
                      "a municipality name" + (f" such as {exc.suggestions[0]}"
                                               if exc.suggestions else ""))
            return None
    if None in (sid, muni, lat, lon):
        return None
    return SiteSpec(sid, muni, province, float(lat), float(lon), holidays)


def _devices(readers: list[Reader], site_ids: set[str],
             problems: list[ScenarioProblem]) -> tuple[DeviceSpec, ...]:
    out: list[DeviceSpec] = []
    for r in readers:
        first = r.str("id")
        site = r.str("site")
        profile = r.str("profile", choices=tuple(PROFILES))
        count = r.number("count", 1, lo=1, hi=100_000, integer=True)
        size = r.number("size", 1.0, lo=0.01, hi=100.0)
        options = _options(r.sub("options"))
        r.finish()
        try:
            base = int(first, 16) if first and len(first) == 8 else None
        except ValueError:
            base = None
        if first and base is None:
            r.problem("id", "must be 8 hex digits", first, 'e.g. "5c000001"')
        if site and site not in site_ids:
            r.problem("site", "no such site", site,
                      "one of " + ", ".join(sorted(site_ids)) if site_ids else "a [[sites]] id")
            continue
        if None in (base, site, profile) or base is None:
            continue
        for i in range(count):
            out.append(DeviceSpec(f"{(base + i) & 0xFFFFFFFF:08x}", site, profile, float(size),
                                  options))
    ids = [d.id for d in out]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        problems.append(ScenarioProblem("devices", "device ids overlap", dup, "unique ids"))
    return tuple(out)


def _options(r: Reader) -> dict[str, Any]:
    """Profile options; only the keys given are returned (the models have the defaults)."""
    limits = {"kwp": (0.1, 1000.0), "lamps_w": (1.0, 1e6), "litres_per_pulse": (0.1, 1000.0),
              "retrofit_day": (0.0, 3660.0), "retrofit_saving": (0.0, 0.9),
              "lights_left_on_day": (0.0, 3660.0)}
    out: dict[str, Any] = {}
    for key, (lo, hi) in limits.items():
        if key in r.table and (v := r.number(key, None, lo=lo, hi=hi)) is not None:
            out[key] = float(v)
    if "lighting_mode" in r.table:
        mode = r.str("lighting_mode", None, choices=("ten-day", "astronomical"))
        if mode:
            out["lighting_mode"] = mode
    if "modem" in r.table and (modem := r.str("modem", None, choices=MODEMS)):
        out["modem"] = modem
    r.seen.update([*limits, "lighting_mode", "modem"])
    r.finish()
    return out


def _link(r: Reader) -> LinkSpec:
    outages = []
    for o in r.tables("outages"):
        day, hours = o.number("start_day", lo=0), o.number("hours", lo=0.01, hi=24 * 90)
        devs = o.str_list("devices")
        o.finish()
        if day is not None and hours is not None:
            outages.append(Outage(float(day), float(hours), devs))
    spec = LinkSpec(
        latency_ms=r.range("latency_ms", (150.0, 1500.0), lo=0, hi=60_000),
        loss=float(r.number("loss", 0.0, lo=0.0, hi=0.9)),
        nat_timeout_s=float(r.number("nat_timeout_s", 0.0, lo=0.0)),
        outages=tuple(outages),
        random_outages_per_week=float(r.number("random_outages_per_week", 0.0, lo=0.0, hi=50)),
        random_outage_hours=r.range("random_outage_hours", (1.0, 48.0), lo=0.01, hi=24 * 30),
    )
    r.finish()
    return spec


def _faults(r: Reader) -> FaultSpec:
    spec = FaultSpec(
        power_cuts_per_week=float(r.number("power_cuts_per_week", 0.0, lo=0.0, hi=100)),
        power_cut_minutes=r.range("power_cut_minutes", (1.0, 240.0), lo=0.0, hi=60 * 24 * 30),
        power_cut_mode=str(r.str("power_cut_mode", "kill", choices=("kill", "feed")) or "kill"),
        reboots_per_week=float(r.number("reboots_per_week", 0.0, lo=0.0, hi=100)),
        clock_drift_ppm=r.range("clock_drift_ppm", (0.0, 0.0), lo=-500, hi=500),
        link_drops_per_day=float(r.number("link_drops_per_day", 0.0, lo=0.0, hi=1000)),
        duplicates_per_day=float(r.number("duplicates_per_day", 0.0, lo=0.0, hi=1000)),
        gateway_crashes=int(r.number("gateway_crashes", 0, lo=0, hi=100, integer=True)),
        broker_restarts=int(r.number("broker_restarts", 0, lo=0, hi=100, integer=True)),
    )
    r.finish()
    return spec
