"""MicroPython side of the CT test: run CtChannel.burst on sample sets given as JSON.

Usage: micropython mp_ct.py CASES.json -> prints one JSON line per case: {"irms", "power_w"}.
"""

import json
import sys

from firmware.ct import CtChannel


class FakeHal:
    """Only what CtChannel touches: hands out the prepared samples of the current case."""

    def __init__(self):
        self.samples = []

    def adc_burst(self, ch, buf, n, period_us):
        for i in range(n):
            buf[i] = self.samples[i]


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    hal = FakeHal()
    for case in cases:
        hal.samples = case["samples"]
        ch = CtChannel(hal, case["cfg"])
        p = ch.burst()
        print(json.dumps({"irms": ch.irms, "power_w": p, "fault": ch.fault}))


main()
