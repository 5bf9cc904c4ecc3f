"""Quarter-hour CSV files of `meterkit analyze cer`: timestamp,id,kwh rows into series by id."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from gateway.analysis.errors import AnalysisError

__all__ = ["read_series"]

COLUMNS = ("timestamp", "id", "kwh")


def read_series(path: Path, input: str) -> dict[str, list[tuple[datetime, float]]]:
    """Series per id; every row's problem names the file, the CSV line and the column."""
    try:
        return _read_series(path, input)
    except UnicodeDecodeError as exc:
        raise AnalysisError(f"not UTF-8 text (byte {exc.start})", input=str(path),
                            expected="a CSV saved as UTF-8 (in a spreadsheet: CSV UTF-8)"
                            ) from exc
    except OSError as exc:
        raise AnalysisError(f"cannot read file: {exc.strerror}", input=str(path),
                            expected="a readable CSV file") from exc


def _read_series(path: Path, input: str) -> dict[str, list[tuple[datetime, float]]]:
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise AnalysisError("column missing", input=str(path), field=missing[0],
                                expected="a header timestamp,id,kwh")
        for line, row in enumerate(reader, start=2):
            raw_ts, ident, raw_kwh = (row.get(c) or "" for c in COLUMNS)
            try:
                ts = datetime.fromisoformat(raw_ts)
            except ValueError:
                raise AnalysisError("not a timestamp", input=str(path), row=line,
                                    field="timestamp", value=raw_ts,
                                    expected="ISO 8601 with offset, e.g. "
                                    "2026-06-01T12:00:00+02:00") from None
            if ts.tzinfo is None:
                raise AnalysisError("timestamp without UTC offset", input=str(path), row=line,
                                    field="timestamp", value=raw_ts,
                                    expected="ISO 8601 with offset, e.g. "
                                    "2026-06-01T12:00:00+02:00")
            if not ident.strip():
                raise AnalysisError("empty id", input=str(path), row=line, field="id",
                                    expected=f"the {input} point's id from the community file")
            try:
                kwh = float(raw_kwh)
            except ValueError:
                kwh = math.nan
            if not math.isfinite(kwh):
                raise AnalysisError("not a number", input=str(path), row=line, field="kwh",
                                    value=raw_kwh, expected="kWh in the quarter hour, "
                                    "with a dot as decimal mark")
            series[ident].append((ts, kwh))
    return dict(series)
