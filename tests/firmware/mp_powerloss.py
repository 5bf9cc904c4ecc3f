# ruff: noqa: UP031  (MicroPython: %-formatting is its idiom)
"""MicroPython side of the power-loss test: cut the supply at every flash write of a scripted
run (queue appends, ACK releases, overflow drops, counter reservations, state saves), reboot
from the image as the cut left it, and check the invariants of ADR 007.

Usage: micropython mp_powerloss.py STEPS  -> prints "RESULT {json}"; exit 1 on a violation.
"""

import json
import sys

from mp_cutsweep import sweep

from firmware.counter import FrameCounter
from firmware.fqueue import FlashQueue
from firmware.frames import FrameSink
from firmware.state import State
from protocol import codec

BS = 512
COUNT = 64
SEG = 256
MAX_BYTES = 4 * SEG
KEY = bytes(range(16))
DEV = 1001
T0 = 1767225600


class Journal:
    """What the board knew for sure (done) or had started (try) when the power went."""

    def __init__(self):
        self.appended = []
        self.inflight = None
        self.taken_max = 0
        self.rel_done = 0
        self.rel_try = 0
        self.drop_try = 0  # highest counter a drop in progress may remove
        self.drop_done = 0  # highest counter a completed drop removed
        self.dropped_done = 0
        self.reg_done = None
        self.reg_try = None


class TrackCounter(FrameCounter):
    def __init__(self, j, *a, **k):
        super().__init__(*a, **k)
        self.j = j

    def take(self):
        n = super().take()  # once it returns, the counter may be on the air
        self.j.inflight = n
        self.j.taken_max = max(self.j.taken_max, n)
        return n


def last_counter_of_oldest_unacked(q):
    """If the next append may drop the oldest unacknowledged segment, its last counter."""
    if len(q._segs) < q._max_segs:
        return 0
    seq = q._segs[0]
    if seq < q.head_seq:
        return 0
    off = q.head_off if seq == q.head_seq else 0
    last = 0
    while True:
        n, ns, no = q.read(seq, off)
        if n == 0 or ns != seq:
            return last
        last = q.counter_of()
        off = no


def scenario(j, steps):
    q = FlashQueue("/f/q", MAX_BYTES, SEG)
    ctr = TrackCounter(j, "/f/ctr", q.max_counter + 1, 8)
    st = State("/f/state")
    sink = FrameSink(DEV, KEY, ctr, q)
    for step in range(steps):
        reg = 1000 + 7 * step
        j.drop_try = last_counter_of_oldest_unacked(q)
        sink.emit({"type": "readings", "blocks": [
            {"channel": 0, "unit": "Wh", "interval_s": 900, "start": T0 + 900 * step,
             "registers": [reg], "flags": [0]}]})
        j.appended.append(j.inflight)
        j.inflight = None
        if q.dropped != j.dropped_done:
            j.drop_done = max(j.drop_done, j.drop_try)
        j.drop_try = 0
        j.dropped_done = q.dropped
        if step % 2 == 1:
            st.data["ch"] = {"0": [reg, 0, T0 + 900 * step, 0]}
            j.reg_try = reg
            st.save()
            j.reg_done = reg
        if step % 4 == 3:  # the gateway acknowledged the two oldest records
            n, s1, o1 = q.read(q.head_seq, q.head_off)
            n, s2, o2 = q.read(s1, o1)
            if n:
                c = q.counter_of()
                j.rel_try = c
                q.release(s2, o2, 2)
                j.rel_done = c


def check(j, k):
    """Reboot on the cut image; return a list of violations."""
    bad = []
    q = FlashQueue("/f/q", MAX_BYTES, SEG)
    present = []
    seq, off = q.head_seq, q.head_off
    while True:
        n, seq, off = q.read(seq, off)
        if n == 0:
            break
        raw = bytes(q.frame[0:n])
        msg = codec.decode(raw, KEY)  # authentic and well-formed, or it raises
        present.append(msg["counter"])
    if q.depth != len(present):
        bad.append("depth %d but %d records readable" % (q.depth, len(present)))
    for i in range(1, len(present)):
        if present[i] <= present[i - 1]:
            bad.append("counters out of order: %r" % present)
    seqn = j.appended + ([j.inflight] if j.inflight is not None else [])
    for c in present:
        if c <= j.rel_done:
            bad.append("acknowledged frame %d reappeared" % c)
        if c not in seqn:
            bad.append("unknown frame %d" % c)
    if present:  # no holes: a contiguous run of what was appended
        i = seqn.index(present[0]) if present[0] in seqn else -1
        if seqn[i : i + len(present)] != present:
            bad.append("hole in queue: %r vs %r" % (present, seqn))
    floor = max(j.rel_try, j.drop_done, j.drop_try)
    for c in j.appended:
        if c > floor and c not in present:
            bad.append("unacknowledged frame %d lost (floor %d)" % (c, floor))
    if q.dropped < j.dropped_done:
        bad.append("dropped count went back: %d < %d" % (q.dropped, j.dropped_done))
    ctr = FrameCounter("/f/ctr", q.max_counter + 1, 8)
    nxt = ctr.take()
    if nxt <= j.taken_max:
        bad.append("counter %d reused (max before cut %d)" % (nxt, j.taken_max))
    st = State("/f/state")
    got = st.data["ch"].get("0", [None])[0]
    if got not in (j.reg_done, j.reg_try):
        bad.append("register %r, expected %r or %r" % (got, j.reg_done, j.reg_try))
    # the queue keeps working after recovery
    sink = FrameSink(DEV, KEY, ctr, q)
    sink.emit({"type": "event", "events": [{"time": T0, "code": "reboot", "channel": None,
                                            "value": k}]})
    return bad


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    total, cuts, violations, first = sweep(BS, COUNT, Journal,
                                           lambda j: scenario(j, steps), check)
    print("RESULT " + json.dumps({"writes": total, "cuts": cuts, "violations": violations,
                                  "appended": len(first.appended),
                                  "dropped": first.dropped_done}))
    if violations:
        sys.exit(1)


main()
