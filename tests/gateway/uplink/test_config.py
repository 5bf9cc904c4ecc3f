"""`[mqtt]` validation: typed defaults, and every problem starting with its key path."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from gateway.uplink.config import validate_mqtt
from tests.gateway.uplink.certs import make_pki


def test_defaults() -> None:
    cfg, errs = validate_mqtt({"host": "broker.example"}, site="comune-x")
    assert errs == [] and cfg is not None
    assert (cfg.port, cfg.protocol, cfg.prefix, cfg.effective_client_id) == \
        (1883, "5", "meterkit", "meterkit-comune-x")


def test_tls_defaults_to_8883_and_checks_files(tmp_path: Path) -> None:
    ca = make_pki(tmp_path)["ca"]
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


def test_tls_files_that_are_not_pem_are_config_problems(tmp_path: Path) -> None:
    """Loaded at validation like the publisher loads them: check-config reports them."""
    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other")
    (tmp_path / "ca.der").write_bytes(b"\x30\x82\x01\x0a not PEM")
    _, errs = validate_mqtt({"host": "h", "tls": {"ca_file": "ca.der"}}, site="s",
                            base_dir=tmp_path)
    assert len(errs) == 1 and errs[0].startswith(
        f"mqtt.tls.ca_file: '{tmp_path / 'ca.der'}' cannot be loaded as PEM CA certificates (")
    assert "NO_CERTIFICATE_OR_CRL_FOUND" in errs[0]
    _, errs = validate_mqtt({"host": "h", "tls": {
        "ca_file": str(pki["ca"]), "cert_file": str(pki["client_key"]),
        "key_file": str(pki["client_key"])}}, site="s")
    assert len(errs) == 1 and errs[0].startswith(
        f"mqtt.tls.cert_file: '{pki['client_key']}' holds no PEM certificate")
    _, errs = validate_mqtt({"host": "h", "tls": {                 # key of another certificate
        "ca_file": str(pki["ca"]), "cert_file": str(pki["client"]),
        "key_file": str(other["client_key"])}}, site="s")
    assert len(errs) == 1 and errs[0].startswith("mqtt.tls.key_file: ")
    assert "KEY_VALUES_MISMATCH" in errs[0]
    cfg, errs = validate_mqtt({"host": "h", "tls": {
        "ca_file": str(pki["ca"]), "cert_file": str(pki["client"]),
        "key_file": str(pki["client_key"])}}, site="s")
    assert errs == [] and cfg is not None


def test_password_file_problems(tmp_path: Path) -> None:
    (tmp_path / "latin1").write_bytes("pässword\n".encode("latin-1"))
    (tmp_path / "empty").write_text("\n")
    _, errs = validate_mqtt({"host": "h", "username": "gw", "password_file": "latin1"},
                            site="s", base_dir=tmp_path)
    assert errs == [f"mqtt.password_file: '{tmp_path / 'latin1'}' is not UTF-8 text (byte 0xe4 "
                    "at offset 1); write the password as UTF-8 on the file's first line"]
    _, errs = validate_mqtt({"host": "h", "username": "gw", "password_file": "empty"},
                            site="s", base_dir=tmp_path)
    assert errs == [f"mqtt.password_file: '{tmp_path / 'empty'}' is empty; write the password "
                    "in it"]


def test_check_config_reports_bad_tls_and_password_files(tmp_path: Path) -> None:
    """The shipped example with a CA that is not PEM and a Latin-1 password file: check-config
    lists both with their key paths (exit 1), no traceback."""
    root = Path(__file__).resolve().parents[3]
    text = (root / "deploy" / "gateway.example.toml").read_text()
    assert text.count("\ntls = true\n") == 1
    text = text.replace("\ntls = true\n", '\ntls = {ca_file = "ca.der"}\n'
                        'password_file = "pw"\n')
    (tmp_path / "gateway.toml").write_text(text)
    (tmp_path / "ca.der").write_bytes(b"\x30\x82\x01\x0a not PEM")
    (tmp_path / "pw").write_bytes("pässword".encode("latin-1"))
    run = subprocess.run([sys.executable, "-m", "meterkit", "gateway", "check-config",
                          "--config", str(tmp_path / "gateway.toml")], cwd=root,
                         capture_output=True, text=True, timeout=60)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "Traceback" not in out
    assert f"mqtt.tls.ca_file: '{tmp_path / 'ca.der'}' cannot be loaded as PEM CA" in out
    assert f"mqtt.password_file: '{tmp_path / 'pw'}' is not UTF-8 text" in out
