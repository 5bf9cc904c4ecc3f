"""Helpers for the MicroPython checkers: read vector files one line at a time, report results."""

import io
import json
import sys
from binascii import hexlify

failures = []
checks = [0]


class _OneValue(io.IOBase):
    """A stream that yields one JSON object from `f` (whose "{" was already read), then EOF.

    json.load reads it one byte at a time, so a long vector never needs a whole-line buffer.
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


def load(path):
    """Yield the vectors of a vector file one at a time."""
    one = bytearray(1)
    with open(path, "rb") as f:
        # Skip to the "[" of the vector list: the first one outside a string (byte by byte:
        # readline would want a big buffer).
        instr = esc = False
        while f.readinto(one):
            c = one[0]
            if instr:
                if esc:
                    esc = False
                elif c == 0x5C:
                    esc = True
                elif c == 0x22:
                    instr = False
            elif c == 0x22:
                instr = True
            elif c == 0x5B:
                break
        while f.readinto(one):
            if one[0] == 0x5D:  # "]": end of the vector list
                return
            if one[0] != 0x7B:
                continue
            yield json.load(_OneValue(f))


def h(b):
    return hexlify(b).decode()


def check(ok, what):
    checks[0] += 1
    if not ok:
        failures.append(what)
        print("FAIL", what)


def counted(name, n):
    """Report how many vectors of a file were read (the test compares it with CPython's count);
    a file that yields none fails here, so an empty or unreadable file never prints OK."""
    print(f"COUNT {name} {n}")
    check(n > 0, name + ": no vectors read")


def finish():
    print(f"FAIL {len(failures)}" if failures else f"OK {checks[0]}")
    sys.exit(1 if failures else 0)
