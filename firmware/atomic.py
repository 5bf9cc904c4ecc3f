"""Small state files on flash: CRC-checked content replaced atomically (write temp, rename)."""

import binascii
import os


def write(path, data):
    """Replace `path` with `data` (bytes) so a power cut leaves either the old or the new file."""
    tmp = path + ".tmp"
    crc = binascii.crc32(data)
    with open(tmp, "wb") as f:
        f.write(crc.to_bytes(4, "big"))
        f.write(data)
    os.rename(tmp, path)  # littlefs: atomic, replaces the old file


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
