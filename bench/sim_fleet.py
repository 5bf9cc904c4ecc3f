"""Benchmark: the largest fleet one machine simulates at 15-min cadence at 100x real time,
and the wall time of the default `meterkit demo`.

Each board is one MicroPython process running the real firmware (one CT channel, a household
load, 15-min intervals) against the real gateway and mosquitto.

Reference, measured in the same run: one bare board (no gateway: its link ends in a plain TCP
sink) at the same speed; its CPU per virtual hour gives the fleet size the machine's cores
could carry if boards were the only cost, and picks the sizes to try (a doubling sequence
bracketing that estimate, so the whole bench ends in under 15 minutes).

A fleet size "keeps up" when, over a trial of 6 virtual hours (216 s at 100x):
  - every interval of every board reached the upstream subscriber, none lost or invented;
  - the delivery lag — from the moment the boards' clocks pass an interval's end to the
    reading's arrival at a subscriber of our own on the same broker — stays within one
    interval (900 virtual s) for 95 % of readings, and does not grow: the median of the last
    virtual hour is at most the first hour's plus 300 s;
  - the CPU the run used stayed under 90 % of the machine.
A fleet that cannot keep up shows it as a growing lag: boards queue readings faster than the
gateway, broker and subscriber take them. (CT bursts per interval would show boards starved
of CPU directly, but the firmware does not report a burst count yet.)

    .venv/bin/python bench/sim_fleet.py [--hours 6] [--start N] [--trials 3] [--skip-demo]
    .venv/bin/python bench/sim_fleet.py --hours 0.5 --start 2 --max 4 --skip-demo  # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator.boards import BoardProcess  # noqa: E402
from simulator.deps import check_dependencies  # noqa: E402
from simulator.fleet import build_fleet  # noqa: E402
from simulator.runner import RunOptions, run_scenario  # noqa: E402
from simulator.scenario import parse_scenario  # noqa: E402
from simulator.truth import GroundTruth  # noqa: E402

SPEED = 100.0
INTERVAL_S = 900
LAG_LIMIT_S = INTERVAL_S        # p95 delivery lag, virtual seconds
LAG_GROWTH_S = 300.0            # last hour's median over the first hour's, virtual seconds
CPU_LIMIT = 0.9


def fleet(n: int, hours: float) -> dict[str, Any]:
    return {
        "scenario": {"name": f"bench-{n}", "seed": 1, "start": "2026-03-02",
                     "days": hours / 24.0, "speed": SPEED},
        "sites": [{"id": "cer", "municipality": "GENOVA", "latitude": 44.41,
                   "longitude": 8.93}],
        "devices": [{"id": "be000001", "site": "cer", "profile": "household", "count": n}],
    }


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# -- reference: one bare board --------------------------------------------------------------

async def _bare_board(hours: float, workdir: Path, micropython: str) -> tuple[int, float]:
    """Run one board with its link ending in a TCP sink; (intervals sealed, wall seconds)."""
    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    scenario = parse_scenario(fleet(1, hours))
    dev = build_fleet(scenario)[0]
    truth = GroundTruth()
    t0, t1 = scenario.start.timestamp(), scenario.end.timestamp()
    board = BoardProcess(dev, workdir, port, SPEED, t0, t1, truth, micropython)
    started = time.monotonic()
    task = asyncio.create_task(board.run())
    while not task.done():
        if board.now() >= board.settled:
            board.stop_requested = True   # no gateway to drain into: stop past the period
        await asyncio.sleep(0.25)
    await task
    server.close()
    await server.wait_closed()
    return len(truth.within(t1)), time.monotonic() - started


def reference(hours: float) -> dict[str, Any]:
    deps = check_dependencies()
    if deps.missing:
        raise SystemExit("missing: " + "; ".join(deps.missing))
    cpu0 = cpu_seconds()
    with TemporaryDirectory(prefix="bench-ref-") as tmp:
        sealed, wall = asyncio.run(_bare_board(hours, Path(tmp), deps.micropython))
    cpu = cpu_seconds() - cpu0
    per_board = cpu / wall                     # cores one board keeps busy at SPEED
    cores = os.cpu_count() or 1
    return {"hours": hours, "sealed": sealed, "expected": int(hours * 3600 // INTERVAL_S),
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "cores_per_board": round(per_board, 4),
            "ceiling": int(CPU_LIMIT * cores / per_board) if per_board > 0 else 0}


# -- a trial: n boards, gateway, broker; delivery lag at our own subscriber -------------------

class LagProbe:
    """Arrival time of each reading at a subscriber of our own, and the boards' clock."""

    def __init__(self, workdir: Path, t0: float, span: float) -> None:
        self.workdir, self.t0, self.span = workdir, t0, span
        self.arrivals: dict[str, tuple[float, float]] = {}  # msg_id -> (interval end, wall)
        self.clock: list[tuple[float, float]] = []          # (slowest board's time, wall)
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def progress(self, fraction: float, phase: str) -> None:
        if phase != "boards":
            return
        if self._client is None:
            self._connect()
        self.clock.append((self.t0 + fraction * self.span, time.monotonic()))

    def _connect(self) -> None:
        conf = (self.workdir / "broker" / "mosquitto.conf").read_text()
        port = int(next(ln.split()[1] for ln in conf.splitlines()
                        if ln.startswith("listener ")))
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-lag-probe",
                             protocol=mqtt.MQTTv311)
        client.on_connect = lambda c, *_a: c.subscribe("meterkit/#", qos=1)
        client.on_message = self._on_message
        client.connect("127.0.0.1", port)
        client.loop_start()
        self._client = client

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        if isinstance(doc, dict) and "register" in doc and "msg_id" in doc:
            end = int(doc["msg_id"].rsplit(":", 1)[1]) + int(doc.get("length_s", INTERVAL_S))
            with self._lock:
                self.arrivals.setdefault(doc["msg_id"], (end, now))

    def close(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()

    def lags(self) -> list[tuple[float, float]]:
        """(interval end, lag in virtual seconds) per reading, by interval end."""
        out = []
        with self._lock:
            items = list(self.arrivals.values())
        for end, arrived in sorted(items):
            passed = next((w for v, w in self.clock if v >= end), None)
            if passed is not None:
                out.append((end, max(0.0, (arrived - passed) * SPEED)))
        return out


def trial(n: int, hours: float) -> dict[str, Any]:
    scenario = parse_scenario(fleet(n, hours))
    t0, span = scenario.start.timestamp(), hours * 3600.0
    cpu0, started = cpu_seconds(), time.monotonic()
    with TemporaryDirectory(prefix=f"bench-{n}-") as tmp:
        probe = LagProbe(Path(tmp), t0, span)
        try:
            result = run_scenario(scenario, RunOptions(
                workdir=Path(tmp), keep=True, broker="mosquitto", drain_timeout_s=60,
                progress=probe.progress))
        finally:
            probe.close()
    wall = time.monotonic() - started
    load = (cpu_seconds() - cpu0) / (wall * (os.cpu_count() or 1))
    cmp = result.comparison
    lags = probe.lags()
    values = sorted(lag for _e, lag in lags)
    p95 = values[int(0.95 * (len(values) - 1))] if values else float("inf")
    first = [lag for e, lag in lags if e <= t0 + 3600]
    last = [lag for e, lag in lags if e > t0 + span - 3600]
    growth = (statistics.median(last) - statistics.median(first)) if first and last else 0.0
    complete = bool(cmp and cmp.ok and cmp.produced >= n * int(span // INTERVAL_S))
    ok = complete and p95 <= LAG_LIMIT_S and growth <= LAG_GROWTH_S and load < CPU_LIMIT
    return {"boards": n, "produced": cmp.produced if cmp else None,
            "lost": len(cmp.lost) if cmp else None, "probed": len(lags),
            "lag_p50_s": round(statistics.median(values), 0) if values else None,
            "lag_p95_s": round(p95, 0), "lag_growth_s": round(growth, 0),
            "wall_s": round(wall, 1), "nominal_s": round(span / SPEED, 1),
            "cpu_load": round(load, 2), "ok": ok, "degraded": result.degraded}


def demo_wall() -> float:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "meterkit", "demo", "--json"], cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"demo failed ({proc.returncode}): {proc.stderr[-1000:]}")
    return time.monotonic() - t0


def sizes(start: int, trials: int, maximum: int) -> list[int]:
    out = [start * 2 ** i for i in range(trials)]
    return [n for n in out if n <= maximum] or [min(start, maximum)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=6.0, help="virtual hours per trial "
                        "(6 = 216 s at 100x; below 2 the lag growth cannot be judged)")
    parser.add_argument("--ref-hours", type=float, default=0.5,
                        help="virtual hours of the bare-board reference")
    parser.add_argument("--start", type=int, help="first fleet size (default: from the "
                        "reference, a power of two at or below half its ceiling)")
    parser.add_argument("--trials", type=int, default=3, help="sizes start, 2x, 4x, ...")
    parser.add_argument("--max", type=int, default=1024)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores; boards at {SPEED:g}x real time, "
          f"{args.hours:g} virtual hours per trial", flush=True)
    ref = reference(args.ref_hours)
    print(f"reference: 1 bare board (TCP sink, no gateway), {ref['hours']:g} h: sealed "
          f"{ref['sealed']}/{ref['expected']} intervals, CPU {ref['cpu_s']} s in "
          f"{ref['wall_s']} s = {ref['cores_per_board']:.3f} cores -> boards alone would "
          f"fill {CPU_LIMIT:.0%} of {cores} cores at about {ref['ceiling']} boards",
          flush=True)
    start = args.start or max(1, 1 << max(0, (ref["ceiling"] // 2).bit_length() - 1))
    best = 0
    for n in sizes(start, args.trials, args.max):
        r = trial(n, args.hours)
        print(f"  {r['boards']:4d} boards: produced {r['produced']}, lost {r['lost']}, "
              f"delivery lag p50 {r['lag_p50_s']} s p95 {r['lag_p95_s']} s growth "
              f"{r['lag_growth_s']} s (virtual; {r['probed']} probed), wall {r['wall_s']} s "
              f"(nominal {r['nominal_s']} s), CPU {r['cpu_load']:.0%} "
              f"-> {'keeps up' if r['ok'] else 'does NOT keep up'}"
              + (f" degraded: {r['degraded']}" if r["degraded"] else ""), flush=True)
        if not r["ok"]:
            break
        best = n
    print(f"largest fleet at 15-min cadence and {SPEED:g}x real time: {best} boards "
          f"(one MicroPython process each; reference ceiling {ref['ceiling']})")
    if not args.skip_demo:
        print(f"default `meterkit demo` (6 boards, 14 days): {demo_wall():.1f} s wall")


if __name__ == "__main__":
    main()
