"""check_config reports every mistake with its key path; the shipped example config is valid."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from gateway.config import (
    GatewaySettings,
    IngestSettings,
    SiteSettings,
    StorageSettings,
    check_config,
    load_config,
)
from gateway.uplink.config import MqttConfig
from tests.gateway.service.example_plugin import ExamplePlugin

REPO = Path(__file__).resolve().parents[3]

MISTAKES = """
[gateway]
site = "nowhere"
log_level = "LOUD"
sight = "typo"
live_window_s = 10

[ingest]
port = 70000
idle_timeout_s = "ten"
max_connections = true
previous_key_days = -1

[storage]
synchronous = "OFF"
retention_days = 0

[sites.lodi]
municipality = "LODl"

[sites.roma]
municipality = "Roma"
holidays = ["06-29", "2026-13-01"]
gas_kwh_per_smc = 42

[sites.manual]
zone = "E"

[mqtt]
host = "broker.example"
port = 0

[plugins.example]
min_kwh = -1
colour = "red"

[plugins.missing]
enabled = true

[plugins.disabled-and-missing]
enabled = false

[unknown_section]
x = 1
"""

# (key path, a fragment of the message) for every mistake above; nothing else may be reported.
EXPECTED = [
    ("gateway.site", "'nowhere' is not a configured site"),
    ("gateway.log_level", "'LOUD' is not allowed"),
    ("gateway.sight", "unknown key"),
    ("gateway.live_window_s", "10 is out of range (expected seconds, 900-2592000)"),
    ("ingest.port", "70000 is not a TCP port (expected 1-65535)"),
    ("ingest.idle_timeout_s", "'ten' is not a number"),
    ("ingest.max_connections", "True is not a whole number"),
    ("ingest.previous_key_days", "-1 is out of range for days (expected 0-3650)"),
    ("storage.synchronous", "'OFF' is not allowed"),
    ("storage.retention_days", "0 is out of range (expected days, 1-36500)"),
    ("sites.lodi.municipality", "'LODl' is not in the DPR 412/93 table"),
    ("sites.roma.holidays", "'2026-13-01'"),
    ("sites.roma.gas_kwh_per_smc", "42 is out of range"),
    ("sites.manual.degree_days", "missing"),
    ("sites.manual.altitude_m", "missing"),
    ("mqtt.port", "0 is not a TCP port"),
    ("plugins.example.min_kwh", "-1 is not a number >= 0"),
    ("plugins.example.colour", "unknown key"),
    ("plugins.missing", "no plugin named 'missing' is installed"),
    ("unknown_section", "unknown key"),
]


def test_every_mistake_is_reported_with_its_key_path(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(MISTAKES)
    problems = check_config(path, plugins={"example": ExamplePlugin})
    found = [(p.key, str(p)) for p in problems]
    for key, fragment in EXPECTED:
        assert any(k == key and fragment in text for k, text in found), (key, fragment, found)
    assert len(problems) == len(EXPECTED), "\n".join(text for _, text in found)
    port = next(p for p in problems if p.key == "ingest.port")
    assert str(port) == "ingest.port: 70000 is not a TCP port (expected 1-65535)"
    assert port.value == 70000
    typo = next(p for p in problems if p.key == "gateway.sight")
    assert "did you mean 'site'?" in typo.hint
    lodi = next(p for p in problems if p.key == "sites.lodi.municipality")
    assert "LODI (MI)" in lodi.hint


def test_unreadable_or_broken_files_are_one_problem_each(tmp_path: Path) -> None:
    missing = check_config(tmp_path / "nope.toml")
    assert [p.key for p in missing] == ["(file)"] and "does not exist" in str(missing[0])
    broken = tmp_path / "broken.toml"
    broken.write_text("[gateway]\nsite = scuola\n")
    problems = check_config(broken)
    assert len(problems) == 1 and "line 2" in str(problems[0])


def test_example_config_passes_and_loads_typed_settings() -> None:
    example = REPO / "deploy" / "gateway.example.toml"
    assert check_config(example, plugins={}) == []
    config = load_config(example, plugins={})
    site = config.sites["scuola-rodari"]
    # LODI in the DPR 412/93 table: zone E, 2592 GG, 87 m.
    assert (site.zone, site.degree_days, site.altitude_m) == ("E", 2592, 87)
    assert config.ingest.port == 4590 and config.storage.synchronous == "FULL"
    assert config.ingest.previous_key_days == 30
    assert config.mqtt.host == "mqtt.example.org" and config.mqtt_prefix == "meterkit"
    assert config.gateway.site == "scuola-rodari"


def test_every_key_is_in_the_example_with_a_comment() -> None:
    text = (REPO / "deploy" / "gateway.example.toml").read_text()
    keys = [f.name for cls in (GatewaySettings, IngestSettings, StorageSettings, SiteSettings)
            for f in fields(cls) if f.name not in ("name",)]
    keys.remove("municipality")
    for key in [*keys, "municipality", "enabled", "queue_size", "hook_timeout_s"]:
        assert re.search(rf"^#? ?{key} = ", text, re.M), f"{key} is missing from the example"
    mqtt = text[text.index("\n[mqtt]\n"):text.index("\n[plugins.")]
    for key in [f.name for f in fields(MqttConfig)] + ["password_file"]:
        assert re.search(rf"^#? ?{key} = ", mqtt, re.M), f"mqtt.{key} is missing from the example"
    last_other = ""
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if re.match(r"^[a-z_]+ = ", stripped):
            assert "#" in stripped or last_other.startswith("#"), f"line {n} lacks a comment"
        elif stripped:
            last_other = stripped


def test_check_config_cli_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(MISTAKES.replace("[plugins.example]\nmin_kwh = -1\ncolour = \"red\"\n", ""))
    run = subprocess.run([sys.executable, "-m", "meterkit", "gateway", "check-config",
                          "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "ingest.port: 70000 is not a TCP port (expected 1-65535)" in run.stdout
    assert "sites.lodi.municipality" in run.stdout and "gateway.sight" in run.stdout
