"""Frame scanner with peek/accept/reject, so a frame that fails authentication loses no bytes.

``protocol.stream.Deframer`` hands out every frame of a chunk at once and drops the garbage it
scans past; ``Deframer.reject`` can only rescan the bytes it still holds, so a truncated frame
that swallowed the head of the next frame loses that frame too (the rest of it was already
discarded as garbage). Ingest authenticates frame by frame, so it peeks instead:

    scanner = FrameScanner()
    scanner.feed(data)
    while (raw := scanner.peek()) is not None:
        if authentic(raw): scanner.accept()    # consume the frame
        else: scanner.reject()                 # skip one byte past the false magic, rescan

Header checks are ``protocol.frame.parse_header`` (magic, version, CRC-8, type, length).
"""

from __future__ import annotations

from protocol.errors import ProtocolError
from protocol.frame import HEADER_LEN, MAX_PAYLOAD, Header, parse_header

__all__ = ["FrameScanner"]


class FrameScanner:
    """Holds unconsumed stream bytes; `peek()` finds the next complete, header-valid frame."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self._frame_len = 0          # length of the frame peek() returned, 0 if none
        self.header: Header | None = None  # parsed header of the frame peek() returned
        self.discarded_bytes = 0
        self.frames = 0

    def buffered(self) -> int:
        return len(self._buf)

    def partial_frame(self) -> bool:
        """True if the bytes held start a frame (its magic) that has not arrived whole."""
        return self._frame_len == 0 and self._buf[:2] == b"MK"

    def feed(self, data: bytes) -> None:
        self._buf.extend(data)

    def peek(self) -> bytes | None:
        """The next complete frame at the start of the buffer (garbage before it is dropped).

        Its parsed header is `self.header` until accept() or reject().
        """
        buf = self._buf
        pos = 0
        n = len(buf)
        found = None
        while True:
            i = buf.find(b"MK", pos)
            if i < 0:
                keep = 1 if n > pos and buf[n - 1] == 0x4D else 0  # half a magic at the end
                pos = n - keep
                break
            pos = i
            if n - pos < HEADER_LEN:
                break
            try:
                h = parse_header(memoryview(buf)[pos:pos + HEADER_LEN], self.max_payload)
            except ProtocolError:
                pos += 1
                continue
            if n - pos >= h.total_len:
                found = h.total_len
                self.header = h
            break
        if pos:
            self.discarded_bytes += pos
            del buf[:pos]
        if found is None:
            self._frame_len = 0
            self.header = None
            return None
        self._frame_len = found
        return bytes(buf[:found])

    def accept(self) -> None:
        """Consume the frame peek() returned."""
        del self._buf[:self._frame_len]
        self._frame_len = 0
        self.frames += 1

    def reject(self) -> None:
        """The peeked frame is not genuine: skip its magic's first byte and scan on from there."""
        if self._frame_len:
            del self._buf[:1]
            self.discarded_bytes += 1
            self._frame_len = 0
