"""Handlers of `meterkit provision device | bulk | check`: the installer's everyday commands."""

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

__all__ = ["cmd_bulk", "cmd_check", "cmd_device"]


def _image(args: argparse.Namespace) -> tuple[Any, tuple[int, ...], list[str]]:
    """(image to write or None with --config-only, its version, modules to self-test)."""
    from provisioning.firmware_files import load_image

    image = load_image(Path(args.firmware) if args.firmware else None, target=args.target)
    return (None if args.config_only else image), image.version, image.modules


def _ask_channels() -> list[str]:
    """Ask for the channels on a terminal; each answer is validated at once and re-asked."""
    from rich.prompt import Prompt

    from provisioning.channels import parse_channel
    from provisioning.ct_models import CT_MODELS
    from provisioning.errors import ChannelError

    out = console()
    out.print("CT models / modelli: " + ", ".join(CT_MODELS) + ", custom")
    questions = (
        ("0", "ct", "CT clamp model on channel 0 / modello pinza (empty: none)", "SCT-013-030"),
        ("1", "gas", "gas litres per pulse on channel 1 / litri per impulso (empty: none)", ""),
    )
    specs = []
    for index, kind, question, default in questions:
        while True:
            answer = Prompt.ask(question, default=default).strip()
            if not answer:
                break
            spec = f"{index}:{kind}:{answer}"
            if kind == "ct":
                volts = Prompt.ask("nominal voltage / tensione nominale [V]", default="230")
                spec += f":nominal_v={volts}"
            try:
                for w in parse_channel(spec).warnings:
                    out.print(f"[yellow]{w}[/]")
            except ChannelError as exc:
                out.print(f"[red]{exc}[/] → {exc.todo}")
                continue
            specs.append(spec)
            break
    return specs


def _after(args: argparse.Namespace, registrar: Registrar, out: Flashed, site: str,
           channels: tuple[Channel, ...]) -> dict[str, Any]:
    """Key file, label, hello check: what follows a successful write."""
    from provisioning.identity import write_secret_file
    from provisioning.label import write_label

    extra: dict[str, Any] = {}
    if isinstance(registrar, BundleRegistrar):
        say(args, "bundled", path=registrar.path)
        extra["bundle"] = str(registrar.path)
    else:
        say(args, "registered")
    if args.key_out:
        path = write_secret_file(Path(args.key_out) / f"{out.device_id}.key",
                                 out.key.hex().encode() + b"\n")
        say(args, "key_file", path=path)
        extra["key_file"] = str(path)
    if args.show_key:
        if args.json:
            extra["key"] = out.key.hex()
        else:
            console().print(t("key_shown", args.lang, key=out.key.hex()))
    if args.label_dir:
        _txt, png, _qr = write_label(Path(args.label_dir), out.device_id, site, args.building,
                                     channels, firmware=out.firmware)
        say(args, "label", path=png)
        extra["label"] = str(png)
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

    specs = args.channel or (_ask_channels() if sys.stdin.isatty() and not args.json else [])
    channels = tuple(parse_channels(specs))
    registrar = make_registrar(args)
    site = args.site or (registrar.link.default_site if isinstance(registrar, Direct) else "")
    image, version, modules = _image(args)
    did = parse_id(args.id) if args.id else new_device_id()
    for c in channels:
        for w in c.warnings:
            console(stderr=True).print(f"[yellow]{t('warning', args.lang)}[/] ch{c.index}: {w}")
    plan = Plan(did, site, channels, args.gateway_host, args.gateway_port,
                building=args.building, apn=args.apn, replace=args.replace,
                discard_backlog_key=args.discard_backlog_key)
    _check_gateway(args)
    say(args, "connecting", port=args.port)
    with Board.open(args.port) as board:
        out = _run_with_progress(args, lambda cb: provision(
            plan, board, registrar, image, expect_fw=version, modules=modules, progress=cb,
            reboot=not args.no_reboot))
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


def _check_gateway(args: argparse.Namespace) -> None:
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
    from provisioning.firmware_files import load_image
    from provisioning.selftest import run_selftest

    say(args, "connecting", port=args.port)
    with Board.open(args.port) as board:
        info = board.connect()
        target = "unix" if info.platform == "linux" else "esp32"
        st = run_selftest(board, load_image(target=target).modules)
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


@guarded
def cmd_bulk(args: argparse.Namespace) -> int:
    from provisioning.board import Board
    from provisioning.bulk import BulkRow, RowResult, read_rows, run_bulk

    rows = read_rows(Path(args.csv))
    registrar = make_registrar(args)
    _check_gateway(args)
    image, version, modules = _image(args)

    def one(row: BulkRow, did: int) -> str:
        plan = Plan(did, row.site, row.channels, args.gateway_host, args.gateway_port,
                    building=row.building, apn=row.apn, replace=args.replace,
                    discard_backlog_key=args.discard_backlog_key)
        with Board.open(row.port) as board:
            out = provision(plan, board, registrar, image, expect_fw=version,
                            modules=modules)
        if args.label_dir:
            from provisioning.label import write_label

            write_label(Path(args.label_dir), out.device_id, row.site, row.building,
                        row.channels, firmware=out.firmware)
        return out.firmware

    if args.json:
        results = run_bulk(rows, one)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("bulk"), BarColumn(), MofNCompleteColumn(),
                      console=console()) as bar:
            task = bar.add_task("", total=len(rows))

            def done(_r: RowResult) -> None:
                bar.advance(task)

            results = run_bulk(rows, one, on_done=done)
    ok = sum(1 for r in results if r.ok)
    failed = len(results) - ok
    if args.json:
        write_stdout_json({"ok": ok, "failed": failed, "total": len(results),
                           "rows": [_row(r) for r in results]})
    else:
        from rich.table import Table

        table = Table(title=t("bulk_summary", args.lang, ok=ok, failed=failed,
                              total=len(results)))
        for col in ("line", "port", "device", "result", "detail"):
            table.add_column(col)
        for r in results:
            table.add_row(str(r.line), r.port, r.device_id or "-",
                          "[green]ok[/]" if r.ok else f"[bold red]{r.code}[/]", r.message)
        console().print(table)
    return 0 if failed == 0 else 1


def _row(r: Any) -> dict[str, Any]:
    return {"line": r.line, "port": r.port, "device_id": r.device_id, "ok": r.ok,
            "code": r.code, "message": r.message}
