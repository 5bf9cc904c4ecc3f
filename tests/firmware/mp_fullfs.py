# ruff: noqa: UP031  (MicroPython: no contextlib; %-formatting is its idiom)
"""MicroPython helpers of the full-flash tests: fill a littlefs mounted at /f to the last byte,
and give the room back."""

import os

BS = 512  # block size of the RAM littlefs the tests mount at /f


def fill(path, limit=1 << 30):
    """Write a file until the flash is full (or `limit` bytes); return its size."""
    chunk = bytes(BS)
    n = 0
    with open(path, "wb") as f:
        try:
            while n < limit:
                f.write(chunk)
                f.flush()  # committed chunk by chunk: a failed write loses only itself
                n += BS
        except OSError as e:
            assert e.errno == 28, e
    return n


def fill_all():
    """Fill the flash to the last byte: a big file, then small files in the root and the
    queue directory (littlefs keeps small files inline in each directory's metadata)."""
    names = ["/f/fill"]
    fill("/f/fill")
    i = 0
    for d in ("/f", "/f/q"):
        for size in (48, 4, 0):  # smaller and smaller, until not even a name fits
            try:
                while True:
                    with open("%s/x%d" % (d, i), "wb") as f:
                        f.write(bytes(size))
                    names.append("%s/x%d" % (d, i))
                    i += 1
            except OSError as e:
                assert e.errno in (28, 36), e  # 36: littlefs, no room for a new entry
    return names


def unfill(names):
    for n in names:
        os.remove(n)
