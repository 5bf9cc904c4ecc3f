# ruff: noqa: UP031  (MicroPython: %-formatting is its idiom)
"""MicroPython side of the interval-close power-cut test: the real Meter, State, frame counter,
FrameSink and FlashQueue on littlefs in RAM; the supply is cut at every flash write of a few
hours of a gas channel, the board reboots from the image the cut left and resumes.

Checked on the queue after each reboot (frames decoded with the key):
* no interval was framed with two different registers (an invented reading);
* every hour that ended before the cut is there (none lost);
* registers never go down from one hour to the next.

Usage: micropython mp_meter_cut.py HOURS  -> prints "RESULT {json}"; exit 1 on a violation.
"""

import json
import sys

from mp_cutsweep import sweep

from firmware.counter import FrameCounter
from firmware.fqueue import FlashQueue
from firmware.frames import FrameSink
from firmware.meter import Meter
from firmware.state import State
from protocol import codec

BS = 512
COUNT = 96
KEY = bytes(range(16))
DEV = 1001
T0 = 1767225600  # an hour boundary
GAS = {"id": 1, "type": "pulse", "unit": "L", "interval_s": 3600, "edge": "falling",
       "stable_ms": 20, "min_period_ms": 100, "pulse_ml": 10000}
CFG = {"close_grace_s": 2, "tick_ms": 1000, "persist_s": 300, "channels": [GAS]}


class Hal:
    """Time for the meter; the pulse input never reports edges (pulses are added directly)."""

    def __init__(self, t):
        self.t = t

    def time(self):
        return int(self.t)

    def now(self):
        return self.t

    def ticks_ms(self):
        return int(self.t * 1000)

    def ticks_diff(self, a, b):
        return a - b

    def pulse_setup(self, ch, cfg, isr):
        return 1

    def pulse_poll(self, ch, now):
        return False


class Clock:
    synced = True
    jump = 0


class Run:
    """One boot: the board's objects on the mounted image."""

    def __init__(self, t, cause):
        self.hal = Hal(t)
        self.q = FlashQueue("/f/q", 24 * 1024, 2048)
        ctr = FrameCounter("/f/ctr", self.q.max_counter + 1, 8)
        self.state = State("/f/state")
        sink = FrameSink(DEV, KEY, ctr, self.q)
        self.meter = Meter(self.hal, CFG, self.state, Clock(), sink.emit, lambda *a: None)
        self.meter.resume(cause)


def scenario(j, hours):
    """Boot, then each hour four quarter-hour steps with pulses; the hour closes after it.

    Pulses come after each step's periodic save, so the register at every close is ahead of
    the saved one: a reset that loses the save shows up as a different register."""
    run = Run(T0 + 10, "power_on")
    ch = run.meter.chans[0]
    for h in range(hours):
        for q in range(4):
            j["t"] = run.hal.t = T0 + h * 3600 + q * 900 + 600
            run.meter.step()
            for _ in range(h + q + 1):
                run.meter._add(ch, GAS["pulse_ml"])
        j["t"] = run.hal.t = T0 + (h + 1) * 3600 + 5
        run.meter.step()


def frames_in_queue(q):
    seen = {}
    seq, off = q.head_seq, q.head_off
    while True:
        n, seq, off = q.read(seq, off)
        if n == 0:
            return seen
        msg = codec.decode(bytes(q.frame[0:n]), KEY)
        for b in msg.get("blocks", ()):
            for i, reg in enumerate(b["registers"]):
                seen.setdefault(b["start"] + i * b["interval_s"], set()).add(reg)


def check(t):
    """Reboot 30 s after the cut; return the violations found in the queue."""
    bad = []
    run = Run(t + 30, "power_on")
    seen = frames_in_queue(run.q)
    for start in sorted(seen):
        if len(seen[start]) > 1:
            bad.append("hour %d framed with registers %r" % ((start - T0) // 3600,
                                                              sorted(seen[start])))
    # every hour that ended before the cut: the board closed it, or resume() does now
    for start in range(T0, t - 3600 + 1, 3600):
        if start not in seen:
            bad.append("hour %d missing" % ((start - T0) // 3600))
    prev = -1
    for start in sorted(seen):
        low = min(seen[start])
        if low < prev:
            bad.append("register went down at hour %d" % ((start - T0) // 3600))
        prev = max(seen[start])
    return bad


def main():
    hours = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    total, cuts, violations, _ = sweep(BS, COUNT, lambda: {"t": T0},
                                       lambda j: scenario(j, hours), lambda j, k: check(j["t"]))
    print("RESULT " + json.dumps({"writes": total, "cuts": cuts, "violations": violations}))
    if violations:
        sys.exit(1)


main()
