"""Every `meterkit gateway` subcommand's --help ends with examples of that subcommand."""

from __future__ import annotations

import subprocess
import sys

import pytest

COMMANDS = [
    ["run"], ["check-config"], ["status"], ["command"], ["renormalise"], ["devices"],
    ["devices", "add"], ["devices", "list"], ["devices", "show"], ["devices", "remove"],
    ["devices", "import"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_help_has_examples_of_the_subcommand(argv: list[str]) -> None:
    run = subprocess.run([sys.executable, "-m", "meterkit", "gateway", *argv, "--help"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "\nexamples:\n" in run.stdout, run.stdout
    examples = run.stdout.split("\nexamples:\n", 1)[1]
    assert f"meterkit gateway {' '.join(argv)}" in examples, examples
