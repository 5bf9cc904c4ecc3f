"""Handlers of `meterkit gateway devices add|list|show|remove` and `meterkit gateway command`.

They open the gateway database next to a running service (SQLite WAL, one short transaction
each) and call the registry and command-queue functions; the running ingest picks a new or
changed key up within its key cache's miss TTL.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from gateway.cli.service import load_or_report

if TYPE_CHECKING:
    from gateway.config import Config

__all__ = ["cmd_add", "cmd_command", "cmd_list", "cmd_remove", "cmd_show", "environment_errors",
           "parse_channel"]

T = TypeVar("T")


class UsageError(ValueError):
    """A command-line value is wrong; the message names the option and what is expected."""


def parse_channel(spec: str) -> tuple[str, dict[str, Any]]:
    """``INDEX:NAME:KIND[:UNIT[:FACTOR]]`` → (index, channel spec for the registry)."""
    parts = spec.split(":")
    if not 3 <= len(parts) <= 5 or not all(parts[:3]):
        raise UsageError(f"--channel {spec!r}: expected INDEX:NAME:KIND[:UNIT[:FACTOR]], "
                         "e.g. 0:el1:electric:Wh or 1:gas:gas:pulse:10")
    out: dict[str, Any] = {"name": parts[1], "kind": parts[2]}
    if len(parts) > 3:
        out["unit"] = parts[3]
    if len(parts) > 4:
        try:
            out["factor"] = float(parts[4]) if "." in parts[4] else int(parts[4])
        except ValueError:
            raise UsageError(f"--channel {spec!r}: FACTOR {parts[4]!r} is not a number") from None
    return parts[0], out


def _run(config: Config, fn: Callable[..., T], *args: Any, write: bool = True) -> T:
    from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
    from gateway.store.db import Database

    async def go() -> T:
        db = await Database.open(config.gateway.db_path, synchronous=config.storage.synchronous)
        try:
            return await (db.write(fn, *args) if write else db.read(fn, *args))
        finally:
            await db.close()

    return asyncio.run(go())


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def environment_errors(handler: Callable[[argparse.Namespace], int]
                        ) -> Callable[[argparse.Namespace], int]:
    """A database or secret this user cannot open is an environment problem (exit 2, one
    line saying what to do), not a traceback: the files belong to the service user."""
    @functools.wraps(handler)
    def wrapped(args: argparse.Namespace) -> int:
        from gateway.store.db import StorageError

        try:
            return handler(args)
        except (StorageError, sqlite3.Error, OSError) as exc:
            print(f"error: {exc}; the gateway's files belong to the service user: run "
                  f"`sudo -u meterkit meterkit gateway {_command(args)} ...`", file=sys.stderr)
            return 2
    return wrapped


def _command(args: argparse.Namespace) -> str:
    sub = getattr(args, "devices_command", None)
    return f"devices {sub}" if sub else str(getattr(args, "gateway_command", "") or "")


def _device_dict(device: Any) -> dict[str, Any]:
    return asdict(device)


@environment_errors
def cmd_add(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from gateway.registry import RegistryError, add_device, channels_from_pairs
    from gateway.store.keybox import KeyBox, KeyBoxError

    try:
        key = bytes.fromhex(args.key) if args.key else None
        if key is not None and len(key) != 16:
            raise UsageError(f"--key: {len(key)} bytes; expected 16 (32 hex digits)")
        channels = channels_from_pairs(parse_channel(c) for c in args.channel)
        site = args.site or config.gateway.site
        if site not in config.sites:
            raise UsageError(f"--site {site!r} is not configured (expected one of "
                             f"{', '.join(sorted(config.sites))})")
        box = KeyBox.load_or_create(config.gateway.secret_file)
        device = _run(config, lambda conn: add_device(conn, box, args.device_id, key, site=site,
                                                      channels=channels, replace=args.replace))
    except ValueError as exc:   # UsageError, RegistryError and bytes.fromhex
        return _fail(exc if isinstance(exc, UsageError | RegistryError)
                     else UsageError(f"--key: not hex ({exc})"))
    except KeyBoxError as exc:
        return _fail(exc)
    print(f"device {device.device_id} registered on site {device.site} with "
          f"{len(device.channels)} channel(s)")
    return 0


@environment_errors
def cmd_list(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from gateway.registry import list_devices

    devices = _run(config, list_devices, write=False)
    if args.json:
        print(json.dumps([_device_dict(d) for d in devices], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(devices)} device(s)")
    for col in ("device", "site", "channels", "firmware", "last seen", "signal"):
        table.add_column(col)
    for d in devices:
        names = ", ".join(f"{k}:{c.get('name')}" for k, c in sorted(d.channels.items()))
        table.add_row(d.device_id, d.site, names or "-", d.fw or "-", _when(d.last_seen),
                      "-" if d.csq is None else str(d.csq))
    Console().print(table)
    return 0


@environment_errors
def cmd_show(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from gateway.commands import pending_commands
    from gateway.registry import RegistryError, get_device

    try:
        device, pending = _run(config, lambda conn: (
            get_device(conn, args.device_id), pending_commands(conn, args.device_id)),
            write=False)
    except RegistryError as exc:
        return _fail(exc)
    if device is None:
        return _fail(UsageError(f"device {args.device_id} is not registered"))
    data = {**_device_dict(device), "pending_commands": pending}
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"device {device.device_id}", show_header=False)
    for key, value in data.items():
        if key in ("last_seen", "last_hello_at", "created_at", "updated_at"):
            value = _when(value)
        table.add_row(key, json.dumps(value, default=str) if isinstance(value, dict | list)
                      else str(value))
    Console().print(table)
    return 0


@environment_errors
def cmd_remove(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from gateway.registry import RegistryError, remove_device

    if not args.yes:
        if not sys.stdin.isatty():
            return _fail(UsageError("refusing to remove without --yes (stdin is not a terminal)"))
        answer = input(f"remove device {args.device_id}? its stored data stays [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not removed")
            return 1
    try:
        found = _run(config, remove_device, args.device_id)
    except RegistryError as exc:
        return _fail(exc)
    if not found:
        return _fail(UsageError(f"device {args.device_id} is not registered"))
    print(f"device {args.device_id} removed")
    return 0


@environment_errors
def cmd_command(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from gateway.commands import CommandError, queue_command

    try:
        params = {}
        for item in args.params:
            key, sep, value = item.partition("=")
            if not sep or not value.lstrip("-").isdigit():
                raise UsageError(f"{item!r}: expected KEY=INTEGER, e.g. upload_s=3600")
            params[key] = int(value)
        cmd_id = _run(config, queue_command, args.device_id, args.name, params)
    except (UsageError, CommandError, ValueError) as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps({"device": args.device_id, "name": args.name, "params": params,
                          "cmd_id": cmd_id}))
    else:
        print(f"command {args.name} queued for {args.device_id} as cmd_id {cmd_id}; "
              "it is sent with the board's next ACK")
    return 0


def _when(ts: int | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
