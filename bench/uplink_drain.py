"""Backlog drain rate: a week of a fleet's readings from the outbox to a subscriber via mosquitto.

Same run, same broker, same payloads, same in-flight window:

* meterkit — ``gateway.uplink.Publisher`` draining a real SQLite outbox (fetch in lanes,
  publish QoS 1, wait for each PUBACK, commit ``delivered`` in batches);
* bare paho — a paho-mqtt 2.x script publishing the same payloads from memory, QoS 1, waiting
  for all PUBACKs (no database, no bookkeeping): the ceiling for a Python publisher.

The rate is messages received by a QoS 1 paho subscriber (its own process) divided by the time
from the first publish to the last message received. The
full week of 1,000 devices is 96 × 7 × 1,000 = 672,000 readings (one channel each); by default
a slice of devices is measured and the time for the full week is extrapolated (labelled).

    .venv/bin/python bench/uplink_drain.py [--devices 100] [--window 500] [--full]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway import outbox
from gateway.model import Reading
from gateway.store.db import Database
from gateway.uplink.config import validate_mqtt
from gateway.uplink.messages import reading_message
from gateway.uplink.publisher import Publisher
from tests.support.mosquitto import Mosquitto

FULL_DEVICES, INTERVALS = 1000, 96 * 7
T0 = datetime(2026, 11, 16, tzinfo=UTC)


def week(devices: int) -> list[tuple[str, bytes, str, str]]:
    """(topic, payload, stream, msg_id) for a week of 15-minute readings, interval-major."""
    out = []
    for i in range(INTERVALS):
        t = T0 + timedelta(minutes=15 * i)
        for d in range(devices):
            r = Reading(site="bench", device=f"{d:08x}", channel="el1", quantity="energy_import",
                        start=t, length_s=900, value=0.25, unit="kWh", register=1000 * i,
                        register_unit="Wh", band="F1", kwh=0.25)
            topic, payload = reading_message(r, prefix="bench", backfill=True)
            out.append((topic, payload, f"{r.device}:el1", r.message_id))
    return out


SUBSCRIBER = """
import sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, n = int(sys.argv[1]), int(sys.argv[2])
got, done = 0, threading.Event()
def on_message(c, u, m):
    global got
    got += 1
    if got == n:
        done.set()
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sys.argv[3], protocol=mqtt.MQTTv5)
c.on_message = on_message
c.on_subscribe = lambda *a: print("ready", flush=True)
c.on_connect = lambda cl, *a: cl.subscribe("bench/#", qos=1)
c.connect("127.0.0.1", port)
c.loop_start()
done.wait()
c.loop_stop()
"""


def subscriber(port: int, n: int) -> subprocess.Popen[bytes]:
    """A QoS 1 subscriber in its own process (own GIL) that exits after `n` messages."""
    proc = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, str(port), str(n),
                             f"bench-sub-{time.monotonic_ns()}"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def bare_paho(port: int, msgs: list[tuple[str, bytes, str, str]], window: int) -> float:
    """Publish from memory with at most `window` messages awaiting PUBACK (a semaphore, as
    any real publisher must: paho's own queue is O(n) per PUBACK once it holds 100k+)."""
    slots = threading.Semaphore(window)
    done = threading.Event()
    acked = 0

    def on_publish(client: mqtt.Client, userdata: object, mid: int, rc: object,
                   props: object) -> None:
        nonlocal acked
        acked += 1
        slots.release()
        if acked == len(msgs):
            done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(window)
    c.max_queued_messages_set(0)
    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    sub = subscriber(port, len(msgs))
    t0 = time.perf_counter()
    for topic, payload, _, _ in msgs:
        slots.acquire()
        c.publish(topic, payload, qos=1)
    done.wait()
    sub.wait()
    elapsed = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return elapsed


async def meterkit(port: int, msgs: list[tuple[str, bytes, str, str]], window: int,
                   workdir: Path) -> tuple[float, float]:
    db = await Database.open(workdir / "bench.db", synchronous="NORMAL")

    def fill(conn: object, chunk: list[tuple[str, bytes, str, str]]) -> None:
        for topic, payload, stream, msg_id in chunk:
            outbox.add(conn, topic=topic, payload=payload, stream=stream,  # type: ignore
                       msg_id=msg_id)

    t = time.perf_counter()
    for i in range(0, len(msgs), 20000):
        await db.write(fill, msgs[i:i + 20000])
    fill_s = time.perf_counter() - t
    await db.write(lambda c: c.execute("UPDATE outbox SET created_at = created_at - 86400"))
    cfg, errs = validate_mqtt({"host": "127.0.0.1", "port": port, "inflight": window,
                               "backlog_rate": 0, "commands": False}, site="bench")
    assert cfg is not None, errs
    sub = subscriber(port, len(msgs))
    pub = Publisher(db, cfg)
    t0 = time.perf_counter()
    task = asyncio.create_task(pub.run())
    while sub.poll() is None:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    while await db.read(outbox.backlog):                # wait until all marked delivered
        await asyncio.sleep(0.05)
    pub.stop()
    await task
    await db.close()
    return elapsed, fill_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=100, help="devices measured (slice)")
    ap.add_argument("--window", type=int, default=500, help="in-flight window, both sides")
    ap.add_argument("--full", action="store_true", help="measure all 1,000 devices")
    args = ap.parse_args()
    devices = FULL_DEVICES if args.full else args.devices
    logging.basicConfig(level=logging.WARNING)
    console = Console()
    msgs = week(devices)
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker")
        broker.start()
        try:
            bare_s = bare_paho(broker.port, msgs, args.window)
            ours_s, fill_s = asyncio.run(meterkit(broker.port, msgs, args.window, Path(tmp)))
        finally:
            broker.kill()
    n = len(msgs)
    table = Table(title=f"Backlog drain through mosquitto 2.0 — {devices} devices × 1 week "
                        f"({n:,} readings, QoS 1, window {args.window}, {os.cpu_count()} cores)")
    table.add_column("publisher")
    table.add_column("seconds", justify="right")
    table.add_column("readings/s", justify="right")
    table.add_column("full week, 1,000 devices (672,000)", justify="right")
    label = "measured" if devices == FULL_DEVICES else "extrapolated"
    for name, secs in (("meterkit Publisher (SQLite outbox, PUBACK → delivered)", ours_s),
                       ("bare paho-mqtt (in memory, waits for PUBACKs)", bare_s)):
        rate = n / secs
        table.add_row(name, f"{secs:.2f}", f"{rate:,.0f}",
                      f"{FULL_DEVICES * INTERVALS / rate:,.0f} s ({label})")
    console.print(table)
    console.print(f"meterkit / bare paho rate: [bold]{bare_s / ours_s:.2f}[/bold]   "
                  f"(outbox fill, not timed above: {n / fill_s:,.0f} rows/s)")


if __name__ == "__main__":
    main()
