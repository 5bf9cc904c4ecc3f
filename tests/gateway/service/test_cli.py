"""`meterkit gateway devices …` and `command`: real database, JSON output, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterkit.cli import main
from tests.gateway.service.conftest import write_config

KEY_HEX = "000102030405060708090a0b0c0d0e0f"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["gateway", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_device_lifecycle_and_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config(tmp_path))
    code, out, _ = run(capsys, "devices", "add", "A1B2", "--key", KEY_HEX, "--config", cfg,
                       "--channel", "0:el1:electric:Wh", "--channel", "1:gas:gas:pulse:10")
    assert code == 0 and "device 0000a1b2 registered on site lodi with 2 channel(s)" in out
    code, out, _ = run(capsys, "devices", "add", "modbus:sdm630-1", "--config", cfg,
                       "--channel", "import:el2:electric:Wh")
    assert code == 0
    code, out, _ = run(capsys, "devices", "list", "--json", "--config", cfg)
    devices = json.loads(out)
    assert [d["device_id"] for d in devices] == ["0000a1b2", "modbus:sdm630-1"]
    assert devices[0]["channels"]["1"] == {"name": "gas", "kind": "gas", "unit": "pulse",
                                           "factor": 10}
    assert "key" not in json.dumps(devices).replace("has_key", "")
    code, out, _ = run(capsys, "command", "0000a1b2", "set_interval", "channel=0",
                       "upload_s=3600", "--json", "--config", cfg)
    assert code == 0 and json.loads(out)["cmd_id"] >= 1
    code, out, _ = run(capsys, "devices", "show", "0000a1b2", "--json", "--config", cfg)
    shown = json.loads(out)
    assert shown["site"] == "lodi"
    assert [c["name"] for c in shown["pending_commands"]] == ["set_interval"]
    code, out, _ = run(capsys, "devices", "remove", "0000a1b2", "--yes", "--config", cfg)
    assert code == 0
    code, out, _ = run(capsys, "devices", "list", "--json", "--config", cfg)
    assert [d["device_id"] for d in json.loads(out)] == ["modbus:sdm630-1"]


@pytest.mark.parametrize(("argv", "message"), [
    (["devices", "add", "0000a1b2", "--key", "zz"], "--key: not hex"),
    (["devices", "add", "0000a1b2", "--key", "00ff"], "--key: 2 bytes; expected 16"),
    (["devices", "add", "0000a1b2", "--key", KEY_HEX, "--channel", "0:el1"],
     "expected INDEX:NAME:KIND"),
    (["devices", "add", "0000a1b2", "--key", KEY_HEX, "--site", "mars"],
     "--site 'mars' is not configured"),
    (["devices", "add", "not-an-id", "--key", KEY_HEX], "device_id"),
    (["devices", "show", "0000ffff"], "device 0000ffff is not registered"),
    (["command", "0000ffff", "reboot"], "device 0000ffff is not registered"),
    (["command", "0000ffff", "dance"], "unknown command 'dance'"),
    (["command", "0000ffff", "set_interval", "upload_s=soon"], "expected KEY=INTEGER"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv, "--config", str(write_config(tmp_path)))
    assert code == 1
    assert message in err and "Traceback" not in err + out


def test_bad_config_is_reported_not_raised(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ingest]\nport = 0\n")
    code, _, err = run(capsys, "devices", "list", "--config", str(path))
    assert code == 1 and "ingest.port: 0 is not a TCP port" in err
