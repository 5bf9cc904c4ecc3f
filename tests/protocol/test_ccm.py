"""The pure-Python CCM (ccm.py) and crypto.Cipher against RFC 3610 and `cryptography`."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import crypto
from protocol.ccm import CCM
from protocol.errors import BadTag
from tests.protocol.conftest import load_vectors

RFC = load_vectors("rfc3610.json")


def ecb_block(key: bytes):
    """AES-ECB block function from `cryptography`: the stand-in for MicroPython's cryptolib."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()

    def block(src, dst) -> None:
        dst[0:16] = enc.update(bytes(src[0:16]))

    return block


def test_rfc_file_holds_the_twelve_8_byte_tag_vectors() -> None:
    names = [v["name"] for v in RFC]
    assert names == [f"RFC 3610 packet vector #{i}" for i in (*range(1, 7), *range(13, 19))]
    assert all(v["tag_len"] == 8 and len(bytes.fromhex(v["nonce"])) == 13 for v in RFC)


@pytest.mark.parametrize("v", RFC, ids=lambda v: v["name"].rsplit(" ", 1)[-1])
def test_pure_ccm_matches_rfc3610(v: dict) -> None:
    key, nonce = bytes.fromhex(v["key"]), bytes.fromhex(v["nonce"])
    inp, hl = bytes.fromhex(v["input"]), v["header_len"]
    out = bytes.fromhex(v["output"])
    ccm = CCM(ecb_block(key), 8)
    assert inp[:hl] + ccm.encrypt(nonce, inp[:hl], inp[hl:]) == out
    assert ccm.decrypt(nonce, inp[:hl], out[hl:]) == inp[hl:]


@pytest.mark.parametrize("v", RFC, ids=lambda v: v["name"].rsplit(" ", 1)[-1])
def test_runtime_cipher_matches_rfc3610(v: dict) -> None:
    key, nonce = bytes.fromhex(v["key"]), bytes.fromhex(v["nonce"])
    inp, hl = bytes.fromhex(v["input"]), v["header_len"]
    c = crypto.Cipher(key)
    assert c.backend == "cryptography"
    assert inp[:hl] + c.encrypt(nonce, inp[:hl], inp[hl:]) == bytes.fromhex(v["output"])


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    nonce=st.binary(min_size=13, max_size=13),
    aad=st.binary(max_size=40),
    pt=st.binary(max_size=200),
    tag_len=st.sampled_from([4, 8, 16]),
)
def test_pure_ccm_equals_cryptography_on_random_inputs(key, nonce, aad, pt, tag_len) -> None:
    want = AESCCM(key, tag_length=tag_len).encrypt(nonce, pt, aad)
    ccm = CCM(ecb_block(key), tag_len)
    assert ccm.encrypt(nonce, aad, pt) == want
    assert ccm.decrypt(nonce, aad, want) == pt


def test_in_place_seal_and_open_use_the_callers_buffer() -> None:
    key, nonce, aad = bytes(range(16)), bytes(13), b"header"
    buf = bytearray(b"..plaintext!" + bytes(8) + b"tail")
    ccm = CCM(ecb_block(key), 8)
    ccm.seal_into(nonce, aad, buf, 2, 10)
    assert bytes(buf[2:20]) == AESCCM(key, tag_length=8).encrypt(nonce, b"plaintext!", aad)
    assert buf[:2] == b".." and buf[20:] == b"tail"
    ccm.open_into(nonce, aad, buf, 2, 10)
    assert bytes(buf[2:12]) == b"plaintext!"


@pytest.mark.parametrize("where", ["ciphertext", "tag", "aad", "nonce"])
def test_any_change_fails_authentication_and_wipes_the_plaintext(where: str) -> None:
    key, nonce, aad = bytes(range(16)), bytearray(13), bytearray(b"header-bytes")
    sealed = bytearray(
        AESCCM(key, tag_length=8).encrypt(bytes(nonce), b"secret reading", bytes(aad))
    )
    if where == "ciphertext":
        sealed[0] ^= 1
    elif where == "tag":
        sealed[-1] ^= 0x80
    elif where == "aad":
        aad[3] ^= 1
    else:
        nonce[12] ^= 1
    buf = bytearray(sealed)
    with pytest.raises(BadTag):
        CCM(ecb_block(key), 8).open_into(bytes(nonce), aad, buf, 0, len(sealed) - 8)
    assert bytes(buf[: len(sealed) - 8]) == bytes(len(sealed) - 8)
    with pytest.raises(BadTag):
        crypto.Cipher(key).decrypt(bytes(nonce), bytes(aad), bytes(sealed))


def test_bad_parameters_are_refused() -> None:
    ccm = CCM(ecb_block(bytes(16)), 8)
    with pytest.raises(ValueError, match="13 bytes"):
        ccm.encrypt(bytes(12), b"", b"x")
    with pytest.raises(ValueError, match="tag length"):
        CCM(ecb_block(bytes(16)), 7)
    with pytest.raises(ValueError, match="16 bytes"):
        crypto.Cipher(bytes(15))
    with pytest.raises(BadTag):
        ccm.decrypt(bytes(13), b"", b"short")


def test_cipher_cache_returns_one_cipher_per_key_and_passes_ciphers_through() -> None:
    a = crypto.cipher_for(bytes(16))
    assert crypto.cipher_for(bytearray(16)) is a
    assert crypto.cipher_for(a) is a
    assert crypto.cipher_for(bytes(range(16))) is not a
