"""Block devices for littlefs on the unix port: RAM or file backed, with a power cut on demand.

`BlockDev(block_size, count, path=None)` implements the extended block protocol that
`vfs.VfsLfs2` uses (readblocks/writeblocks with offset, ioctl). `cut_after(k, keep)` makes the
k-th following program/erase apply only its first `keep` bytes and raise `PowerCut`; every
later write raises too, so the image stays exactly as a real power loss would leave it.
"""

_IOCTL_SYNC = 3
_IOCTL_COUNT = 4
_IOCTL_SIZE = 5
_IOCTL_ERASE = 6


class PowerCut(Exception):
    """Raised by a BlockDev once its simulated supply has been cut."""


class BlockDev:
    """`path` None: RAM image (`data`: initial bytes, default erased); else a file image.
    Reads and writes allocate nothing, so littlefs may call them from a finaliser."""

    def __init__(self, block_size, count, path=None, data=None):
        self.bs = block_size
        self.count = count
        self.writes = 0  # programs + erases so far (the fault-injection clock)
        self.erases = 0
        self.prog_bytes = 0
        self._cut = 0  # write index that cuts power; 0 = never
        self._keep = 0
        self.dead = False
        self._exc = PowerCut("power cut")
        self._blank = b"\xff" * block_size
        if path is None:
            import io

            self._s = io.BytesIO(data if data is not None else self._blank * count)
        else:
            try:
                self._s = open(path, "r+b")
            except OSError:
                with open(path, "wb") as f:
                    for _ in range(count):
                        f.write(self._blank)
                self._s = open(path, "r+b")

    def image(self):
        """A copy of the whole device (RAM images)."""
        return self._s.getvalue()

    def cut_after(self, k, keep=0):
        """Cut power during the k-th write from now (1 = the next one), keeping `keep` bytes."""
        self._cut = self.writes + k
        self._keep = keep

    def readblocks(self, block, buf, offset=0):
        self._s.seek(block * self.bs + offset)
        self._s.readinto(buf)

    def _program(self, a, buf):
        self.writes += 1
        if self.dead:
            raise self._exc
        if self._cut and self.writes >= self._cut:
            self.dead = True
            n = min(self._keep, len(buf))
            if n:
                self._s.seek(a)
                self._s.write(memoryview(buf)[0:n])
            raise self._exc
        self._s.seek(a)
        self._s.write(buf)
        self.prog_bytes += len(buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # simple protocol: erase then program whole blocks
            for i in range(len(buf) // self.bs):
                self._erase(block + i)
            offset = 0
        self._program(block * self.bs + offset, buf)

    def _erase(self, block):
        self.erases += 1
        self._program(block * self.bs, self._blank)
        self.prog_bytes -= self.bs  # an erase is not programmed data

    def ioctl(self, op, arg):
        if op == _IOCTL_COUNT:
            return self.count
        if op == _IOCTL_SIZE:
            return self.bs
        if op == _IOCTL_ERASE:
            self._erase(arg)
            return 0
        if op == _IOCTL_SYNC and hasattr(self._s, "flush"):
            self._s.flush()
        return 0

    def close(self):
        self._s.close()
