"""`meterkit analyze finance|benchmark|cer` on the shipped example inputs and on bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterkit.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "gateway" / "analysis" / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_finance_json_reproduces_seed004_measures(capsys):
    code, out, _ = run(capsys, "finance", str(EXAMPLES / "finance_measures.toml"),
                       "--rate", "0.03", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True and doc["discount_rate_source"] == "--rate"
    measures = doc["measures"]
    # seed 004: measure 2 PBT with TEE 5.4 y; measure 12 PBT 5.3 y and IRR 18.4 %
    assert measures[0]["payback_simple"] == pytest.approx(5.4, abs=0.1)
    assert measures[1]["payback_simple"] == pytest.approx(5.3, abs=0.1)
    assert measures[1]["irr"] == pytest.approx(0.184, abs=0.001)
    assert "cost_of_conserved_energy_eur_per_kwh" in measures[1]
    # measure 12 saves 412,000 kWh of natural gas: × 0.202 kg/kWh (seed 003 Table 5.9)
    assert measures[1]["avoided"]["co2_kg"] == pytest.approx(83_224)


def test_finance_discounts_at_the_wacc_of_the_financing_table(capsys):
    code, out, _ = run(capsys, "finance", str(EXAMPLES / "finance_genova_scenario1.toml"),
                       "--json")
    assert code == 0
    doc = json.loads(out)
    # seed 003: 0.0382 × 0.8 × (1 − 0.279) + 0.09 × 0.2 = 4.003 %
    assert doc["discount_rate"] == pytest.approx(0.04003376, abs=1e-8)
    assert doc["discount_rate_source"] == "WACC of [financing]"
    flows = doc["measures"][0]["flows"]
    # year 3: 8,710 + 846 + 12,274.56 Conto Termico (0.4 × (70,739 + 82,693) / 5)
    assert flows[3] == pytest.approx(8_710 + 846 + 12_274.56)
    assert flows[2] == pytest.approx(8_710 + 846) and flows[8] == pytest.approx(9_556)


def test_finance_table_for_people(capsys):
    code, out, _ = run(capsys, "finance", str(EXAMPLES / "finance_measures.toml"))
    assert code == 0
    assert "NPV" in out and "I0 at t=0" in out


def test_benchmark_ranks_schools(capsys):
    code, out, _ = run(capsys, "benchmark", str(EXAMPLES / "benchmark_buildings.csv"), "--json")
    assert code == 0
    rows = {r["building"]: r for r in json.loads(out)["buildings"]}
    # kWh/m²: Mazzini 82.0, Garibaldi 96.1, Verdi 73.8 → Verdi best, Garibaldi worst
    assert rows["Scuola Verdi"]["rank"] == 1
    assert rows["Scuola Garibaldi"]["percentile"] == 100.0
    assert rows["Condominio Nuovo Passeggio"]["reference_kwh_per_m2"] == 151


def test_cer_example(capsys):
    code, out, _ = run(capsys, "cer", str(EXAMPLES / "cer_community.toml"),
                       "--fed-in", str(EXAMPLES / "cer_fed_in.csv"),
                       "--withdrawn", str(EXAMPLES / "cer_withdrawn.csv"), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["ok"] is True
    assert result["hours"] == 24
    # recompute from the CSV files by hand: hourly sums, min per hour, oldest plant first
    hourly: dict[tuple[str, str], float] = {}
    for name in ("cer_fed_in.csv", "cer_withdrawn.csv"):
        for line in (EXAMPLES / name).read_text().splitlines()[1:]:
            ts, ident, kwh = line.split(",")
            key = (ts[:13], ident if name == "cer_fed_in.csv" else "withdrawn")
            hourly[key] = hourly.get(key, 0.0) + float(kwh)
    hours = sorted({h for h, _ in hourly})
    shared = old_shared = 0.0
    for h in hours:
        old, new = hourly.get((h, "pv-vecchio"), 0.0), hourly.get((h, "pv-scuola"), 0.0)
        s = min(old + new, hourly.get((h, "withdrawn"), 0.0))
        shared += s
        old_shared += min(s, old)
    assert result["shared_kwh"] == pytest.approx(shared)
    assert result["per_plant"]["pv-vecchio"]["shared_kwh"] == pytest.approx(old_shared)
    # the 2019 plant predates the DM 414/2023 cutoff: ARERA refund only, no premium
    assert result["per_plant"]["pv-vecchio"]["premium_eur"] == 0
    assert result["premium_eur"] == pytest.approx(result["per_plant"]["pv-scuola"]["premium_eur"])
    assert result["arera_refund_eur"] == pytest.approx(shared / 1000 * 8.0)


def test_bad_inputs_give_one_clear_line(capsys, tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[[measure]]\nname = "x"\ninvestment = "lots"\nlife_years = 10\n'
                   "annual_savings = 5\n")
    code, _, err = run(capsys, "finance", str(bad))
    assert code == 1
    assert "measure[0].investment" in err and "Traceback" not in err

    code, _, err = run(capsys, "finance", str(tmp_path / "missing.toml"))
    assert code == 1 and "cannot read" in err and "missing.toml" in err

    csv_path = tmp_path / "b.csv"
    csv_path.write_text("name,category,floor_area_m2,energy_kwh\nA,school,0,100\n")
    code, _, err = run(capsys, "benchmark", str(csv_path))
    assert code == 1 and "floor_area_m2" in err
