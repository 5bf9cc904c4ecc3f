"""Downlink commands on a full flash (firmware/commands.py under the real MicroPython binary).

A command whose effect is a setting kept in the state file is answered ok only once that file
is written: when the flash is full the change is undone and the command is answered failed
(detail 28, ENOSPC), so it is neither lost at the next reboot nor made durable later by an
unrelated save, and the gateway may send it again.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.micropython import REPO, run_micropython

HERE = Path(__file__).parent


def test_command_on_a_full_flash_is_answered_failed_and_undone() -> None:
    proc = run_micropython(HERE / "mp_commands_full.py", timeout=60, path=[REPO, HERE])
    out = proc.stdout.decode()
    assert proc.returncode == 0, out[-2000:] + proc.stderr.decode()
    r = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[7:])
    assert r["full_saved"] is False  # the flash is full even with the queue emptied
    assert "state not saved: flash full" in out
    for name in ("cal", "cal_pulse", "thr", "interval"):
        assert r[name] == [["failed", 28]], (name, r[name])
    # set_time changes no setting of the state file: its effect (the clock) stands
    assert r["time"] == [["ok", 100]]
    # the board keeps running with the old settings, the failed commands not marked done
    assert r["ram"] == [2000, 2000, 10000, 10.0, {}, {}, False, [5]]
    assert r["later_saved"] is True
    assert r["file_after_failure"] == [{}, {}, False]
    # sent again with room on the flash: executed once, durable, ok
    assert r["again"] == [["ok", 0]] and r["again_twice"] == []
    assert r["file_after_ok"] == [{"0": {"ct_ratio": 3000}}, [5, 1]]
    assert r["ram_after_ok"] == [3000, 3000]
    assert r["half"] == [["bad_params", 1]] and r["half_applied"] == [False, False]
