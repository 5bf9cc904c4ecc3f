"""Power cut at every flash write of a scripted run, on littlefs in RAM, under MicroPython."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.micropython import run_micropython

HERE = Path(__file__).parent


def test_cut_at_every_write_keeps_queue_counters_and_registers_consistent() -> None:
    proc = run_micropython(HERE / "mp_powerloss.py", "60", timeout=120)
    out = proc.stdout.decode()
    lines = [ln for ln in out.splitlines() if ln.startswith(("RESULT", "cut at", "no cut"))]
    assert proc.returncode == 0, "\n".join(lines[-20:]) + proc.stderr.decode()[-2000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    # every write of the run was a cut point, and the run exercised the overflow path
    assert result["cuts"] == result["writes"] > 300
    assert result["appended"] == 60
    assert result["dropped"] > 0
    assert result["violations"] == 0
