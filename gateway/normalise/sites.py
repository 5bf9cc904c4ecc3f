"""Site facts from the DPR 412/93 table: climate zone, degree days, altitude, heating season.

The table ships as gateway/data/dpr412_degree_days.csv (provenance: gateway/data/README.md).
Names match ignoring case, accents ("Agliè" = "aglie"), typographic vs plain apostrophes and
repeated spaces. Names shared by several municipalities (CASTRO, SAMONE, ...) need
`province=` (1993 province code, e.g. "BG").

Heating season per zone (DPR 412/93 art. 9, now DPR 74/2013 art. 4):
    A 1 Dec-15 Mar 6 h/day   B 1 Dec-31 Mar 8 h   C 15 Nov-31 Mar 10 h
    D 1 Nov-15 Apr 12 h      E 15 Oct-15 Apr 14 h F no limits (season and hours)

Public API:
    site_facts(municipality, *, province=None) -> SiteFacts
    heating_season(zone) -> HeatingSeason;  HeatingSeason.contains(day) -> bool
    municipalities() -> tuple[Municipality, ...]   the whole table (cached)
Errors: UnknownMunicipalityError (with close-match `suggestions`), AmbiguousMunicipalityError
(with `provinces`), NormaliseError for an unknown zone.
"""

from __future__ import annotations

import csv
import difflib
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

from gateway.normalise.errors import (
    AmbiguousMunicipalityError,
    NormaliseError,
    UnknownMunicipalityError,
)

__all__ = [
    "HEATING_SEASONS",
    "HeatingSeason",
    "Municipality",
    "SiteFacts",
    "heating_season",
    "municipalities",
    "site_facts",
]


@dataclass(frozen=True, slots=True)
class HeatingSeason:
    """When heating may run in a zone; None bounds/hours mean "no limit" (zone F)."""

    zone: str
    start: tuple[int, int] | None   # (month, day), first day of the season
    end: tuple[int, int] | None     # (month, day), last day, in the following year
    daily_hours: int | None

    def contains(self, day: date) -> bool:
        """True if `day` is inside the season (seasons straddle the new year)."""
        if self.start is None or self.end is None:
            return True
        md = (day.month, day.day)
        return md >= self.start or md <= self.end


HEATING_SEASONS = {
    "A": HeatingSeason("A", (12, 1), (3, 15), 6),
    "B": HeatingSeason("B", (12, 1), (3, 31), 8),
    "C": HeatingSeason("C", (11, 15), (3, 31), 10),
    "D": HeatingSeason("D", (11, 1), (4, 15), 12),
    "E": HeatingSeason("E", (10, 15), (4, 15), 14),
    "F": HeatingSeason("F", None, None, None),
}


@dataclass(frozen=True, slots=True)
class Municipality:
    """One row of the DPR 412/93 table."""

    name: str            # as printed, capitals with accents
    province: str        # 1993 province code
    zone: str            # A..F
    degree_days: int     # GG, base 20 degC
    altitude_m: int      # town hall


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What the gateway needs to know about a site's municipality."""

    municipality: str
    province: str
    zone: str
    degree_days: int
    altitude_m: int
    heating_season: HeatingSeason


def heating_season(zone: str) -> HeatingSeason:
    """Heating season of climate zone `zone` (A..F)."""
    try:
        return HEATING_SEASONS[zone]
    except KeyError:
        raise NormaliseError("unknown climate zone", field="zone", value=zone,
                             expected="one of A, B, C, D, E, F") from None


def _key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("’", "'").replace("`", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


@lru_cache(maxsize=1)
def municipalities() -> tuple[Municipality, ...]:
    """All rows of the packaged DPR 412/93 table."""
    path = resources.files("gateway") / "data" / "dpr412_degree_days.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(
            Municipality(
                name=row["comune"].strip(),
                province=row["pr"].strip(),
                zone=row["z"].strip(),
                degree_days=int(row["gr-g"]),
                altitude_m=int(row["alt"]),
            )
            for row in csv.DictReader(f)
        )


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[Municipality, ...]]:
    index: dict[str, list[Municipality]] = {}
    for m in municipalities():
        index.setdefault(_key(m.name), []).append(m)
    return {k: tuple(v) for k, v in index.items()}


def site_facts(municipality: str, *, province: str | None = None) -> SiteFacts:
    """Zone, degree days, altitude and heating season of `municipality`."""
    index = _index()
    key = _key(municipality)
    found = index.get(key, ())
    if province is not None:
        found = tuple(m for m in found if m.province == province.strip().upper())
    if not found:
        close = difflib.get_close_matches(key, index.keys(), n=5, cutoff=0.75)
        names = tuple(f"{m.name} ({m.province})" for k in close for m in index[k])
        raise UnknownMunicipalityError(municipality, names)
    if len(found) > 1:
        raise AmbiguousMunicipalityError(municipality, tuple(m.province for m in found))
    m = found[0]
    return SiteFacts(m.name, m.province, m.zone, m.degree_days, m.altitude_m,
                     heating_season(m.zone))
