"""Uplink frame counter that never repeats: blocks of counters reserved in flash before use."""

from firmware import atomic

BLOCK = 64


class FrameCounter:
    """`take()` returns the next counter. The file holds the first counter of the next block;
    it is advanced (atomically) before any counter of a new block is handed out, so after a
    power cut the board skips at most one block and never reuses a value (ADR 007).

    Flash full: `room()` (the queue's `make_room`) drops the oldest queued frames until the
    reservation fits. If it cannot be saved at all, `take()` raises OSError ENOSPC and hands
    out nothing: no frame ever carries a counter that is not reserved in flash."""

    def __init__(self, path, floor=1, block=BLOCK, room=None):
        self._path = path
        self._block = block
        self.room = room
        raw = atomic.read(path)
        start = int.from_bytes(raw, "big") if raw is not None and len(raw) == 4 else 0
        # `floor`: one past the highest counter found in the flash queue (defence in depth).
        if start < floor:
            start = floor
        self._next = start
        self._limit = start  # nothing reserved yet: the first take() reserves a block

    def take(self):
        n = self._next
        if n >= self._limit:
            limit = n + self._block
            atomic.write(self._path, limit.to_bytes(4, "big"), self.room)
            self._limit = limit
        self._next = n + 1
        return n

    def peek(self):
        return self._next
