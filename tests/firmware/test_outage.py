"""Seven days without a link, then recovery: every reading arrives once, in order."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.firmware.board import T0, readings, run_board, stats, write_config
from tests.firmware.gateway_stub import GatewayStub

DAY = 86400


def test_week_long_outage_then_backlog_arrives_exactly_once_in_order(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, [
            {"id": 0, "type": "ct", "nominal_v": 230, "pf": 1.0, "samples_per_cycle": 8,
             "cycles": 2, "sample_every_s": 60},
            {"id": 1, "type": "pulse", "litres_per_pulse": 10}],
            upload={"backoff_min_s": 60, "backoff_max_s": 1800})
        # the week without a link runs at 150,000x; after it, 5,000x so that network round
        # trips (real milliseconds) stay short in simulated time
        feed = ["+0 link down", "+0 ct 0 rms=4.0 noise=2", "+0 flow 1 lph=120",
                f"+{7 * DAY} link up", f"+{7 * DAY} speed 5000"]
        run_for = 7 * DAY + 4 * 3600 + 60
        proc = run_board(tmp_path, cfg, feed, speed=150000, run_for=run_for, port=gw.port,
                         report_every=DAY, timeout=90)
        out = proc.stdout.decode()
        assert proc.returncode == 0, out[-3000:] + proc.stderr.decode()[-2000:]
    finally:
        gw.close()
    st = stats(proc)
    assert st and max(s["fails"] for s in st[:7]) > 0  # it really was cut off
    assert gw.duplicates == 0 and gw.bad == 0
    counters = [f["counter"] for f in gw.frames]
    assert counters == sorted(counters)  # arrival order is counter order
    end = T0 + run_for - 60
    ct = readings(gw.frames, 0)
    starts = [s for s, _, _ in ct]
    # every quarter hour from T0 to the last closed one, once each, in order
    assert starts == list(range(T0, end - 900 + 1, 900))
    regs = [r for _, r, _ in ct]
    assert all(b >= a for a, b in itertools.pairwise(regs))
    # 4 A * 230 V for the whole run: 920 W, within 1 %
    assert regs[-1] == pytest.approx(920 * (end - T0) / 3600, rel=0.01)
    gas = readings(gw.frames, 1)
    assert [s for s, _, _ in gas] == list(range(T0, end - 3600 + 1, 3600))
    assert [r for _, r, _ in gas] == [120 * (i + 1) for i in range(len(gas))]
    # readings taken before the first ACK (the whole outage) carry clock_unsynced
    assert all(f & 0x02 for s, _, f in ct if s < T0 + 7 * DAY - 900)
    # after the first ACK the clock is synced for good: the flag clears once, never returns
    unsynced = [bool(f & 0x02) for _, _, f in ct]
    first_synced = unsynced.index(False)
    assert not any(unsynced[first_synced:])
    assert ct[first_synced][0] >= T0 + 7 * DAY  # not before the link came back
    assert first_synced <= len(ct) - 8  # and well before the end of the run
    assert len(ct) == 7 * 96 + 16
