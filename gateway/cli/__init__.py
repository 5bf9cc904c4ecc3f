"""`meterkit gateway …`: run the service, check its config, read its status, manage devices.

`register(subparsers)` builds the parsers; the handlers live in `gateway.cli.service` and
`gateway.cli.devices` and import the heavy modules only when they run, so `--help` is instant.
Every handler returns an exit code: 0 ok, 1 a problem the output explains, 2 usage or an
environment problem (database, secret or port unusable by this user; one line says what to do).
"""

from __future__ import annotations

import argparse
import os

__all__ = ["DEFAULT_CONFIG", "register"]

DEFAULT_CONFIG = os.environ.get("METERKIT_CONFIG", "/etc/meterkit/gateway.toml")

_RAW = argparse.RawDescriptionHelpFormatter

GATEWAY_EPILOG = """\
examples:
  meterkit gateway check-config --config /etc/meterkit/gateway.toml
  meterkit gateway run --config /etc/meterkit/gateway.toml
  meterkit gateway status --config /etc/meterkit/gateway.toml --json
  meterkit gateway devices add 0000a1b2 --key 000102030405060708090a0b0c0d0e0f \\
      --site scuola --channel 0:el1:electric:Wh --channel 1:gas:gas:pulse:10
  meterkit gateway devices list
  meterkit gateway command 0000a1b2 set_interval channel=0 upload_s=3600
The config path defaults to $METERKIT_CONFIG or /etc/meterkit/gateway.toml.
"""

DEVICES_EPILOG = """\
channels: INDEX:NAME:KIND[:UNIT[:FACTOR]]
  INDEX   the board's channel number (0, 1, ...); input plugins (Modbus) register their own
  NAME    e.g. el1, gas (used in topics)
  KIND    electric | gas                              UNIT  Wh | Wh_export | L | pulse
  FACTOR  register units -> Wh or litres; required for pulse (e.g. 10 = 10 L per pulse)
examples:
  meterkit gateway devices add 0000a1b2 --key 000102...0f --site scuola --channel 0:el1:electric:Wh
  meterkit gateway devices list --json
  meterkit gateway devices show 0000a1b2
  meterkit gateway devices remove 0000a1b2 --yes
  meterkit gateway devices import rodari.mkb     (bundles sealed on site by meterkit provision)
"""


def _examples(*lines: str) -> str:
    return "examples:\n" + "".join(f"  {line}\n" for line in lines)


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", default=DEFAULT_CONFIG, metavar="PATH",
                   help="gateway TOML config (default: %(default)s)")


