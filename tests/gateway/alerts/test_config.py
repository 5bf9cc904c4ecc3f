"""validate_config: every problem starts with its key path, shows the value, says what is
expected; the shipped school example is valid, also through the gateway's config loader."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.alerts.plugin import AlertsPlugin
from gateway.config.load import check_config


def school(tmp_path: Path) -> dict[str, Any]:
    text = resources.files("gateway.alerts").joinpath("example_school.toml").read_text()
    raw = tomllib.loads(text)["plugins"]["alerts"]
    secret = tmp_path / "smtp.password"
    secret.write_text("s3cret\n")
    raw["smtp"]["password_file"] = str(secret)
    return raw


def problems(cfg: dict[str, Any]) -> list[str]:
    return AlertsPlugin.validate_config(cfg)


def test_school_example_is_valid(tmp_path: Path) -> None:
    assert problems(school(tmp_path)) == []


def test_rule_problems_name_key_value_and_expectation() -> None:
    cfg = {"rules": {
        "power": {"kind": "threshold", "device": "d", "channel": "el1", "above": "tre"},
        "closed": {"kind": "closed_building", "device": "d", "channel": "el1",
                   "open": {"mon-fri": ["8-18"], "sunday": ["08:00-12:00"]},
                   "base_load_kw": 2.0, "closures": ["12-32"]},
        "typo": {"kind": "treshold", "device": "d"},
        "nodev": {"kind": "daily_energy", "channel": "el1", "above": 10, "metrc": "power"},
        "share": {"kind": "band_share", "device": "d", "channel": "el1", "band": "F4",
                  "above": 120},
        "anom": {"kind": "anomaly", "device": "d", "channel": "el1", "k": 2.0,
                 "clear_k": 2.5, "recipients": ["nobody"]},
    }}
    assert problems(cfg) == [
        "rules.power.above: 'tre' is not a number (expected kW (or Smc/h), 0-1e+09)",
        "rules.closed.open.mon-fri[0]: '8-18' is not a period (expected \"HH:MM-HH:MM\" "
        "with end after start, e.g. \"08:00-18:00\")",
        "rules.closed.open.sunday: 'sunday' is not a weekday or range (expected one of "
        "mon, tue, wed, thu, fri, sat, sun or a range like mon-fri)",
        "rules.closed.closures: '12-32' is not a date (expected \"MM-DD\" (every year) or "
        "\"YYYY-MM-DD\" (once))",
        "rules.typo.kind: 'treshold' is not allowed (expected one of threshold, "
        "daily_energy, band_share, closed_building, gas_outside_heating, no_data, "
        "device_event, anomaly)",
        "rules.nodev.metrc: not used by kind 'daily_energy' (expected kind, site, device, "
        "channel, severity, recipients, email, description, for_intervals, "
        "clear_intervals, above, below, hysteresis)",
        "rules.nodev.device: missing (expected the device id, e.g. \"0000a1b2\")",
        "rules.share.band: 'F4' is not allowed (expected one of F1, F2, F3)",
        "rules.share.above: 120 is out of range for a percentage (expected 0-100)",
        "rules.anom.recipients[0]: 'nobody' is not a configured recipient "
        "(expected a [recipients.<name>] table)",
        "rules.anom.clear_k: 2.5 is above k = 2 (expected clear_k <= k)",
    ]


def test_top_level_problems() -> None:
    cfg = {"language": "de", "chart_hours": 2, "colour": "red",
           "recipients": {"em": {"email": "not-an-address", "max_messages": 0}},
           "smtp": {"host": "smtp.example.it", "security": "tls", "password": 1234}}
    assert problems(cfg) == [
        "language: 'de' is not allowed (expected one of it, en)",
        "recipients.em.email: 'not-an-address' is not an e-mail address "
        "(expected \"name@domain\")",
        "recipients.em.max_messages: 0 is not a count (expected 1-10000)",
        "smtp.security: 'tls' is not allowed (expected one of starttls, ssl, none)",
        "smtp.password: the value (not shown) is not a string (expected a quoted string)",
        "chart_hours: 2 is not a number of hours (expected 6-168)",
        "colour: unknown key (expected chart_hours, email_backfill, keep_days, "
        "keep_mail_days, language, live_window_s, notify, recipients, rules, smtp, state_db); "
        "remove it",
    ]


def test_gateway_loader_prefixes_the_plugin_table(tmp_path: Path) -> None:
    gw = tmp_path / "gateway.toml"
    gw.write_text(
        '[gateway]\nstate_dir = "state"\n\n[sites.scuola]\nmunicipality = "Genova"\n\n'
        '[plugins.alerts]\nstate_db = "alerts.db"\n\n[plugins.alerts.rules.p]\n'
        'kind = "threshold"\ndevice = "d"\nchannel = "el1"\nabove = -1\n')
    found = [str(p) for p in check_config(gw, plugins={"alerts": AlertsPlugin})]
    assert found == [
        "plugins.alerts.state_db: 'alerts.db' is not an absolute path "
        "(expected \"/var/lib/meterkit/alerts.db\"); see the alerts plugin's example config",
        "plugins.alerts.rules.p.above: -1 is out of range for kW (or Smc/h) "
        "(expected 0-1e+09); see the alerts plugin's example config"]
