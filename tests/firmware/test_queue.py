"""Flash queue unit checks under MicroPython (littlefs on a RAM block device)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.micropython import run_micropython

HERE = Path(__file__).parent


def test_queue_read_buffer_drop_accounting_and_reopen() -> None:
    proc = run_micropython(HERE / "mp_queue.py", timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    line = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("RESULT ")][-1]
    r = json.loads(line[7:])
    assert r["read_frame_intact"]  # appending never overwrites a frame being sent
    assert r["depth"] == 4
    # records are 3 + 40 + 4 = 47 bytes: 25 per 1200-byte segment; 4 segments at most,
    # so the first drop removes the oldest whole segment: counters 1-3, 99 and 100..120
    assert r["dropped"] == 25
    assert r["head_counter_after_drop"] == 121
    assert r["depth_after_drop"] == r["appended"] - 25
    assert r["reboot_head_counter"] == 123  # two released before the "reboot"
    assert r["reboot_depth"] == r["depth_after_drop"] - 2
    assert r["reboot_dropped"] == 25
    assert r["max_counter"] == r["appended"] + 95  # the last counter appended: 100 + (n - 4) - 1
