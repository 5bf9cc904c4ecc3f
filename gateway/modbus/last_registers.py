"""The last energy register stored per device and channel, kept in the plugin's own directory.

A restart must compare the first new reading with what was last *stored*, not with the last
series row: the first reading of a channel and the reading of a meter swap have no series
row, so seeding from the series re-detects a swap already reported, or misses one that
happened while the gateway was down. The file is replaced atomically after every stored
poll; a crash between the commit and the file only leaves an older register, which can
hide nothing (a real swap still reads lower than any earlier register of the old meter).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["load", "save"]

Registers = dict[str, dict[str, int]]     # device id -> channel -> Wh


def load(path: Path) -> Registers | None:
    """The saved registers, or None when there is no usable file (first start, upgrade)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    return {str(dev): {str(ch): int(wh) for ch, wh in chans.items()
                       if isinstance(wh, int) and not isinstance(wh, bool)}
            for dev, chans in doc.items() if isinstance(chans, dict)}


def save(path: Path, registers: Registers) -> None:
    tmp = path.with_name(path.name + ".new")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(registers, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
