# ruff: noqa: UP031, SIM105  (MicroPython: no contextlib; %-formatting is its idiom)
"""MicroPython side of the full-flash test: littlefs in RAM filled up until writes fail with
ENOSPC; the queue, the counter and the state must degrade (drop oldest, counted), never raise.
Prints "RESULT {json}"."""

import json
import os

import vfs
from mp_fullfs import BS, fill, fill_all, unfill

from firmware.blockdev import BlockDev
from firmware.counter import FrameCounter
from firmware.fqueue import FlashQueue
from firmware.state import State

COUNT = 64
SEG = 1200
BIG = 4096 * 1024  # queue.max_kb at its maximum: far more than the 32 KB device


def frame(counter, size=40):
    """A header-shaped record body: the queue only reads the counter at bytes 8..11."""
    b = bytearray(size)
    b[0:2] = b"MK"
    b[8:12] = counter.to_bytes(4, "big")
    return b


def fresh():
    try:
        vfs.umount("/f")
    except OSError:
        pass
    bd = BlockDev(BS, COUNT)
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), "/f")


def contents(q):
    """Counters readable from the head, in order."""
    out = []
    seq, off = q.head_seq, q.head_off
    while True:
        n, seq, off = q.read(seq, off)
        if n == 0:
            return out
        out.append(q.counter_of())


def clamp(out):
    fresh()
    q = FlashQueue("/f/q", BIG, SEG)
    out["clamped_kb"] = q.clamped_kb
    out["clamped_segs"] = q._max_segs


def overflow_by_enospc(out):
    """The bound (clamped at boot) is more than the flash holds once a big file appears."""
    fresh()
    q = FlashQueue("/f/q", BIG, SEG)
    st = State("/f/state")
    st.room = q.make_room
    ctr = FrameCounter("/f/ctr", q.max_counter + 1, 8, q.make_room)
    segs0 = q._max_segs
    room = fill("/f/fill")
    os.remove("/f/fill")
    fill("/f/fill", room - 14 * BS)  # leaves room for ~4 segments, the bound says more
    taken = []
    saves = 0
    for i in range(300):
        c = ctr.take()
        taken.append(c)
        q.append(frame(c), 40)
        if i % 3 == 0:
            st.data["ch"] = {"0": [i, 0, 0, 0]}
            saves += st.save()
    present = contents(q)
    out["enospc_bound_before"] = segs0
    out["enospc_bound_after"] = q._max_segs
    out["enospc_taken"] = len(taken)
    out["enospc_counters_unique"] = len(set(taken)) == len(taken)
    out["enospc_present_is_newest"] = present == taken[len(taken) - len(present):]
    out["enospc_present"] = len(present)
    out["enospc_dropped"] = q.dropped
    out["enospc_depth"] = q.depth
    out["enospc_state_saves"] = saves
    # reboot: the same frames, the same count, nothing to repair
    q2 = FlashQueue("/f/q", BIG, SEG)
    out["reboot_same"] = contents(q2) == present
    out["reboot_dropped"] = q2.dropped
    out["reboot_repaired"] = q2.repaired
    out["reboot_state"] = State("/f/state").data["ch"]["0"][0]
    out["reboot_counter_above"] = FrameCounter("/f/ctr", q2.max_counter + 1, 8).take() > max(
        taken)


def nothing_to_drop(out):
    """The flash is full of something else and the queue is empty: count, never raise."""
    fresh()
    q = FlashQueue("/f/q", BIG, SEG)
    st = State("/f/state")
    st.room = q.make_room
    ctr = FrameCounter("/f/ctr", 1, 8, q.make_room)
    names = fill_all()
    out["full_append_lost"] = q.append(frame(1), 40)
    out["full_dropped"] = q.dropped
    out["full_depth"] = q.depth
    out["full_state_saved"] = st.save()
    nxt = ctr.peek()
    try:
        ctr.take()
        out["full_take"] = "returned"
    except OSError as e:
        out["full_take"] = e.errno
    out["full_counter_kept"] = ctr.peek() == nxt
    unfill(names)  # space again: the same counter, now reserved in flash
    out["after_take"] = ctr.take()
    out["after_reserved"] = FrameCounter("/f/ctr", 1, 8).take() > out["after_take"]
    q.append(frame(out["after_take"]), 40)
    out["after_present"] = contents(q)


def repair_without_room(out):
    """A damaged tail that cannot be cut (no room for the copy): later appends go to a new
    segment, so the next boot's repair cuts only the garbage, never them."""
    fresh()
    q = FlashQueue("/f/q", BIG, SEG)
    for c in (1, 2, 3):
        q.append(frame(c), 40)
    with open("/f/q/%08x" % q._segs[-1], "ab") as f:
        f.write(b"\xa5\x00\x28garbage")  # a record cut short
    names = fill_all()
    q2 = FlashQueue("/f/q", BIG, SEG)
    out["repair_repaired"] = q2.repaired
    unfill(names)
    q2.append(frame(4), 40)
    q2.append(frame(5), 40)
    out["repair_segments"] = len(q2._segs)
    q3 = FlashQueue("/f/q", BIG, SEG)
    out["repair_present"] = contents(q3)
    out["repair_depth"] = q3.depth


def main():
    out = {}
    clamp(out)
    overflow_by_enospc(out)
    nothing_to_drop(out)
    repair_without_room(out)
    print("RESULT " + json.dumps(out))


main()
