"""Benchmark: the largest fleet one machine simulates at 15-min cadence at 100x real time,
and the wall time of the default `meterkit demo`.

Each board is one MicroPython process running the real firmware (one CT channel, a household
load, 15-min intervals) against the real gateway and mosquitto. A fleet size "keeps up" when
every interval the boards produced reached the upstream subscriber (none lost or invented),
the run ended within 15 % of its nominal wall time, and the CPU the run used stayed under
90 % of the machine. Sizes double until one fails; the figure is the last that kept up.

    .venv/bin/python bench/sim_fleet.py [--minutes 30] [--max 256] [--skip-demo]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator.runner import RunOptions, run_scenario  # noqa: E402
from simulator.scenario import parse_scenario  # noqa: E402

SPEED = 100.0


def fleet(n: int, minutes: float) -> dict:
    return {
        "scenario": {"name": f"bench-{n}", "seed": 1, "start": "2026-03-02",
                     "days": minutes / 1440.0, "speed": SPEED},
        "sites": [{"id": "cer", "municipality": "GENOVA", "latitude": 44.41,
                   "longitude": 8.93}],
        "devices": [{"id": "be000001", "site": "cer", "profile": "household", "count": n}],
    }


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def trial(n: int, minutes: float) -> dict:
    scenario = parse_scenario(fleet(n, minutes))
    nominal = minutes * 60.0 / SPEED
    cpu0, t0 = cpu_seconds(), time.monotonic()
    result = run_scenario(scenario, RunOptions(broker="mosquitto", drain_timeout_s=60))
    wall = time.monotonic() - t0
    cpu = cpu_seconds() - cpu0
    cmp = result.comparison
    load = cpu / (wall * (os.cpu_count() or 1))
    ok = bool(cmp and cmp.ok and cmp.produced >= n * int(minutes // 15) and wall <= nominal
              * 1.15 + 15.0 and load < 0.9)
    return {"boards": n, "produced": cmp.produced if cmp else None,
            "lost": len(cmp.lost) if cmp else None, "wall_s": round(wall, 1),
            "nominal_s": round(nominal, 1), "cpu_load": round(load, 2), "ok": ok}


def demo_wall() -> float:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "meterkit", "demo", "--json"], cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"demo failed ({proc.returncode}): {proc.stderr[-1000:]}")
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="virtual minutes per trial")
    parser.add_argument("--start", type=int, default=4)
    parser.add_argument("--max", type=int, default=256)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; boards at {SPEED:g}x real time, "
          f"{args.minutes:g} virtual minutes per trial")
    best = 0
    n = args.start
    while n <= args.max:
        r = trial(n, args.minutes)
        print(f"  {r['boards']:4d} boards: produced {r['produced']}, lost {r['lost']}, "
              f"wall {r['wall_s']} s (nominal {r['nominal_s']} s), CPU {r['cpu_load']:.0%} "
              f"-> {'keeps up' if r['ok'] else 'does NOT keep up'}", flush=True)
        if not r["ok"]:
            break
        best = n
        n *= 2
    print(f"largest fleet at 15-min cadence and {SPEED:g}x real time: {best} boards "
          "(one MicroPython process each)")
    if not args.skip_demo:
        print(f"default `meterkit demo` (6 boards, 14 days): {demo_wall():.1f} s wall")


if __name__ == "__main__":
    main()
