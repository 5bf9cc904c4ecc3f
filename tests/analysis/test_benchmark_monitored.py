"""`analyze benchmark` from monitored series: a year of daily usage and temperatures per building,
and the deviation from seed 004's reference table as a ratio in kWh/m²."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from gateway.analysis.benchmark import Building, rank_fleet
from meterkit.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "gateway" / "analysis" / "examples"


def _hand_year(usage: str) -> tuple[float, float]:
    """kWh (Smc × 9.42, seed 003 PCI) and zone E degree days (15 Oct - 15 Apr, DPR 412/93:
    Σ max(0, 20 − daily mean)) of the usage file's days, computed here from the raw CSVs."""
    with (EXAMPLES / usage).open() as fh:
        rows = list(csv.DictReader(fh))
    days = {datetime.fromisoformat(r["start"]).date() for r in rows}
    smc = sum(float(r["value"]) for r in rows)
    with (EXAMPLES / "temperature_daily.csv").open() as fh:
        temps = {datetime.fromisoformat(r["timestamp"]).date(): float(r["temperature_c"])
                 for r in csv.DictReader(fh)}

    def in_season(d: date) -> bool:
        return (d.month, d.day) >= (10, 15) or (d.month, d.day) <= (4, 15)

    gg = sum(max(0.0, 20.0 - temps[d]) for d in days if in_season(d))
    return smc * 9.42, gg


def test_intensities_from_a_year_of_series(capsys):
    code = main(["analyze", "benchmark", str(EXAMPLES / "benchmark_monitored.csv"),
                 "--key", "wh_per_m3_gg", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    rows = {r["building"]: r for r in json.loads(out)["buildings"]}
    kwh, gg = _hand_year("usage_baseline.csv")
    r = rows["Scuola simulata 2023"]
    assert r["energy_kwh"] == pytest.approx(kwh, rel=1e-9)
    assert r["degree_days"] == pytest.approx(gg, rel=1e-9)
    assert r["kwh_per_m2"] == pytest.approx(kwh / 2400)
    assert r["wh_per_m3_gg"] == pytest.approx(1000 * kwh / (9600 * gg))
    # Milano, DPR 412/93: 2,404 GG
    assert r["kwh_per_m2_normalised"] == pytest.approx(kwh / 2400 * 2404 / gg)
    # the reporting year used 85 % of the load (simulated): it ranks first
    assert rows["Scuola simulata 2024"]["rank"] == 1


def test_a_series_with_a_gap_is_not_a_year(capsys, tmp_path):
    lines = (EXAMPLES / "usage_baseline.csv").read_text().splitlines()
    (tmp_path / "u.csv").write_text("\n".join(lines[:100] + lines[101:]) + "\n")
    (tmp_path / "b.csv").write_text("name,category,floor_area_m2,usage\nA,school,100,u.csv\n")
    code = main(["analyze", "benchmark", str(tmp_path / "b.csv"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["ok"] is False
    assert (doc["row"], doc["field"]) == (2, "usage")
    assert doc["value"] == "365 days, 364 covered"


def test_deviation_from_the_reference_is_a_ratio_in_kwh_per_m2():
    # seed 004 Table 1: block of 16-30 flats built 1962-1971 → 140 kWh/m²·yr
    b = Building("lodi", "residential", 1_000, 168_000, building_type="block_16_30_units",
                 year_built=1965)
    row = rank_fleet([b])[0]
    assert row["ratio_to_reference"] == pytest.approx(168 / 140)     # 1.2: 20 % above
    assert row["ratio_basis"] == "kwh_per_m2"
    normalised = Building("lodi", "residential", 1_000, 168_000, degree_days=2_400,
                          reference_degree_days=2_592, building_type="block_16_30_units",
                          year_built=1965)
    row = rank_fleet([normalised])[0]
    assert row["ratio_to_reference"] == pytest.approx(168 * 2_592 / 2_400 / 140)
    assert row["ratio_basis"] == "kwh_per_m2_normalised"
