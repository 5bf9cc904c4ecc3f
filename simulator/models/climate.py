"""DPR 412/93 climate facts: degree days and zone of a municipality, and the zone's heating season.

The table is the gateway's copy of Annex A (`gateway/data/dpr412_degree_days.csv`, see the
provenance note in /work/shared/data/README.md). Heating seasons and daily hours are those of
DPR 412/93 art. 9 as updated by DPR 74/2013 art. 4 (zone F: no limit, i.e. the whole year).
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from simulator.errors import SimulatorError

__all__ = ["HEATING_SEASONS", "Municipality", "UnknownMunicipality", "heating_days", "lookup"]

TABLE = Path(__file__).resolve().parents[2] / "gateway" / "data" / "dpr412_degree_days.csv"

# zone -> ((start month, day), (end month, day), max daily hours); end inclusive, across new year
HEATING_SEASONS: dict[str, tuple[tuple[int, int], tuple[int, int], int]] = {
    "A": ((12, 1), (3, 15), 6),
    "B": ((12, 1), (3, 31), 8),
    "C": ((11, 15), (3, 31), 10),
    "D": ((11, 1), (4, 15), 12),
    "E": ((10, 15), (4, 15), 14),
    "F": ((7, 1), (6, 30), 24),
}


@dataclass(frozen=True, slots=True)
class Municipality:
    """One row of Annex A."""

    name: str
    province: str
    zone: str
    degree_days: int
    altitude_m: int


class UnknownMunicipality(SimulatorError):
    """The name is not in DPR 412 Annex A (merged municipalities after 2016 are missing)."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"did you mean {', '.join(suggestions)}?" if suggestions else "check the spelling"
        super().__init__(f"municipality {name!r} is not in DPR 412/93 Annex A", hint=hint)
        self.name = name
        self.suggestions = suggestions


@lru_cache(maxsize=1)
def _table() -> dict[str, list[Municipality]]:
    rows: dict[str, list[Municipality]] = {}
    with TABLE.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            m = Municipality(r["comune"], r["pr"], r["z"], int(r["gr-g"]), int(r["alt"]))
            rows.setdefault(m.name, []).append(m)
    return rows


def lookup(name: str, province: str | None = None) -> Municipality:
    """The municipality called `name` (case-insensitive); `province` settles homonyms."""
    table = _table()
    key = name.strip().upper()
    found = table.get(key, [])
    if province:
        found = [m for m in found if m.province == province.strip().upper()]
    if not found:
        raise UnknownMunicipality(name, difflib.get_close_matches(key, table, n=3))
    if len(found) > 1:
        provinces = ", ".join(m.province for m in found)
        raise SimulatorError(
            f"municipality {name!r} is ambiguous (provinces {provinces})",
            hint="give the province too",
        )
    return found[0]


def heating_days(zone: str, season_year: int) -> tuple[date, date]:
    """First and last day (inclusive) of the heating season starting in autumn `season_year`."""
    (m0, d0), (m1, d1), _hours = HEATING_SEASONS[zone]
    start = date(season_year, m0, d0)
    end = date(season_year + 1, m1, d1)
    return start, end
