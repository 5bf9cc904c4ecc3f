"""The `meterkit` command: one entry point whose subcommands live with the package they drive.

Each package exposes `register(subparsers)` in its own `cli` module; this file only wires them
together, so adding a subcommand never means editing another package's code. Heavy imports stay
inside the handlers so `meterkit --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from meterkit import __version__

# (subcommand, module that registers it, one-line help)
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "simulator.demo_cli", "run the end-to-end demo: a simulated fleet, gateway, broker"),
    ("gateway", "gateway.cli", "run and operate the site gateway (service, devices, commands)"),
    ("sim", "simulator.cli", "run simulation scenarios against a real gateway"),
    ("provision", "provisioning.cli", "set up boards on site: identity, keys, flashing, labels"),
    ("analyze", "gateway.analysis.cli", "baselines, savings, settlements, finance, CER"),
    ("protocol", "protocol.cli", "decode captured frames and check the shared test vectors"),
)

EPILOG = """\
Typical first steps:
  meterkit demo                         run everything on this machine and print a report
  meterkit gateway check-config --config gateway.toml
  meterkit protocol decode 4d4b01... --key 000102...0f
Every subcommand has its own --help.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterkit",
        description="Energy-metering kit: boards, site gateway, MQTT upstream and analysis.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"meterkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name, help_text in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            placeholder = sub.add_parser(name, help=f"{help_text} (not available yet)")
            placeholder.set_defaults(handler=_unavailable(name))
            continue
        module.register(sub)
    return parser


def _unavailable(name: str):
    def handler(_args: argparse.Namespace) -> int:
        print(f"meterkit {name}: not available in this version", file=sys.stderr)
        return 2

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
