"""`meterkit analyze ...`: JSON output on the shipped examples, errors, help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterkit.cli import main

EX = Path(__file__).resolve().parents[2] / "gateway" / "analysis" / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    rc = main(["analyze", *argv, "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_baseline_ratio_genova_table_5_4(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(capsys, "baseline", "--method", "ratio", str(EX / "genova_seasons.csv"),
                  "--gg-std", "921")
    assert rc == 0 and doc["ok"]
    # 1,279,470 kWh / 2,765 GG = 462.74 kWh/GG; x 921 = 426,181.5 kWh (document 426,406)
    assert doc["alpha_per_degree_day"] == pytest.approx(462.74, abs=0.01)
    assert doc["baseline"] == pytest.approx(426_181.5, abs=0.1)
    assert [p["label"] for p in doc["periods"]] == ["2014", "2015", "2016"]


def test_baseline_ratio_reference_from_municipality(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    rc, doc = run(capsys, "baseline", "--method", "ratio", str(EX / "lodi_seasons.csv"),
                  "--municipality", "Lodi", "--min-periods", "3")
    assert rc == 0
    assert doc["reference_degree_days"] == 2592
    assert doc["baseline"] == pytest.approx(134_584.615, abs=0.001)   # 405,000/7,800 x 2,592


def test_savings_ratio_seed_004_yearly_check(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(capsys, "savings", "--method", "ratio", "--baseline",
                  str(EX / "lodi_seasons.csv"), "--reporting", str(EX / "lodi_reporting.csv"),
                  "--municipality", "Lodi")
    assert rc == 0
    first = doc["reporting"][0]
    # Base_norm = 134,584.615 x 2,400 / 2,592 = 124,615.385; 1 - 80,000 / 124,615.385
    assert first["normalised_baseline"] == pytest.approx(124_615.385, abs=0.001)
    assert first["savings_pct"] == pytest.approx(35.802, abs=0.001)


def test_bands_table_5_8(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(capsys, "bands", str(EX / "genova_bands_2014_2016.csv"))
    assert rc == 0
    jan = doc["months"][0]
    assert [round(jan[b]) for b in ("F1", "F2", "F3")] == [5075, 954, 1565]
    assert round(doc["totals"]["total"]) == 63_487


def test_regression_baseline_and_savings_on_examples(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    rc, doc = run(capsys, "baseline", str(EX / "usage_baseline.csv"), "--temperature",
                  str(EX / "temperature_daily.csv"))
    assert rc == 0
    # the example was simulated with 4.0 Smc/day + 9.0 Smc per °C·day below 16 °C
    assert doc["model_type"] == "hdd_only"
    assert doc["heating_balance_point_c"] == pytest.approx(16.0, abs=1.0)
    assert doc["heating_slope_per_degree_day"] == pytest.approx(9.0, rel=0.05)
    assert doc["g14"]["passed"]
    rc, doc = run(capsys, "savings", "--baseline", str(EX / "usage_baseline.csv"),
                  "--reporting", str(EX / "usage_reporting.csv"), "--temperature",
                  str(EX / "temperature_daily.csv"))
    assert rc == 0
    # reporting simulated at 85 % of the baseline model: 15 % savings
    assert doc["savings"]["savings_pct"] == pytest.approx(15.0, abs=1.5)
    assert doc["savings"]["unit"] == "Smc"


def test_strict_caltrack_turns_the_spread_search_off(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    # A load driven by hourly temperatures: 9 units per °C·day below 16 °C, hour by hour,
    # around daily means of 14-20 °C with a ±7 °C day-night swing. Daily-mean degree days miss
    # the cold nights of mild days, so the default search picks a spread > 0; --strict-caltrack
    # must keep CalTRACK's daily-mean degree days (spread 0) whatever the data favour.
    import math
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    def midnight(d: date) -> str:   # periods are whole local days
        return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo("Europe/Rome")).isoformat()

    usage = ["start,end,value,unit"]
    temps = ["timestamp,temperature_c"]
    for i in range(365):
        d = date(2023, 1, 1) + timedelta(days=i)
        mean = 17.0 + 3.0 * math.sin(i * 0.7)
        hours = [mean + 7.0 * math.sin(2 * math.pi * h / 24) for h in range(24)]
        value = 4.0 + 9.0 * sum(max(16.0 - t, 0.0) for t in hours) / 24
        nxt = d + timedelta(days=1)
        usage.append(f"{midnight(d)},{midnight(nxt)},{value:.3f},kWh")
        temps.append(f"{midnight(d)},{mean:.3f}")
    (tmp_path / "u.csv").write_text("\n".join(usage) + "\n")
    (tmp_path / "t.csv").write_text("\n".join(temps) + "\n")
    args = ("baseline", str(tmp_path / "u.csv"), "--temperature", str(tmp_path / "t.csv"))
    rc, default = run(capsys, *args)
    assert rc == 0 and default["temperature_spread_c"] > 0
    rc, strict = run(capsys, *args, "--strict-caltrack")
    assert rc == 0 and strict["temperature_spread_c"] == 0.0
    assert strict["model_type"] == "hdd_only"


def test_savings_records_non_routine_adjustments(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(capsys, "savings", "--baseline", str(EX / "usage_baseline.csv"),
                  "--reporting", str(EX / "usage_reporting.csv"), "--temperature",
                  str(EX / "temperature_daily.csv"), "--adjustments",
                  str(EX / "adjustments.toml"))
    assert rc == 0
    adj = doc["savings"]["non_routine_adjustments"]
    # 1,500 Smc given; 120 m² x 12 Smc/m²/yr x 92/365 = 362.96 Smc
    assert [round(a["value"], 2) for a in adj] == [1500.0, 362.96]
    s = doc["savings"]
    assert s["avoided_energy"] == pytest.approx(
        s["adjusted_baseline"] + 1500.0 + 362.96 - s["observed"], abs=0.01)


def test_lighting_pmvp_toml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "pmvp.toml"
    f.write_text('price_eur_per_kwh = 0.20\nhours = 4110\n[[municipality]]\nname = "Chiari"\n'
                 'ee_bas_kwh = 872386.56\npct_off = 40\nee_measured_kwh = 480000\n'
                 'added_kw = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]\n'
                 'removed_kw = [0.1, 0.1, 0.1, 0.1]\n')
    rc, doc = run(capsys, "lighting-pmvp", str(f))
    assert rc == 0
    town = doc["municipalities"][0]
    # hand calculation in tests/analysis/test_seed_002.py
    assert town["ee_agg_kwh"] == pytest.approx(523_842.936)
    assert town["exs_eur"] == pytest.approx(3_169.91, abs=0.01)
    assert town["cpsup_eur"] == pytest.approx(2_442.68, abs=0.01)


def test_lighting_example_uses_leap_year_hours(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(capsys, "lighting-pmvp", str(EX / "lighting_chiari.toml"))
    assert rc == 0
    assert doc["municipalities"][0]["hours"] == pytest.approx(4122 + 41 / 60)
    coccaglio = doc["municipalities"][1]
    # offer given as EEoff 418,380 = 697,300 x 60 %; measured 430,000 -> 11,620 kWh short
    assert coccaglio["pct_off"] == pytest.approx(40.0)
    assert coccaglio["shortfall_kwh"] == pytest.approx(11_620.0)


def test_epc_example(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(capsys, "epc", str(EX / "epc_lodi.toml"))
    assert rc == 0
    assert doc["base_rif"] == pytest.approx(134_584.615, abs=0.001)
    y = doc["years"][0]
    # Base_norm = 134,584.615 x 2,400 / 2,592 = 124,615.385; R = 1 - 80,000 / 124,615.385
    # = 35.802 %; share 20 % x 30 % + 50 % x 5.802 % = 8.9012 %; x 124,615.385 x 0.80 €
    # = 8,873.85 €
    assert y["base_norm"] == pytest.approx(124_615.385, abs=0.001)
    assert y["saving_pct"] == pytest.approx(35.802, abs=0.001)
    assert y["rebate_eur"] == pytest.approx(8_873.85, abs=0.01)
    # conduction 12,000 x 31 / 30 = 12,400 €
    assert y["conduction_eur"] == pytest.approx(12_400.0)


def test_error_is_structured_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "usage.csv"
    f.write_text("start,end,value,unit\n"
                 "2024-01-01T00:00:00+01:00,2024-02-01T00:00:00+01:00,100,kWh\n"
                 "2024-02-01T00:00:00+01:00,2024-03-01T00:00:00+01:00,90,Smc\n")
    rc, doc = run(capsys, "baseline", str(f), "--temperature", str(EX / "temperature_daily.csv"))
    assert rc == 1 and not doc["ok"]
    assert doc["error"] == "UnitMismatchError"
    assert (doc["input"], doc["row"], doc["field"], doc["value"]) == ("baseline", 3, "unit",
                                                                      "Smc")


def test_period_bounds_must_be_local_midnight(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    f = tmp_path / "usage.csv"
    f.write_text("start,end,value,unit\n"
                 "2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,100,kWh\n")
    rc, doc = run(capsys, "baseline", str(f), "--temperature", str(EX / "temperature_daily.csv"))
    assert rc == 1
    assert doc["field"] == "start" and doc["row"] == 2
    assert "2024-01-01T00:00:00" in doc["expected"]


def test_negative_value_rejected(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "seasons.csv"
    f.write_text("label,consumption,degree_days,unit\na,100,900,kWh\nb,-5,950,kWh\n")
    rc, doc = run(capsys, "baseline", "--method", "ratio", str(f), "--gg-std", "921")
    assert rc == 1
    assert (doc["error"], doc["row"], doc["value"]) == ("NegativeValueError", 2, -5.0)


def test_text_error_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["analyze", "bands", "/nonexistent.csv"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot read file" in err


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["analyze", "--help"], ["analyze", "baseline", "--help"],
                 ["analyze", "epc", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "Example" in out and "gateway/analysis/examples/" in out


def test_economics_subcommands_are_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = capsys.readouterr().out
    for name in ("finance", "benchmark", "cer"):
        assert name in out
