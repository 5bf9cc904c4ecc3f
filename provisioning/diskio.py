"""Writes to this computer's disk (keys, labels, bundles) that fail with a clear message.

A denied or impossible write (no permission, read-only medium, a path through a file, a full
disk) becomes `FileWriteError` naming the file and the next step, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

from provisioning.errors import FileWriteError

__all__ = ["check_writable_dir", "writing"]

_HINTS = {
    errno.EACCES: "no permission: pick a folder you own, or run as the user that owns it",
    errno.EPERM: "no permission: pick a folder you own, or run as the user that owns it",
    errno.EROFS: "the medium is read-only: pick another folder",
    errno.ENOSPC: "the disk is full: free some space or pick another folder",
    errno.ENOTDIR: "part of the path is a file, not a folder: pick another folder",
    errno.EISDIR: "the name is a folder: pick another name",
}


@contextlib.contextmanager
def writing(path: Path, what: str, *, after: str = "") -> Iterator[None]:
    """Turn an OSError in the block into FileWriteError about `what` at `path`; `after` says
    what already happened that the installer must know (e.g. the board is registered)."""
    try:
        yield
    except OSError as exc:
        hint = _HINTS.get(exc.errno or 0, "pick a folder you can write to")
        raise FileWriteError(f"cannot write the {what}", where=str(path),
                             why=exc.strerror or str(exc),
                             todo=f"{hint}; {after}" if after else hint) from None


def check_writable_dir(directory: Path, what: str) -> None:
    """Create `directory` and prove a file can be written in it, before a board is touched:
    a label or key folder that fails after the board is registered costs a second visit."""
    probe = directory / ".meterkit-write-test"
    with writing(directory, what):
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
