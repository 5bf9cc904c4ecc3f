"""MicroPython launcher: the real firmware (firmware/main_sim.py), plus a ground-truth tap.

Run under the unix port with the same arguments as firmware/main_sim.py. Before the firmware
starts it wraps `FrameSink.emit` so that every READINGS message the board has sealed AND
appended to its flash queue is also printed as one line

    @truth <channel> <start> <interval_s> <register>,<register>,...

The firmware itself is unchanged; the tap only observes what it produced, which is the
simulator's ground truth of "readings produced" (simulator/truth.py).

Power cuts are SIGKILLs that may fall between the append and the print. Such a frame is
still in the queue, unacknowledged (nothing can send it between two statements with no
await), so at every boot the tap also prints the truth of every READINGS frame waiting in the
queue (a line already printed is printed again with the same registers: harmless).
"""

import sys

if "" not in sys.path:
    sys.path.insert(0, "")

from firmware import frames

_emit = frames.FrameSink.emit
_init = frames.FrameSink.__init__


def _print_truth(msg):
    for b in msg["blocks"]:
        regs = ",".join([str(r) for r in b["registers"]])
        print("@truth {} {} {} {}".format(b["channel"], b["start"], b["interval_s"], regs))


def _tapped(self, msg):
    ctr = _emit(self, msg)  # raises (no line printed) if sealing or the flash append fails
    if msg["type"] == "readings":
        _print_truth(msg)
    return ctr


def _queued_truth(queue, key):
    """The READINGS frames between the queue's head and its end: produced, not yet acked."""
    from protocol import codec

    seq, off = queue.head_seq, queue.head_off
    while True:
        n, nseq, noff = queue.read(seq, off)
        if n == 0:
            return
        raw = bytes(queue.frame[0:n])
        if raw[3] & 0x0F == 2:
            _print_truth(codec.decode(raw, key))
        seq, off = nseq, noff


def _tapped_init(self, device_id, key, counter, queue):
    _init(self, device_id, key, counter, queue)
    _queued_truth(queue, key)


frames.FrameSink.emit = _tapped
frames.FrameSink.__init__ = _tapped_init

import firmware.main_sim  # noqa: E402, F401  (runs the board until it exits)
