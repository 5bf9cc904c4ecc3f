"""Roll-out from a CSV: one board per row, every row attempted, exact ok/failed counts.

CSV columns (header required): `port`, `site`, `channels` (specs separated by `;`, e.g.
`0:ct:SCT-013-030;1:gas:10`), optional `device_id` (from the label; empty: generated),
`building`, `apn`. Rows are validated first; a bad row fails alone and the others go on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioning.channels import Channel, parse_channels
from provisioning.errors import ChannelError, ProvisioningError
from provisioning.identity import new_device_id, parse_id

__all__ = ["BulkRow", "RowResult", "read_rows", "run_bulk"]

REQUIRED = ("port", "site", "channels")


@dataclass(frozen=True, slots=True)
class BulkRow:
    """One CSV row, parsed; `error` is set when the row itself is invalid."""

    line: int
    port: str
    site: str
    building: str
    apn: str
    device_id: int | None
    channels: tuple[Channel, ...]
    error: ProvisioningError | None = None


@dataclass(frozen=True, slots=True)
class RowResult:
    line: int
    port: str
    device_id: str
    ok: bool
    code: str = ""
    message: str = ""


def read_rows(path: Path) -> list[BulkRow]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except OSError as exc:
        raise ProvisioningError("CSV not readable", where=str(path), why=str(exc),
                                todo="check the file name") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ProvisioningError(f"CSV lacks column(s) {', '.join(missing)}", where=str(path),
                                todo="header: port,site,channels[,device_id,building,apn]")
    rows = [_row(n, r) for n, r in enumerate(reader, start=2)]
    seen: dict[int, int] = {}
    for i, row in enumerate(rows):
        if row.device_id is None:
            continue
        if row.device_id in seen:
            rows[i] = BulkRow(row.line, row.port, row.site, row.building, row.apn, None, (),
                              ProvisioningError(f"device id {row.device_id:08x} repeats line "
                                                f"{seen[row.device_id]}", where=f"line {row.line}",
                                                todo="each board has its own label id"))
        else:
            seen[row.device_id] = row.line
    return rows


def _row(line: int, r: dict[str, str | None]) -> BulkRow:
    def get(k: str) -> str:
        return (r.get(k) or "").strip()

    try:
        did = parse_id(get("device_id")) if get("device_id") else None
        if not get("port"):
            raise ProvisioningError("port is empty", where=f"line {line}",
                                    todo="write the board's serial port, e.g. /dev/ttyUSB0")
        if not get("site"):
            raise ProvisioningError("site is empty", where=f"line {line}",
                                    todo="write the gateway site name")
        chans = tuple(parse_channels([s for s in get("channels").split(";") if s.strip()]))
    except ChannelError as exc:
        exc.where = f"line {line}, {exc.where}"
        return BulkRow(line, get("port"), get("site"), get("building"), get("apn"), None, (),
                       exc)
    except ProvisioningError as exc:
        return BulkRow(line, get("port"), get("site"), get("building"), get("apn"), None, (),
                       exc)
    return BulkRow(line, get("port"), get("site"), get("building"), get("apn"), did, chans)


def run_bulk(rows: list[BulkRow], provision_row: Callable[[BulkRow, int], str], *,
             on_done: Callable[[RowResult], None] | None = None) -> list[RowResult]:
    """Call `provision_row(row, device_id)` for each valid row; collect every outcome."""
    taken = {r.device_id for r in rows if r.device_id is not None}
    results = []
    for row in rows:
        did = row.device_id or new_device_id(taken)
        taken.add(did)
        if row.error is not None:
            res = RowResult(row.line, row.port, "", False, row.error.code, str(row.error))
        else:
            try:
                fw = provision_row(row, did)
                res = RowResult(row.line, row.port, f"{did:08x}", True, "", fw)
            except ProvisioningError as exc:
                res = RowResult(row.line, row.port, f"{did:08x}", False, exc.code,
                                _message(exc))
            except Exception as exc:
                # One board's unforeseen failure must not stop the roll-out of the others.
                res = RowResult(row.line, row.port, f"{did:08x}", False, "unexpected",
                                f"{type(exc).__name__}: {exc}")
        results.append(res)
        if on_done is not None:
            on_done(res)
    return results


def _message(exc: ProvisioningError) -> str:
    """The error, its cause and what it left behind (registered or not), on one line."""
    text = f"{exc} ({exc.why})" if exc.why else str(exc)
    state = [f"{k}: {v}" for k, v in exc.fields.items() if k in ("registered", "board", "label")]
    return "; ".join([text, *state])
