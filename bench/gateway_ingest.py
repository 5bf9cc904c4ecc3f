"""Gateway ingest benchmark: sustained frames/s to commit+ACK, ACK latency, vs raw SQLite inserts.

Runs the real ingest (``python -m gateway.ingest.standalone``: SQLite WAL, group commit, TCP)
in a subprocess and drives it from this process with N concurrent connections sending real
AES-CCM frames built by ``protocol.codec``:

1. throughput — every connection keeps `--window` frames unacknowledged for `--seconds`;
   frames/s and readings/s counted from the ACKs (i.e. committed and acknowledged);
2. latency — a fixed offered load (`--rate` frames/s over all connections); p50/p99 from
   sending a frame to receiving the ACK that covers it;
3. raw SQLite — the same frame and reading rows, in the order the gateway committed them,
   inserted by one thread with the same schema, PRAGMAs and average transaction size as the
   gateway's throughput phase: no network, no crypto, no asyncio, no duplicate checks.

    .venv/bin/python bench/gateway_ingest.py --connections 200 --seconds 5 --rate 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.registry import add_device  # noqa: E402
from gateway.store.db import Database  # noqa: E402
from gateway.store.keybox import KeyBox  # noqa: E402
from gateway.store.schema import SCHEMA_SQL  # noqa: E402
from protocol import codec  # noqa: E402
from protocol.stream import Deframer  # noqa: E402

CHANNELS = {0: {"name": "el1", "kind": "electric"}, 1: {"name": "gas", "kind": "gas"}}
T0 = 1_790_000_000 - 1_790_000_000 % 3600
INTERVALS = 4  # 4 x 15 min per block, 2 blocks (electric + gas) per frame
READINGS_PER_FRAME = 2 * INTERVALS


def frame_msg(did: int, counter: int) -> dict:
    start = T0 + counter * INTERVALS * 900
    return {
        "type": "readings",
        "device_id": did,
        "counter": counter,
        "blocks": [
            {
                "channel": 0,
                "unit": "Wh",
                "interval_s": 900,
                "start": start,
                "registers": [counter * 400 + i * 97 for i in range(INTERVALS)],
                "flags": [0] * 4,
            },
            {
                "channel": 1,
                "unit": "L",
                "interval_s": 900,
                "start": start,
                "registers": [counter * 40 + i * 9 for i in range(INTERVALS)],
                "flags": [0] * 4,
            },
        ],
    }


class Client:
    """One connection: sends pre-encoded frames, timestamps ACKs."""

    def __init__(self, did: int, key: bytes, port: int) -> None:
        self.did, self.key, self.port = did, key, port
        self.acked = 0
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.changed = asyncio.Event()
        self.next_counter = 1

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.rx = asyncio.create_task(self._rx())

    async def _rx(self) -> None:
        deframer = Deframer()
        with contextlib.suppress(ConnectionError):
            while data := await self.reader.read(65536):
                now = time.perf_counter()
                for raw in deframer.feed(data):
                    acked = codec.decode(raw, self.key)["acked"]
                    for c in range(self.acked + 1, acked + 1):
                        t = self.sent_at.pop(c, None)
                        if t is not None:
                            self.latencies.append(now - t)
                    self.acked = max(self.acked, acked)
                    self.changed.set()

    async def send(self, raw: bytes, counter: int, track: bool) -> None:
        if track:
            self.sent_at[counter] = time.perf_counter()
        self.writer.write(raw)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        self.rx.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.rx


def frames_for(did: int, key: bytes, first: int, n: int) -> list[bytes]:
    return [codec.encode(frame_msg(did, c), key) for c in range(first, first + n)]


async def throughput(
    clients: list[Client], frames: dict[int, list[bytes]], seconds: float, window: int
) -> tuple[int, float]:
    stop = time.perf_counter() + seconds

    async def pump(cl: Client) -> None:
        mine = frames[cl.did]
        while time.perf_counter() < stop and cl.next_counter <= len(mine):
            while cl.next_counter - 1 - cl.acked >= window:
                cl.changed.clear()
                await cl.changed.wait()
            await cl.send(mine[cl.next_counter - 1], cl.next_counter, track=False)
            cl.next_counter += 1

    start_acked = sum(c.acked for c in clients)
    t0 = time.perf_counter()
    await asyncio.gather(*(pump(c) for c in clients))
    # frames still in flight when time is up: wait for their ACKs (they count, so does the time)
    for c in clients:
        while c.acked < c.next_counter - 1:
            c.changed.clear()
            await asyncio.wait_for(c.changed.wait(), 30)
    elapsed = time.perf_counter() - t0
    return sum(c.acked for c in clients) - start_acked, elapsed


async def latency(
    clients: list[Client], frames: dict[int, list[bytes]], rate: float, seconds: float
) -> list[float]:
    n = int(rate * seconds)
    period = 1.0 / rate
    t0 = time.perf_counter()
    for i in range(n):
        cl = clients[i % len(clients)]
        mine = frames[cl.did]
        if cl.next_counter > len(mine):
            break
        delay = t0 + i * period - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await cl.send(mine[cl.next_counter - 1], cl.next_counter, track=True)
        cl.next_counter += 1
    for c in clients:
        while c.acked < c.next_counter - 1:
            c.changed.clear()
            await asyncio.wait_for(c.changed.wait(), 30)
    return [x for c in clients for x in c.latencies]


def raw_sqlite_rate(
    tmp: Path, frames: list[tuple[int, int, bytes]], batch: int, synchronous: str
) -> float:
    """Insert the same rows as the gateway stored, `batch` frames per transaction."""
    path = tmp / "raw.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    for stmt in SCHEMA_SQL.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    rows = []
    for did, counter, raw in frames:
        msg = frame_msg(did, counter)
        rdg = [
            (
                f"{did:08x}",
                str(b["channel"]),
                b["unit"],
                b["start"] + i * 900,
                900,
                reg,
                0,
                counter,
                T0,
            )
            for b in msg["blocks"]
            for i, reg in enumerate(b["registers"])
        ]
        rows.append(((f"{did:08x}", counter, "readings", raw, T0, "127.0.0.1:1"), rdg))
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        for frame_row, rdg in rows[i : i + batch]:
            conn.execute(
                "INSERT INTO frames (device_id, counter, type, raw, received_at, peer) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                frame_row,
            )
            conn.executemany(
                "INSERT INTO readings (device_id, channel, unit, interval_start, interval_s, "
                "register, flags, frame_counter, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                rdg,
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(rows) / elapsed


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def main_async(args: argparse.Namespace, tmp: Path, console: Console) -> None:
    box = KeyBox.load_or_create(tmp / "secret")
    keys = {0x00B00000 + i: os.urandom(16) for i in range(args.connections)}
    db = await Database.open(tmp / "gw.db")

    def register(conn: sqlite3.Connection) -> None:
        for did, key in keys.items():
            add_device(conn, box, did, key, site="bench", channels=CHANNELS)

    await db.write(register)
    await db.close()
    per_conn = args.max_frames
    console.print(f"encoding {per_conn} frames for each of {args.connections} devices ...")
    frames = {did: frames_for(did, key, 1, per_conn) for did, key in keys.items()}

    port_file, stats_file = tmp / "port", tmp / "stats.json"
    proc = subprocess.Popen(
        # BENCH_GATEWAY: another entry point to run instead (e.g. a profiling wrapper)
        [
            sys.executable,
            *os.environ.get("BENCH_GATEWAY", "-m gateway.ingest.standalone").split(),
            "--db",
            str(tmp / "gw.db"),
            "--secret",
            str(tmp / "secret"),
            "--port",
            "0",
            "--ready-file",
            str(port_file),
            "--stats-file",
            str(stats_file),
            "--synchronous",
            args.synchronous,
            "--max-frames-per-s",
            "100000",
            "--max-connections",
            str(max(args.connections, 1000)),
        ],
        cwd=REPO,
    )
    try:
        while not port_file.exists():
            if proc.poll() is not None:
                raise SystemExit("gateway failed to start")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text())
        clients = [Client(did, key, port) for did, key in keys.items()]
        await asyncio.gather(*(c.open() for c in clients))
        cpu0, own0, t0 = proc_cpu(proc.pid), time.process_time(), time.perf_counter()
        n_tp, t_tp = await throughput(clients, frames, args.seconds, args.window)
        gw_cpu, own_cpu = proc_cpu(proc.pid) - cpu0, time.process_time() - own0
        tp_stats = await snapshot(proc, stats_file)
        lat = await latency(clients, frames, args.rate, args.seconds)
        run_s = time.perf_counter() - t0
        await asyncio.gather(*(c.close() for c in clients))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    stats = json.loads(stats_file.read_text())
    stored = stats["writer"].get("frames_stored", 0)
    tp_commits = max(1, tp_stats["writer"].get("commits", 1))
    tp_batch = tp_stats["writer"].get("frames_stored", 0) / tp_commits
    lat_commits = max(1, stats["writer"].get("commits", 1) - tp_commits)
    lat_batch = (stored - tp_stats["writer"].get("frames_stored", 0)) / lat_commits
    batch = max(1, round(tp_batch))
    # the same rows, in the order the gateway committed them (interleaved across devices)
    conn = sqlite3.connect(tmp / "gw.db")
    same = [(int(d, 16), c, bytes(r)) for d, c, r in
            conn.execute("SELECT device_id, counter, raw FROM frames ORDER BY id")]
    conn.close()
    raw_rate = raw_sqlite_rate(tmp, same, batch, args.synchronous)
    raw_single = raw_sqlite_rate_single(tmp, same[:2000], args.synchronous)

    fps = n_tp / t_tp
    table = Table(
        title=f"gateway ingest — {args.connections} connections, "
        f"synchronous={args.synchronous}, {os.cpu_count()} CPUs"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("throughput: frames/s committed+ACKed", f"{fps:,.0f}")
    table.add_row(
        f"throughput: readings/s ({READINGS_PER_FRAME}/frame)", f"{fps * READINGS_PER_FRAME:,.0f}"
    )
    table.add_row("throughput phase: frames per commit (avg)", f"{tp_batch:,.1f}")
    table.add_row("latency phase: frames per commit (avg)", f"{lat_batch:,.1f}")
    table.add_row(
        "throughput phase: gateway CPU / bench client CPU",
        f"{gw_cpu / t_tp:.0%} / {own_cpu / t_tp:.0%} of a core",
    )
    table.add_row(
        "time inside commits (whole run)",
        f"{stats['writer'].get('commit_ms', 0) / 1000:.1f} s of {run_s:.1f} s",
    )
    table.add_row(
        f"latency @ {args.rate:,.0f} frames/s offered: p50", f"{pct(lat, 50) * 1e3:.1f} ms"
    )
    table.add_row(
        f"latency @ {args.rate:,.0f} frames/s offered: p99", f"{pct(lat, 99) * 1e3:.1f} ms"
    )
    table.add_row("latency samples", f"{len(lat):,}")
    table.add_row(f"raw SQLite insert, {batch} frames/txn: frames/s", f"{raw_rate:,.0f}")
    table.add_row("raw SQLite insert, 1 frame/txn: frames/s", f"{raw_single:,.0f}")
    table.add_row("gateway / raw SQLite (same batch)", f"{fps / raw_rate:.2f}")
    table.add_row("dropped frames", str(sum(stats["ingest"]["dropped"].values())))
    console.print(table)


async def snapshot(proc: subprocess.Popen[bytes], stats_file: Path) -> dict:
    """Ask the gateway for its counters now (SIGHUP) and read them."""
    stats_file.unlink(missing_ok=True)
    proc.send_signal(signal.SIGHUP)
    while not stats_file.exists():
        await asyncio.sleep(0.01)
    return json.loads(stats_file.read_text())


def proc_cpu(pid: int) -> float:
    """User+system CPU seconds of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_sqlite_rate_single(
    tmp: Path, frames: list[tuple[int, int, bytes]], synchronous: str
) -> float:
    (tmp / "raw.db").unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        (tmp / f"raw.db{suffix}").unlink(missing_ok=True)
    return raw_sqlite_rate(tmp, frames, 1, synchronous)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=8, help="unACKed frames per connection")
    parser.add_argument("--rate", type=float, default=500.0, help="offered frames/s (latency)")
    parser.add_argument("--max-frames", type=int, default=300, help="frames encoded per device")
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL"))
    args = parser.parse_args()
    console = Console()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="meterkit-bench-") as tmp:
        asyncio.run(main_async(args, Path(tmp), console))
    return 0


if __name__ == "__main__":
    sys.exit(main())
