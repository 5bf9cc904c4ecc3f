"""`meterkit sim`: run, check and list simulation scenarios (TOML) against the real components."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]

SCENARIOS = Path(__file__).resolve().parent / "scenarios"

EPILOG = """\
examples:
  meterkit sim list
  meterkit sim check simulator/scenarios/school-genova.toml
  meterkit sim run simulator/scenarios/school-genova.toml
  meterkit sim run outage-week --speed 50000 --json
Scenario format: docs/SIMULATOR.md
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    raw = argparse.RawDescriptionHelpFormatter
    sim = subparsers.add_parser("sim", help="run simulation scenarios against a real gateway",
                                epilog=EPILOG, formatter_class=raw)
    sim.set_defaults(handler=lambda _a: (sim.print_help(), 2)[1])
    sub = sim.add_subparsers(dest="sim_command", metavar="COMMAND")
    p = sub.add_parser("run", help="run a scenario: boards, gateway, broker; print a report",
                       epilog=EPILOG, formatter_class=raw)
    p.add_argument("scenario", help="a TOML file, or the name of a bundled scenario")
    p.add_argument("--speed", type=float, help="virtual seconds per second (overrides file)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no tables")
    p.add_argument("--lang", choices=("it", "en"), default="en")
    p.add_argument("--workdir", type=Path, help="keep logs and databases here")
    p.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("check", help="validate a scenario file and list every problem")
    p.add_argument("scenario")
    p.set_defaults(handler=cmd_check)
    p = sub.add_parser("list", help="the bundled scenarios")
    p.set_defaults(handler=cmd_list)


def resolve(name: str) -> Path:
    path = Path(name)
    if path.exists() or path.suffix == ".toml":
        return path
    return SCENARIOS / f"{name}.toml"


def cmd_check(args: argparse.Namespace) -> int:
    from simulator.errors import ScenarioError
    from simulator.scenario import load_scenario

    try:
        s = load_scenario(resolve(args.scenario))
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{s.name}: ok — {len(s.devices)} boards, {len(s.sites)} sites, {s.days:g} days "
          f"from {s.start_date}, speed {s.speed:g}x")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    from simulator.scenario import load_scenario

    for path in sorted(SCENARIOS.glob("*.toml")):
        s = load_scenario(path)
        print(f"{path.stem:16} {len(s.devices):3} boards {s.days:5g} days  {s.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from simulator.errors import ScenarioError, SimulatorError
    from simulator.progress import progress_bar
    from simulator.report import show_and_exit_code
    from simulator.runner import RunOptions, run_scenario
    from simulator.scenario import load_scenario

    try:
        scenario = load_scenario(resolve(args.scenario))
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 1
    options = RunOptions(workdir=args.workdir, keep=args.workdir is not None, speed=args.speed,
                         broker=args.broker)
    try:
        with progress_bar(scenario.name, enabled=not args.json) as update:
            options.progress = update
            result = run_scenario(scenario, options)
    except SimulatorError as exc:
        print(f"meterkit sim: {exc}", file=sys.stderr)
        return 2
    return show_and_exit_code(result, as_json=args.json, lang=args.lang)
