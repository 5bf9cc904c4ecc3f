"""Handler of `meterkit provision bulk`: a roll-out from a CSV, one board per row."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from provisioning.cli_common import console, guarded, make_registrar, write_stdout_json
from provisioning.cli_device import check_gateway, check_outputs, firmware_image
from provisioning.flow import Flashed, Plan, provision
from provisioning.messages import t

__all__ = ["cmd_bulk"]


@guarded
def cmd_bulk(args: argparse.Namespace) -> int:
    from provisioning.board import Board
    from provisioning.bulk import BulkRow, RowResult, read_rows, run_bulk
    from provisioning.errors import ProvisioningError
    from provisioning.label import write_label

    rows = read_rows(Path(args.csv))
    registrar = make_registrar(args)
    check_outputs(args)
    check_gateway(args)
    image, version, modules = firmware_image(args)

    def one(row: BulkRow, did: int) -> str:
        plan = Plan(did, row.site, row.channels, args.gateway_host, args.gateway_port,
                    building=row.building, apn=row.apn, replace=args.replace,
                    discard_backlog_key=args.discard_backlog_key)
        try:
            with Board.open(row.port) as board:
                out = provision(plan, board, registrar, image, expect_fw=version,
                                modules=modules)
        except ProvisioningError as exc:
            done = exc.partial
            if args.label_dir and isinstance(done, Flashed) and done.config_written:
                # Registered although it failed later: the label identifies the board.
                try:
                    _t, png, _q = write_label(Path(args.label_dir), done.device_id, row.site,
                                              row.building, row.channels)
                    exc.fields["label"] = str(png)
                except ProvisioningError as why:
                    exc.fields["label"] = f"not written: {why.why}"
            raise
        if args.label_dir:
            try:
                write_label(Path(args.label_dir), out.device_id, row.site, row.building,
                            row.channels, firmware=out.firmware)
            except ProvisioningError as exc:
                exc.fields.update(device_id=out.device_id, registered="yes",
                                  board="provisioned")
                raise
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
