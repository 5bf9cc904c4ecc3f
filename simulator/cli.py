"""`meterkit sim`: run, check and list simulation scenarios (TOML) against the real components."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["bounded_float", "register"]

SCENARIOS = Path(__file__).resolve().parent / "scenarios"

# Same bounds as the scenario file's keys (simulator/scenario.py)
SPEED_RANGE = (1.0, 1_000_000.0)
DAYS_RANGE = (0.01, 3660.0)

EPILOG = """\
examples:
  meterkit sim list
  meterkit sim check simulator/scenarios/school-genova.toml
  meterkit sim run simulator/scenarios/school-genova.toml
  meterkit sim run outage-week --speed 50000 --json
  meterkit sim run school-genova --days 1 --workdir /tmp/run   keep logs and databases
exit codes: 0 nothing lost or invented, 1 readings lost or invented, 2 bad options or
scenario file, 3 a component missing or failing (mosquitto/amqtt, MicroPython, gateway).
Scenario format: docs/SIMULATOR.md
"""

CHECK_EPILOG = """\
examples:
  meterkit sim check school-genova                         a bundled scenario, by name
  meterkit sim check simulator/scenarios/cer-pv.toml       a file
Every problem is listed with its key path, the value found and what is expected.
exit codes: 0 valid, 2 problems found (or file missing / not TOML).
"""

LIST_EPILOG = """\
examples:
  meterkit sim list                 name, boards, days and description of each
  meterkit sim run cer-pv --days 1   then run one of them, shortened to one day
"""


def bounded_float(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi], else a usage error (exit 2) naming it."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"{text!r} is out of range; give a finite number from {_plain(lo)} to "
                f"{_plain(hi)}")
        return value

    return parse


def _plain(x: float) -> str:
    return str(int(x)) if x.is_integer() else f"{x:g}"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    raw = argparse.RawDescriptionHelpFormatter
    sim = subparsers.add_parser("sim", help="run simulation scenarios against a real gateway",
                                epilog=EPILOG, formatter_class=raw)
    sim.set_defaults(handler=lambda _a: (sim.print_help(), 2)[1])
    sub = sim.add_subparsers(dest="sim_command", metavar="COMMAND")
    p = sub.add_parser("run", help="run a scenario: boards, gateway, broker; print a report",
                       epilog=EPILOG, formatter_class=raw)
    p.add_argument("scenario", help="a TOML file, or the name of a bundled scenario")
    p.add_argument("--speed", type=bounded_float(*SPEED_RANGE),
                   help="virtual seconds per second (overrides the file)")
    p.add_argument("--days", type=bounded_float(*DAYS_RANGE),
                   help="simulated days (overrides the file; e.g. 1 for a quick try)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no tables")
    p.add_argument("--lang", choices=("it", "en"), default="en")
    p.add_argument("--workdir", type=Path, help="keep logs and databases here")
    p.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("check", help="validate a scenario file and list every problem",
                       epilog=CHECK_EPILOG, formatter_class=raw)
    p.add_argument("scenario", help="a TOML file, or the name of a bundled scenario")
    p.set_defaults(handler=cmd_check)
    p = sub.add_parser("list", help="the bundled scenarios", epilog=LIST_EPILOG,
                       formatter_class=raw)
    p.set_defaults(handler=cmd_list)


def resolve(name: str) -> Path:
    path = Path(name)
    if path.exists() or path.suffix == ".toml":
        return path
    return SCENARIOS / f"{name}.toml"


def cmd_check(args: argparse.Namespace) -> int:
    from simulator.errors import ScenarioError
    from simulator.report import EXIT_BAD_INPUT, EXIT_OK
    from simulator.scenario import load_scenario

    try:
        s = load_scenario(resolve(args.scenario))
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{s.name}: ok — {len(s.devices)} boards, {len(s.sites)} sites, {s.days:g} days "
          f"from {s.start_date}, speed {s.speed:g}x")
    return EXIT_OK


def cmd_list(_args: argparse.Namespace) -> int:
    from simulator.errors import ScenarioError
    from simulator.report import EXIT_BAD_INPUT, EXIT_OK
    from simulator.scenario import load_scenario

    code = EXIT_OK
    for path in sorted(SCENARIOS.glob("*.toml")):
        try:
            s = load_scenario(path)
        except ScenarioError as exc:  # a broken bundled file: say so, list the others
            print(exc, file=sys.stderr)
            code = EXIT_BAD_INPUT
            continue
        print(f"{path.stem:16} {len(s.devices):3} boards {s.days:5g} days  {s.description}")
    return code


def cmd_run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from simulator.errors import SimulatorError
    from simulator.progress import progress_bar
    from simulator.report import error_exit_code, show_and_exit_code
    from simulator.runner import RunOptions, run_scenario
    from simulator.scenario import load_scenario

    options = RunOptions(workdir=args.workdir, keep=args.workdir is not None, speed=args.speed,
                         broker=args.broker)
    try:
        scenario = load_scenario(resolve(args.scenario))
        if args.days is not None:
            scenario = replace(scenario, days=args.days)
        with progress_bar(scenario.name, enabled=not args.json) as update:
            options.progress = update
            result = run_scenario(scenario, options)
    except SimulatorError as exc:
        print(f"meterkit sim: {exc}", file=sys.stderr)
        return error_exit_code(exc)
    return show_and_exit_code(result, as_json=args.json, lang=args.lang)
