"""Power cut at every flash write around interval closes: no interval framed twice with
different registers, none missing (the real Meter on littlefs in RAM, under MicroPython)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.micropython import run_micropython

HERE = Path(__file__).parent


def test_cut_at_every_write_never_frames_an_interval_twice_or_loses_one() -> None:
    proc = run_micropython(HERE / "mp_meter_cut.py", "4", timeout=300)
    out = proc.stdout.decode()
    lines = [ln for ln in out.splitlines() if ln.startswith(("RESULT", "cut at", "no cut"))]
    assert proc.returncode == 0, "\n".join(lines[-20:]) + proc.stderr.decode()[-2000:]
    result = json.loads(lines[-1][len("RESULT "):])
    # every write of the 4 hours (state saves, frame appends, counter blocks) was a cut point
    assert result["cuts"] == result["writes"] > 40
    assert result["violations"] == 0