def _renormalise(args: argparse.Namespace) -> int:
    from gateway.cli.renormalise import cmd_renormalise

    return cmd_renormalise(args)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from gateway.cli import devices, service

    gw = subparsers.add_parser(
        "gateway", help="run and operate the site gateway (service, devices, commands)",
        description="The site gateway: receives board frames, stores, normalises, runs "
                    "plugins and publishes upstream over MQTT.",
        epilog=GATEWAY_EPILOG, formatter_class=_RAW)
    gw.set_defaults(handler=lambda _a: (gw.print_help(), 2)[1])
    sub = gw.add_subparsers(dest="gateway_command", metavar="COMMAND")

    p = sub.add_parser("run", help="run the gateway service in the foreground (systemd runs this)",
                       description="Run until SIGTERM/SIGINT, then drain and exit 0. Logs go to "
                       "stdout; SIGUSR1 logs a status snapshot.", epilog=GATEWAY_EPILOG,
                       formatter_class=_RAW)
    _config_arg(p)
    p.set_defaults(handler=service.cmd_run)

    p = sub.add_parser("check-config", help="validate the config and list every problem",
                       description="Exit 0 if the config is good, 1 with every problem listed "
                       "(key path, bad value, what is expected, what to do).",
                       epilog=_examples(
                           "meterkit gateway check-config --config /etc/meterkit/gateway.toml",
                           "meterkit gateway check-config --config gateway.toml --json"),
                       formatter_class=_RAW)
    _config_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable list of problems")
    p.set_defaults(handler=service.cmd_check_config)

    p = sub.add_parser("status", help="show the running service's health snapshot",
                       description="Reads <state_dir>/status.json, refreshed by the service every "
                       "status_interval_s. Exit 0 running, 3 not running or stale.",
                       epilog=_examples(
                           "sudo -u meterkit meterkit gateway status",
                           "sudo -u meterkit meterkit gateway status --json | jq .db",
                           "meterkit gateway status --config /etc/meterkit/gateway.toml"),
                       formatter_class=_RAW)
    _config_arg(p)
    p.add_argument("--json", action="store_true", help="print the raw snapshot as JSON")
    p.set_defaults(handler=service.cmd_status)

    p = sub.add_parser("devices", help="register, list, show and remove devices",
                       epilog=DEVICES_EPILOG, formatter_class=_RAW)
    p.set_defaults(handler=lambda _a, p=p: (p.print_help(), 2)[1])
    dsub = p.add_subparsers(dest="devices_command", metavar="ACTION")
    d = dsub.add_parser("add", help="register a board (or replace it with --replace)",
                        epilog=DEVICES_EPILOG, formatter_class=_RAW)
    _config_arg(d)
    d.add_argument("device_id", help="a board: 8 hex digits (0000a1b2); an input plugin's "
                   "device: <plugin>:<name> (modbus:sdm630-1)")
    d.add_argument("--key", help="the board's AES-128 key, 32 hex digits (boards only)")
    d.add_argument("--site", help="site name from [sites] (default: gateway.site)")
    d.add_argument("--channel", action="append", default=[], metavar="SPEC",
                   help="INDEX:NAME:KIND[:UNIT[:FACTOR]], repeatable")
    d.add_argument("--replace", action="store_true", help="overwrite an existing device")
    d.set_defaults(handler=devices.cmd_add)
    d = dsub.add_parser("list", help="all devices with last contact", formatter_class=_RAW,
                        epilog=_examples("sudo -u meterkit meterkit gateway devices list",
                                         "meterkit gateway devices list --json"))
    _config_arg(d)
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=devices.cmd_list)
    d = dsub.add_parser("show", help="one device: channels, health, pending commands",
                        formatter_class=_RAW,
                        epilog=_examples("sudo -u meterkit meterkit gateway devices show 0000a1b2",
                                         "meterkit gateway devices show modbus:sdm630-1 --json"))
    _config_arg(d)
    d.add_argument("device_id")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=devices.cmd_show)
    d = dsub.add_parser("remove", help="delete a device (its data stays)", formatter_class=_RAW,
                        epilog=_examples(
                            "sudo -u meterkit meterkit gateway devices remove 0000a1b2",
                            "meterkit gateway devices remove 0000a1b2 --yes    # without asking"))
    _config_arg(d)
    d.add_argument("device_id")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    d.set_defaults(handler=devices.cmd_remove)
    # offline registration: bundles sealed by `meterkit provision` on site
    from provisioning.gateway_import import register_import

    register_import(dsub)

    p = sub.add_parser("renormalise", help="normalise a device's skipped readings again "
                       "(after fixing its channels)", formatter_class=_RAW,
                       description="Readings the normaliser skipped (unknown channel, unit "
                       "mismatch, missing pulse factor, ...) are kept; after fixing the device "
                       "(devices add --replace), this normalises them, and the readings after "
                       "them, again and queues the changed series rows upstream. Safe to repeat.",
                       epilog=_examples(
                           "sudo -u meterkit meterkit gateway renormalise 0000a1b2",
                           "meterkit gateway renormalise 0000a1b2 --from 2026-03-01T00:00+01:00",
                           "meterkit gateway renormalise modbus:sdm630-1 --json"))
    _config_arg(p)
    p.add_argument("device_id")
    p.add_argument("--from", dest="since", metavar="ISO",
                   help="every reading from this time (with offset), not just from the first "
                   "skipped one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_renormalise)

    p = sub.add_parser("command", help="queue a command for a board (sent with the next ACK)",
                       epilog=_examples(
                           "meterkit gateway command 0000a1b2 reboot",
                           "meterkit gateway command 0000a1b2 set_interval channel=0 "
                           "upload_s=3600",
                           "meterkit gateway command 0000a1b2 resend from_counter=1200 --json"),
                       formatter_class=_RAW)
    _config_arg(p)
    p.add_argument("device_id")
    p.add_argument("name", help="set_interval | set_calibration | set_threshold | set_time | "
                   "reboot | resend")
    p.add_argument("params", nargs="*", metavar="KEY=VALUE", help="integer parameters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=devices.cmd_command)
