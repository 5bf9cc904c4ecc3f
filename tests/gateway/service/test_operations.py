"""Operations: log format, the systemd unit and the installer's dry run."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.logs import setup_logging

REPO = Path(__file__).resolve().parents[3]


def test_key_value_and_json_logs() -> None:
    out = io.StringIO()
    setup_logging("INFO", "kv", out)
    logging.getLogger("gateway.test").info("frame stored", extra={"device": "0000a1b2",
                                                                  "note": "two words"})
    line = out.getvalue().strip()
    assert 'level=info logger=gateway.test msg="frame stored" device=0000a1b2' in line
    assert 'note="two words"' in line and line.startswith("ts=")
    out = io.StringIO()
    setup_logging("WARNING", "json", out)
    logging.getLogger("gateway.test").info("hidden")
    logging.getLogger("gateway.test").warning("shown", extra={"n": 3})
    doc = json.loads(out.getvalue())
    assert (doc["msg"], doc["n"], doc["level"]) == ("shown", 3, "warning")


def test_systemd_unit_is_hardened_and_drains() -> None:
    unit = (REPO / "deploy" / "meterkit-gateway.service").read_text()
    for line in ("User=meterkit", "ProtectSystem=strict", "ReadWritePaths=/var/lib/meterkit",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "Restart=on-failure",
                 "TimeoutStopSec=120", "KillSignal=SIGTERM", "StandardOutput=journal",
                 "ExecStart=/opt/meterkit/venv/bin/meterkit gateway run --config "
                 "/etc/meterkit/gateway.toml"):
        assert f"\n{line}\n" in unit, line


def test_installer_dry_run_changes_nothing() -> None:
    # The installer targets Debian/Ubuntu: elsewhere this fails, naming what is missing.
    missing = [tool for tool in ("bash", "apt-get") if shutil.which(tool) is None]
    assert not missing, f"the installer's dry run needs {', '.join(missing)} on PATH"
    run = subprocess.run(["bash", str(REPO / "deploy" / "install.sh"), "--dry-run"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "would run: systemctl enable meterkit-gateway.service" in run.stdout
    assert "dry run: nothing was changed" in run.stdout


async def test_a_crashed_component_stops_the_service_with_exit_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from gateway.config import load_config
    from gateway.health import Health
    from gateway.service import run_gateway
    from tests.gateway.service.conftest import write_config

    async def broken(self: Health) -> None:
        raise RuntimeError("health task bug")

    monkeypatch.setattr(Health, "run", broken)
    config = load_config(write_config(tmp_path), plugins={})
    assert await run_gateway(config) == 1
    crashed = [r for r in caplog.records if r.getMessage() == "gateway crashed"]
    assert crashed and "health task bug" in crashed[0].error
