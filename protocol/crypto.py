"""AES-128-CCM with an 8-byte tag, backend chosen per runtime (cryptography or pure ccm.py).

CPython uses `cryptography`'s AESCCM (OpenSSL); MicroPython uses `protocol.ccm` on top of
`cryptolib.aes(key, 1)` (ECB). Both expose the same `Cipher` methods, so `frame.py` does not
care which one runs. Keys are 16 bytes.
"""

import sys

from protocol.errors import BadTag

TAG_LEN = 8
KEY_LEN = 16

_MICROPYTHON = sys.implementation.name == "micropython"


def _check_key(key):
    if len(key) != KEY_LEN:
        raise ValueError("key must be %d bytes (AES-128), got %d" % (KEY_LEN, len(key)))


if _MICROPYTHON:
    import cryptolib

    from protocol.ccm import CCM

    class Cipher:
        """One device key: seal/open with AES-128-CCM, tag 8, nonce 13 (pure ccm.py)."""

        backend = "ccm.py+cryptolib"

        def __init__(self, key):
            _check_key(key)
            self._ccm = CCM(cryptolib.aes(bytes(key), 1).encrypt, TAG_LEN)

        def seal_into(self, nonce, aad, buf, start, length, aad_len=None):
            """Encrypt buf[start:start+length] in place; write the tag right after it.

            The associated data is aad[0:aad_len] (all of aad by default).
            """
            self._ccm.seal_into(nonce, aad, buf, start, length, aad_len)

        def open_into(self, nonce, aad, buf, start, length, aad_len=None):
            """Decrypt buf[start:start+length] in place; raise BadTag if the tag is wrong."""
            self._ccm.open_into(nonce, aad, buf, start, length, aad_len)

        def encrypt(self, nonce, aad, plaintext):
            return self._ccm.encrypt(nonce, aad, plaintext)

        def decrypt(self, nonce, aad, data):
            return self._ccm.decrypt(nonce, aad, data)

else:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    class Cipher:
        """One device key: AES-128-CCM, tag 8, nonce 13, through OpenSSL (cryptography)."""

        backend = "cryptography"

        def __init__(self, key):
            _check_key(key)
            self._aead = AESCCM(bytes(key), tag_length=TAG_LEN)

        def seal_into(self, nonce, aad, buf, start, length, aad_len=None):
            end = start + length
            a = bytes(aad if aad_len is None else aad[0:aad_len])
            buf[start : end + TAG_LEN] = self._aead.encrypt(bytes(nonce), bytes(buf[start:end]), a)

        def open_into(self, nonce, aad, buf, start, length, aad_len=None):
            a = bytes(aad if aad_len is None else aad[0:aad_len])
            buf[start : start + length] = self.decrypt(
                nonce, a, bytes(buf[start : start + length + TAG_LEN])
            )

        def encrypt(self, nonce, aad, plaintext):
            return self._aead.encrypt(bytes(nonce), bytes(plaintext), bytes(aad))

        def decrypt(self, nonce, aad, data):
            if len(data) < TAG_LEN:
                raise BadTag("ciphertext shorter than the %d-byte tag" % TAG_LEN)
            try:
                return self._aead.decrypt(bytes(nonce), bytes(data), bytes(aad))
            except InvalidTag:
                raise BadTag(
                    "authentication tag does not match (wrong key, or bytes changed)"
                ) from None


# A gateway talks to a few hundred devices: keep their ciphers instead of re-deriving the AES
# key schedule per frame. Bounded so a flood of random keys cannot grow memory.
_CACHE = {}
_CACHE_MAX = 64 if _MICROPYTHON else 1024


def cipher_for(key):
    """Return a `Cipher` for `key` (bytes) or `key` itself if it already is a Cipher."""
    if isinstance(key, Cipher):
        return key
    key = bytes(key)
    c = _CACHE.get(key)
    if c is None:
        c = Cipher(key)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = c
    return c
