"""`meterkit sim` and `meterkit demo` as a user types them: exit codes and messages.

Documented exit codes (docs/SIMULATOR.md): 0 nothing lost or invented, 1 readings lost or
invented, 2 bad options or scenario file, 3 a component missing or failing. Bad input must
name what is wrong and never end in a traceback, so those cases run the real console script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meterkit.cli import main
from simulator.errors import DependencyMissing, ScenarioError, ScenarioProblem, SimulatorError
from simulator.report import error_exit_code
from tests.support.micropython import REPO

METERKIT = str(Path(sys.executable).parent / "meterkit")

GOOD_SCENARIO = """\
[scenario]
name = "x"
start = "2026-01-12"
days = 1
[[sites]]
id = "ge"
municipality = "GENOVA"
latitude = 44.4
longitude = 8.9
[[devices]]
id = "5c000001"
site = "ge"
profile = "school"
"""


def meterkit(*args: str, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([METERKIT, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_sim_list_names_the_bundled_scenarios(capsys) -> None:
    assert main(["sim", "list"]) == 0
    out = capsys.readouterr().out
    assert "school-genova" in out and "cer-pv" in out and "outage-week" in out


def test_sim_check_good_and_bad(tmp_path: Path, capsys) -> None:
    assert main(["sim", "check", "school-genova"]) == 0
    assert "school-genova: ok" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD_SCENARIO.replace("days = 1", "days = 1\nseed = -1"))
    assert main(["sim", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "scenario.seed: out of range (got -1); expected an integer >= 0" in err


@pytest.mark.parametrize(("line", "key", "shown"), [
    ("days = nan", "scenario.days", "nan"),
    ("days = inf", "scenario.days", "inf"),
    ("speed = nan", "scenario.speed", "nan"),
    ("speed = -inf", "scenario.speed", "-inf"),
])
def test_non_finite_numbers_in_a_scenario_are_named(tmp_path: Path, line: str, key: str,
                                                    shown: str) -> None:
    text = GOOD_SCENARIO.replace("days = 1", line if line.startswith("days") else
                                 f"days = 1\n{line}")
    path = tmp_path / "nan.toml"
    path.write_text(text)
    for command in (["sim", "check"], ["sim", "run"]):
        proc = meterkit(*command, str(path))
        assert proc.returncode == 2, (command, proc.stderr)
        assert f"{key}: must be a finite number (got {shown})" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_non_finite_range_and_unbounded_key_are_named(tmp_path: Path) -> None:
    path = tmp_path / "nan.toml"
    path.write_text(GOOD_SCENARIO + "[link]\nlatency_ms = [100, nan]\nnat_timeout_s = inf\n")
    proc = meterkit("sim", "check", str(path))
    assert proc.returncode == 2
    assert ("link.latency_ms: must be [min, max] (got [100, nan]); expected two finite "
            "numbers, min <= max, in [0, 60000]") in proc.stderr
    assert ("link.nat_timeout_s: must be a finite number (got inf); expected a number >= 0.0"
            in proc.stderr)


def test_missing_scenario_file_is_bad_input(tmp_path: Path) -> None:
    proc = meterkit("sim", "run", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2
    assert "file: not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("args", "option"), [
    (["demo", "--days", "nan"], "--days"),
    (["demo", "--days", "inf"], "--days"),
    (["demo", "--days", "0"], "--days"),
    (["demo", "--days", "400"], "--days"),
    (["demo", "--speed", "nan"], "--speed"),
    (["demo", "--speed", "0"], "--speed"),
    (["demo", "--devices", "0"], "--devices"),
    (["demo", "--devices", "51"], "--devices"),
    (["demo", "--devices", "two"], "--devices"),
    (["sim", "run", "school-genova", "--days", "nan"], "--days"),
    (["sim", "run", "school-genova", "--speed", "inf"], "--speed"),
])
def test_bad_options_exit_2_naming_the_option(args: list[str], option: str) -> None:
    proc = meterkit(*args)
    assert proc.returncode == 2, proc.stderr
    assert f"argument {option}: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_missing_broker_exits_3_naming_it(tmp_path: Path) -> None:
    # The only way to take amqtt away from this venv without uninstalling it: a module of the
    # same name earlier on sys.path that fails to import, as a broken install would.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "amqtt.py").write_text("raise ImportError('amqtt hidden by the test')\n")
    env = {**os.environ, "PYTHONPATH": str(shadow)}
    proc = meterkit("demo", "--days", "1", "--devices", "1", "--broker", "amqtt", "--json",
                    env=env)
    assert proc.returncode == 3, proc.stderr
    assert "MQTT broker not available" in proc.stderr and "pip install amqtt" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_error_exit_codes() -> None:
    assert error_exit_code(ScenarioError("x.toml", [ScenarioProblem("a", "bad")])) == 2
    assert error_exit_code(DependencyMissing("mosquitto", "binary not found")) == 3
    assert error_exit_code(SimulatorError("gateway did not listen")) == 3


@pytest.mark.parametrize("command", [["demo"], ["sim", "run"], ["sim", "check"],
                                     ["sim", "list"]])
def test_every_subcommand_help_has_examples(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert f"meterkit {' '.join(command)}" in out.split("examples:", 1)[1]


def test_required_key_missing_or_unreadable_file_is_a_problem_not_a_crash(
        tmp_path: Path) -> None:
    no_municipality = tmp_path / "a.toml"
    no_municipality.write_text('[scenario]\nname = "x"\n\n[[sites]]\nid = "a"\n')
    latin1 = tmp_path / "b.toml"
    latin1.write_bytes('[scenario]\nname = "caffè"\n'.encode("latin-1"))
    for path, text in ((no_municipality, "sites[0].municipality: is required"),
                       (latin1, "file: not UTF-8 text"), (tmp_path, "file: cannot be read")):
        proc = meterkit("sim", "check", str(path))
        assert proc.returncode == 2, proc.stderr
        assert text in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
