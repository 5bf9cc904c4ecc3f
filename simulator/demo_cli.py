"""`meterkit demo`: the README's first command — simulated fleet, gateway, broker, report."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]

EPILOG = """\
examples:
  meterkit demo                       6 boards, 14 days in about a minute
  meterkit demo --lang it             the report in Italian
  meterkit demo --days 3 --devices 3 --json
What runs: docs/SIMULATOR.md ("The demo").
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "demo", help="run the end-to-end demo: a simulated fleet, gateway, broker",
        description="Simulate a school (electricity + gas), a public-lighting circuit and "
                    "households with PV on real firmware, through a real gateway and MQTT "
                    "broker, and check every reading upstream against the boards' truth.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=6, help="boards (default 6: school, "
                   "lighting, households with PV)")
    p.add_argument("--days", type=float, default=14.0, help="simulated days (default 14)")
    p.add_argument("--speed", type=float, help="virtual seconds per second "
                   "(default: the period in about 60 s)")
    p.add_argument("--lang", choices=("it", "en"), default="en", help="report language")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from simulator.demo import DemoOptions, run_demo
    from simulator.errors import SimulatorError
    from simulator.progress import progress_bar
    from simulator.report import show_and_exit_code

    if args.devices < 1 or args.days <= 0 or (args.speed is not None and args.speed <= 0):
        print("meterkit demo: --devices must be >= 1, --days and --speed > 0", file=sys.stderr)
        return 2
    options = DemoOptions(devices=args.devices, days=args.days, speed=args.speed,
                          broker=args.broker)
    try:
        with progress_bar("meterkit demo", enabled=not args.json) as update:
            options.progress = update
            result, _scenario = run_demo(options)
    except SimulatorError as exc:
        print(f"meterkit demo: {exc}", file=sys.stderr)
        return 2
    return show_and_exit_code(result, as_json=args.json, lang=args.lang)
