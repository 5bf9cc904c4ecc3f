"""deploy/gateway.example.toml: its alert rules pass the real config check and really run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gateway.alerts.engine import AlertEngine
from gateway.alerts.plugin import AlertsPlugin
from gateway.alerts.settings import parse_settings
from gateway.config import check_config, load_config
from gateway.model import ReadingBatch
from tests.gateway.alerts.helpers import reading, utc

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "gateway.example.toml"


def test_example_config_with_its_alert_rules_has_no_problems() -> None:
    # plugins=None: the installed plugins are discovered as `gateway check-config` does.
    assert check_config(EXAMPLE) == []


def test_the_alerts_table_is_really_validated(tmp_path: Path) -> None:
    # A disabled plugin's options are still checked: a typo in a rule must be reported.
    broken = tmp_path / "gateway.toml"
    broken.write_text(EXAMPLE.read_text().replace("max_intervals = 8", "max_intervals = 0"))
    problems = [str(p) for p in check_config(broken)]
    assert len(problems) == 1
    assert problems[0].startswith("plugins.alerts.rules.el_silent.max_intervals: 0")


def test_the_school_rules_cover_every_kind_and_start_on_the_configured_site() -> None:
    config = load_config(EXAMPLE)
    settings, problems = parse_settings(dict(config.plugins["alerts"].options))
    assert problems == [] and settings is not None
    assert {r.kind for r in settings.rules} == {
        "threshold", "closed_building", "anomaly", "daily_energy", "no_data",
        "gas_outside_heating", "device_event"}
    assert {r.language for r in settings.recipients.values()} == {"it", "en"}
    # The engine resolves holidays and the climate zone (E, Lodi) from [sites.scuola-rodari].
    sites = {n: s.as_dict() for n, s in config.sites.items()}
    options = dict(config.plugins["alerts"].options)
    assert AlertsPlugin.validate_config(options, sites) == []
    engine = AlertEngine(settings.rules, sites=sites)
    # Saturday 21 Nov 2026 is in zone E's season but the heating clock is off at weekends:
    # 1.2 Smc/h from 10:00 local (09:00Z) is above max_flow 0.8 for 2 hours -> raised at
    # the end of the second hour, 12:00 local (11:00Z).
    gas = [reading(utc(2026, 11, 21, 9) + timedelta(hours=i), 1.2, length_s=3600,
                   device="0000c3d4", channel="gas", unit="Smc", site="scuola-rodari")
           for i in range(3)]
    got = engine.readings(ReadingBatch(tuple(gas), live=True), utc(2026, 11, 21, 12))
    raised = [(t.rule, t.kind, t.since, t.at) for t in got]
    assert raised == [("gas_outside_heating", "raised", utc(2026, 11, 21, 9),
                       utc(2026, 11, 21, 11))]
