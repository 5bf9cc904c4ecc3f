"""MicroPython side of the pulse test: feed edge lists through PulseInput's ISR and debouncer.

Usage: micropython mp_pulses.py CASES.json -> one JSON line per case: {"count", "rejected"}.
Each case: {"cfg": {...}, "edges": [[t_ms, level], ...], "end_ms": t}. The fake HAL plays
the edges in time order, calling the ISR as the pin interrupt would and draining every
`drain_ms` like the meter loop.
"""

import json
import sys

import micropython

from firmware.pulses import PulseInput

_TMASK = (1 << 30) - 1
_THALF = 1 << 29


class Pin:
    def __init__(self):
        self.level = 1

    def value(self):
        return self.level


class FakeHal:
    def __init__(self, start):
        self.t = start

    def ticks_ms(self):
        return self.t & _TMASK

    def ticks_diff(self, a, b):
        return ((a - b + _THALF) & _TMASK) - _THALF

    def pulse_setup(self, ch, cfg, handler):
        self.isr = handler
        return 1 if cfg["edge"] == "falling" else 0


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        start = case.get("start_ms", 0)
        hal = FakeHal(start)
        # small ints on every port: keep tick values in range without allocating
        hal.t = start
        p = PulseInput(hal, case["cfg"])
        pin = Pin()
        out = []
        drain = case.get("drain_ms", 1000)
        next_drain = start + drain
        for t, lv in case["edges"]:
            while next_drain <= t:
                hal.t = next_drain
                p.drain(hal.ticks_ms(), out)
                next_drain += drain
            hal.t = t
            pin.level = lv
            micropython.heap_lock()  # the ISR must not allocate: MemoryError if it does
            try:
                p._isr(pin)
            finally:
                micropython.heap_unlock()
        hal.t = case["end_ms"]
        p.drain(hal.ticks_ms(), out)
        print(json.dumps({"count": len(out), "rejected": p.rejected, "overflow": p.overflow}))


main()
