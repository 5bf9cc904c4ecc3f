"""Helpers for the MicroPython checkers: read vector files one line at a time, report results."""

import io
import json
import sys
from binascii import hexlify

failures = []
checks = [0]


class _OneValue(io.IOBase):
    """A stream that yields one JSON object from `f` (whose "{" was already read), then EOF.

    json.load reads it one byte at a time, so even a 2.7 KB vector never needs a contiguous
    line buffer: under a 64 KiB heap fragmented by compiled modules there is none to be had.
    """

    def __init__(self, f):
        self.f = f
        self.first = True
        self.depth = 1
        self.instr = False
        self.esc = False

    def readinto(self, buf):
        if self.first:
            self.first = False
            buf[0] = 0x7B  # the "{" the caller consumed
            return 1
        if not self.depth or not self.f.readinto(memoryview(buf)[:1]):
            return 0
        c = buf[0]
        if self.instr:
            if self.esc:
                self.esc = False
            elif c == 0x5C:
                self.esc = True
            elif c == 0x22:
                self.instr = False
        elif c == 0x22:
            self.instr = True
        elif c in (0x7B, 0x5B):
            self.depth += 1
        elif c in (0x7D, 0x5D):
            self.depth -= 1
        return 1


def load(path, only=None):
    """Yield the vectors of a vector file one at a time.

    `only`: a vector name, or a frame type name ("other" = negatives with an invalid type).
    """
    with open(path, "rb") as f:
        while b'"vectors"' not in f.readline():
            pass
        one = bytearray(1)
        while f.readinto(one):
            if one[0] == 0x5D:  # "]": end of the vector list
                return
            if one[0] != 0x7B:
                continue
            v = json.load(_OneValue(f))
            if only is None or v["name"] == only or vector_type(v) == only:
                yield v


TYPES = ("other", "hello", "readings", "status", "event", "ack", "command", "command_result")


def vector_type(v):
    """The frame type a vector exercises ("other" when its type byte is invalid)."""
    if "message" in v:
        return v["message"]["type"]
    raw = v["frame"]
    t = int(raw[6:8], 16) if len(raw) >= 8 else 0
    return TYPES[t & 0x0F] if (t & 0x0F) < 8 and not t & 0x70 else "other"


def h(b):
    return hexlify(b).decode()


def check(ok, what):
    checks[0] += 1
    if not ok:
        failures.append(what)
        print("FAIL", what)


def finish():
    print(("FAIL %d" % len(failures)) if failures else ("OK %d" % checks[0]))
    sys.exit(1 if failures else 0)
