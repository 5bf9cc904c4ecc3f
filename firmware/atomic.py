"""Small state files on flash: CRC-checked content replaced atomically (write temp, rename)."""

import binascii
import os


def write(path, data, room=None):
    """Replace `path` with `data` (bytes) so a power cut leaves either the old or the new file.

    Flash full (see `full`): the temp file goes, the old file stays; then `room()` (if given)
    frees space and the write is retried while it returns True; else OSError(ENOSPC)."""
    tmp = path + ".tmp"
    crc = binascii.crc32(data)
    while True:
        try:
            with open(tmp, "wb") as f:
                f.write(crc.to_bytes(4, "big"))
                f.write(data)
            os.rename(tmp, path)  # littlefs: atomic, replaces the old file
            return
        except OSError as e:
            remove(tmp)
            if not full(e):
                raise
            if room is None or not room():
                raise OSError(28)


def full(e):
    """OSError `e` means the flash is full: ENOSPC, or ENAMETOOLONG, which littlefs reports
    when the directory entry of a new file finds no room (our names are all short)."""
    return e.errno == 28 or e.errno == 36


def read(path):
    """Content of a file written by `write`, or None if it is missing or damaged."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if len(raw) < 4:
        return None
    data = raw[4:]
    if int.from_bytes(raw[0:4], "big") != binascii.crc32(data):
        return None
    return data


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
