"""Building benchmarking: energy intensity, reference tables, ranking within a fleet.

Intensities: kWh/m² (per heated floor area) and Wh/(m³·GG) (per heated volume and degree day,
the usual Italian indicator for heating). A heating intensity can be normalised to reference
degree days: kWh/m² × GG_ref / GG_period (the same ratio-of-sums normalisation as seeds 003/004).

Reference: seed 004 Table 1 (ARPA Lombardia 2004), mean heating need EPH in kWh/(m²·year) by
building type and construction period; the deviation is reported as the ratio of the building's
kWh/m² (weather-normalised when degree days are known) to the reference, 1.0 = on the table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from gateway.analysis.errors import AnalysisError

__all__ = ["Building", "BenchmarkError", "deviation", "intensity", "rank_fleet", "reference_eph"]

PERIODS = ((None, 1918), (1919, 1945), (1946, 1961), (1962, 1971), (1972, 1981), (1982, 1991),
           (1992, None))
REFERENCE_EPH_LOMBARDIA_2004: dict[str, tuple[int, ...]] = {
    "detached_1_2_units": (249, 221, 194, 178, 148, 131, 124),     # villetta 1-2 u.i.
    "small_block_3_15_units": (207, 185, 164, 152, 126, 112, 106),  # palazzina 3-15 u.i.
    "block_16_30_units": (189, 171, 151, 140, 115, 103, 97),        # palazzina 16-30 u.i.
    "tower_31_plus_units": (151, 141, 127, 119, 96, 85, 81),        # edificio a torre > 31 u.i.
}


class BenchmarkError(AnalysisError):
    """A building's data cannot be benchmarked; `building` and `field` say where."""

    def __init__(self, building: str, field_name: str, value: object, expected: str) -> None:
        super().__init__("cannot be benchmarked", input=building, field=field_name,
                         value=value, expected=expected)
        self.building = building


def reference_eph(building_type: str, year_built: int) -> float:
    """Seed 004 Table 1 heating need (kWh/m²·yr) for a residential type and construction year."""
    row = REFERENCE_EPH_LOMBARDIA_2004.get(building_type)
    if row is None:
        raise BenchmarkError("reference", "building_type", building_type,
                             "one of " + ", ".join(REFERENCE_EPH_LOMBARDIA_2004))
    for (start, end), value in zip(PERIODS, row, strict=True):
        if (start is None or year_built >= start) and (end is None or year_built <= end):
            return float(value)
    raise BenchmarkError("reference", "year_built", year_built, "a year")  # unreachable guard


@dataclass(frozen=True, slots=True)
class Building:
    """One monitored building over a period (usually a year or a heating season)."""

    name: str
    category: str                 # use category for peer comparison: school, office, ...
    floor_area_m2: float
    energy_kwh: float             # monitored energy over the period
    heated_volume_m3: float | None = None
    degree_days: float | None = None        # GG of the period (for heating energy)
    reference_degree_days: float | None = None  # GG of the site per DPR 412/93
    building_type: str | None = None        # key of the reference table, if residential
    year_built: int | None = None


def intensity(b: Building) -> dict[str, float | None]:
    """kWh/m², weather-normalised kWh/m², and Wh/(m³·GG) where the inputs allow."""
    if not b.floor_area_m2 > 0:
        raise BenchmarkError(b.name, "floor_area_m2", b.floor_area_m2, "an area > 0 m²")
    if b.energy_kwh < 0:
        raise BenchmarkError(b.name, "energy_kwh", b.energy_kwh, "energy >= 0 kWh")
    out: dict[str, float | None] = {"kwh_per_m2": b.energy_kwh / b.floor_area_m2,
                                    "kwh_per_m2_normalised": None, "wh_per_m3_gg": None,
                                    "reference_kwh_per_m2": None}
    if b.degree_days is not None:
        if not b.degree_days > 0:
            raise BenchmarkError(b.name, "degree_days", b.degree_days, "degree days > 0")
        if b.reference_degree_days:
            out["kwh_per_m2_normalised"] = (
                out["kwh_per_m2"] * b.reference_degree_days / b.degree_days  # type: ignore[operator]
            )
        if b.heated_volume_m3:
            out["wh_per_m3_gg"] = b.energy_kwh * 1000 / (b.heated_volume_m3 * b.degree_days)
    if b.building_type and b.year_built:
        out["reference_kwh_per_m2"] = reference_eph(b.building_type, b.year_built)
    return out


def rank_fleet(buildings: list[Building], *, key: str = "kwh_per_m2") -> list[dict[str, object]]:
    """Rank buildings within their category by `key` (lower is better).

    `percentile` is the share of the other buildings of the same category that use less energy
    per unit (0 = the most efficient, 100 = the least); `rank` is 1 for the best.
    """
    by_category: dict[str, list[tuple[float, Building, dict[str, float | None]]]]
    by_category = defaultdict(list)
    for b in buildings:
        values = intensity(b)
        value = values.get(key)
        if value is None:
            raise BenchmarkError(b.name, key, None, "the inputs this indicator needs")
        by_category[b.category].append((value, b, values))
    rows: list[dict[str, object]] = []
    for category, items in sorted(by_category.items()):
        items.sort(key=lambda item: item[0])
        n = len(items)
        for value, b, values in items:
            lower = sum(1 for other, _, _ in items if other < value)
            rows.append({
                "building": b.name, "category": category, key: value,
                "rank": lower + 1, "of": n, "energy_kwh": b.energy_kwh,
                "degree_days": b.degree_days,
                "percentile": 0.0 if n == 1 else 100.0 * lower / (n - 1),
                **{k: v for k, v in values.items() if k != key},
                **deviation(values),
            })
    return rows


def deviation(values: dict[str, float | None]) -> dict[str, object]:
    """Intensity / reference, both kWh/m²·yr: weather-normalised when the inputs allow it."""
    ref = values.get("reference_kwh_per_m2")
    basis = "kwh_per_m2_normalised" if values.get("kwh_per_m2_normalised") is not None \
        else "kwh_per_m2"
    own = values.get(basis)
    return {"ratio_to_reference": own / ref if ref and own is not None else None,
            "ratio_basis": basis if ref else None}
