"""The buildings CSV of `meterkit analyze benchmark`, with yearly totals or monitored series.

A row gives either `energy_kwh` (a yearly total) or `usage`, the path (relative to the CSV) of a
usage CSV as read by `analyze baseline` (start,end,value,unit, whole local days): its days must
cover exactly one year without gaps, and are summed to kWh (Smc × 9.42 kWh/Smc on PCI, seed
003). Degree days come from `degree_days` or from `temperature`, a temperature CSV over the same
year: Σ max(0, 20 °C − daily mean) over the days of the zone's heating season (DPR 412/93; zone
from `zone` or `municipality`, which also gives the reference degree days).
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

from gateway.analysis.benchmark import Building
from gateway.analysis.errors import AnalysisError
from gateway.analysis.inputs import read_rows

__all__ = ["read_buildings"]

COLUMNS = {"name", "category", "floor_area_m2", "energy_kwh", "usage", "heated_volume_m3",
           "degree_days", "temperature", "zone", "municipality", "reference_degree_days",
           "building_type", "year_built"}


def _opt(row: dict[str, str], key: str, where: str, line: int, *,
         positive: bool = False) -> float | None:
    raw = row.get(key, "")
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise AnalysisError("not a valid number", input=where, row=line, field=key, value=raw,
                            expected="a number > 0" if positive else "a number >= 0",
                            hint="numbers use a dot as decimal mark")
    return value


def _yearly_kwh(path: Path, where: str, line: int) -> tuple[float, tuple, str]:
    from gateway.analysis.conversions import smc_to_kwh
    from gateway.analysis.inputs import read_usage

    usage = read_usage(path, input=str(path))
    span = usage.span_days
    if span not in (365, 366) or usage.covered_days != span:
        raise AnalysisError("the usage series is not one whole year", input=where, row=line,
                            field="usage", value=f"{span} days, {usage.covered_days} covered",
                            expected="365 (366) consecutive days without gaps",
                            hint="cut the series to one year and fill any gap")
    total = float(usage.values.sum())
    if usage.unit == "Smc":
        total = smc_to_kwh(total, "pci")
    elif usage.unit != "kWh":
        raise AnalysisError("unit cannot be converted to kWh", input=str(path), field="unit",
                            value=usage.unit, expected="kWh or Smc",
                            hint="convert m3 to Smc with the meter's correction factor")
    return total, (usage.starts[0], usage.ends[-1]), usage.unit


def _degree_days(path: Path, zone: str, period: tuple, where: str, line: int) -> float:
    from gateway.analysis.degree_days import degree_days, in_heating_season
    from gateway.analysis.inputs import read_temperature

    temp = read_temperature(path)
    start, end = period
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    season = [d for d, on in zip(days, in_heating_season(days, zone), strict=True) if on]
    have = dict(zip(temp.days, temp.mean_c.tolist(), strict=True))
    missing = [d for d in season if d not in have]
    if missing:
        raise AnalysisError("no mean temperature for a heating-season day", input=where,
                            row=line, field="temperature", value=missing[0].isoformat(),
                            expected=f"every day of the zone {zone} season in the usage year",
                            hint=f"{len(missing)} days missing: fill them from a nearby station")
    return degree_days(season, [have[d] for d in season], zone=zone).total


def read_buildings(path: Path) -> list[Building]:
    """One Building per row; problems name the file, the CSV line and the column."""
    where = str(path)
    rows = read_rows(path, ("name", "category", "floor_area_m2"), input=where)
    buildings = []
    for line, row in enumerate(rows, start=2):
        unknown = sorted(set(row) - COLUMNS)
        if unknown:
            raise AnalysisError("unknown column", input=where, field=unknown[0],
                                expected=", ".join(sorted(COLUMNS)))
        energy = _opt(row, "energy_kwh", where, line)
        degree_days = _opt(row, "degree_days", where, line, positive=True)
        reference_gg = _opt(row, "reference_degree_days", where, line, positive=True)
        zone = row.get("zone") or None
        if row.get("municipality"):
            from gateway.analysis.degree_days import reference_degree_days

            ref = reference_degree_days(row["municipality"])
            zone = zone or ref.zone
            reference_gg = reference_gg or float(ref.degree_days)
        if (energy is None) == (not row.get("usage")):
            raise AnalysisError("give energy_kwh or usage, not both or neither", input=where,
                                row=line, field="energy_kwh",
                                expected="a yearly total in kWh, or a usage CSV path")
        if row.get("usage"):
            energy, period, _ = _yearly_kwh(path.parent / row["usage"], where, line)
            if row.get("temperature"):
                if degree_days is not None or zone is None:
                    raise AnalysisError("temperature needs zone (or municipality) and no "
                                        "degree_days", input=where, row=line,
                                        field="temperature", value=row.get("zone"),
                                        expected="a DPR 412/93 zone A-F")
                degree_days = _degree_days(path.parent / row["temperature"], zone, period,
                                           where, line)
        elif row.get("temperature"):
            raise AnalysisError("temperature needs a usage series for its year", input=where,
                                row=line, field="temperature",
                                expected="a usage CSV path in the usage column")
        year_raw = row.get("year_built", "")
        if year_raw and not (year_raw.isdigit() and 1000 <= int(year_raw) <= 2100):
            raise AnalysisError("not a year", input=where, row=line, field="year_built",
                                value=year_raw, expected="a year, e.g. 1965")
        buildings.append(Building(
            name=row["name"], category=row["category"],
            floor_area_m2=_opt(row, "floor_area_m2", where, line, positive=True)
            or 0.0, energy_kwh=float(energy or 0.0),
            heated_volume_m3=_opt(row, "heated_volume_m3", where, line, positive=True),
            degree_days=degree_days, reference_degree_days=reference_gg,
            building_type=row.get("building_type") or None,
            year_built=int(year_raw) if year_raw else None))
    return buildings
