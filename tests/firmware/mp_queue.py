"""MicroPython side of the queue unit test: littlefs in RAM, checks printed as RESULT json."""

import json

import vfs

from firmware.blockdev import BlockDev
from firmware.fqueue import FlashQueue


def frame(counter, size=40):
    """A header-shaped record body: the queue only reads the counter at bytes 8..11."""
    b = bytearray(size)
    b[0:2] = b"MK"
    b[8:12] = counter.to_bytes(4, "big")
    return b


def main():
    out = {}
    bd = BlockDev(512, 64)
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), "/f")
    q = FlashQueue("/f/q", 4 * 1200, 1200)
    for c in range(1, 4):
        q.append(frame(c), 40)
    n, s, o = q.read(q.head_seq, q.head_off)
    before = bytes(q.frame[0:n])
    q.append(frame(99, 60), 60)  # an interval closes while the session holds a frame
    out["read_frame_intact"] = bytes(q.frame[0:n]) == before
    out["depth"] = q.depth
    # fill past the bound: whole oldest segments go, counted
    c = 100
    while q.dropped == 0:
        q.append(frame(c), 40)
        c += 1
    n, s, o = q.read(q.head_seq, q.head_off)
    out["head_counter_after_drop"] = q.counter_of()
    out["dropped"] = q.dropped
    out["appended"] = 4 + (c - 100)
    out["depth_after_drop"] = q.depth
    # release two records, reopen (reboot), the head and the count survive
    n, s, o = q.read(s, o)
    q.release(s, o, 2)
    q2 = FlashQueue("/f/q", 4 * 1200, 1200)
    n, s, o = q2.read(q2.head_seq, q2.head_off)
    out["reboot_head_counter"] = q2.counter_of()
    out["reboot_depth"] = q2.depth
    out["reboot_dropped"] = q2.dropped
    out["max_counter"] = q2.max_counter
    print("RESULT " + json.dumps(out))


main()
