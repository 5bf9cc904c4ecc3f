"""Read the CLI's CSV and TOML inputs into the analysis types, with row-precise errors.

Formats (docs/ANALYSIS.md has them with examples):
    usage CSV        start,end,value,unit      start/end ISO 8601 with offset at local
                                               midnight (whole days), unit kWh|Smc|m3
    temperature CSV  timestamp,temperature_c   hourly (or finer) or one value per day
    seasons CSV      label,consumption,degree_days,unit
    bands CSV        year,month,F1,F2,F3       kWh
    TOML             lighting-pmvp and epc settlements, non-routine adjustments
"""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.analysis.bands_baseline import BandRecord
from gateway.analysis.degree_days import DailyTemperature, daily_mean_temperature
from gateway.analysis.errors import AnalysisError, UnitMismatchError
from gateway.analysis.usage import UsagePeriods, usage_periods

__all__ = [
    "read_bands",
    "read_rows",
    "read_seasons",
    "read_temperature",
    "read_toml",
    "read_usage",
]

ROME = ZoneInfo("Europe/Rome")


def read_rows(path: Path, required: tuple[str, ...], *, input: str) -> list[dict[str, str]]:
    """CSV rows as dicts; a missing file or column is an AnalysisError naming it."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in required if c not in header]
            if missing:
                raise AnalysisError("column missing", input=input, field=missing[0],
                                    value=",".join(header), expected=",".join(required))
            return [{k.strip(): (v or "").strip() for k, v in row.items() if k}
                    for row in reader]
    except OSError as exc:
        raise AnalysisError(f"cannot read file: {exc.strerror}", input=input,
                            value=str(path), expected="a readable CSV file") from exc
    except UnicodeDecodeError as exc:
        raise AnalysisError(f"not UTF-8 text (byte {exc.start})", input=input,
                            value=str(path),
                            expected="a CSV saved as UTF-8 (in a spreadsheet: CSV UTF-8)") from exc


def _number(row: dict[str, str], key: str, *, input: str, line: int) -> float:
    raw = row.get(key, "")
    try:
        return float(raw)
    except ValueError:
        raise AnalysisError("not a number", input=input, row=line, field=key, value=raw,
                            expected="a decimal number, e.g. 1234.5") from None


def _timestamp(raw: str, *, input: str, line: int, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise AnalysisError("timestamp must be ISO 8601 with a UTC offset", input=input,
                            row=line, field=field, value=raw,
                            expected="e.g. 2024-01-01T00:00:00+01:00")
    return t


def _local_day(raw: str, *, input: str, line: int, field: str) -> date:
    t = _timestamp(raw, input=input, line=line, field=field).astimezone(ROME)
    if t.time() != time(0, 0):
        raise AnalysisError("period bounds must be local midnight (whole days)", input=input,
                            row=line, field=field, value=raw,
                            expected=f"{t.date().isoformat()}T00:00:00 in Europe/Rome time")
    return t.date()


def read_usage(path: Path, *, input: str, unit: str | None = None) -> UsagePeriods:
    """Consumption periods; every row must carry the same unit (or --unit gives it)."""
    cols = ("start", "end", "value") + (() if unit else ("unit",))
    rows = read_rows(path, cols, input=input)
    starts, ends, values = [], [], []
    seen: str | None = unit
    for i, row in enumerate(rows, start=1):
        line = i + 1   # header is line 1
        row_unit = row.get("unit") or unit
        if seen is None:
            seen = row_unit
        if row_unit != seen:
            raise UnitMismatchError("unit differs from the first row", input=input, row=line,
                                    field="unit", value=row_unit, expected=str(seen),
                                    hint="convert the file to one unit first")
        starts.append(_local_day(row["start"], input=input, line=line, field="start"))
        ends.append(_local_day(row["end"], input=input, line=line, field="end"))
        values.append(_number(row, "value", input=input, line=line))
    return usage_periods(starts, ends, values, unit=seen or "", input=input)


def read_temperature(path: Path) -> DailyTemperature:
    """Daily mean outdoor temperature from hourly (or daily) readings in °C."""
    rows = read_rows(path, ("timestamp", "temperature_c"), input="temperature")
    stamps = [_timestamp(r["timestamp"], input="temperature", line=i + 2, field="timestamp")
              for i, r in enumerate(rows)]
    temps = [_number(r, "temperature_c", input="temperature", line=i + 2)
             for i, r in enumerate(rows)]
    per_day = Counter(t.astimezone(ROME).date() for t in stamps)
    daily_input = bool(per_day) and max(per_day.values()) == 1
    return daily_mean_temperature(stamps, temps, min_samples=1 if daily_input else 12)


def read_seasons(path: Path) -> tuple[list[str], list[float], list[float], str]:
    """Per-season consumption and degree days for the ratio method."""
    rows = read_rows(path, ("label", "consumption", "degree_days", "unit"), input="seasons")
    units = {r["unit"] for r in rows}
    if len(units) > 1:
        bad = next(i for i, r in enumerate(rows) if r["unit"] != rows[0]["unit"])
        raise UnitMismatchError("mixed units", input="seasons", row=bad + 2, field="unit",
                                value=rows[bad]["unit"], expected=rows[0]["unit"])
    labels = [r["label"] for r in rows]
    cons = [_number(r, "consumption", input="seasons", line=i + 2) for i, r in enumerate(rows)]
    gg = [_number(r, "degree_days", input="seasons", line=i + 2) for i, r in enumerate(rows)]
    return labels, cons, gg, rows[0]["unit"] if rows else "kWh"


def read_bands(path: Path) -> list[BandRecord]:
    """Wide monthly F1/F2/F3 table (seed 003 Table 5.7 layout)."""
    rows = read_rows(path, ("year", "month", "F1", "F2", "F3"), input="bands")
    out = []
    for i, r in enumerate(rows):
        year = int(_number(r, "year", input="bands", line=i + 2))
        month = int(_number(r, "month", input="bands", line=i + 2))
        for band in ("F1", "F2", "F3"):
            out.append(BandRecord(year, month, band, _number(r, band, input="bands",
                                                              line=i + 2)))
    return out


def read_toml(path: Path, *, input: str) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise AnalysisError(f"cannot read file: {exc.strerror}", input=input,
                            value=str(path), expected="a readable TOML file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise AnalysisError(f"invalid TOML: {exc}", input=input, value=str(path),
                            expected="TOML as in docs/ANALYSIS.md") from exc
    except UnicodeDecodeError as exc:
        raise AnalysisError(f"not UTF-8 text (byte {exc.start})", input=input,
                            value=str(path), expected="a TOML file saved as UTF-8") from exc
