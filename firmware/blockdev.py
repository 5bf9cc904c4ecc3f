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
    def __init__(self, block_size, count, path=None, data=None):
        self.bs = block_size
        self.count = count
        self.writes = 0  # programs + erases so far (the fault-injection clock)
        self._cut = 0  # write index that cuts power; 0 = never
        self._keep = 0
        self.dead = False
        self._f = None
        self.data = None
        self._blank = b"\xff" * block_size
        if path is None:
            self.data = data if data is not None else bytearray(self._blank * count)
        else:
            try:
                self._f = open(path, "r+b")
            except OSError:
                with open(path, "wb") as f:
                    for _ in range(count):
                        f.write(self._blank)
                self._f = open(path, "r+b")

    def cut_after(self, k, keep=0):
        """Cut power during the k-th write from now (1 = the next one), keeping `keep` bytes."""
        self._cut = self.writes + k
        self._keep = keep

    def readblocks(self, block, buf, offset=0):
        a = block * self.bs + offset
        if self._f is None:
            n = len(buf)
            buf[0:n] = memoryview(self.data)[a : a + n]
        else:
            self._f.seek(a)
            self._f.readinto(buf)

    def _program(self, a, buf):
        self.writes += 1
        n = len(buf)
        if self.dead:
            raise PowerCut("write after power cut")
        if self._cut and self.writes >= self._cut:
            self.dead = True
            n = min(self._keep, n)
            if n:
                self._store(a, memoryview(buf)[0:n])
            raise PowerCut("power cut at write %d" % self.writes)
        self._store(a, buf)

    def _store(self, a, buf):
        if self._f is None:
            self.data[a : a + len(buf)] = buf
        else:
            self._f.seek(a)
            self._f.write(buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # simple protocol: erase then program whole blocks
            for i in range(len(buf) // self.bs):
                self._erase(block + i)
            offset = 0
        self._program(block * self.bs + offset, buf)

    def _erase(self, block):
        self._program(block * self.bs, self._blank)

    def ioctl(self, op, arg):
        if op == _IOCTL_COUNT:
            return self.count
        if op == _IOCTL_SIZE:
            return self.bs
        if op == _IOCTL_ERASE:
            self._erase(arg)
            return 0
        if op == _IOCTL_SYNC and self._f is not None:
            self._f.flush()
        return 0

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None
