# ruff: noqa: UP031, SIM105  (MicroPython: no contextlib; %-formatting is its idiom)
"""Cut the supply at every flash write of a scripted run, on littlefs in RAM (MicroPython).

`sweep(bs, count, new_journal, run, check)`: `run(j)` is the scripted run, recording what it
knew for sure in the journal `j`; it runs once uncut to count its flash writes, then once per
write with the supply cut there (the k-th write keeps only part of its bytes). After each cut
the image is mounted again at "/f" and `check(j, k)` returns the violations it finds.
Returns (writes, cuts, violations, the uncut run's journal); prints a line per violation.
"""

import vfs

from firmware.blockdev import BlockDev, PowerCut


def mount(bs, count, data, cut=0, keep=0):
    bd = BlockDev(bs, count, data=data)
    if cut:
        bd.cut_after(cut, keep)
    vfs.mount(vfs.VfsLfs2(bd), "/f")
    return bd


def unmount():
    try:
        vfs.umount("/f")
    except (OSError, PowerCut):
        pass


def sweep(bs, count, new_journal, run, check):
    blank = BlockDev(bs, count)
    vfs.VfsLfs2.mkfs(blank)
    image = blank.image()
    first = new_journal()
    bd = mount(bs, count, image)
    run(first)
    unmount()
    total = bd.writes
    violations = 0
    cuts = 0
    for k in range(1, total + 1):
        j = new_journal()
        bd = mount(bs, count, image, k, (k * 37) % bs)
        try:
            run(j)
            print("no cut at write", k)
            violations += 1
        except PowerCut:
            cuts += 1
        unmount()
        mount(bs, count, bd.image())
        bad = check(j, k)
        unmount()
        if bad:
            violations += 1
            print("cut at write %d:" % k, "; ".join(bad[:3]))
    return total, cuts, violations, first
