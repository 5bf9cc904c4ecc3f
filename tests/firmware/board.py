"""Helpers for firmware tests: write a board config and a sim feed, run main_sim.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.micropython import REPO, run_micropython

KEY_HEX = "000102030405060708090a0b0c0d0e0f"
KEY = bytes.fromhex(KEY_HEX)
DEVICE_ID = 1001
T0 = 1767225600  # 2026-01-01 00:00:00 UTC, a quarter-hour and hour boundary
MAIN_SIM = REPO / "firmware" / "main_sim.py"


def write_config(path: Path, port: int, channels: list[dict[str, Any]], **extra: Any) -> Path:
    cfg: dict[str, Any] = {
        "device_id": DEVICE_ID,
        "key": KEY_HEX,
        "gateway": {"host": "127.0.0.1", "port": port},
        "channels": channels,
    }
    cfg.update(extra)
    path.write_text(json.dumps(cfg))
    return path


def run_board(
    tmp: Path,
    cfg: Path,
    feed_lines: list[str],
    *,
    speed: float,
    run_for: int,
    port: int | None = None,
    heapsize: str | None = None,
    report_every: int = 86400,
    extra: list[str] | None = None,
    timeout: float = 120,
    state_dir: Path | None = None,
    path: list[Path] | None = None,
    flash_kb: int | None = None,
) -> subprocess.CompletedProcess[bytes]:
    feed = tmp / "feed.txt"
    feed.write_text("\n".join(feed_lines) + "\n")
    state = state_dir or tmp / "state"
    state.mkdir(exist_ok=True)
    args = ["--config", str(cfg), "--state-dir", str(state), "--clock-speed", str(speed),
            "--start", str(T0), "--feed", str(feed), "--run-for", str(run_for),
            "--report-every", str(report_every)]
    if port is not None:
        args += ["--gateway", f"127.0.0.1:{port}"]
    if flash_kb is not None:  # the simulated flash (main_sim's default: 512 KB)
        args += ["--flash-kb", str(flash_kb)]
    args += extra or []
    try:
        return run_micropython(MAIN_SIM, *args, heapsize=heapsize, cwd=tmp, timeout=timeout,
                               path=path)
    except subprocess.TimeoutExpired as e:  # show where the board was when it got stuck
        out = (e.stdout or b"").decode(errors="replace")[-3000:]
        raise AssertionError(f"board did not finish in {timeout} s; last output:\n{out}") from e


def stats(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    out = []
    for line in proc.stdout.decode().splitlines():
        if line.startswith("@stat "):
            out.append(json.loads(line[6:]))
    return out


def readings(frames: list[dict[str, Any]], channel: int) -> list[tuple[int, int, int]]:
    """(interval start, register, flags) for one channel, in arrival order."""
    out = []
    for f in frames:
        if f["type"] != "readings":
            continue
        for b in f["blocks"]:
            if b["channel"] != channel:
                continue
            for i, r in enumerate(b["registers"]):
                out.append((b["start"] + i * b["interval_s"], r, b["flags"][i]))
    return out
