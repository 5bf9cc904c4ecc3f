"""Flash queue of sealed frames: append-only CRC'd records in segment files, released by ACKs.

Layout under `root` (ADR 007): segment files named by an 8-hex-digit sequence number, each a
run of records `A5 | len (u16 BE) | frame | CRC-32 (BE) of len+frame`, and `head` (written
with `atomic.write`): first unacknowledged position (segment, offset) and the total number of
records dropped for lack of space. Segments before the head are acknowledged history, kept
for `resend` until the space is needed.

The bound is `max_bytes`, clamped at boot to what the filesystem can hold (`os.statvfs`, less a
reserve for littlefs metadata, copy-on-write and the small state files). If the flash fills
anyway (ENOSPC), the oldest segment goes (counted like an overflow) and the write is retried;
a frame that still finds no room is counted as dropped. Nothing here raises ENOSPC.
"""

import binascii
import os

from micropython import const

from firmware import atomic

_MAGIC = const(0xA5)
_HDR = const(3)
MAX_FRAME = const(1047)
MAX_REC = const(1054)  # _HDR + MAX_FRAME + 4


class FlashQueue:
    def __init__(self, root, max_bytes=196608, seg_bytes=4096):
        self.root = root
        self._seg_bytes = seg_bytes
        self._max_segs = max(3, max_bytes // seg_bytes)
        self._sealed = False  # the last segment may end in garbage: append to a new one
        # Two buffers: appends (meter task, also boot scans and overflow drops) and reads
        # (session task). A frame being sent stays intact while an interval closes, even
        # across the awaits of the AT driver.
        self._mv = memoryview(bytearray(MAX_REC))  # append / scan
        self._rmv = memoryview(bytearray(MAX_REC))  # read
        self.frame = self._rmv[_HDR:]  # frame bytes of the last record read start here
        self._segs = []  # sequence numbers, ascending
        self._lens = []  # valid length of each segment
        self.head_seq = 0
        self.head_off = 0
        self.dropped = 0  # records lost to overflow, ever (persisted in `head`)
        self.depth = 0  # unacknowledged records
        self.max_counter = 0  # highest frame counter found at boot
        self.repaired = 0  # damaged tails cut at boot
        self.clamped_kb = 0  # bound lowered to this to fit the flash (0: as configured)
        self._recover()
        self._fit()

    # -- paths and persistence ---------------------------------------------------------------
    def _path(self, seq):
        return "%s/%08x" % (self.root, seq)

    def _save_head(self):
        b = bytearray(12)
        while True:  # flash full: drop the oldest segment, save the head as it is then
            b[0:4] = self.head_seq.to_bytes(4, "big")
            b[4:8] = self.head_off.to_bytes(4, "big")
            b[8:12] = self.dropped.to_bytes(4, "big")
            try:
                atomic.write(self.root + "/head", b)
                return
            except OSError as e:
                if not atomic.full(e):
                    raise
            if not self.make_room(False):
                print("queue: flash full, head not saved")  # counts stay right in RAM
                return

    def _fit(self):
        """Clamp the bound to what the filesystem holds: its free blocks plus those of our
        segments, less a reserve of max(8 blocks, 10 %) for littlefs metadata (directory
        pairs that split as segments come and go), copy-on-write (an append rewrites the
        last block of its segment, an atomic write holds the old and new file, the boot
        repair copies a segment) and the small files `state`, `ctr`, `head`."""
        try:
            st = os.statvfs(self.root)
        except (AttributeError, OSError):
            return
        bs, blocks, free = st[0], st[2], st[3]
        if free > blocks:  # littlefs reports garbage when completely full
            free = 0
        # a full segment: its blocks (after the first, littlefs keeps ~8 bytes of skip-list
        # pointers in each) and ~128 bytes of directory entry in a metadata pair
        per = (1 + (max(0, self._seg_bytes - bs) + bs - 9) // (bs - 8)) * bs + 128
        for n in self._lens:
            free += (n + bs - 1) // bs
        fit = (free - max(8, blocks // 10)) * bs // per
        if fit < self._max_segs:
            self._max_segs = max(2, fit)
            self.clamped_kb = self._max_segs * self._seg_bytes // 1024

    # -- boot recovery ------------------------------------------------------------------------
    def _recover(self):
        try:
            os.mkdir(self.root)
        except OSError:
            pass
        segs = []
        for name in os.listdir(self.root):
            if name.endswith(".tmp"):
                atomic.remove(self.root + "/" + name)
            elif len(name) == 8:
                try:
                    segs.append(int(name, 16))
                except ValueError:
                    pass
        segs.sort()
        raw = atomic.read(self.root + "/head")
        if raw is not None and len(raw) == 12:
            hs = int.from_bytes(raw[0:4], "big")
            ho = int.from_bytes(raw[4:8], "big")
            self.dropped = int.from_bytes(raw[8:12], "big")
        else:  # no head yet (or damaged): keep everything, the gateway de-duplicates
            hs = segs[0] if segs else 1
            ho = 0
        for seq in segs:
            end, size, count, last = self._scan(seq, ho if seq == hs else 0)
            self._sealed = False
            if end < size:
                self._sealed = not self._truncate(seq, end)
                self.repaired += 1
            self._segs.append(seq)
            self._lens.append(end)
            if last > self.max_counter:
                self.max_counter = last
            if seq > hs or (seq == hs and ho < end):
                self.depth += count
        # head on a segment that is gone: move it to the first one after it
        if hs not in self._segs:
            ho = 0
            for seq in self._segs:
                if seq > hs:
                    hs = seq
                    break
        elif ho > self._lens[self._segs.index(hs)]:
            ho = self._lens[self._segs.index(hs)]
        self.head_seq = hs
        self.head_off = ho

    def _scan(self, seq, count_from):
        """Return (valid end, file size, records at or after count_from, last counter)."""
        end = 0
        count = 0
        last = 0
        mv = self._mv
        try:
            f = open(self._path(seq), "rb")
        except OSError:
            return 0, 0, 0, 0
        with f:
            size = f.seek(0, 2)
            f.seek(0)
            while True:
                n = self._read_rec(f, mv)
                if n == 0:
                    break
                if end >= count_from:
                    count += 1
                last = int.from_bytes(mv[_HDR + 8 : _HDR + 12], "big")
                end += _HDR + n + 4
        return end, size, count, last

    def _read_rec(self, f, mv):
        """Read one record at the file position into mv; frame length or 0 if none."""
        if f.readinto(mv[0:_HDR]) != _HDR or mv[0] != _MAGIC:
            return 0
        n = (mv[1] << 8) | mv[2]
        if n < 15 or n > MAX_FRAME:
            return 0
        if f.readinto(mv[_HDR : _HDR + n + 4]) != n + 4:
            return 0
        crc = binascii.crc32(mv[1 : _HDR + n])
        if crc != int.from_bytes(mv[_HDR + n : _HDR + n + 4], "big"):
            return 0
        return n

    def _truncate(self, seq, end):
        """Keep only the first `end` valid bytes of a segment (copy, then atomic rename).

        False if the flash has no room for the copy: the tail stays, reads stop at `end`
        (`_lens`) and the segment is not appended to."""
        path = self._path(seq)
        tmp = path + ".tmp"
        buf = self._mv[0:256]
        try:
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                left = end
                while left > 0:
                    k = src.readinto(buf[0 : min(256, left)])
                    dst.write(buf[0:k])
                    left -= k
            os.rename(tmp, path)
        except OSError as e:
            if not atomic.full(e):
                raise
            atomic.remove(tmp)
            return False
        return True

    # -- append ---------------------------------------------------------------------------------
    def append(self, frame, n):
        """Append frame[0:n] as one record; return how many records were dropped for it (the
        frame itself too if the flash has no room for it even with every segment gone)."""
        rec = _HDR + n + 4
        d0 = self.dropped
        mv = self._mv
        while True:
            if self._sealed or not self._segs or self._lens[-1] + rec > self._seg_bytes:
                self._new_seg()
            mv[0] = _MAGIC  # (re)built each pass: a drop scans through the same buffer
            mv[1] = n >> 8
            mv[2] = n & 0xFF
            mv[_HDR : _HDR + n] = frame[0:n]
            crc = binascii.crc32(mv[1 : _HDR + n])
            mv[_HDR + n] = (crc >> 24) & 0xFF
            mv[_HDR + n + 1] = (crc >> 16) & 0xFF
            mv[_HDR + n + 2] = (crc >> 8) & 0xFF
            mv[_HDR + n + 3] = crc & 0xFF
            path = self._path(self._segs[-1])
            try:
                with open(path, "ab") as f:
                    f.write(mv[0:rec])
                break
            except OSError as e:
                if not atomic.full(e):
                    raise
            # Flash full. littlefs keeps the file as it was, but never append after whatever
            # a failed write may have left: a later boot would cut good records behind it.
            if self._lens[-1]:
                self._sealed = True
            else:
                atomic.remove(path)
            if not self.make_room():
                self.dropped += 1  # not even one segment to give up: this frame is lost
                self._save_head()
                return self.dropped - d0
        self._lens[-1] += rec
        self.depth += 1
        return self.dropped - d0

    def _new_seg(self):
        seq = self._segs[-1] + 1 if self._segs else max(1, self.head_seq)
        if not self._segs or (self.head_seq == self._segs[-1] and
                              self.head_off >= self._lens[-1]):
            self.head_seq = seq  # queue empty: the head moves to the new segment
            self.head_off = 0
        self._segs.append(seq)
        self._lens.append(0)
        self._sealed = False
        if len(self._segs) > self._max_segs:
            lost = 0
            while len(self._segs) > self._max_segs:
                lost += self._drop()
            if lost:
                self._save_head()

    def make_room(self, save=True):
        """Free flash after ENOSPC: drop the oldest segment (history first, then unacknowledged
        records, counted like an overflow). False when there is nothing left to drop."""
        if not self._segs or (len(self._segs) == 1 and not self._lens[0]):
            return False
        k = max(2, len(self._segs) - 1)
        if k < self._max_segs:  # learn the real bound: plain overflow drops from now on
            self._max_segs = k
            print("queue: flash full, bound lowered to %d segments" % k)
        if self._drop() and save:
            self._save_head()
        return True

    def _drop(self):
        """Remove the oldest segment; the caller saves the head if records were lost."""
        seq = self._segs[0]
        lost = 0
        if seq >= self.head_seq:  # unacknowledged data: count it, move the head past it
            lost = self._scan(seq, self.head_off if seq == self.head_seq else 0)[2]
            self.head_seq = self._segs[1] if len(self._segs) > 1 else seq + 1
            self.head_off = 0
            self.dropped += lost
            self.depth -= lost
        atomic.remove(self._path(seq))
        self._segs.pop(0)
        self._lens.pop(0)
        return lost

    # -- read and release -----------------------------------------------------------------------
    def norm(self, seq, off):
        """Canonical form of a position: the end of a closed segment is the next one's start."""
        segs = self._segs
        for i in range(len(segs) - 1):
            if segs[i] == seq:
                if off >= self._lens[i]:
                    return segs[i + 1], 0
                break
        return seq, off

    def read(self, seq, off):
        """Read the record at a position: (frame length or 0 at the end, next seq, next off).

        The frame is in `self.frame[0:n]` until the next read or append."""
        seq, off = self.norm(seq, off)
        if seq not in self._segs:
            if self._segs and seq < self._segs[0]:
                seq, off = self._segs[0], 0
            else:
                return 0, seq, off
        try:
            f = open(self._path(seq), "rb")
        except OSError:
            return 0, seq, off
        with f:
            f.seek(off)
            n = self._read_rec(f, self._rmv)
        if n == 0:
            return 0, seq, off
        return n, seq, off + _HDR + n + 4

    def counter_of(self):
        """Frame counter of the last record read."""
        return int.from_bytes(self._rmv[_HDR + 8 : _HDR + 12], "big")

    def release(self, seq, off, count):
        """The gateway holds every record before (seq, off): move the head there, durably."""
        seq, off = self.norm(seq, off)
        if (seq, off) <= (self.head_seq, self.head_off):
            return
        self.head_seq = seq
        self.head_off = off
        self.depth = max(0, self.depth - count)
        self._save_head()

    def find_counter(self, counter):
        """Position of the first stored record (history included) with a counter >= `counter`."""
        for seq in self._segs:
            off = 0
            while True:
                n, nseq, noff = self.read(seq, off)
                if n == 0 or nseq != seq:
                    break
                if self.counter_of() >= counter:
                    return seq, off
                off = noff
        return None

    def used_bytes(self):
        return sum(self._lens)
