"""MicroPython launcher: the real firmware (firmware/main_sim.py), plus a ground-truth tap.

Run under the unix port with the same arguments as firmware/main_sim.py. Before the firmware
starts it wraps `FrameSink.emit` so that every READINGS message the board has sealed AND
appended to its flash queue is also printed as one line

    @truth <channel> <start> <interval_s> <register>,<register>,...

The firmware itself is unchanged; the tap only observes what it produced, which is the
simulator's ground truth of "readings produced" (simulator/truth.py).
"""

import sys

if "" not in sys.path:
    sys.path.insert(0, "")

from firmware import frames

_emit = frames.FrameSink.emit


def _tapped(self, msg):
    ctr = _emit(self, msg)  # raises (no line printed) if sealing or the flash append fails
    if msg["type"] == "readings":
        for b in msg["blocks"]:
            regs = ",".join([str(r) for r in b["registers"]])
            print("@truth {} {} {} {}".format(b["channel"], b["start"], b["interval_s"], regs))
    return ctr


frames.FrameSink.emit = _tapped

import firmware.main_sim  # noqa: E402, F401  (runs the board until it exits)
