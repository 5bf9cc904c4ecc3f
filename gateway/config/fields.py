"""Typed reading of one TOML table: each `take` checks a key and records a Problem, never raises.

Converters are small callables that return the converted value or raise :class:`Bad` with what
was wrong and what is expected; :class:`Table` turns that into a Problem with the key path.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from gateway.config.model import Problem

__all__ = ["Bad", "Table", "as_bool", "as_choice", "as_int", "as_number", "as_path", "as_str"]

T = TypeVar("T")


class Bad(Exception):
    """Raised by a converter: `message` about the value, `expected` what would be accepted."""

    def __init__(self, message: str, expected: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.hint = hint


class Table:
    """One table of the config at key path `path`; problems go to the shared list."""

    def __init__(self, data: Any, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()
        if isinstance(data, dict):
            self.data: dict[str, Any] = data
        else:
            self.data = {}
            self.problem("", f"{data!r} is not a table", expected=f"a [{path}] section",
                         value=data)

    def key(self, key: str) -> str:
        return ".".join(p for p in (self.path, key) if p)

    def problem(self, key: str, message: str, *, expected: str = "", hint: str = "",
                value: Any = None) -> None:
        self.problems.append(Problem(self.key(key) or "(top level)", message, expected, hint,
                                     value))

    def take(self, key: str, default: T, convert: Callable[[Any], Any]) -> T:
        """The converted value of `key`, or `default` when absent or wrong (with a Problem)."""
        self.seen.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        try:
            return convert(value)
        except Bad as bad:
            self.problem(key, bad.message, expected=bad.expected, hint=bad.hint, value=value)
            return default

    def table(self, key: str) -> Table:
        """A sub-table (missing = empty); a non-table value is reported."""
        self.seen.add(key)
        return Table(self.data.get(key, {}), self.key(key), self.problems)

    def unknown(self, key: str, known: Iterable[str]) -> None:
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "remove it"
        self.problem(key, "unknown key", expected=", ".join(sorted(known)), hint=hint,
                     value=self.data.get(key))

    def finish(self) -> None:
        """Report every key of this table that no `take` asked for (typos)."""
        for key in self.data:
            if key not in self.seen:
                self.unknown(key, self.seen)


def as_str(*, nonempty: bool = True) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise Bad(f"{value!r} is not a string", "a quoted string")
        if nonempty and not value.strip():
            raise Bad("empty string", "a non-empty string")
        return value
    return convert


def as_bool() -> Callable[[Any], bool]:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Bad(f"{value!r} is not a boolean", "true or false (no quotes)")
        return value
    return convert


def as_int(lo: int, hi: int, noun: str) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Bad(f"{value!r} is not a whole number", f"{noun}, {lo}-{hi}")
        if not lo <= value <= hi:
            if noun.startswith(("a ", "an ")):
                raise Bad(f"{value} is not {noun}", f"{lo}-{hi}")
            raise Bad(f"{value} is out of range", f"{noun}, {lo}-{hi}")
        return value
    return convert


def as_number(lo: float, hi: float, noun: str) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Bad(f"{value!r} is not a number", f"{noun}, {lo:g}-{hi:g}")
        if not lo <= value <= hi:
            raise Bad(f"{value:g} is out of range for {noun}", f"{lo:g}-{hi:g}")
        return float(value)
    return convert


def as_choice(*choices: str, upper: bool = False) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = value.upper() if upper and isinstance(value, str) else value
        if text not in choices:
            raise Bad(f"{value!r} is not allowed", "one of " + ", ".join(choices))
        return text
    return convert


def as_path(base: Path) -> Callable[[Any], Path]:
    """A path; relative paths are taken from the config file's directory."""
    def convert(value: Any) -> Path:
        if not isinstance(value, str) or not value:
            raise Bad(f"{value!r} is not a path", "a quoted file system path")
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path)
    return convert

