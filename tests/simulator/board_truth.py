"""Independent checks for demo tests: the boards' own `@truth` lines and an ARERA band classifier.

A run kept with `--workdir` leaves `board-<id>/board.log`, where the firmware's ground-truth tap
prints `@truth <channel index> <first interval start> <length s> <reg,reg,...>` as it seals
intervals. Reading those lines here, not through the simulator's own parser, gives the tests
expected values that do not come from the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

ROME = ZoneInfo("Europe/Rome")
# Italian national holidays: the calendar ARERA's bands use (Delibera 181/06)
_ITALY = holidays.country_holidays("IT")

Series = dict[int, tuple[int, int]]  # interval start (Unix s) -> (register at its end, length s)


def board_truth(workdir: Path) -> dict[tuple[str, int], Series]:
    """(device id, channel index) -> every interval the board sealed (duplicates must agree)."""
    out: dict[tuple[str, int], Series] = {}
    for log in sorted(workdir.glob("board-*/board.log")):
        device = log.parent.name.removeprefix("board-")
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("@truth "):
                continue
            _tag, ch, start, length, regs = line.split(" ")
            series = out.setdefault((device, int(ch)), {})
            for i, reg in enumerate(regs.split(",")):
                at = int(start) + i * int(length)
                old = series.setdefault(at, (int(reg), int(length)))
                assert old == (int(reg), int(length)), f"{device}/{ch} sealed {at} twice"
    return out


def in_period(series: Series, end: float) -> Series:
    return {s: v for s, v in series.items() if s + v[1] <= end}


def local_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=ROME).timestamp()


def arera_band(start_utc: int) -> str:
    """ARERA time bands of an interval by its start: F1 Mon-Fri 08-19; F2 Mon-Fri 07-08 and
    19-23, Sat 07-23; F3 the rest, all Sunday and national holidays (local time)."""
    t = datetime.fromtimestamp(start_utc, UTC).astimezone(ROME)
    if t.weekday() == 6 or t.date() in _ITALY or t.hour < 7 or t.hour >= 23:
        return "F3"
    if t.weekday() == 5:
        return "F2"
    return "F1" if 8 <= t.hour < 19 else "F2"


def deltas(series: Series) -> list[tuple[int, int]]:
    """(interval start, register increase) from a new board's register (0 at power-on).

    Fails when an interval is missing: a delta spanning a gap cannot be put in one band."""
    out = []
    previous, last_end = 0, None
    for start in sorted(series):
        register, length = series[start]
        assert last_end is None or start == last_end, f"gap in the truth before {start}"
        out.append((start, register - previous))
        previous, last_end = register, start + length
    return out
