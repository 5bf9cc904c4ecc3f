"""Output of `meterkit analyze`: rich tables for people, one JSON object for machines."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["emit_error", "emit_json", "fmt", "print_kv", "print_table"]


def _clean(obj: Any) -> Any:
    """JSON has no NaN/Infinity: such values become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def emit_json(payload: dict[str, Any], out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    stream.write(json.dumps(_clean(payload), indent=2, ensure_ascii=False) + "\n")


def emit_error(error: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json({"ok": False, **error})
    else:
        sys.stderr.write(f"error: {error['message_full']}\n")


def fmt(value: Any, digits: int = 1) -> str:
    """Thousands separators for people; '-' for missing values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,d}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                digits: int = 1) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not str: units like "[kWh]" must not be read as rich markup tags
    table = Table(title=Text(title))
    for i, col in enumerate(columns):
        table.add_column(Text(col), justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(Text(fmt(v, digits)) for v in row))
    Console().print(table)


def print_kv(title: str, items: Sequence[tuple[str, Any]], digits: int = 1) -> None:
    print_table(title, ("quantity", "value"), items, digits)
