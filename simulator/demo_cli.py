"""`meterkit demo`: the README's first command — simulated fleet, gateway, broker, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulator.cli import SPEED_RANGE, bounded_float

__all__ = ["DAYS_RANGE", "MAX_DEVICES", "register"]

# One MicroPython process per board: beyond a few dozen the demo no longer fits "about a
# minute" on a laptop; `meterkit sim run` takes larger fleets from a scenario file.
MAX_DEVICES = 50
DAYS_RANGE = (1.0, 366.0)

EPILOG = """\
examples:
  meterkit demo                       6 boards, 14 days in about a minute
  meterkit demo --lang it             the report in Italian
  meterkit demo --days 3 --devices 3 --json
  meterkit demo --days 28 --speed 20000   four weeks, more slowly
  meterkit demo --broker amqtt        the embedded Python broker instead of mosquitto
  meterkit demo --workdir /tmp/demo   keep every log and database afterwards
exit codes: 0 nothing lost or invented, 1 readings lost or invented, 2 bad options,
3 a component missing or failing (mosquitto/amqtt, MicroPython, gateway).
What runs: docs/SIMULATOR.md ("The demo").
"""


def device_count(text: str) -> int:
    """An argparse type: a whole number of boards from 1 to MAX_DEVICES."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_DEVICES:
        raise argparse.ArgumentTypeError(
            f"{value} is out of range; give 1 to {MAX_DEVICES} (larger fleets: "
            "a scenario file and `meterkit sim run`)")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "demo", help="run the end-to-end demo: a simulated fleet, gateway, broker",
        description="Simulate a school (electricity + gas), a public-lighting circuit and "
                    "households with PV on real firmware, through a real gateway and MQTT "
                    "broker, and check every reading upstream against the boards' truth.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=device_count, default=6,
                   help=f"boards, 1 to {MAX_DEVICES} (default 6: school, lighting, "
                        "households with PV)")
    p.add_argument("--days", type=bounded_float(*DAYS_RANGE), default=14.0,
                   help="simulated days, 1 to 366 (default 14)")
    p.add_argument("--speed", type=bounded_float(*SPEED_RANGE),
                   help="virtual seconds per second, 1 to 1000000 "
                        "(default: the period in about 60 s)")
    p.add_argument("--lang", choices=("it", "en"), default="en", help="report language")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto",
                   help="auto: mosquitto if installed, else amqtt (pip)")
    p.add_argument("--workdir", type=Path, help="keep logs, databases and the boards' "
                   "ground truth (board-*/board.log, @truth lines) here")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from simulator.demo import DemoOptions, run_demo
    from simulator.errors import SimulatorError
    from simulator.progress import progress_bar
    from simulator.report import error_exit_code, show_and_exit_code

    options = DemoOptions(devices=args.devices, days=args.days, speed=args.speed,
                          broker=args.broker, workdir=args.workdir)
    try:
        with progress_bar("meterkit demo", enabled=not args.json) as update:
            options.progress = update
            result, _scenario = run_demo(options)
    except SimulatorError as exc:
        print(f"meterkit demo: {exc}", file=sys.stderr)
        return error_exit_code(exc)
    return show_and_exit_code(result, as_json=args.json, lang=args.lang)
