"""Scenario files: the bundled ones load; mistakes are reported with key path, value, expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import ScenarioError
from simulator.feed import FeedParams, feed_lines
from simulator.fleet import build_fleet, channel_map
from simulator.scenario import load_scenario, parse_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "simulator" / "scenarios").glob("*.toml"))

GOOD = {
    "scenario": {"name": "t", "start": "2026-01-12", "days": 2},
    "sites": [{"id": "ge", "municipality": "GENOVA", "latitude": 44.4, "longitude": 8.9}],
    "devices": [{"id": "5c000001", "site": "ge", "profile": "school"}],
}


def problems(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_scenarios_load_and_build(path: Path) -> None:
    s = load_scenario(path)
    fleet = build_fleet(s)
    assert fleet and all(channel_map(d) for d in fleet)
    assert len({d.id for d in fleet}) == len(fleet)


def test_at_least_three_bundled_scenarios() -> None:
    assert {p.stem for p in SCENARIOS} >= {"school-genova", "cer-pv", "outage-week"}


def test_every_problem_has_its_key_path_value_and_expectation() -> None:
    bad = {
        "scenario": {"name": "t", "start": "2026-02-30", "days": 0, "sped": 10},
        "sites": [{"id": "ge", "municipality": "GENVOA", "latitude": 44.4, "longitude": 8.9}],
        "devices": [{"id": "xyz", "site": "ge", "profile": "scool"},
                    {"id": "5c000001", "site": "mi", "profile": "pv",
                     "options": {"kwp": "three"}}],
        "faults": {"power_cut_minutes": [10, 1]},
    }
    found = problems(bad)
    expected = [
        "scenario.start: must be a date (got '2026-02-30')",
        "scenario.days: out of range (got 0)",
        "scenario.sped: unknown key",
        "sites[0].municipality: not in DPR 412/93 Annex A (got 'GENVOA'); expected a "
        "municipality name such as GENOVA",
        "devices[0].profile: unknown value (got 'scool')",
        "devices[0].id: must be 8 hex digits (got 'xyz')",
        "devices[1].options.kwp: must be a number (got 'three')",
        "devices[1].site: no such site (got 'mi'); expected one of ge",
        "faults.power_cut_minutes: must be [min, max] (got [10, 1])",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in found), (text, found)
    assert len(found) == len(expected)


def test_missing_sections_are_reported() -> None:
    found = problems({"scenario": {"name": "t", "start": "2026-01-01", "days": 1}})
    assert "sites: is required" in found and "devices: is required" in found


def test_load_scenario_reports_toml_syntax(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[scenario\nname = 1\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(f)


def test_count_expands_consecutive_ids() -> None:
    data = {**GOOD, "devices": [{"id": "ce0000ff", "site": "ge", "profile": "household",
                                 "count": 3}]}
    assert [d.id for d in parse_scenario(data).devices] == ["ce0000ff", "ce000100", "ce000101"]


def test_feed_is_time_ordered_with_outages_and_the_cut() -> None:
    data = {**GOOD, "link": {"outages": [{"start_day": 0.5, "hours": 3}]}}
    s = parse_scenario(data)
    dev = build_fleet(s)[0]
    t0 = s.start.timestamp()
    lines = list(feed_lines(dev, t0, t0 + 86400, FeedParams(), cut_at=t0 + 20 * 3600))
    assert lines[0] == "now link up"
    stamps = [float(ln.split()[0]) for ln in lines[1:]]
    assert stamps == sorted(stamps)
    assert f"{t0 + 43200:.3f} link down" in lines and f"{t0 + 54000:.3f} link up" in lines
    assert lines[-1] == f"{t0 + 72000:.3f} cut"
    assert any(" pulses 1 n=" in ln for ln in lines)  # January: the boiler runs
