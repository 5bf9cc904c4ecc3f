"""validate_config: every problem starts with its key path, shows the value, says what is
expected; the shipped school example is valid, also through the gateway's config loader."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.alerts.plugin import AlertsPlugin
from gateway.config.load import check_config
from tests.gateway.alerts.smtp_server import self_signed


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


def test_event_kinds_run_keys_and_overlapping_hysteresis() -> None:
    cfg = {"rules": {
        "box": {"kind": "device_event", "events": ["tampr"], "clear_on": ["power_restore"],
                "for_intervals": 2},
        "quiet": {"kind": "no_data", "device": "d", "clear_intervals": 3},
        "band": {"kind": "threshold", "device": "d", "channel": "el1", "above": 3.0,
                 "below": 2.9, "hysteresis": 0.5},
        "band_default": {"kind": "threshold", "device": "d", "channel": "el1", "above": 3.0,
                         "below": 2.9},
        "band_ok": {"kind": "threshold", "device": "d", "channel": "el1", "above": 3.0,
                    "below": 2.0, "hysteresis": 0.5},
    }}
    assert problems(cfg) == [
        "rules.box.for_intervals: not used by kind 'device_event' (expected kind, site, "
        "device, channel, severity, recipients, email, description, events, clear_on, "
        "quiet_s); it raises on its own deadline or event, not after a run of intervals",
        "rules.box.events: 'tampr' is not an event kind a board reports (expected a list of "
        "tamper, power_fail, power_restore, reboot, threshold, queue_overflow, config_error, "
        "clock_set)",
        "rules.quiet.clear_intervals: not used by kind 'no_data' (expected kind, site, "
        "device, channel, severity, recipients, email, description, max_intervals, "
        "interval_s); it raises on its own deadline or event, not after a run of intervals",
        # 2.9 + 0.5 = 3.4 > 3.0 - 0.5 = 2.5: no value is normal for both limits
        "rules.band.hysteresis: 0.5 leaves no normal value between below = 2.9 and "
        "above = 3 (expected below + hysteresis <= above - hysteresis, i.e. at most 0.05)",
        # default 5 % of above = 0.15: 2.9 + 0.15 = 3.05 > 3.0 - 0.15 = 2.85
        "rules.band_default.hysteresis: 0.15 leaves no normal value between below = 2.9 and "
        "above = 3 (expected below + hysteresis <= above - hysteresis, i.e. at most 0.05); "
        "the default is 5 % of above: set hysteresis, or move the limits apart",
    ]


def test_smtp_ca_file_is_checked_when_loaded(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate\n")
    found = [problems({"smtp": {"host": "smtp.example.it", "ca_file": str(path)}})
             for path in (tmp_path / "missing.pem", not_pem)]
    assert found[0] == [f"smtp.ca_file: {str(tmp_path / 'missing.pem')!r} does not exist "
                        "(expected a readable PEM file with the CA certificate(s)); copy the "
                        "mail server's CA there, or remove ca_file"]
    assert len(found[1]) == 1
    assert found[1][0].startswith(f"smtp.ca_file: {str(not_pem)!r} holds no usable certificate")
    # A real PEM certificate (the test SMTP server's) passes.
    cert, _ = self_signed(tmp_path)
    assert problems({"smtp": {"host": "smtp.example.it", "ca_file": str(cert)}}) == []


def test_sites_are_checked_when_given() -> None:
    cfg = {"rules": {
        "elsewhere": {"kind": "threshold", "site": "scuola-verdi", "device": "d",
                      "channel": "el1", "above": 10},
        "gas": {"kind": "gas_outside_heating", "device": "g", "channel": "gas",
                "heating": {"mon-fri": ["06:00-16:00"]}},
    }}
    assert problems(cfg) == []          # the table alone is fine
    # Two sites, the rule names none, and neither zone is known to the rule.
    sites = {"scuola": {"name": "scuola", "holidays": ()},
             "palestra": {"name": "palestra", "holidays": ()}}
    assert AlertsPlugin.validate_config(cfg, sites) == [
        "rules.elsewhere.site: 'scuola-verdi' is not a configured site (use the name of a "
        "[sites.<name>] table)",
        "rules.gas: no climate zone: the site is unknown and the rule has no zone "
        "(add zone = \"D\" or site = \"<site>\")",
    ]
