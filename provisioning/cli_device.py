"""Handlers of `meterkit provision device | check`: the installer's everyday commands."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from provisioning.channels import Channel
from provisioning.cli_common import console, guarded, make_registrar, say, write_stdout_json
from provisioning.flow import Flashed, Plan, provision
from provisioning.messages import t
from provisioning.registrars import BundleRegistrar, Direct, Registrar

__all__ = ["check_gateway", "check_outputs", "cmd_check", "cmd_device", "firmware_image"]


def firmware_image(args: argparse.Namespace) -> tuple[Any, tuple[int, ...], list[str]]:
    """(image to write or None with --config-only, its version, modules to self-test)."""
    from provisioning.firmware_files import load_image

    image = load_image(Path(args.firmware) if args.firmware else None, target=args.target)
    return (None if args.config_only else image), image.version, image.modules


def _ask(args: argparse.Namespace, registrar: Registrar) -> None:
    """Ask on the terminal for what --site/--building/--channel did not give."""
    from rich.prompt import Prompt

    from provisioning.ask import ask_device

    out = console()
    direct = isinstance(registrar, Direct)
    answers = ask_device(
        lambda q, default: Prompt.ask(q, default=default, console=out),
        lambda text: out.print(text, markup=False),
        site=args.site or (registrar.link.default_site if direct else ""),
        sites=registrar.link.sites if direct else None, building=args.building)
    args.site, args.building, args.channel = answers.site, answers.building, answers.channels


def _save(args: argparse.Namespace, out: Flashed, site: str,
          channels: tuple[Channel, ...]) -> dict[str, Any]:
    """Key file and label of a board that holds its config (and is registered)."""
    from provisioning.errors import FileWriteError
    from provisioning.identity import write_secret_file
    from provisioning.label import write_label

    extra: dict[str, Any] = {}
    later = (f"{out.device_id} is registered and the board holds its config; fix the path "
             f"and write the label with `meterkit provision label --id {out.device_id} ...`")
    try:
        if args.key_out:
            path = write_secret_file(Path(args.key_out) / f"{out.device_id}.key",
                                     out.key.hex().encode() + b"\n")
            say(args, "key_file", path=path)
            extra["key_file"] = str(path)
        if args.label_dir:
            _txt, png, _qr = write_label(Path(args.label_dir), out.device_id, site,
                                         args.building, channels, firmware=out.firmware)
            say(args, "label", path=png)
            extra["label"] = str(png)
    except FileWriteError as exc:
        exc.fields.update(device_id=out.device_id, registered="yes")
        exc.todo = f"{exc.todo}; {later}"
        raise
    return extra


def _save_after_failure(args: argparse.Namespace, exc: Exception, site: str,
                        channels: tuple[Channel, ...]) -> None:
    """A board that got its config but failed later (self-test) is registered: still write
    its key file and label, so the installer can identify it, and say where they are."""
    from provisioning.errors import ProvisioningError

    out = getattr(exc, "partial", None)
    if not isinstance(exc, ProvisioningError) or not isinstance(out, Flashed) \
            or not out.config_written:
        return
    try:
        exc.fields.update(_save(args, out, site, channels))
    except ProvisioningError as why:
        exc.fields["files"] = f"not written: {why} ({why.why})"


def _after(args: argparse.Namespace, registrar: Registrar, out: Flashed, site: str,
           channels: tuple[Channel, ...]) -> dict[str, Any]:
    """Key file, label, hello check: what follows a successful write."""
    extra: dict[str, Any] = {}
    if isinstance(registrar, BundleRegistrar):
        say(args, "bundled", path=registrar.path)
        extra["bundle"] = str(registrar.path)
    else:
        say(args, "registered")
    extra.update(_save(args, out, site, channels))
    if args.show_key:
        if args.json:
            extra["key"] = out.key.hex()
        else:
            console().print(t("key_shown", args.lang, key=out.key.hex()))
    if args.wait_hello and isinstance(registrar, Direct):
        say(args, "waiting_hello")
        registrar.link.wait_for_hello(out.device_id, since=int(time.time()) - 5,
                                      config_hash=out.config_hash, timeout_s=args.wait_hello)
        say(args, "hello_ok")
        extra["hello"] = True
    return extra


def _selftest_table(args: argparse.Namespace, checks: dict[str, tuple[str, str]]) -> None:
    from rich.table import Table

    table = Table(title=t("selftest", args.lang))
    for col in ("check", "result", "detail"):
        table.add_column(t(col, args.lang))
    colour = {"ok": "green", "fail": "bold red"}
    for name, (status, detail) in checks.items():
        table.add_row(name, f"[{colour.get(status, 'yellow')}]{status}[/]", detail)
    console().print(table)


@guarded
def cmd_device(args: argparse.Namespace) -> int:
    from provisioning.board import Board
    from provisioning.channels import parse_channels
    from provisioning.identity import new_device_id, parse_id

    interactive = not args.channel and sys.stdin.isatty() and not args.json
    if not interactive:      # a wrong --channel is reported before anything else is checked
        channels = tuple(parse_channels(args.channel))
    registrar = make_registrar(args)
    if interactive:
        _ask(args, registrar)
        channels = tuple(parse_channels(args.channel))
    site = args.site or (registrar.link.default_site if isinstance(registrar, Direct) else "")
    image, version, modules = firmware_image(args)
    did = parse_id(args.id) if args.id else new_device_id()
    for c in channels:
        for w in c.warnings:
            console(stderr=True).print(f"[yellow]{t('warning', args.lang)}[/] ch{c.index}: {w}")
    plan = Plan(did, site, channels, args.gateway_host, args.gateway_port,
                building=args.building, apn=args.apn, replace=args.replace,
                discard_backlog_key=args.discard_backlog_key)
    check_outputs(args)
    check_gateway(args)
    say(args, "connecting", port=args.port)
    try:
        with Board.open(args.port) as board:
            out = _run_with_progress(args, lambda cb: provision(
                plan, board, registrar, image, expect_fw=version, modules=modules,
                progress=cb, reboot=not args.no_reboot))
    except Exception as exc:
        _save_after_failure(args, exc, site, channels)
        raise
    _counter_notes(args, out)
    extra = _after(args, registrar, out, site, channels)
    if args.json:
        write_stdout_json({"ok": True, "device_id": out.device_id, "site": site,
                           "config_hash": out.config_hash, "firmware": out.firmware,
                           "files": out.files, "channels": [c.board() for c in channels],
                           "selftest": out.selftest.checks if out.selftest else {},
                           "counter_limit": out.counter_limit,
                           "stored_counter": out.stored_counter,
                           "counter_raised_to": out.counter_raised_to,
                           **({"warning": t("counter_unknown_stored", "en",
                                            id=out.device_id, max=out.stored_counter)}
                              if out.counter_unknown else {}),
                           **extra})
    else:
        if out.selftest:
            _selftest_table(args, out.selftest.checks)
        say(args, "done", id=out.device_id, fw=out.firmware, hash=out.config_hash)
    return 0


def _counter_notes(args: argparse.Namespace, out: Flashed) -> None:
    """Say that the board's frame counter was moved past the frames the gateway holds for the
    id, or warn that it could not be checked (see provisioning/flow.py `provision`)."""
    if out.counter_raised_to is not None:
        say(args, "counter_raised", id=out.device_id, max=out.stored_counter,
            limit=out.counter_raised_to)
    if out.counter_unknown and not args.json:
        console(stderr=True).print(f"[yellow]{t('warning', args.lang)}[/] " + t(
            "counter_unknown_stored", args.lang, id=out.device_id, max=out.stored_counter))


def check_outputs(args: argparse.Namespace) -> None:
    """Label and key folders must take files before anything is registered or written."""
    from provisioning.diskio import check_writable_dir

    if getattr(args, "label_dir", None):
        check_writable_dir(Path(args.label_dir), "label folder")
    if getattr(args, "key_out", None):
        check_writable_dir(Path(args.key_out), "key folder")
    if getattr(args, "bundle", None):
        check_writable_dir(Path(args.bundle).parent, "bundle folder")


def check_gateway(args: argparse.Namespace) -> None:
    if args.check_gateway:
        from provisioning.gateway_link import check_ingest_reachable

        check_ingest_reachable(args.gateway_host, args.gateway_port)


def _run_with_progress(args: argparse.Namespace, fn: Any) -> Any:
    if args.json:
        return fn(lambda _s, _d, _n: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(t("writing", args.lang)), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), transient=True,
                  console=console()) as bar:
        task = bar.add_task("", total=None)

        def cb(step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=step)

        return fn(cb)


@guarded
def cmd_check(args: argparse.Namespace) -> int:
    from provisioning.board import Board
    from provisioning.errors import ProvisioningError
    from provisioning.firmware_files import load_image
    from provisioning.selftest import run_selftest

    say(args, "connecting", port=args.port)
    with Board.open(args.port) as board:
        info = board.connect()
        target = "unix" if info.platform == "linux" else "esp32"
        try:
            modules: list[str] | None = load_image(target=target).modules
        except ProvisioningError:
            modules = None  # the hardware checks do not need this tool's firmware files
        st = run_selftest(board, modules)
        if not args.no_reboot:
            board.reset()
    fw = ".".join(map(str, info.firmware)) if info.firmware else None
    if args.json:
        write_stdout_json({"ok": not st.failed, "micropython": info.version, "firmware": fw,
                           "platform": info.platform, "device_id": st.device_id,
                           "config_hash": st.config_hash, "checks": st.checks})
    else:
        console().print(f"MicroPython {'.'.join(map(str, info.version))} ({info.platform}), "
                        f"firmware {fw or '-'}")
        _selftest_table(args, st.checks)
    return 1 if st.failed else 0
