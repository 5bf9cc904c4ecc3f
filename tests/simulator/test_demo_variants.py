"""Short runs of the other ways in: `meterkit sim run` on a bundled scenario, and the demo on the
embedded amqtt broker (the fallback when mosquitto is not installed). Counts are checked
against the boards' own `@truth` lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from simulator.deps import check_dependencies
from tests.simulator.board_truth import board_truth, in_period, local_midnight
from tests.support.micropython import REPO

pytestmark = pytest.mark.slow

METERKIT = str(Path(sys.executable).parent / "meterkit")


def run_json(*args: str, timeout: float = 300) -> dict[str, Any]:
    missing = check_dependencies().missing
    if missing:
        pytest.fail("cannot run the simulator, missing: " + "; ".join(missing))
    proc = subprocess.run([METERKIT, *args, "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def sealed(workdir: Path, first: date, days: float) -> int:
    end = local_midnight(first) + days * 86400
    return sum(len(in_period(s, end)) for s in board_truth(workdir).values())


def test_sim_run_a_bundled_scenario_shortened(tmp_path: Path) -> None:
    # school-genova: one school (el1 + gas) from 2026-01-12; one day instead of 21
    report = run_json("sim", "run", "school-genova", "--days", "1", "--speed", "20000",
                      "--workdir", str(tmp_path))
    assert report["scenario"] == "school-genova" and report["days"] == 1
    produced = sealed(tmp_path, date(2026, 1, 12), 1)
    assert 0.9 * (96 + 24) <= produced <= 96 + 24
    assert report["readings_produced"] == produced
    assert report["readings_delivered"] == produced
    assert report["readings_stored"] == produced
    assert report["readings_lost"] == 0 and report["readings_invented"] == 0
    assert report["ok"] is True


def test_demo_on_the_embedded_amqtt_broker(tmp_path: Path) -> None:
    report = run_json("demo", "--days", "1", "--devices", "2", "--speed", "15000",
                      "--broker", "amqtt", "--workdir", str(tmp_path))
    assert report["broker"] == "amqtt"
    assert (tmp_path / "broker" / "amqtt.out").exists()
    produced = sealed(tmp_path, date(2026, 1, 12), 1)
    # school el1 + gas, lighting el1: 96 + 24 + 96 a day
    assert 0.9 * 216 <= produced <= 216
    assert report["readings_produced"] == produced
    assert report["readings_delivered"] == produced
    assert report["readings_lost"] == 0 and report["readings_invented"] == 0
    assert report["ok"] is True
    # MQTT 3.1.1 via amqtt: the upstream still gets every reading once, minus re-deliveries
    assert report["messages_delivered"] == produced + report["duplicates_delivered"] + \
        report["estimated_delivered"]
