"""The board's frame-counter reservation, read and raised over the REPL (provisioning only).

The firmware reserves frame counters in blocks and saves the end of the reservation first
(`ctr` in its flash state dir: CRC-32 then the u32 limit, both big-endian, firmware/atomic.py
and firmware/counter.py). Every counter a board has used is below that limit, and after a
reset it continues at or above it. Key rotation records the limit with the new key
(docs/decisions/016-key-rotation-grace.md); re-provisioning an id the gateway holds frames of
raises it above the highest stored counter (provisioning/flow.py).
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from contextlib import contextmanager

from provisioning.board import Board
from provisioning.errors import BoardExecError

__all__ = ["counter_file", "read_counter_limit", "read_limit", "write_counter_limit"]

# The firmware's flash state directory by MicroPython platform (firmware/hal_board.py
# `flash_root`): its frame counter reservation (`ctr`, firmware/counter.py) and flash queue
# (`q`, firmware/fqueue.py). The unix port (the virtual board) keeps it in a littlefs image,
# `flash.img` in the state dir its boot script runs the firmware with (firmware/hal_sim.py
# `flash_root`); the tool mounts it at UNIX_FLASH over the REPL (`_state_dir`). Any other
# platform: not reachable here, so the limit is not known and cannot be set.
STATE_DIRS = {"esp32": "/data"}
UNIX = "linux"
UNIX_FLASH = "/flash"


_LIST_QUEUE = """\
import os
try:
    print(len([n for n in os.listdir(%r) if len(n) == 8]))
except OSError:
    print(0)
"""


def counter_file(limit: int) -> bytes:
    """The firmware's `ctr` file for `limit` (firmware/atomic.py `write`, firmware/counter.py):
    the CRC-32 of the 4 limit bytes, then the limit, both big-endian."""
    data = limit.to_bytes(4, "big")
    return binascii.crc32(data).to_bytes(4, "big") + data


def write_counter_limit(board: Board, platform: str, limit: int) -> bool:
    """Make the board's next frame counter at least `limit`; False if its flash state is not
    reachable on this platform. The board must be stopped (in the REPL) and reset afterwards:
    at boot the firmware continues at the limit in `ctr` (or one past its queue's highest
    counter, if higher) and reserves from there (firmware/app.py, FrameCounter)."""
    with _state_dir(board, platform, create=True) as state:
        if not state:
            return False
        board.put_file(f"{state}/ctr", counter_file(limit))
        return True


def read_counter_limit(board: Board, platform: str) -> int | None:
    """The board's reserved frame-counter limit L, or None if it cannot be known.

    The firmware reserves counters in blocks and saves the end of the reservation first
    (`ctr`: CRC-32 then the u32 limit, both big-endian, firmware/atomic.py): every counter the
    board has used is below L, and after a reset it continues at or above L. Read over the REPL
    while the app is stopped, so it cannot move before the board's next reset. No `ctr` and no
    queued frames: the board never sealed a frame (a counter is reserved before it is used)
    and will start at 1 or above, so L = 1 and no old-key frame is accepted at all. A damaged
    file, a missing one with frames queued, or a platform whose flash state is not reachable
    here: None (the gateway then takes the limit from the first new-key frame).
    """
    return read_limit(board, platform)[1]


def read_limit(board: Board, platform: str) -> tuple[bool, int | None]:
    """(whether the board's flash state is reachable here, `read_counter_limit`)."""
    with _state_dir(board, platform) as state:
        if state is None:
            return False, None
        if not state:
            return True, 1          # no flash state at all: the board starts at 1
        raw = board.read_file(f"{state}/ctr")
        if raw is None:
            out = board.run(_LIST_QUEUE % f"{state}/q").strip().splitlines()
            try:
                queued = int(out[-1]) if out else 0
            except ValueError:
                return True, None
            return True, (1 if queued == 0 else None)
        if len(raw) != 8 or int.from_bytes(raw[:4], "big") != binascii.crc32(raw[4:]):
            return True, None
        return True, int.from_bytes(raw[4:], "big")


# Unix port: mount the board's flash image (as firmware/hal_sim.py `flash_root` does, with a
# block device that needs no firmware module, so an erased board works too). Its state dir
# is the --state-dir the firmware runs with, or the directory of the virtual board's boot
# script while the board waits in its provisioning window (simulator/virtual_board.py).
_UNIX_MOUNT = """\
import sys, os, vfs
class _MkBD:
    def __init__(self, f, n):
        self.f = f
        self.n = n
    def readblocks(self, b, buf, off=0):
        self.f.seek(b * 4096 + off)
        self.f.readinto(buf)
    def writeblocks(self, b, buf, off=None):
        self.f.seek(b * 4096 + (off or 0))
        self.f.write(buf)
    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return 4096
        if op == 6:
            self.f.seek(arg * 4096)
            self.f.write(b"\\xff" * 4096)
        if op == 3:
            self.f.flush()
        return 0
def _mk_mount(create):
    global _mk_img
    a = sys.argv
    if "--state-dir" in a:
        d = a[a.index("--state-dir") + 1]
    elif a and a[0].endswith("/boot_shim.py"):
        d = a[0][:-13]
    else:
        return "unknown"
    kb = int(a[a.index("--flash-kb") + 1]) if "--flash-kb" in a else 512
    p = d + "/flash.img"
    try:
        vfs.umount(%(at)r)
    except OSError:
        pass
    try:
        n = os.stat(p)[6] // 4096
    except OSError:
        if not create:
            return "erased"
        n = kb // 4
        with open(p, "wb") as f:
            for _ in range(n):
                f.write(b"\\xff" * 4096)
    f = open(p, "r+b")
    bd = _MkBD(f, n)
    try:
        fs = vfs.VfsLfs2(bd, readsize=256, progsize=256, lookahead=256)
    except OSError:
        if not create:
            f.close()
            return "erased"
        vfs.VfsLfs2.mkfs(bd)
        fs = vfs.VfsLfs2(bd, readsize=256, progsize=256, lookahead=256)
    vfs.mount(fs, %(at)r)
    _mk_img = f
    return "ok"
print(_mk_mount(%(create)r))
"""
_UNIX_UMOUNT = """\
import vfs
try:
    vfs.umount(%r)
except OSError:
    pass
_mk_img.close()
"""


@contextmanager
def _state_dir(board: Board, platform: str, *, create: bool = False) -> Iterator[str | None]:
    """The firmware's flash state dir on the board while the block runs: None if it is not
    reachable on `platform`, "" if the board has no flash state at all (unix port, erased;
    with `create` an empty one is made instead)."""
    if platform != UNIX:
        yield STATE_DIRS.get(platform)
        return
    try:
        out = board.run(_UNIX_MOUNT % {"at": UNIX_FLASH, "create": create})
    except BoardExecError:      # e.g. a build without littlefs: not reachable
        out = ""
    lines = out.strip().splitlines()
    status = lines[-1].strip() if lines else ""
    if status != "ok":
        yield "" if status == "erased" else None
        return
    try:
        yield UNIX_FLASH
    finally:
        board.run(_UNIX_UMOUNT % UNIX_FLASH)
