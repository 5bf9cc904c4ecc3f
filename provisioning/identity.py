"""Device identity: a uint32 id shown as 8 hex digits, a random AES-128 key, 0600 secret files."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from provisioning.errors import ProvisioningError

__all__ = ["format_id", "new_device_id", "new_key", "parse_id", "write_secret_file"]

_HEX_ID = re.compile(r"^(0x)?[0-9a-fA-F]{1,8}$")


def new_device_id(taken: set[int] | None = None) -> int:
    """A random id in 1..2^32-1 (the firmware refuses 0), not in `taken`."""
    taken = taken or set()
    while True:
        value = secrets.randbelow(0xFFFFFFFF) + 1
        if value not in taken:
            return value


def parse_id(text: str) -> int:
    """An id from a label: 8 hex digits ("0000a1b2", "0x0000A1B2", "0000-A1B2")."""
    clean = text.strip().replace("-", "").replace(" ", "")
    if not _HEX_ID.match(clean):
        raise ProvisioningError(f"{text!r} is not a device id", where="device id",
                                todo="type the 8 hex digits printed on the label, e.g. 0000a1b2")
    value = int(clean, 16)
    if value == 0:
        raise ProvisioningError("device id 00000000 is reserved", where="device id",
                                todo="use another label, or let the tool generate an id")
    return value


def format_id(value: int) -> str:
    return f"{value:08x}"


def new_key() -> bytes:
    """16 random bytes from the OS CSPRNG (`secrets`)."""
    return secrets.token_bytes(16)


def write_secret_file(path: Path, data: bytes, what: str = "key file") -> Path:
    """Write a file only its owner can read (0600 from creation, never briefly wider);
    FileWriteError (naming `what`) when the folder cannot be written."""
    from provisioning.diskio import writing

    tmp = path.with_name(path.name + ".tmp")
    with writing(path, what):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by umask; an old tmp keeps its own
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    return path
