"""Input files saved in another encoding (a spreadsheet's UTF-16 CSV, a cp1252 TOML) get an
error naming the file and what to do, never a traceback, in every analyze command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EX = Path(__file__).parents[2] / "gateway" / "analysis" / "examples"


def utf16(src: Path, dst: Path) -> str:
    dst.write_bytes(src.read_text(encoding="utf-8").encode("utf-16"))
    return str(dst)


@pytest.mark.parametrize("case", ["baseline", "finance", "epc", "cer", "benchmark"])
def test_non_utf8_input_is_a_one_line_error(case: str, tmp_path: Path) -> None:
    cp1252 = tmp_path / "misura.toml"
    cp1252.write_bytes('nome = "caffè"\n'.encode("cp1252"))
    argv = {
        "baseline": ["baseline", "--method", "ratio",
                     utf16(EX / "genova_seasons.csv", tmp_path / "s.csv"), "--gg-std", "921"],
        "finance": ["finance", str(cp1252)],
        "epc": ["epc", str(cp1252)],
        "cer": ["cer", str(EX / "cer_community.toml"), "--fed-in", str(EX / "cer_fed_in.csv"),
                "--withdrawn", utf16(EX / "cer_withdrawn.csv", tmp_path / "w.csv")],
        "benchmark": ["benchmark", utf16(EX / "benchmark_buildings.csv", tmp_path / "b.csv")],
    }[case]
    run = subprocess.run([sys.executable, "-m", "meterkit", "analyze", *argv],
                         capture_output=True, text=True, timeout=60)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "Traceback" not in out
    assert "not UTF-8 text" in out and "UTF-8" in out
