"""Electric baseline by month and ARERA band F1/F2/F3 as the mean of reference years.

Seed 003 Table 5.8: each month's F1, F2 and F3 kWh is the arithmetic mean of the same month
and band over the reference years (2014-2016); the yearly total, 63,487 kWh, is the mean of
the three yearly totals. Every reference year must be complete (12 months x 3 bands): a mean
over the months that happen to be there would quietly drop a season.

Public API:
    band_baseline(records) -> BandBaseline      records: (year, month, band, kWh)
    monthly_band_totals(starts_local_months, bands, kwh) -> list of records
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gateway.analysis.errors import AnalysisError, InsufficientDataError, NegativeValueError

__all__ = ["BANDS", "BandBaseline", "BandRecord", "band_baseline", "monthly_band_totals"]

BANDS = ("F1", "F2", "F3")
MONTHS = tuple(range(1, 13))


@dataclass(frozen=True, slots=True)
class BandRecord:
    """Energy of one month and band of one year."""

    year: int
    month: int
    band: str
    kwh: float


@dataclass(frozen=True, slots=True)
class BandBaseline:
    """Mean kWh per (month, band) over `years`; `table[m-1][b]` with b in F1, F2, F3 order."""

    years: tuple[int, ...]
    table: np.ndarray  # shape (12, 3)

    def month(self, month: int) -> dict[str, float]:
        row = self.table[month - 1]
        return {band: float(v) for band, v in zip(BANDS, row, strict=True)} | {
            "total": float(row.sum())
        }

    @property
    def band_totals(self) -> dict[str, float]:
        return {band: float(v) for band, v in zip(BANDS, self.table.sum(axis=0), strict=True)}

    @property
    def total(self) -> float:
        return float(self.table.sum())

    def as_dict(self) -> dict[str, object]:
        return {
            "method": "band_month_mean",
            "unit": "kWh",
            "years": list(self.years),
            "months": [{"month": m} | self.month(m) for m in MONTHS],
            "totals": self.band_totals | {"total": self.total},
        }


def band_baseline(records: Iterable[BandRecord | tuple[int, int, str, float]]) -> BandBaseline:
    """Mean of complete reference years, month by month and band by band."""
    cells: dict[tuple[int, int, str], float] = {}
    for i, rec in enumerate(records):
        r = rec if isinstance(rec, BandRecord) else BandRecord(*rec)
        row = i + 1
        if r.band not in BANDS:
            raise AnalysisError("unknown band", input="bands", row=row, field="band",
                                value=r.band, expected="F1, F2 or F3")
        if r.month not in MONTHS:
            raise AnalysisError("month out of range", input="bands", row=row, field="month",
                                value=r.month, expected="1..12")
        if not np.isfinite(r.kwh):
            raise AnalysisError("missing value", input="bands", row=row, field="kwh",
                                value=str(r.kwh), expected="a number of kWh")
        if r.kwh < 0:
            raise NegativeValueError("negative energy", input="bands", row=row, field="kwh",
                                     value=r.kwh, expected=">= 0")
        key = (r.year, r.month, r.band)
        if key in cells:
            raise AnalysisError("the same year, month and band appear twice", input="bands",
                                row=row, field="band", value=f"{r.year}-{r.month:02d} {r.band}",
                                expected="one value per year, month and band",
                                hint="sum the readings of the month before passing them")
        cells[key] = float(r.kwh)
    years = tuple(sorted({y for y, _, _ in cells}))
    if not years:
        raise InsufficientDataError("no reference data", input="bands", available=0,
                                    required=1, unit="complete years")
    for y in years:
        missing = [(m, b) for m in MONTHS for b in BANDS if (y, m, b) not in cells]
        if missing:
            m, b = missing[0]
            raise InsufficientDataError(
                f"reference year {y} is incomplete, first gap {y}-{m:02d} {b}",
                input="bands", available=36 - len(missing), required=36,
                unit="month-band values in the year",
                hint="drop the incomplete year or fill it from the bills",
            )
    table = np.array([[np.mean([cells[(y, m, b)] for y in years]) for b in BANDS]
                      for m in MONTHS])
    return BandBaseline(years=years, table=table)


def monthly_band_totals(
    year_months: Sequence[tuple[int, int]], bands: Sequence[str | None], kwh: Sequence[float]
) -> list[BandRecord]:
    """Sum interval energy into (year, month, band) records; intervals without a band fail."""
    sums: dict[tuple[int, int, str], float] = {}
    for i, ((y, m), band, v) in enumerate(zip(year_months, bands, kwh, strict=True)):
        if band not in BANDS:
            raise AnalysisError("interval without an ARERA band", input="readings", row=i + 1,
                                field="band", value=band, expected="F1, F2 or F3",
                                hint="band electricity readings first (gateway.normalise.bands)")
        sums[(y, m, band)] = sums.get((y, m, band), 0.0) + float(v)
    return [BandRecord(y, m, b, v) for (y, m, b), v in sorted(sums.items())]
