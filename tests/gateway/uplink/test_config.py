"""`[mqtt]` validation: typed defaults, and every problem starting with its key path."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from gateway.uplink.config import validate_mqtt


def test_defaults() -> None:
    cfg, errs = validate_mqtt({"host": "broker.example"}, site="comune-x")
    assert errs == [] and cfg is not None
    assert (cfg.port, cfg.protocol, cfg.prefix, cfg.effective_client_id) == \
        (1883, "5", "meterkit", "meterkit-comune-x")


def test_tls_defaults_to_8883_and_checks_files(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    cfg, errs = validate_mqtt({"host": "h", "tls": {"ca_file": "ca.pem"}}, site="s",
                              base_dir=tmp_path)
    assert errs == [] and cfg is not None and cfg.port == 8883 and cfg.tls is not None
    assert cfg.tls.ca_file == ca
    _, errs = validate_mqtt({"host": "h", "tls": {"ca_file": "nope.pem", "cert_file": "c.pem"}},
                            site="s", base_dir=tmp_path)
    assert errs == [
        f"mqtt.tls.ca_file: file '{tmp_path / 'nope.pem'}' does not exist or is not a file",
        f"mqtt.tls.cert_file: file '{tmp_path / 'c.pem'}' does not exist or is not a file",
        "mqtt.tls.key_file: a client certificate needs both cert_file and key_file",
    ]


def test_every_problem_has_its_key_path() -> None:
    cfg, errs = validate_mqtt({"port": 0, "protocol": "4", "inflight": 0, "backlog_rate": -1,
                               "password": "x", "ha_discovery": "yes", "prefix": "a//b",
                               "colour": "red"})
    assert cfg is None
    assert "mqtt.port: 0 is not a TCP port (expected 1-65535)" in errs
    assert any(e.startswith("mqtt.colour: unknown key") for e in errs)
    for key in ("host", "site", "protocol", "inflight", "backlog_rate", "password",
                "ha_discovery", "prefix"):
        assert any(e.startswith(f"mqtt.{key}: ") for e in errs), key
    assert all(e.startswith("mqtt.") for e in errs)


def test_password_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    cfg, errs = validate_mqtt({"host": "h", "username": "gw", "password_file": "pw"},
                              site="s", base_dir=tmp_path)
    assert errs == [] and cfg is not None and cfg.password == "s3cret"
    assert "s3cret" not in repr(cfg)


def test_documented_example_is_valid() -> None:
    """docs/MQTT.md's [mqtt] example uses only real keys (its files exist only on a gateway)."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "MQTT.md").read_text()
    block = re.search(r"```toml\n(\[mqtt\].*?)```", doc, re.S)
    assert block is not None
    _, errs = validate_mqtt(tomllib.loads(block.group(1))["mqtt"], site="comune-x")
    assert errs and all("does not exist or is not a file" in e for e in errs), errs
    for schema in (Path(__file__).resolve().parents[3] / "docs" / "schemas").glob("*.json"):
        assert f"schemas/{schema.name}" in doc, f"{schema.name} not documented"
