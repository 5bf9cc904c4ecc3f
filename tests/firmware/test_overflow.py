"""A full flash queue drops the oldest frames, counts them and tells the gateway."""

from __future__ import annotations

from pathlib import Path

from tests.firmware.board import T0, readings, run_board, write_config
from tests.firmware.gateway_stub import GatewayStub

DAY = 86400


def test_overflow_drops_oldest_first_and_reports_exactly_what_was_lost(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, [
            {"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2, "sample_every_s": 60}],
            queue={"max_kb": 4, "segment_bytes": 1200},
            upload={"backoff_min_s": 60, "backoff_max_s": 1800})
        feed = ["+0 link down", "+0 ct 0 rms=2.0", f"+{5 * DAY} link up",
                f"+{5 * DAY} speed 5000"]
        proc = run_board(tmp_path, cfg, feed, speed=150000, run_for=5 * DAY + 3 * 3600 + 60,
                         port=gw.port, timeout=60)
        assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()
    finally:
        gw.close()
    counters = sorted(f["counter"] for f in gw.frames)
    missing = set(range(1, counters[-1] + 1)) - set(counters)
    # STATUS carries the running total (the last one was sent at the end of the run)
    reported = max(s["queue_dropped"] for s in gw.of_type("status"))
    assert reported > 0
    # oldest first: the missing frames are exactly the oldest ones
    assert missing == set(range(1, len(missing) + 1))
    # every lost frame is counted; a counted one may still have arrived if it was on the
    # wire (sent, not yet acknowledged) when new frames pushed its segment out
    assert reported - 16 <= len(missing) <= reported
    # each overflow raised an EVENT right away (later overflows may drop earlier events)
    events = [e for f in gw.of_type("event") for e in f["events"]
              if e["code"] == "queue_overflow"]
    assert events and all(e["value"] > 0 for e in events)
    assert sum(e["value"] for e in events) <= reported
    assert gw.duplicates == 0
    # oldest first: what survived is one unbroken run up to the end
    starts = [s for s, _, _ in readings(gw.frames, 0)]
    assert starts[0] > T0
    assert starts == list(range(starts[0], T0 + 5 * DAY + 3 * 3600, 900))
