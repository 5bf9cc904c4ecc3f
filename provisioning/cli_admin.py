"""Handlers of `meterkit provision rotate | decommission | label | ct-models | keys | ports`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioning.cli_common import console, guarded, make_registrar, say, write_stdout_json
from provisioning.errors import ProvisioningError

__all__ = ["cmd_ct_models", "cmd_decommission", "cmd_keys", "cmd_label", "cmd_ports",
           "cmd_rotate"]


@guarded
def cmd_rotate(args: argparse.Namespace) -> int:
    from provisioning.board import Board
    from provisioning.flow import rotate
    from provisioning.registrars import Direct

    registrar = make_registrar(args)
    with Board.open(args.port) as board:
        before: dict[str, int] = {}

        def last_hello(device_id: str) -> None:
            if isinstance(registrar, Direct):
                device = registrar.link.get(device_id)
                before[device_id] = (device.last_hello_at or 0) if device else 0

        out = rotate(board, registrar, before_apply=last_hello,
                     discard_backlog_key=args.discard_backlog_key)
    if isinstance(registrar, Direct) and args.wait_hello:
        # Only a hello sealed with the new key proves the rotation: one newer than the last.
        registrar.link.wait_for_hello(out.device_id, since=before.get(out.device_id, 0) + 1,
                                      config_hash=out.config_hash, timeout_s=args.wait_hello)
    if args.json:
        write_stdout_json({"ok": True, "device_id": out.device_id,
                           "config_hash": out.config_hash, "counter_limit": out.counter_limit})
    else:
        say(args, "rotated", id=out.device_id)
        if out.counter_limit is None:
            say(args, "counter_limit_unknown")
    return 0


@guarded
def cmd_decommission(args: argparse.Namespace) -> int:
    from provisioning.board import Board
    from provisioning.flow import decommission
    from provisioning.identity import format_id, parse_id

    did = parse_id(args.device_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ProvisioningError("refusing to decommission without --yes",
                                    where=format_id(did), todo="add --yes (stdin is no terminal)")
        if input(f"decommission {format_id(did)}? [y/N] ").strip().lower() not in ("y", "yes",
                                                                                  "s", "si"):
            return 1
    registrar = make_registrar(args)
    if args.port:
        with Board.open(args.port) as board:
            wiped = decommission(did, registrar, board)
    else:
        wiped = decommission(did, registrar, None)
    if args.json:
        write_stdout_json({"ok": True, "device_id": format_id(did), "board_wiped": wiped})
    else:
        from provisioning.messages import t

        say(args, "decommissioned", id=format_id(did),
            board=t("board_wiped", args.lang) if wiped else "")
    return 0


@guarded
def cmd_label(args: argparse.Namespace) -> int:
    from provisioning.channels import parse_channels
    from provisioning.identity import format_id, parse_id
    from provisioning.label import write_label

    did = format_id(parse_id(args.id))
    channels = parse_channels(args.channel)
    txt, png, payload = write_label(Path(args.out), did, args.site, args.building, channels)
    if args.json:
        write_stdout_json({"ok": True, "png": str(png), "txt": str(txt), "qr": payload})
    else:
        console().print(txt.read_text())
        say(args, "label", path=png)
    return 0


def cmd_ct_models(args: argparse.Namespace) -> int:
    from provisioning.ct_models import CT_MODELS, max_measurable_a

    rows = [{"model": m.name, "rated": m.describe(), "output": m.output,
             "ct_ratio": m.ct_ratio, "burden_ohm": m.burden_ohm(),
             "max_a": round(max_measurable_a(m.ct_ratio, m.burden_ohm()), 1), "note": m.note}
            for m in CT_MODELS.values()]
    if args.json:
        write_stdout_json({"models": rows})
        return 0
    from rich.table import Table

    table = Table(title="CT models (burden for current-output clamps: on the board)")
    for col in ("model", "rated", "ct_ratio", "burden_ohm", "max_a", "note"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(f"{r[c]:g}" if isinstance(r[c], float) else str(r[c])
                        for c in ("model", "rated", "ct_ratio", "burden_ohm", "max_a", "note")))
    console().print(table)
    return 0


@guarded
def cmd_keys(args: argparse.Namespace) -> int:
    from provisioning.bundle import fingerprint, new_gateway_keypair, new_installer_keypair
    from provisioning.keyfiles import save_keypair

    if args.kind == "gateway":
        priv, pub = new_gateway_keypair()
        name = "bundle"
    else:
        priv, pub = new_installer_keypair()
        name = "installer"
    priv_path, pub_path = save_keypair(Path(args.dir), name, priv, pub,
                                       overwrite=args.overwrite)
    if args.json:
        write_stdout_json({"ok": True, "private": str(priv_path), "public": str(pub_path),
                           "fingerprint": fingerprint(pub)})
    else:
        console().print(f"{priv_path} (0600)\n{pub_path}  fingerprint {fingerprint(pub)}")
    return 0


def cmd_ports(args: argparse.Namespace) -> int:
    from serial.tools import list_ports

    ports = [{"port": p.device, "description": p.description, "vid": p.vid, "pid": p.pid}
             for p in list_ports.comports()]
    if args.json:
        write_stdout_json({"ports": ports})
    elif not ports:
        console().print("no serial ports / nessuna porta seriale: plug the board in")
    else:
        for p in ports:
            console().print(f"{p['port']}  {p['description']}")
    return 0
