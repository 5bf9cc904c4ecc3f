"""`meterkit gateway devices add`: channel options are checked before anything is stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.gateway.service.conftest import write_config

KEY = "000102030405060708090a0b0c0d0e0f"


def meterkit(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meterkit", "gateway", *argv],
                          capture_output=True, text=True, timeout=60)


def test_a_repeated_index_or_a_pulse_without_factor_is_refused(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    cases = [
        (["--channel", "0:el1:electric:Wh", "--channel", "0:el2:electric:Wh"], "0"),
        (["--channel", "1:gas:gas:pulse"], "factor"),
        (["--channel", "0:el1:gas:Wh"], "Wh"),
    ]
    for channels, named in cases:
        run = meterkit("devices", "add", "0000a1b2", "--key", KEY, "--config", config,
                       *channels)
        out = run.stdout + run.stderr
        assert run.returncode != 0, out
        assert "Traceback" not in out and named in out, out
    listed = meterkit("devices", "list", "--json", "--config", config)
    assert listed.returncode == 0, listed.stderr
    assert "0000a1b2" not in listed.stdout      # nothing half-registered
