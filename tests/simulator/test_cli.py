"""`meterkit sim list|check` as a user types them: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

from meterkit.cli import main


def test_sim_list_names_the_bundled_scenarios(capsys) -> None:
    assert main(["sim", "list"]) == 0
    out = capsys.readouterr().out
    assert "school-genova" in out and "cer-pv" in out and "outage-week" in out


def test_sim_check_good_and_bad(tmp_path: Path, capsys) -> None:
    assert main(["sim", "check", "school-genova"]) == 0
    assert "school-genova: ok" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nstart = "2026-01-01"\ndays = 1\nseed = -1\n'
                   '[[sites]]\nid = "a"\nmunicipality = "GENOVA"\nlatitude = 44.4\n'
                   'longitude = 8.9\n[[devices]]\nid = "5c000001"\nsite = "a"\n'
                   'profile = "school"\n')
    assert main(["sim", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "scenario.seed: out of range (got -1)" in err
