"""A flash smaller than `queue.max_kb`: the bound is clamped and reported, a full flash drops
the oldest frames (counted, reported), and nothing ever raises ENOSPC out of the firmware."""

from __future__ import annotations

import json
from pathlib import Path

from tests.firmware.board import T0, readings, run_board, write_config
from tests.firmware.gateway_stub import GatewayStub
from tests.support.micropython import REPO, run_micropython

HERE = Path(__file__).parent
DAY = 86400


def test_queue_counter_and_state_survive_enospc_on_littlefs() -> None:
    proc = run_micropython(HERE / "mp_flash_full.py", timeout=120, path=[REPO, HERE])
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    line = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("RESULT ")][-1]
    r = json.loads(line[7:])
    # 4 MB asked on a 32 KB device: clamped below 90 % of it (reserve), and said so
    assert r["clamped_kb"] > 0 and r["clamped_segs"] * 1200 <= 0.9 * 32 * 1024
    # a big file appears: appends hit ENOSPC, the oldest frames go, counted exactly
    assert r["enospc_taken"] == 300 and r["enospc_counters_unique"]
    assert r["enospc_bound_after"] < r["enospc_bound_before"]  # the bound learnt the flash
    assert r["enospc_present_is_newest"]  # what survives: an unbroken run up to the newest
    assert r["enospc_present"] > 0
    assert r["enospc_dropped"] == r["enospc_taken"] - r["enospc_present"]
    assert r["enospc_depth"] == r["enospc_present"]
    assert r["enospc_state_saves"] == 100  # state saves made room, none was skipped
    # reboot: the same frames and the same count, no damage to repair
    assert r["reboot_same"] and r["reboot_repaired"] == 0
    assert r["reboot_dropped"] == r["enospc_dropped"]
    assert r["reboot_state"] == 297
    assert r["reboot_counter_above"]
    # flash full of something else, queue empty: the frame is counted as lost, no exception
    assert r["full_append_lost"] == 1 and r["full_dropped"] == 1 and r["full_depth"] == 0
    assert r["full_state_saved"] is False
    # the counter hands out nothing it could not reserve in flash ...
    assert r["full_take"] == 28 and r["full_counter_kept"]
    # ... and with room again it goes on from the same value, reserved
    assert r["after_take"] == 1 and r["after_reserved"] and r["after_present"] == [1]
    # a damaged tail that could not be cut for lack of room: new records go to a new segment
    # and the next boot's repair cuts only the garbage
    assert r["repair_repaired"] == 1 and r["repair_segments"] == 2
    assert r["repair_present"] == [1, 2, 3, 4, 5] and r["repair_depth"] == 5


def _config_errors(gw: GatewayStub) -> list[dict]:
    return [e for f in gw.of_type("event") for e in f["events"] if e["code"] == "config_error"]


def test_max_kb_beyond_the_flash_is_clamped_and_reported(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, [
            {"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2, "sample_every_s": 60}],
            queue={"max_kb": 512})
        proc = run_board(tmp_path, cfg, ["+0 ct 0 rms=2.0"], speed=2000, run_for=1800,
                         port=gw.port, flash_kb=512, timeout=60)
        out = proc.stdout.decode()
        assert proc.returncode == 0, out[-2000:] + proc.stderr.decode()
    finally:
        gw.close()
    assert "CONFIG ERROR: config queue.max_kb: 512 KB does not fit in the flash" in out
    errs = _config_errors(gw)
    # value < 0: the bound in use, in KB; at most 90 % of the flash (the reserve)
    assert len(errs) == 1 and errs[0]["channel"] is None
    assert 0 < -errs[0]["value"] <= 0.9 * 512


def test_flash_smaller_than_max_kb_days_offline_drops_oldest_counted_then_delivers(
        tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, [
            {"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2, "sample_every_s": 60}],
            queue={"max_kb": 4096},
            upload={"backoff_min_s": 60, "backoff_max_s": 1800})
        # 64 KB of flash for a 4 MB queue bound; online for an hour at 2,000x (the boot
        # events and the first readings get through), then six days without a link at
        # 150,000x, then back at 5,000x
        feed = ["+0 ct 0 rms=2.0", "+3600 link down", "+3600 speed 150000",
                f"+{6 * DAY} link up", f"+{6 * DAY} speed 5000"]
        proc = run_board(tmp_path, cfg, feed, speed=2000, run_for=6 * DAY + 3 * 3600 + 60,
                         port=gw.port, flash_kb=64, timeout=90)
        out = proc.stdout.decode()
        assert proc.returncode == 0, out[-3000:] + proc.stderr.decode()[-2000:]
    finally:
        gw.close()
    assert "Traceback" not in out and "flash full" not in out  # the clamp kept littlefs clear
    errs = _config_errors(gw)
    assert len(errs) == 1 and errs[0]["value"] < 0
    counters = [f["counter"] for f in gw.frames]
    assert gw.duplicates == 0 and gw.bad == 0
    # what was sent while online, then a gap (the oldest frames of the outage), then an
    # unbroken run to the end, all in counter order
    missing = sorted(set(range(1, max(counters) + 1)) - set(counters))
    assert missing and missing == list(range(missing[0], missing[-1] + 1))
    assert counters == sorted(counters)
    reported = max(s["queue_dropped"] for s in gw.of_type("status"))
    # every lost frame is counted; a counted one may still have arrived if it was on the
    # wire (sent, not yet acknowledged) when its segment was pushed out
    assert reported - 16 <= len(missing) <= reported
    events = [e for f in gw.of_type("event") for e in f["events"]
              if e["code"] == "queue_overflow"]
    assert events and all(e["value"] > 0 for e in events)
    assert sum(e["value"] for e in events) <= reported
    # the readings: the first hour, then from some point of the outage every quarter hour
    starts = [s for s, _, _ in readings(gw.frames, 0)]
    gap = next(i for i in range(1, len(starts)) if starts[i] - starts[i - 1] > 900)
    assert starts[:gap] == list(range(T0, starts[gap - 1] + 1, 900))
    assert starts[gap - 1] < T0 + 3600
    assert starts[gap:] == list(range(starts[gap], T0 + 6 * DAY + 3 * 3600, 900))
    assert starts[gap] > T0 + DAY  # days of readings lost: the flash is small
