"""`meterkit provision …`: set boards up on site — identity, key, firmware, config, labels.

`register(subparsers)` builds the parsers; handlers live in `provisioning.cli_device` and
`provisioning.cli_admin` and import the heavy modules only when they run.
Exit codes: 0 done, 1 a problem the output explains, 2 usage.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["register"]

_RAW = argparse.RawDescriptionHelpFormatter

EPILOG = """\
examples (English / italiano):
  # on the gateway host: new board, id generated, one 30 A clamp and a gas meter at 10 L/pulse
  # sul gateway: scheda nuova, id generato, una pinza da 30 A e un contatore gas da 10 L/impulso
  meterkit provision device --port /dev/ttyUSB0 --gateway-config /etc/meterkit/gateway.toml \\
      --gateway-host gw.comune.it --site scuola-rodari --building palestra \\
      --channel 0:ct:SCT-013-030 --channel 1:gas:10 --label-dir etichette/

  # without the gateway (offline): a sealed bundle to import there later
  # senza gateway (offline): un pacchetto cifrato da importare poi sul gateway
  meterkit provision device --port /dev/ttyUSB0 --id 0000a1b2 --site scuola-rodari \\
      --gateway-host gw.comune.it --channel 0:ct:SCT-013-000:max_a=60 \\
      --bundle rodari.mkb --gateway-pubkey bundle.pub --installer-key installer.key
  #   then on the gateway / poi sul gateway:  meterkit gateway devices import rodari.mkb

  meterkit provision check --port /dev/ttyUSB0          self-test only / solo autodiagnosi
  meterkit provision bulk boards.csv --gateway-config ... --gateway-host ...
  meterkit provision rotate --port /dev/ttyUSB0 --gateway-config ...
  meterkit provision decommission 0000a1b2 --port /dev/ttyUSB0 --gateway-config ... --yes
  meterkit provision ct-models                          known clamps / pinze note
Step-by-step guide / guida passo passo: docs/INSTALLER.md
"""

CHANNEL_HELP = """\
channels / canali:
  INDEX:ct:MODEL[:key=value...]     a CT clamp, e.g. 0:ct:SCT-013-030  0:ct:SCT-013-000:max_a=60
      keys: name, nominal_v (230), pf (1.0), burden_ohm (current-output clamps, 33),
            max_a (largest expected current: refused if the clamp clips below it),
            interval_s (900|3600), pin;  MODEL custom needs ratio= (and burden_ohm=)
  INDEX:gas:LITRES[:key=value...]   a gas meter's pulse output, LITRES per pulse, e.g. 1:gas:10
      keys: name, interval_s (3600|900), pin, edge (falling|rising)
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "it"),
                   default=os.environ.get("METERKIT_LANG", "en")
                   if os.environ.get("METERKIT_LANG") in ("en", "it") else "en",
                   help="language of messages (default $METERKIT_LANG or en)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _registrar(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("registration (one of) / registrazione")
    g.add_argument("--gateway-config", metavar="TOML",
                   help="register directly: the gateway's config (run on the gateway host)")
    g.add_argument("--bundle", metavar="FILE",
                   help="register offline: write/extend this sealed bundle (.mkb, 0600)")
    g.add_argument("--gateway-pubkey", metavar="FILE", help="the gateway's bundle.pub")
    g.add_argument("--installer-key", metavar="FILE", help="your installer.key (signs)")


def _board(p: argparse.ArgumentParser, *, port: bool = True) -> None:
    if port:
        p.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0, COM5")
    p.add_argument("--target", choices=("esp32", "unix"), default="esp32",
                   help="board type: esp32 (default) or unix (the virtual board)")
    p.add_argument("--firmware", metavar="DIR", help="meterkit folder with firmware/ and "
                   "protocol/ (default: the firmware shipped in this tool's package)")
    p.add_argument("--config-only", action="store_true",
                   help="write only config.json; the board's firmware must match this tool's")


def _gateway_addr(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gateway-host", required=True,
                   help="address the BOARD uses to reach the gateway (not 0.0.0.0)")
    p.add_argument("--gateway-port", type=int, default=4590, help="gateway ingest port (4590)")
    p.add_argument("--replace", action="store_true",
                   help="re-provision a registered board (new key, new settings)")
    _discard(p)
    p.add_argument("--check-gateway", action="store_true",
                   help="first check that this laptop reaches the gateway's ingest port "
                        "(only meaningful on the network the board will use)")


def _discard(p: argparse.ArgumentParser) -> None:
    p.add_argument("--discard-backlog-key", action="store_true",
                   help="change the key even though the board's last key rotation is not "
                        "confirmed: the frames it still holds sealed with its previous key "
                        "are lost (e.g. a board that was replaced) / cambia la chiave anche se "
                        "la sostituzione precedente non è confermata: i dati in coda con la "
                        "chiave precedente vanno persi")


