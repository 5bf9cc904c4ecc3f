"""Typed readers for TOML tables that record every problem with its key path, never stop early."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from simulator.errors import ScenarioProblem

__all__ = ["Reader"]

_MISSING = object()


def _within(kind: str, lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{kind} in [{lo}, {hi}]"
    if lo is not None:
        return f"{kind} >= {lo}"
    return f"{kind} <= {hi}" if hi is not None else kind


class Reader:
    """Reads keys of one table; wrong or unknown keys become problems in the shared list."""

    def __init__(self, table: Any, path: str, problems: list[ScenarioProblem]) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(table, dict):
            self.problem("", "must be a table", table, "a TOML table")
            table = {}
        self.table: dict[str, Any] = table
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path and name else self.path or name

    def problem(self, name: str, message: str, value: Any = None, expected: str = "") -> None:
        self.problems.append(ScenarioProblem(self.key(name), message, value, expected))

    def _get(self, name: str, default: Any) -> Any:
        self.seen.add(name)
        value = self.table.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.problem(name, "is required")
            return default
        return value

    def str(self, name: str, default: Any = _MISSING, *, choices: Sequence[str] = ()) -> Any:
        v = self._get(name, default)
        if v is default:
            return None if v is _MISSING else v   # a required key missing: reported
        if not isinstance(v, str) or not v.strip():
            self.problem(name, "must be a non-empty string", v, "text")
            return None if default is _MISSING else default
        if choices and v not in choices:
            self.problem(name, "unknown value", v, "one of " + ", ".join(choices))
            return None if default is _MISSING else default
        return v

    def number(self, name: str, default: Any = _MISSING, *, lo: float | None = None,
               hi: float | None = None, integer: bool = False) -> Any:
        v = self._get(name, default)
        if v is default:
            return None if v is _MISSING else v   # a required key missing: reported
        kind = "an integer" if integer else "a number"
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok:
            self.problem(name, f"must be {kind}", v, kind)
            return None if default is _MISSING else default
        if not math.isfinite(v):
            # TOML allows nan and inf; both compare False against any bound, so check first
            self.problem(name, "must be a finite number", v, _within(kind, lo, hi))
            return None if default is _MISSING else default
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.problem(name, "out of range", v, _within(kind, lo, hi))
            return None if default is _MISSING else default
        return v

    def range(self, name: str, default: tuple[float, float], *, lo: float | None = None,
              hi: float | None = None) -> tuple[float, float]:
        v = self._get(name, default)
        if v is default:
            return None if v is _MISSING else v   # a required key missing: reported
        good = (isinstance(v, list) and len(v) == 2
                and all(isinstance(x, int | float) and not isinstance(x, bool)
                        and math.isfinite(x) for x in v))
        if not good or v[0] > v[1] or (lo is not None and v[0] < lo) or (
                hi is not None and v[1] > hi):
            self.problem(name, "must be [min, max]", v,
                         _within("two finite numbers, min <= max,", lo, hi))
            return default
        return (float(v[0]), float(v[1]))

    def date(self, name: str) -> date | None:
        v = self._get(name, _MISSING)
        if isinstance(v, date):
            return v
        if isinstance(v, str):
            try:
                return date.fromisoformat(v)
            except ValueError:
                pass
        if v is not _MISSING:
            self.problem(name, "must be a date", v, 'YYYY-MM-DD, e.g. "2026-01-12"')
        return None

    def str_list(self, name: str) -> tuple[str, ...]:
        v = self._get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.problem(name, "must be a list of strings", v, '["...", ...]')
            return ()
        return tuple(v)

    def tables(self, name: str, *, required: bool = False) -> list[Reader]:
        v = self._get(name, _MISSING if required else [])
        if v is _MISSING:
            return []
        if isinstance(v, dict):
            return [Reader(v, self.key(name), self.problems)]
        if not isinstance(v, list):
            self.problem(name, "must be an array of tables", v, f"[[{self.key(name)}]] entries")
            return []
        return [Reader(t, f"{self.key(name)}[{i}]", self.problems) for i, t in enumerate(v)]

    def sub(self, name: str) -> Reader:
        return Reader(self._get(name, {}), self.key(name), self.problems)

    def finish(self) -> None:
        """Unknown keys are problems too: a typo must not fall back to a default silently."""
        for k in self.table:
            if k not in self.seen:
                self.problem(k, "unknown key", None, "one of " + ", ".join(sorted(self.seen)))
