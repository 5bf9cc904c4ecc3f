"""The shipped AT-modem scenario: the firmware's real AT driver, a simulated SIM7000 whose data
crosses the board's link proxy, a 12-hour coverage loss in the middle: nothing lost, nothing
invented against the ground truth; and the AT path is refused above the speed it was tested at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.deps import check_dependencies
from simulator.errors import ScenarioError
from simulator.runner import RunOptions, run_scenario
from simulator.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "simulator" / "scenarios" / "at-modem.toml"


def test_at_modem_board_loses_nothing_through_a_coverage_loss(tmp_path: Path) -> None:
    missing = check_dependencies().missing
    assert not missing, f"missing components (pip install -e '.[dev]'): {missing}"
    scenario = load_scenario(SCENARIO)
    assert [d.options.get("modem") for d in scenario.devices] == ["at"]
    result = run_scenario(scenario, RunOptions(workdir=tmp_path, keep=True, broker="mosquitto",
                                               drain_timeout_s=60))
    cmp = result.comparison
    assert cmp is not None, result.degraded
    f = result.faults
    assert result.boards["ce00a701"]["modem"] == "at"
    assert f["modem_connects"] >= 2 and f["modem_bytes_up"] > 0  # data went through the modem
    assert f["modem_unregistered"] >= 1   # the outage was a registration loss at the modem
    assert f["modem_drops"] >= 1          # carrier-closed sockets (planned link drops)
    assert f["link_outages"] == 1
    # household-pv: el1 and pv every 15 min for 3 days; the scenario's power cut may cost
    # the intervals it covers, never more than a few hours' worth
    assert 2 * 3 * 96 - 2 * 4 * 4 <= cmp.produced <= 2 * 3 * 96
    assert cmp.lost == () and cmp.invented == () and cmp.altered == (), (
        cmp.lost[:5], cmp.invented[:5], cmp.altered[:5], result.notes)
    assert cmp.conflicts == ()
    assert cmp.delivered_unique == cmp.produced == result.readings_stored
    assert result.as_dict()["ok"] is True


def test_at_modem_path_refused_above_its_tested_speed() -> None:
    scenario = load_scenario(SCENARIO)
    with pytest.raises(ScenarioError) as err:
        run_scenario(scenario, RunOptions(speed=80000))
    text = str(err.value)
    assert "AT modem path" in text and "80000" in text and "at most 20000" in text