def _outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-dir", metavar="DIR", help="write label-<id>.txt and .png here")
    p.add_argument("--key-out", metavar="DIR", help="also save the key as DIR/<id>.key (0600)")
    p.add_argument("--show-key", action="store_true", help="print the key (never by default)")
    p.add_argument("--no-reboot", action="store_true", help="leave the board in its REPL")
    p.add_argument("--wait-hello", type=float, default=0, metavar="S",
                   help="with --gateway-config: wait up to S seconds for the board's first "
                        "message at the gateway")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from provisioning import cli_admin, cli_bulk, cli_device
    from provisioning.cli_examples import EXAMPLES

    top = subparsers.add_parser(
        "provision", help="set up boards on site: identity, keys, flashing, labels",
        description="Provision meter boards over USB: generate an id and a key, write the "
                    "firmware and config (each file verified by sha256 on the board), run the "
                    "board's self-test, register the board at the gateway (directly or via a "
                    "sealed bundle) and print its label.",
        epilog=EPILOG, formatter_class=_RAW)
    top.set_defaults(handler=lambda _a: (top.print_help(), 2)[1])
    sub = top.add_subparsers(dest="provision_command", metavar="ACTION")

    p = sub.add_parser("device", help="provision one board / configura una scheda",
                       epilog=CHANNEL_HELP + "\n" + EPILOG, formatter_class=_RAW)
    _board(p)
    p.add_argument("--id", help="device id from the label (8 hex digits); default: generated")
    p.add_argument("--site", default="", help="site name on the gateway ([sites.<name>])")
    p.add_argument("--building", default="", help="building / edificio (label, registry)")
    p.add_argument("--channel", action="append", default=[], metavar="SPEC",
                   help="channel spec, repeatable (asked interactively when omitted)")
    p.add_argument("--apn", default="", help="the SIM's APN, e.g. iot.1nce.net")
    _gateway_addr(p)
    _registrar(p)
    _outputs(p)
    _common(p)
    p.set_defaults(handler=cli_device.cmd_device)

    p = sub.add_parser("bulk", help="provision the boards listed in a CSV (roll-out)",
                       description="CSV header: port,site,channels[,device_id,building,apn]; "
                       "channels separated by ';' (0:ct:SCT-013-030;1:gas:10). Every row is "
                       "attempted; the summary counts ok and failed rows exactly.",
                       epilog=CHANNEL_HELP + "\n" + EXAMPLES["bulk"], formatter_class=_RAW)
    p.add_argument("csv", help="the roll-out CSV")
    _board(p, port=False)
    _gateway_addr(p)
    _registrar(p)
    p.add_argument("--label-dir", metavar="DIR", help="write a label per board here")
    _common(p)
    p.set_defaults(handler=cli_bulk.cmd_bulk)

    p = sub.add_parser("check", help="self-test a board without writing anything",
                       epilog=EXAMPLES["check"], formatter_class=_RAW)
    p.add_argument("--port", required=True)
    p.add_argument("--no-reboot", action="store_true", help="leave the board in its REPL")
    _common(p)
    p.set_defaults(handler=cli_device.cmd_check)

    p = sub.add_parser("rotate", help="give a board a new key (board and gateway together)",
                       epilog=EXAMPLES["rotate"], formatter_class=_RAW)
    p.add_argument("--port", required=True)
    p.add_argument("--wait-hello", type=float, default=0, metavar="S")
    _discard(p)
    _registrar(p)
    _common(p)
    p.set_defaults(handler=cli_admin.cmd_rotate)

    p = sub.add_parser("decommission", help="remove a board from the gateway (and its key "
                       "from the board when --port is given)",
                       epilog=EXAMPLES["decommission"], formatter_class=_RAW)
    p.add_argument("device_id")
    p.add_argument("--port", help="the board, if connected: its config and key are erased")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _registrar(p)
    _common(p)
    p.set_defaults(handler=cli_admin.cmd_decommission)

    p = sub.add_parser("label", help="(re)print a label: text and QR code PNG, never the key",
                       epilog=CHANNEL_HELP + "\n" + EXAMPLES["label"], formatter_class=_RAW)
    p.add_argument("--id", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--building", default="")
    p.add_argument("--channel", action="append", default=[], metavar="SPEC", required=True)
    p.add_argument("--out", default=".", metavar="DIR")
    _common(p)
    p.set_defaults(handler=cli_admin.cmd_label)

    p = sub.add_parser("ct-models", help="the CT clamps this tool knows, with their settings",
                       epilog=EXAMPLES["ct-models"], formatter_class=_RAW)
    _common(p)
    p.set_defaults(handler=cli_admin.cmd_ct_models)

    p = sub.add_parser("keys", help="create the key pairs for offline bundles",
                       description="gateway: the gateway's bundle key pair (bundle.key stays "
                       "on the gateway, bundle.pub goes to installers). installer: your "
                       "signing key pair (installer.pub goes into the gateway's trusted file).",
                       epilog=EXAMPLES["keys"], formatter_class=_RAW)
    p.add_argument("kind", choices=("gateway", "installer"))
    p.add_argument("--dir", default=".", help="where to write the files")
    p.add_argument("--overwrite", action="store_true", help="replace an existing key")
    _common(p)
    p.set_defaults(handler=cli_admin.cmd_keys)

    p = sub.add_parser("ports", help="list serial ports", epilog=EXAMPLES["ports"],
                       formatter_class=_RAW)
    _common(p)
    p.set_defaults(handler=cli_admin.cmd_ports)
