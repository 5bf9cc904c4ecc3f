"""Key files on disk: hex text, private ones 0600 and refused when others can read them."""

from __future__ import annotations

import stat
from pathlib import Path

from provisioning.diskio import writing
from provisioning.errors import ProvisioningError
from provisioning.identity import write_secret_file

__all__ = ["load_private", "load_public", "load_trusted", "save_keypair"]


def save_keypair(directory: Path, name: str, private: bytes, public: bytes, *,
                 overwrite: bool = False) -> tuple[Path, Path]:
    """`<name>.key` (0600) and `<name>.pub`; an existing private key is never overwritten
    unless asked, because every bundle sealed to it would become unreadable."""
    priv_path = directory / f"{name}.key"
    pub_path = directory / f"{name}.pub"
    if priv_path.exists() and not overwrite:
        raise ProvisioningError("key already exists", where=str(priv_path),
                                todo="keep it; pass --overwrite only to replace it on purpose")
    write_secret_file(priv_path, private.hex().encode() + b"\n", "private key")
    with writing(pub_path, "public key"):
        pub_path.write_text(public.hex() + "\n")
    return priv_path, pub_path


def _read_hex(path: Path, length: int, what: str) -> bytes:
    try:
        text = path.read_text().split()[0] if path.read_text().split() else ""
    except OSError as exc:
        raise ProvisioningError(f"{what} not readable", where=str(path), why=exc.strerror or "",
                                todo="check the path (see docs/INSTALLER.md, keys)") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != length:
        raise ProvisioningError(f"{what} is not {length * 2} hex digits", where=str(path),
                                todo="use the file written by `meterkit provision keys`")
    return raw


def load_private(path: Path, what: str = "private key") -> bytes:
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ProvisioningError(f"{what} not found", where=str(path), why=exc.strerror or "",
                                todo="create it with `meterkit provision keys`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ProvisioningError(f"{what} is readable by other users", where=str(path),
                                todo=f"chmod 600 {path}")
    return _read_hex(path, 32, what)


def load_public(path: Path, what: str = "public key") -> bytes:
    return _read_hex(Path(path), 32, what)


def load_trusted(path: Path) -> list[bytes]:
    """One installer public key (64 hex digits) per line, optional name after it; # comments."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ProvisioningError("trusted installers file not readable", where=str(path),
                                why=exc.strerror or "",
                                todo="append each installer's installer.pub to it") from None
    out = []
    for n, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            raw = bytes.fromhex(words[0])
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ProvisioningError("not an installer public key", where=f"{path}:{n}",
                                    todo="each line: 64 hex digits from installer.pub")
        out.append(raw)
    return out
