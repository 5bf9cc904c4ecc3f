"""Heap: steady state after gc.collect() stays flat over 30 simulated days on a small heap.

The unix port is a 64-bit build: its object words are twice an ESP32's, and here the code
itself (firmware + protocol + simulated HAL, compiled from source) lives in the heap too,
about 96 KB of it; on a board the modules are frozen into flash by firmware/manifest.py.
The run therefore uses -X heapsize=192K (the smallest size that boots from source; 160K
with mpy-cross .mpy files) and checks that what the firmware keeps does not grow.
"""

from __future__ import annotations

from pathlib import Path

from tests.firmware.board import T0, readings, run_board, stats, write_config
from tests.firmware.gateway_stub import GatewayStub

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
                         port=gw.port, report_every=DAY, heapsize="192K", timeout=90)
        assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()[-2000:]
    finally:
        gw.close()
    st = stats(proc)
    assert len(st) >= 28
    alloc = [s["alloc"] for s in st]
    steady = alloc[2:]
    print("heap after gc.collect(), per simulated day:", alloc)
    assert max(steady) - min(steady) < 4096
    # no upward drift of the floor (what stays allocated whatever is in flight at the time)
    assert min(steady[-5:]) - min(steady[:5]) < 1024
    assert max(alloc) < 192 * 1024 - 32 * 1024  # head room left on the 192 KB heap
    # the board worked the whole time: every quarter hour arrived
    ct = readings(gw.frames, 0)
    assert [s for s, _, _ in ct] == list(range(T0, T0 + 30 * DAY, 900))
