"""Ingest alone (database, writer, TCP server) as a process, for tests and benchmarks.

``python -m gateway.ingest.standalone --db DB --secret FILE --port N`` serves boards where a
test needs a gateway it can ``kill -9``; production runs the whole service (``meterkit gateway
run``), which composes the same classes. Devices must already be in the registry (``--db``);
``--secret`` is the gateway secret file that seals their keys.

Signals: TERM/INT drain and exit; HUP writes ``--stats-file`` now; USR1 dumps thread stacks;
USR2 dumps asyncio task stacks (both to stderr, for a shutdown that hangs).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.ingest.keys import KeyCache
from gateway.ingest.limits import IngestLimits
from gateway.ingest.server import IngestServer
from gateway.store.db import Database
from gateway.store.keybox import KeyBox
from gateway.writer import Writer

__all__ = ["main", "serve"]


async def serve(db_path: Path, secret_path: Path, host: str, port: int, *,
                synchronous: str = "FULL", ready_file: Path | None = None,
                stats_file: Path | None = None, limits: IngestLimits | None = None) -> None:
    """Run database, writer and server until SIGTERM/SIGINT."""
    box = KeyBox.load_or_create(secret_path)
    db = await Database.open(db_path, synchronous=synchronous)
    writer = Writer(db)
    keys = KeyCache(db, box)
    await keys.load()
    server = IngestServer(writer, keys, host=host, port=port, limits=limits or IngestLimits())
    writer_task = asyncio.create_task(writer.run(), name="writer")
    await server.start()
    if ready_file is not None:
        ready_file.write_text(f"{server.port}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR2, _dump_tasks)

    def write_stats() -> None:
        if stats_file is not None:
            tmp = stats_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"writer": dict(writer.stats),
                                       "ingest": server.stats.snapshot()}, indent=1))
            tmp.replace(stats_file)

    loop.add_signal_handler(signal.SIGHUP, write_stats)
    try:
        await stop.wait()
    finally:
        await server.close()
        await writer.close()
        await writer_task
        await db.close()
        write_stats()


def _dump_tasks() -> None:
    """SIGUSR2: print every asyncio task's stack to stderr (debugging a stuck shutdown)."""
    for task in asyncio.all_tasks():
        task.print_stack(file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.ingest.standalone",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite database file")
    parser.add_argument("--secret", type=Path, required=True, help="gateway secret file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4700)
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL", "EXTRA"))
    parser.add_argument("--ready-file", type=Path, help="write the bound port here when ready")
    parser.add_argument("--stats-file", type=Path,
                        help="write counters here (JSON) on SIGHUP and on exit")
    parser.add_argument("--max-frames-per-s", type=float, default=IngestLimits().max_frames_per_s,
                        help="per-connection frame rate limit")
    parser.add_argument("--max-connections", type=int, default=IngestLimits().max_connections,
                        help="simultaneous connections; more are refused")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stack dump on demand (debugging)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(args.db, args.secret, args.host, args.port,
                      synchronous=args.synchronous, ready_file=args.ready_file,
                      stats_file=args.stats_file,
                      limits=IngestLimits(max_frames_per_s=args.max_frames_per_s,
                                          max_connections=args.max_connections,
                                          burst=max(200, int(args.max_frames_per_s)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
