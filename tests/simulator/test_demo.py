"""`meterkit demo` in a short mode, as a user runs it: one JSON object with exact counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from simulator.deps import check_dependencies
from tests.support.micropython import REPO

pytestmark = pytest.mark.slow


def test_demo_json_short_mode() -> None:
    if check_dependencies().missing:
        pytest.skip(f"missing: {check_dependencies().missing}")
    proc = subprocess.run(
        [sys.executable, "-m", "meterkit", "demo", "--days", "3", "--devices", "3",
         "--speed", "25000", "--json"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)  # exactly one JSON object on stdout
    produced = report["readings_produced"]
    # school el1 (96/day) + gas (24/day), lighting (96/day), household el1 + pv (192/day)
    assert 0.95 * 3 * 408 <= produced <= 3 * 408
    assert report["readings_stored"] == produced
    assert report["readings_delivered"] == produced
    assert report["readings_lost"] == 0
    assert report["readings_invented"] == 0
    assert report["duplicates_delivered"] >= 0
    bands = report["energy_by_band"]
    assert set(bands) == {"F1", "F2", "F3"} and all(v > 0 for v in bands.values())
    assert report["pv_kwh"] > 0 and report["gas"]["Smc"] > 0
    assert "alerts" in report
    savings = report["savings"]
    assert savings["reporting_days"] + savings["baseline_days"] == 3
    assert savings["baseline_smc"] > 0 and savings["reporting_smc"] > 0
    assert report["faults"]["link_outages"] == 3  # the outage in the middle, on every board


def test_demo_rejects_bad_options() -> None:
    proc = subprocess.run([sys.executable, "-m", "meterkit", "demo", "--devices", "0"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--devices" in proc.stderr
