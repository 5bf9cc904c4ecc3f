"""Check this code against the shared vector files (CPython; `meterkit protocol vectors`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FILES = ("rfc3610.json", "frames.json", "negative.json")


@dataclass(frozen=True)
class Result:
    file: str
    name: str
    ok: bool | None  # None: listed, not checked
    detail: str = ""


def check_all(vector_dir: Path, *, verify: bool = True) -> list[Result]:
    """Check every vector in `vector_dir`; return one Result per vector."""
    out: list[Result] = []
    for fname in FILES:
        vectors = json.loads((vector_dir / fname).read_text())["vectors"]
        for v in vectors:
            if not verify:
                out.append(Result(fname, v["name"], None))
                continue
            try:
                detail = _CHECKS[fname](v)
            except Exception as e:  # a vector must never crash the checker: report it
                detail = f"raised {type(e).__name__}: {e}"
            out.append(Result(fname, v["name"], not detail, detail))
    return out


def _rfc(v: dict) -> str:
    """Both backends: the pure ccm.py (over an ECB block) and crypto.Cipher."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from protocol import crypto
    from protocol.ccm import CCM

    key, nonce = bytes.fromhex(v["key"]), bytes.fromhex(v["nonce"])
    inp, hl = bytes.fromhex(v["input"]), v["header_len"]
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()

    def block(src: bytearray, dst: bytearray) -> None:
        dst[0:16] = enc.update(bytes(src[0:16]))

    want = bytes.fromhex(v["output"])[hl:]
    got = CCM(block, v["tag_len"]).encrypt(nonce, inp[:hl], inp[hl:])
    if got != want:
        return f"ccm.py gives {got.hex()}"
    got = crypto.Cipher(key).encrypt(nonce, inp[:hl], inp[hl:])
    if got != want:
        return f"crypto.Cipher gives {got.hex()}"
    if crypto.Cipher(key).decrypt(nonce, inp[:hl], want) != inp[hl:]:
        return "decrypt differs"
    return ""


def _frame(v: dict) -> str:
    from protocol import codec

    key = bytes.fromhex(v["key"])
    raw = codec.encode(v["message"], key)
    if raw.hex() != v["frame"]:
        return f"encode gives {raw.hex()}"
    if codec.decode(bytes.fromhex(v["frame"]), key) != v["message"]:
        return "decode differs from the message"
    return ""


def _negative(v: dict) -> str:
    from protocol import codec
    from protocol.errors import ProtocolError

    try:
        codec.decode(bytes.fromhex(v["frame"]), bytes.fromhex(v["key"]))
    except ProtocolError as e:
        return "" if e.reason == v["reason"] else f"gave {e}, expected {v['reason']}"
    return f"decoded without error, expected {v['reason']}"


_CHECKS = {"rfc3610.json": _rfc, "frames.json": _frame, "negative.json": _negative}
