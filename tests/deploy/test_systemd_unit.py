"""The shipped systemd unit, as systemd itself reads it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "meterkit-gateway.service"


def sections(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = out.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current[key] = value
    return out


def test_systemd_accepts_every_key(tmp_path: Path) -> None:
    """`systemd-analyze verify` warns about keys in the wrong section and then ignores them
    (a StartLimitIntervalSec in [Service] silently never limited restarts)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd"
    # verify also checks that ExecStart exists; /opt/meterkit is not installed here
    text = UNIT.read_text().replace("/opt/meterkit/venv/bin/meterkit", "/bin/true")
    unit = tmp_path / UNIT.name
    unit.write_text(text)
    run = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                         timeout=60)
    complaints = [line for line in (run.stdout + run.stderr).splitlines()
                  if UNIT.name in line and ("Unknown" in line or "ignoring" in line)]
    assert complaints == []


def test_restart_limit_and_descriptor_limit_are_where_systemd_reads_them() -> None:
    unit = sections(UNIT.read_text())
    assert unit["Unit"]["StartLimitIntervalSec"] == "600"
    assert unit["Unit"]["StartLimitBurst"] == "10"
    assert "StartLimitIntervalSec" not in unit["Service"]
    # thousands of board connections: systemd's default soft limit is 1,024
    assert int(unit["Service"]["LimitNOFILE"]) >= 4096
