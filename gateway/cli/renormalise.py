"""Handler of `meterkit gateway renormalise DEVICE [--from ISO]`: normalise skipped readings
again once the operator fixed the device's channels (gateway.normaliser.renormalise)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime

from gateway.cli.devices import environment_errors
from gateway.cli.service import load_or_report

__all__ = ["cmd_renormalise"]


@environment_errors
def cmd_renormalise(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    since = None
    if args.since is not None:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            since = None
        if since is None or since.utcoffset() is None:
            print(f"error: --from {args.since!r}: expected an ISO time with its offset, e.g. "
                  "2026-03-01T00:00+01:00", file=sys.stderr)
            return 2
    from gateway.normaliser import renormalise_device
    from gateway.registry import RegistryError, get_device
    from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
    from gateway.store import series as _series  # noqa: F401
    from gateway.store.db import Database

    async def go() -> object:
        db = await Database.open(config.gateway.db_path, synchronous=config.storage.synchronous)
        try:
            if await db.read(get_device, args.device_id) is None:
                raise RegistryError(f"device {args.device_id} is not registered",
                                    field="device_id", value=args.device_id)
            return await renormalise_device(db, config, args.device_id, since=since)
        finally:
            await db.close()

    try:
        report = asyncio.run(go())
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data = asdict(report)  # type: ignore[call-overload]
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        left = ", ".join(f"{r}={n}" for r, n in sorted(data["still_skipped"].items())) or "none"
        print(f"device {data['device']}: {data['readings']} reading(s) of channel(s) "
              f"{', '.join(data['channels']) or '-'} normalised again; {data['recovered']} "
              f"skipped before and now normalised; {data['changed']} series row(s) written "
              f"and queued upstream; still skipped: {left}")
    return 0
