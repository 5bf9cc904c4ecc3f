"""`meterkit gateway devices import BUNDLE`: apply an installer's sealed bundle on the gateway.

Hook (gateway/cli/__init__.py, after the `remove` parser):

    from provisioning.gateway_import import register_import
    register_import(dsub)

The gateway's bundle key and trusted installers default to `bundle.key` and
`installers.pub` next to the gateway secret file. Each record is applied in its own
transaction; one that is not newer than what the registry holds (an old or replayed bundle)
is skipped, so a rotated key is never rolled back.

A rotation (or replace) in a bundle is applied even when the board's previous key change is
not confirmed yet: the board already uses the bundle's key, and refusing it would leave the
gateway unable to open anything the board sends. The interactive refusal of
`meterkit provision rotate` does not apply here; instead the result says when the previous
key kept for the board's backlog had to be discarded (`discarded_backlog_key`).

An add or replace of an id the gateway already holds frames of is refused when the record's
counter limit (`first_counter`, read from the board by the installer's tool) is not above the
highest stored counter: the gateway stores one frame per (id, counter), so every frame of that
board would be dropped as a replay (its flash was erased, or it is another board). Offline the
tool cannot know the stored counters; the installer provisions the board under a new id, or
again on the gateway host, where the tool moves the board's counter past them. Without a
counter limit in the record the import applies it and warns (`counter_note`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["COUNTER_NOTE", "DISCARDED_NOTE", "apply_bundle", "cmd_import", "register_import"]


DISCARDED_NOTE = ("the previous key, kept for frames the board sealed before its last key "
                  "change, was discarded: that change was not confirmed yet, so frames still "
                  "queued with it can no longer be stored")


COUNTER_NOTE = ("the gateway already holds frames of this id up to counter {max} and the "
                "record does not say where the board's frame counter stands: if the board "
                "restarted its counter (flash erased, another board), its frames are dropped as "
                "replays; then provision it under a new device id, or again on the gateway host")


def register_import(devices_subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d = devices_subparsers.add_parser(
        "import", help="register the boards of an installer's provisioning bundle (.mkb)",
        description="Verify the installer's signature, decrypt with the gateway's bundle key "
                    "and apply each record (add, replace, rotate, remove).",
        epilog="examples:\n  meterkit gateway devices import rodari.mkb\n"
               "  meterkit gateway devices import rodari.mkb --dry-run --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--config", "-c", default=_default_config(), metavar="PATH",
                   help="gateway TOML config (default: %(default)s)")
    d.add_argument("bundle", help="the .mkb file from the installer")
    d.add_argument("--bundle-key", metavar="FILE",
                   help="the gateway's bundle private key (default: bundle.key next to the "
                        "secret file)")
    d.add_argument("--trusted", metavar="FILE",
                   help="trusted installer public keys (default: installers.pub next to the "
                        "secret file)")
    d.add_argument("--dry-run", action="store_true", help="verify and list, change nothing")
    d.add_argument("--max-age-days", type=float, default=30,
                   help="refuse bundles older than this (replays after a decommission)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=cmd_import)


def _default_config() -> str:
    import os

    return os.environ.get("METERKIT_CONFIG", "/etc/meterkit/gateway.toml")


def apply_bundle(link: Any, bundle: Any, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """Apply each record through `link` (a DirectRegistrar); one result dict per record."""
    from provisioning.errors import ProvisioningError, RegistrationError
    from provisioning.registrars import Direct

    direct = Direct(link)
    results = []
    for rec in bundle.records:
        row: dict[str, Any] = {"device_id": rec.device_id, "action": rec.action}
        try:
            current = link.get(rec.device_id)
            applied = 0
            if current is not None:
                applied = int((current.calibration.get("provisioning") or {}).get("issued_at", 0))
            if current is not None and rec.issued_at <= applied:
                row.update(result="skipped", reason="not newer than the registry (replayed or "
                           "old bundle)")
                results.append(row)
                continue
            notes = []
            stored = (direct.stored_counter_max(rec.device_id)
                      if rec.action in ("add", "replace") else None)
            if stored is not None:
                row.update(stored_counter=stored, first_counter=rec.first_counter)
                if rec.first_counter is None:
                    row.update(counter_unknown=True)
                    notes.append(COUNTER_NOTE.format(max=stored))
                elif rec.first_counter <= stored:
                    raise RegistrationError(
                        f"the board's frame counter continues at {rec.first_counter}, but the "
                        f"gateway already holds frames of {rec.device_id} up to counter "
                        f"{stored}", where=rec.device_id,
                        why="the gateway stores one frame per counter: every frame of this "
                            "board would be dropped as a replay (its flash was erased, or it "
                            "is another board)",
                        todo="provision the board under a new device id (meterkit provision "
                             f"device --replace --id NEW) and decommission {rec.device_id}; "
                             "or provision it again on the gateway host (meterkit provision "
                             "device --replace --gateway-config ...), which moves its counter "
                             "past the stored frames")
            if dry_run:
                row.update(result="would apply")
            else:
                direct.apply(direct.validate(rec))
                row.update(result="applied")
                done = direct.applied.get(rec.device_id)
                if done is not None and done.discarded_backlog_key:
                    row.update(discarded_backlog_key=True)
                    notes.append(DISCARDED_NOTE)
            if notes:
                row.update(note="; ".join(notes))
        except ProvisioningError as exc:
            row.update(result="failed", reason=str(exc) + (f": {exc.why}" if exc.why else ""),
                       todo=exc.todo)
        results.append(row)
    return results


def cmd_import(args: argparse.Namespace) -> int:
    from provisioning.bundle import open_bundle
    from provisioning.errors import BundleError, ProvisioningError
    from provisioning.gateway_link import DirectRegistrar
    from provisioning.keyfiles import load_private, load_trusted

    try:
        link = DirectRegistrar(args.config)
        secret_dir = Path(link.config.gateway.secret_file).parent
        key = load_private(Path(args.bundle_key or secret_dir / "bundle.key"),
                           "gateway bundle key")
        trusted = load_trusted(Path(args.trusted or secret_dir / "installers.pub"))
        bundle = open_bundle(Path(args.bundle).read_bytes(), gateway_private=key,
                             trusted_installers=trusted)
        age_days = (time.time() - bundle.created_at) / 86400
        if age_days > args.max_age_days:
            raise BundleError(f"bundle is {age_days:.0f} days old", where=args.bundle,
                              todo="ask for a fresh bundle, or pass --max-age-days")
        results = apply_bundle(link, bundle, dry_run=args.dry_run)
    except ProvisioningError as exc:
        print(f"error: {exc}" + (f" ({exc.why})" if exc.why else "") +
              (f"; {exc.todo}" if exc.todo else ""), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {args.bundle}: {exc.strerror}", file=sys.stderr)
        return 1
    failed = sum(1 for r in results if r["result"] == "failed")
    if args.json:
        print(json.dumps({"installer": bundle.installer, "created_at": bundle.created_at,
                          "records": results, "failed": failed}, indent=1))
    else:
        print(f"bundle from installer {bundle.installer}: {len(results)} record(s)")
        for r in results:
            print(f"  {r['device_id']} {r['action']}: {r['result']}"
                  + (f" ({r['reason']})" if r.get("reason") else "")
                  + (f"; to do: {r['todo']}" if r.get("todo") else "")
                  + (f"; warning: {r['note']}" if r.get("note") else ""))
    return 1 if failed else 0
