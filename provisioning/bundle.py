"""Offline provisioning bundles: device records sealed to the gateway, signed by the installer.

    blob = create_bundle(records, gateway_public=..., installer_private=...)
    bundle = open_bundle(blob, gateway_private=..., trusted_installers=[...])

A bundle file holds one sealed envelope per line; each provisioning run appends its own, so
one file can collect a day's boards. `open_bundle` verifies every envelope.

Confidentiality: an ephemeral X25519 key agreement with the gateway's bundle public key,
HKDF-SHA256, AES-256-GCM; only the gateway's private key opens it. Authenticity: an Ed25519
signature by the installer over the header and ciphertext; the gateway accepts only
installers it lists as trusted. The header is also the GCM associated data, so no byte of a
bundle can change without `open_bundle` failing. Keys in a bundle never appear in clear.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provisioning.errors import BundleError
from provisioning.record import DeviceRecord

__all__ = ["Bundle", "create_bundle", "fingerprint", "new_gateway_keypair",
           "new_installer_keypair", "open_bundle"]

_FORMAT = "meterkit-provisioning-bundle"
_VERSION = 1
_INFO = b"meterkit bundle v1"


@dataclass(frozen=True, slots=True)
class Bundle:
    """An opened bundle: who signed it, when, and the records."""

    installer: str          # fingerprint of the installer's signing key
    created_at: int
    records: list[DeviceRecord]


def fingerprint(public: bytes) -> str:
    """Short, printable identity of a public key (first 16 hex digits of its sha256)."""
    return hashlib.sha256(public).hexdigest()[:16]


def new_gateway_keypair() -> tuple[bytes, bytes]:
    """(private, public) raw X25519 bytes for a gateway's bundle key."""
    from cryptography.hazmat.primitives import serialization as s

    priv = X25519PrivateKey.generate()
    return (priv.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()),
            priv.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw))


def new_installer_keypair() -> tuple[bytes, bytes]:
    """(private, public) raw Ed25519 bytes for an installer's signing key."""
    from cryptography.hazmat.primitives import serialization as s

    priv = Ed25519PrivateKey.generate()
    return (priv.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()),
            priv.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw))


def _raw_public(key: X25519PublicKey | Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization as s

    return key.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)


def _aead_key(shared: bytes, epk: bytes, gw_pub: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + gw_pub,
                info=_INFO).derive(shared)


def _header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def create_bundle(records: Iterable[DeviceRecord], *, gateway_public: bytes,
                  installer_private: bytes, now: int | None = None) -> bytes:
    """Seal `records` for the gateway whose bundle public key is `gateway_public`."""
    signer = Ed25519PrivateKey.from_private_bytes(installer_private)
    eph = X25519PrivateKey.generate()
    epk = _raw_public(eph.public_key())
    shared = eph.exchange(X25519PublicKey.from_public_bytes(gateway_public))
    nonce = os.urandom(12)
    header = {"format": _FORMAT, "v": _VERSION, "created_at": int(now or time.time()),
              "gateway": fingerprint(gateway_public),
              "installer": _raw_public(signer.public_key()).hex(), "epk": epk.hex(),
              "nonce": nonce.hex()}
    aad = _header_bytes(header)
    plain = json.dumps({"records": [r.as_dict() for r in records]}).encode()
    ct = AESGCM(_aead_key(shared, epk, gateway_public)).encrypt(nonce, plain, aad)
    sig = signer.sign(aad + b"\n" + ct)
    envelope = {**header, "ciphertext": base64.b64encode(ct).decode(),
                "signature": base64.b64encode(sig).decode()}
    return (json.dumps(envelope, sort_keys=True) + "\n").encode()


def open_bundle(blob: bytes, *, gateway_private: bytes,
                trusted_installers: Iterable[bytes]) -> Bundle:
    """Verify and decrypt every envelope (line) of a bundle file; records in file order."""
    trusted = list(trusted_installers)
    lines = [ln for ln in blob.splitlines() if ln.strip()]
    if not lines:
        raise BundleError("the bundle file is empty", where="bundle",
                          todo="copy the .mkb file again from the installer's laptop")
    parts = [_open_envelope(ln, gateway_private, trusted) for ln in lines]
    installers = sorted({p.installer for p in parts})
    return Bundle(",".join(installers), min(p.created_at for p in parts),
                  [r for p in parts for r in p.records])


def _open_envelope(blob: bytes, gateway_private: bytes, trusted: list[bytes]) -> Bundle:
    def bad(what: str, todo: str) -> BundleError:
        return BundleError(what, where="bundle", todo=todo)

    try:
        env = json.loads(blob)
        header = {k: env[k] for k in ("format", "v", "created_at", "gateway", "installer",
                                      "epk", "nonce")}
        ct = base64.b64decode(env["ciphertext"], validate=True)
        sig = base64.b64decode(env["signature"], validate=True)
        installer = bytes.fromhex(header["installer"])
        epk = bytes.fromhex(header["epk"])
        nonce = bytes.fromhex(header["nonce"])
    except (ValueError, KeyError, TypeError):
        raise bad("not a provisioning bundle (damaged or truncated file)",
                  "copy the .mkb file again from the installer's laptop") from None
    if header["format"] != _FORMAT or header["v"] != _VERSION:
        raise bad(f"unsupported bundle format {header['format']!r} v{header['v']}",
                  "update meterkit on the gateway")
    gw = X25519PrivateKey.from_private_bytes(gateway_private)
    gw_pub = _raw_public(gw.public_key())
    if header["gateway"] != fingerprint(gw_pub):
        raise bad(f"bundle is for gateway {header['gateway']}, this is {fingerprint(gw_pub)}",
                  "import it on the gateway it was made for")
    if installer not in set(trusted):
        raise bad(f"installer {fingerprint(installer)} is not trusted by this gateway",
                  "add the installer's public key to the trusted installers file")
    aad = _header_bytes(header)
    try:
        Ed25519PublicKey.from_public_bytes(installer).verify(sig, aad + b"\n" + ct)
    except (InvalidSignature, ValueError):
        raise bad("signature does not match: the bundle was altered",
                  "do not import it; ask the installer for a fresh bundle") from None
    try:
        shared = gw.exchange(X25519PublicKey.from_public_bytes(epk))
        plain = AESGCM(_aead_key(shared, epk, gw_pub)).decrypt(nonce, ct, aad)
        body = json.loads(plain)
        records = [DeviceRecord.from_dict(r) for r in body["records"]]
    except InvalidTag:
        raise bad("bundle does not decrypt: altered, or sealed to another key",
                  "ask the installer for a fresh bundle") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise bad(f"bundle content is invalid ({exc})", "ask for a fresh bundle") from None
    return Bundle(fingerprint(installer), int(header["created_at"]), records)
