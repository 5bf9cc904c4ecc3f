"""Split a TCP byte stream into frames, skipping garbage (resync by magic and header check)."""

from protocol.errors import ProtocolError
from protocol.frame import HEADER_LEN, MAX_PAYLOAD, TAG_LEN, parse_header


class Deframer:
    """Incremental deframer: `feed(data)` returns the complete raw frames found so far.

    A frame is returned when its header is valid (magic, version, CRC-8, type, length); its
    tag is NOT checked here, that needs the key (`frame.open_frame`). Bytes before a magic
    and any candidate whose header fails are dropped: the scan restarts one byte past the
    failed magic. At most one frame's worth of bytes (15 + max_payload + 8) is kept between
    calls.

    A false magic in garbage carries a valid header check 1 time in 256 and would swallow the
    frames behind it as its "body". Pass `accept(raw) -> bool` (e.g. "the tag verifies") to
    close that hole: a candidate it refuses is treated like a bad header, and the bytes it
    covered are scanned again. Without it, the frames are lost from this connection (the board
    resends whatever was not acknowledged). `accept` must not raise.

    Counters: `discarded_bytes` (garbage dropped), `frames` (frames returned).
    """

    def __init__(self, max_payload=MAX_PAYLOAD, accept=None):
        self.max_payload = max_payload
        self.accept = accept
        self.max_buffer = HEADER_LEN + max_payload + TAG_LEN
        self._buf = bytearray()
        self.discarded_bytes = 0
        self.frames = 0

    def buffered(self):
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data):
        """Add received bytes; return a list of complete raw frames (bytes), oldest first."""
        buf = self._buf
        buf.extend(data)
        out = []
        pos = 0
        n = len(buf)
        while True:
            i = buf.find(b"MK", pos)
            if i < 0:
                # Keep a trailing "M": it may be the first half of a magic split across reads.
                keep = 1 if n > pos and buf[n - 1] == 0x4D else 0
                self.discarded_bytes += n - pos - keep
                pos = n - keep
                break
            self.discarded_bytes += i - pos
            pos = i
            if n - pos < HEADER_LEN:
                break  # wait for the rest of the header
            try:
                # A 15-byte copy, made only at a magic: a memoryview would pin the buffer
                # and forbid the resize at the end on CPython.
                h = parse_header(buf[pos : pos + HEADER_LEN], self.max_payload)
            except ProtocolError:
                self.discarded_bytes += 1
                pos += 1
                continue
            if n - pos < h.total_len:
                break  # header fine, body still on its way
            raw = bytes(buf[pos : pos + h.total_len])
            if self.accept is not None and not self.accept(raw):
                self.discarded_bytes += 1
                pos += 1
                continue
            out.append(raw)
            self.frames += 1
            pos += h.total_len
        if pos:
            buf[0:pos] = b""
        return out

    def reject(self, raw):
        """`raw` (from `feed`) failed authentication: rescan its bytes after its first one.

        Returns the frames found in them and in the bytes still buffered. It can only rescan
        what is still held: frames a false header swallowed are found again, but not the bytes
        `feed` had already consumed after it. `accept=` has no such gap; this is the cheaper
        after-the-fact variant for receivers that decrypt outside the deframer.
        """
        self.discarded_bytes += 1
        tail = self._buf
        self._buf = bytearray(raw[1:])
        return self.feed(tail)

    def reset(self):
        """Forget buffered bytes (new connection)."""
        self.discarded_bytes += len(self._buf)
        self._buf = bytearray()
