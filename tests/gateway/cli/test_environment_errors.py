"""Environment problems give one line saying what to do and exit 2, never a traceback.

Each case runs the real `meterkit` command in a subprocess, as an operator would, against a
database, secret or port that cannot be used.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway.service.conftest import write_config


def meterkit(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meterkit", "gateway", *argv],
                          capture_output=True, text=True, timeout=60)


def _not_a_database(tmp: Path) -> str:
    cfg = write_config(tmp)
    (tmp / "state").mkdir()
    (tmp / "state" / "gateway.db").write_bytes(b"this is not an SQLite file" * 100)
    return str(cfg)


def _directory_is_a_file(tmp: Path) -> str:
    cfg = write_config(tmp)
    (tmp / "state").write_text("a file where the state directory should be")
    return str(cfg)


@pytest.mark.parametrize("argv", [
    ["devices", "list"], ["devices", "show", "0000a1b2"], ["devices", "remove", "0000a1b2",
                                                            "--yes"],
    ["command", "0000a1b2", "reboot"],
])
@pytest.mark.parametrize("broken", [_not_a_database, _directory_is_a_file])
def test_devices_commands_report_an_unusable_database_in_one_line(
        tmp_path: Path, argv: list[str], broken: object) -> None:
    cfg = broken(tmp_path)  # type: ignore[operator]
    run = meterkit(*argv, "--config", cfg)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "gateway.db" in lines[0] and "sudo -u meterkit meterkit gateway" in lines[0]


def _run_fails(cfg: str) -> str:
    run = meterkit("run", "--config", cfg)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "gateway crashed" not in run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meterkit gateway run: cannot start: ")
    return lines[0]


def test_run_with_an_unusable_database(tmp_path: Path) -> None:
    line = _run_fails(_not_a_database(tmp_path))
    assert "gateway.db" in line and "file is not a database" in line


def test_run_with_a_malformed_secret(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "secret").write_text("not hex at all\n")
    (tmp_path / "state" / "secret").chmod(0o600)
    line = _run_fails(str(cfg))
    assert "gateway secret" in line and "state/secret" in line


def test_run_with_the_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _run_fails(str(write_config(tmp_path, port=port)))
    assert f"cannot listen on 127.0.0.1:{port}" in line and "ingest.port" in line


def test_run_with_config_problems_exits_2_listing_them(tmp_path: Path) -> None:
    # exit 2 like any start-up failure: the unit's RestartPreventExitStatus=2 stops the loop
    cfg = tmp_path / "gateway.toml"
    cfg.write_text('[ingest]\nport = 70000\n')
    run = meterkit("run", "--config", str(cfg))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "ingest.port: 70000 is not a TCP port" in run.stderr
