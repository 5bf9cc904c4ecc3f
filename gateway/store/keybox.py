"""Device keys at rest: sealed with AES-256-GCM under a gateway secret kept in a 0600 file.

``KeyBox.load_or_create(path)`` reads the secret (64 hex digits) or creates it with mode 0600
when the file is missing. ``seal(device_id, key) -> bytes`` / ``open(device_id, blob) -> bytes``
bind each sealed key to its device id (AAD), so a sealed key copied to another row fails to
open. Sealed blob layout: version byte ``01`` ‖ 12-byte random nonce ‖ ciphertext+16-byte tag.
Neither the secret nor any key ever appears in a repr, an exception or a log line.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KeyBox", "KeyBoxError"]

log = logging.getLogger(__name__)

_VERSION = 1
_NONCE_LEN = 12
_SECRET_LEN = 32


class KeyBoxError(Exception):
    """The gateway secret is missing/unreadable/malformed, or a sealed key does not open."""

    def __init__(self, message: str, *, path: Path | None = None, device_id: str | None = None,
                 hint: str = "") -> None:
        where = f"{path}: " if path else (f"device {device_id}: " if device_id else "")
        super().__init__(where + message + (f" ({hint})" if hint else ""))
        self.path = path
        self.device_id = device_id
        self.hint = hint


class KeyBox:
    """Seals and opens device keys with the gateway secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != _SECRET_LEN:
            raise KeyBoxError(f"gateway secret must be {_SECRET_LEN} bytes, got {len(secret)}")
        self._aead = AESGCM(secret)

    def __repr__(self) -> str:
        return "KeyBox(<secret hidden>)"

    @classmethod
    def load_or_create(cls, path: Path | str) -> KeyBox:
        """Read the secret file, or create it (0600, 32 random bytes as hex) if it is missing."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first: read theirs below
            except OSError as exc:
                raise KeyBoxError(f"cannot create gateway secret: {exc.strerror}", path=path,
                                  hint="the directory must be writable by the gateway") from exc
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(os.urandom(_SECRET_LEN).hex() + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                log.warning("created a new gateway secret", extra={"path": str(path)})
        try:
            mode = path.stat().st_mode
            text = path.read_text().strip()
        except OSError as exc:
            raise KeyBoxError(f"cannot read gateway secret: {exc.strerror}", path=path,
                              hint="the gateway user must be able to read it") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("gateway secret is accessible to group/others; chmod 600 it",
                        extra={"path": str(path), "mode": oct(mode & 0o777)})
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise KeyBoxError("gateway secret is not hex text", path=path,
                              hint=f"expected {2 * _SECRET_LEN} hex digits") from None
        if len(secret) != _SECRET_LEN:
            raise KeyBoxError(f"gateway secret has {len(secret)} bytes, expected {_SECRET_LEN}",
                              path=path, hint=f"expected {2 * _SECRET_LEN} hex digits")
        return cls(secret)

    def seal(self, device_id: str, key: bytes) -> bytes:
        """Encrypt `key` for storage in the row of `device_id`."""
        nonce = os.urandom(_NONCE_LEN)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, bytes(key),
                                                              device_id.encode())

    def open(self, device_id: str, blob: bytes) -> bytes:
        """Decrypt a sealed key; KeyBoxError if it was sealed with another secret or device."""
        if len(blob) < 1 + _NONCE_LEN + 16 or blob[0] != _VERSION:
            raise KeyBoxError("sealed key has an unknown format", device_id=device_id,
                              hint="re-add the device with its key")
        nonce = blob[1:1 + _NONCE_LEN]
        try:
            return self._aead.decrypt(nonce, blob[1 + _NONCE_LEN:], device_id.encode())
        except InvalidTag:
            raise KeyBoxError("sealed key does not open with this gateway secret",
                              device_id=device_id,
                              hint="wrong secret file, or the row was copied from another "
                                   "device or gateway") from None
