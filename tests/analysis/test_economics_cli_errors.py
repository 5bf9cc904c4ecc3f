"""Bad finance/benchmark/CER inputs: exit 1, the key path, the value and what to do — no traceback,
and with --json the same `ok: false` envelope as the other analyze commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meterkit.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "gateway" / "analysis" / "examples"
MEASURE = """[[measure]]
name = "x"
investment = 10000
life_years = 10
annual_savings = 2000
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("extra", "key", "value"), [
    ('maintenance_change = "1750"\n', "measure[0].maintenance_change", "'1750'"),
    ('energy_saved_kwh = "lots"\n', "measure[0].energy_saved_kwh", "'lots'"),
    ('anual_savings = 5\n', "measure[0].anual_savings", "unknown key"),
    ("[[measure.tax_deduction]]\neligible_cost = 1000\ncap = \"300\"\n",
     "measure[0].tax_deduction[0].cap", "'300'"),
    ("[[measure.tax_deduction]]\neligible_cost = 1000\nyears = 0\n",
     "measure[0].tax_deduction[0].years", "got 0"),
    ("[[measure.incentive]]\nannual_amount = 100\nyears = 2\nstart_year = 0\n",
     "measure[0].incentive[0].start_year", "got 0"),
    ("[[measure.incentive]]\nannual_amount = 100\nyears = 5\nstart_year = 8\n",
     "measure[0].incentive[0].years", "past life_years 10"),
    ("[[measure.conto_termico]]\neligible_cost = 1000\nshare = 40\n",
     "measure[0].conto_termico[0].share", "got 40"),
    ('[financing]\ndebt_share = "0.8"\nloan_rate = 0.04\nloan_years = 10\n',
     "financing.debt_share", "'0.8'"),
    ("[financing]\nloan_rate = 0.04\nloan_years = 12\n", "financing.loan_years",
     "longer than measure[0].life_years"),
    ("[factors.co2_kg_per_kwh]\nelectricity = -1\n", "factors.co2_kg_per_kwh.electricity",
     "got -1"),
    ("energy_saved_kwh = { lpg = 1000 }\n", "measure[0].energy_saved_kwh.lpg",
     "electricity, natural_gas"),
], ids=["maintenance-str", "energy-str", "typo", "cap-str", "deduction-years-0",
        "start-year-0", "past-life", "share-percent", "debt-share-str", "loan-past-life",
        "negative-factor", "carrier-without-primary-factor"])
def test_finance_bad_values_name_the_key(capsys, tmp_path, extra, key, value):
    path = tmp_path / "m.toml"
    # top-level tables must come after the measure's keys; [[measure.x]] too
    path.write_text(MEASURE + extra if extra.startswith("[") else
                    MEASURE.replace("annual_savings = 2000\n", "annual_savings = 2000\n" + extra))
    code, out, err = run(capsys, "finance", str(path))
    assert code == 1 and out == ""
    assert key in err and value in err and "Traceback" not in err
    assert "expected" in err
    code, out, _ = run(capsys, "finance", str(path), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert doc["field"] == key and doc["input"] == str(path)


def test_finance_errors_in_a_real_process_have_no_traceback(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MEASURE + "[[measure.tax_deduction]]\neligible_cost = 1000\nyears = 0\n")
    proc = subprocess.run([sys.executable, "-m", "meterkit", "analyze", "finance", str(path),
                           "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["field"] == "measure[0].tax_deduction[0].years"
    assert doc["value"] == 0 and "whole years" in doc["expected"]


def test_cer_community_problems_and_bad_rows(capsys, tmp_path):
    community = tmp_path / "c.toml"
    community.write_text('zonal_price_eur_mwh = "110"\narera_refund_eur_mwh = 8\n'
                         '[[plant]]\nid = "pv"\nkw = 20\ncommissioned = 2025-01-01\n')
    args = ("cer", str(community), "--fed-in", str(EXAMPLES / "cer_fed_in.csv"),
            "--withdrawn", str(EXAMPLES / "cer_withdrawn.csv"))
    code, _, err = run(capsys, *args)
    assert code == 1 and "Traceback" not in err
    assert "zonal_price_eur_mwh: '110'" in err and "members: missing" in err
    code, out, _ = run(capsys, *args, "--json")
    assert json.loads(out)["ok"] is False and json.loads(out)["field"] == "zonal_price_eur_mwh"

    rows = tmp_path / "fed.csv"
    rows.write_text("timestamp,id,kwh\n2026-06-01T00:00:00+02:00,pv,abc\n")
    community.write_text('zonal_price_eur_mwh = 110\narera_refund_eur_mwh = 8\nmembers = ["m"]\n'
                         '[[plant]]\nid = "pv"\nkw = 20\ncommissioned = 2025-01-01\n')
    code, out, _ = run(capsys, "cer", str(community), "--fed-in", str(rows), "--withdrawn",
                       str(rows), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["row"] == 2 and doc["field"] == "kwh" and doc["value"] == "abc"


def test_cer_gap_in_the_csv_names_series_and_hour(capsys, tmp_path):
    # drop one member's 10:00 hour from the shipped example: before, it counted as 0 kWh
    lines = (EXAMPLES / "cer_withdrawn.csv").read_text().splitlines()
    kept = [ln for ln in lines if not (ln.startswith("2026-06-01T10:") and ",casa-1," in ln)]
    assert len(kept) == len(lines) - 4
    wdr = tmp_path / "w.csv"
    wdr.write_text("\n".join(kept) + "\n")
    code, out, _ = run(capsys, "cer", str(EXAMPLES / "cer_community.toml"), "--fed-in",
                       str(EXAMPLES / "cer_fed_in.csv"), "--withdrawn", str(wdr), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert doc["input"] == "withdrawn[casa-1]"
    assert "2026-06-01T08:00:00+00:00 has 0 quarter hours" in doc["message"]


def test_benchmark_errors_use_the_envelope(capsys, tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("name,category,floor_area_m2,energy_kwh\nA,school,100,lots\n")
    code, out, _ = run(capsys, "benchmark", str(path), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert (doc["row"], doc["field"], doc["value"]) == (2, "energy_kwh", "lots")
