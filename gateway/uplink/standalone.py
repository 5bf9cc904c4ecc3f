"""Run the publisher alone: ``python -m gateway.uplink.standalone --db G.db --config C.toml``.

For tests, benchmarks and draining an outbox by hand; the gateway service runs the same
:class:`Publisher` as one of its named tasks. Reads the ``[mqtt]`` table of the TOML file (and
``[gateway] site`` when ``mqtt.site`` is not set).
SIGTERM/SIGINT shut down cleanly; the process exits 2 on an invalid config.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tomllib
from pathlib import Path

from gateway.store.db import Database
from gateway.uplink.config import validate_mqtt
from gateway.uplink.publisher import Publisher


async def _main(db_path: Path, config: Path) -> int:
    with config.open("rb") as f:
        raw = tomllib.load(f)
    site = raw.get("gateway", {}).get("site")
    cfg, problems = validate_mqtt(raw.get("mqtt", {}), site=site if isinstance(site, str) else None,
                                  base_dir=config.parent)
    if cfg is None:
        for p in problems:
            logging.getLogger("gateway.uplink").error("%s: %s", config, p)
        return 2
    db = await Database.open(db_path)
    pub = Publisher(db, cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, pub.stop)
    try:
        await pub.run()
    finally:
        await db.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gateway.uplink.standalone",
                                 description="publish the gateway outbox to an MQTT broker")
    ap.add_argument("--db", type=Path, required=True, help="gateway SQLite database")
    ap.add_argument("--config", type=Path, required=True, help="TOML file with an [mqtt] table")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(_main(args.db, args.config))


if __name__ == "__main__":
    sys.exit(main())
