"""`meterkit protocol ...`: decode captured frames and check the shared test vectors (CPython)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"

EPILOG = """\
examples:
  # decode a frame captured from a modem log (spaces and colons in HEX are ignored)
  meterkit protocol decode 4d4b010200a1b2c3...f5a9e89189de4bae \
      --key 000102030405060708090a0b0c0d0e0f
  # the key from a file (32 hex digits, or 16 raw bytes), machine-readable output
  meterkit protocol decode - --key-file site-keys/00a1b2c3.key --json < frame.hex
  # verify this installation against the shared vectors (RFC 3610 + our frames)
  meterkit protocol vectors --check

exit codes: 0 ok, 1 the frame or a vector failed, 2 bad command-line input.
The byte-level specification is protocol/PROTOCOL.md.
"""

DECODE_EPILOG = """\
examples:
  meterkit protocol decode 4d4b0185... --key 000102030405060708090a0b0c0d0e0f
  meterkit protocol decode "4d 4b 01 85 ..." --key-file dev.key --json
  echo 4d4b0185... | meterkit protocol decode - --key-file dev.key

A wrong key, or any changed byte, gives "bad_tag: ..." and exit code 1: the frame is
authenticated, so nothing of its payload is shown. Errors name the failing field and the
byte offset in the frame.
"""


def register(subparsers: Any) -> None:
    """Add `protocol decode` and `protocol vectors` to the meterkit command."""
    p = subparsers.add_parser(
        "protocol",
        help="decode captured frames and check the shared test vectors",
        description="Wire protocol v1 tools: decode a captured frame, verify the test vectors.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="protocol_command", metavar="ACTION")
    p.set_defaults(handler=lambda _args: _usage(p))

    d = sub.add_parser(
        "decode",
        help="decrypt and decode one frame given as hex",
        description="Check, decrypt and decode one frame; print it as JSON.",
        epilog=DECODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("hex", metavar="HEX", help="the whole frame as hex, or '-' to read stdin")
    key = d.add_mutually_exclusive_group(required=True)
    key.add_argument("--key", metavar="HEX", help="the device key: 32 hex digits (AES-128)")
    key.add_argument(
        "--key-file", metavar="PATH", type=Path, help="file holding the key (hex or 16 raw bytes)"
    )
    d.add_argument(
        "--json", action="store_true", help="one JSON object {header, message} and nothing else"
    )
    d.set_defaults(handler=_decode)

    v = sub.add_parser(
        "vectors",
        help="list or verify the shared test vectors",
        description="List the test vectors; with --check verify them against this code.",
        epilog="example:\n  meterkit protocol vectors --check\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--check", action="store_true", help="verify every vector; exit 1 on failure")
    v.add_argument(
        "--dir", type=Path, default=VECTORS_DIR, help="vector directory (default: the packaged one)"
    )
    v.set_defaults(handler=_vectors)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _parse_hex(text: str, what: str) -> bytes:
    cleaned = "".join(text.split()).replace(":", "").replace("-", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError as e:
        raise _InputError(f"{what} is not valid hex ({e})") from None


class _InputError(Exception):
    """Bad command-line input: exit code 2."""


def _load_key(args: argparse.Namespace) -> bytes:
    if args.key is not None:
        key = _parse_hex(args.key, "--key")
    else:
        try:
            data = args.key_file.read_bytes()
        except OSError as e:
            raise _InputError(f"cannot read --key-file {args.key_file}: {e.strerror}") from None
        key = data if len(data) == 16 else _parse_hex(data.decode("ascii", "replace"), "key file")
    if len(key) != 16:
        raise _InputError(f"the key must be 16 bytes (32 hex digits), got {len(key)} bytes")
    return key


def _decode(args: argparse.Namespace) -> int:
    from protocol import codec, frame
    from protocol.errors import ProtocolError

    try:
        key = _load_key(args)
        text = sys.stdin.read() if args.hex == "-" else args.hex
        raw = _parse_hex(text, "HEX")
    except _InputError as e:
        _err(str(e))
        return 2
    try:
        header = frame.parse_header(raw)
        msg = codec.decode(raw, key)
    except ProtocolError as e:
        _err(str(e))
        return 1
    head = {
        "version": frame.VERSION,
        "type": frame.TYPE_NAMES[header.ftype],
        "direction": "downlink" if header.downlink else "uplink",
        "device_id": f"{header.device_id:08x}",
        "counter": header.counter,
        "payload_bytes": header.length,
        "frame_bytes": header.total_len,
    }
    if args.json:
        print(json.dumps({"header": head, "message": msg}))
        return 0
    print(
        f"{head['type']} {head['direction']} device {head['device_id']} counter "
        f"{header.counter}: {header.total_len} bytes ({header.length} payload), tag ok"
    )
    print(json.dumps(msg, indent=2))
    return 0


def _vectors(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from protocol.vectors_check import check_all

    console = Console()
    try:
        results = check_all(args.dir, verify=args.check)
    except (OSError, ValueError, KeyError) as e:
        _err(f"cannot read the vectors in {args.dir}: {e}")
        return 2
    table = Table(
        title=f"protocol vectors in {args.dir}" + ("" if args.check else " (not checked)")
    )
    table.add_column("file")
    table.add_column("vector")
    table.add_column("result")
    failed = 0
    for r in results:
        if r.ok is None:
            status = "-"
        elif r.ok:
            status = "[green]ok[/green]"
        else:
            failed += 1
            status = f"[red]FAIL[/red] {r.detail}"
        table.add_row(r.file, r.name, status)
    console.print(table)
    if args.check:
        console.print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
