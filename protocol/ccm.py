"""Pure-Python AES-CCM (RFC 3610, NIST SP 800-38C) over a single-block AES-ECB function.

This is the MicroPython backend: `cryptolib` only offers raw AES blocks, so CCM is built here.
Only L = 2 (13-byte nonce, messages up to 65535 bytes) is supported; the tag length M is a
parameter (our frames use 8) so the RFC 3610 packet vectors can be checked as published.

All work happens in three 16-byte scratch buffers allocated once per `CCM` object, and the
`*_into` methods work in place on the caller's buffer, so sealing a frame on a board allocates
nothing per call (small ints only). One `CCM` object must not be used from two threads at once.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from protocol.errors import BadTag

NONCE_LEN = const(13)
_BLOCK = const(16)
_L = const(2)


class CCM:
    """CCM with one key: `block(src, dst)` must write AES-ECB(key, src[0:16]) into dst[0:16].

    On MicroPython pass `cryptolib.aes(key, 1).encrypt` (it accepts an output buffer, and
    src may be dst).
    """

    def __init__(self, block, tag_len=8):
        if tag_len not in (4, 6, 8, 10, 12, 14, 16):
            raise ValueError("CCM tag length must be 4..16 and even, got %d" % tag_len)
        self._block = block
        self.tag_len = tag_len
        self._x = bytearray(_BLOCK)  # CBC-MAC state
        self._a = bytearray(_BLOCK)  # counter block A_i
        self._s = bytearray(_BLOCK)  # key stream block S_i

    # -- in-place API (firmware hot path) -------------------------------------------------
    def seal_into(self, nonce, aad, buf, start, length, aad_len=None):
        """Encrypt buf[start:start+length] in place and write the tag right after it.

        The associated data is aad[0:aad_len] (all of aad by default): a frame passes its own
        buffer and 15, so no slice or memoryview is allocated.
        """
        aad_len = len(aad) if aad_len is None else aad_len
        self._check(nonce, aad_len, length)
        self._mac(nonce, aad, aad_len, buf, start, length)  # MAC covers the plaintext: before CTR
        self._ctr(nonce, buf, start, length)
        s = self._s
        self._counter_block(nonce, 0)
        self._block(self._a, s)
        x = self._x
        t = start + length
        for i in range(self.tag_len):
            buf[t + i] = x[i] ^ s[i]

    def open_into(self, nonce, aad, buf, start, length, aad_len=None):
        """Decrypt buf[start:start+length] in place, checking the tag that follows it.

        Raises BadTag (and zeroes the unauthenticated plaintext) when the tag does not match.
        """
        aad_len = len(aad) if aad_len is None else aad_len
        self._check(nonce, aad_len, length)
        self._ctr(nonce, buf, start, length)
        self._mac(nonce, aad, aad_len, buf, start, length)
        s = self._s
        self._counter_block(nonce, 0)
        self._block(self._a, s)
        x = self._x
        t = start + length
        diff = 0
        # Accumulate every byte's difference: the time taken does not depend on where the
        # first mismatch is.
        for i in range(self.tag_len):
            diff |= buf[t + i] ^ x[i] ^ s[i]
        if diff:
            for i in range(start, t):
                buf[i] = 0
            raise BadTag("authentication tag does not match (wrong key, or bytes changed)")

    # -- allocating convenience API -------------------------------------------------------
    def encrypt(self, nonce, aad, plaintext):
        """Return ciphertext || tag as bytes."""
        n = len(plaintext)
        buf = bytearray(n + self.tag_len)
        buf[0:n] = plaintext
        self.seal_into(nonce, aad, buf, 0, n)
        return bytes(buf)

    def decrypt(self, nonce, aad, data):
        """Return the plaintext of ciphertext || tag; raise BadTag when it does not verify."""
        n = len(data) - self.tag_len
        if n < 0:
            raise BadTag("ciphertext shorter than the %d-byte tag" % self.tag_len)
        buf = bytearray(data)
        self.open_into(nonce, aad, buf, 0, n)
        return bytes(buf[0:n])

    # -- internals ------------------------------------------------------------------------
    def _check(self, nonce, aad_len, length):
        if len(nonce) != NONCE_LEN:
            raise ValueError("CCM nonce must be 13 bytes, got %d" % len(nonce))
        if length > 0xFFFF:
            raise ValueError("CCM with L=2 carries at most 65535 bytes, got %d" % length)
        if aad_len >= 0xFF00:
            raise ValueError("associated data too long for the 2-byte encoding")

    def _counter_block(self, nonce, i):
        a = self._a
        a[0] = _L - 1
        for k in range(NONCE_LEN):
            a[1 + k] = nonce[k]
        a[14] = i >> 8
        a[15] = i & 0xFF

    def _mac(self, nonce, aad, n, buf, start, length):
        x = self._x
        block = self._block
        # B0: flags (Adata, M', L'), nonce, message length
        x[0] = (0x40 if n else 0) | (((self.tag_len - 2) >> 1) << 3) | (_L - 1)
        for k in range(NONCE_LEN):
            x[1 + k] = nonce[k]
        x[14] = length >> 8
        x[15] = length & 0xFF
        block(x, x)
        if n:
            # l(a) as 2 bytes, then a, zero-padded to a block boundary (padding xors nothing).
            x[0] ^= n >> 8
            x[1] ^= n & 0xFF
            if self._absorb(aad, 0, n, 2):
                block(x, x)
        if self._absorb(buf, start, start + length, 0):
            block(x, x)

    def _absorb(self, data, start, end, pos):
        """XOR data[start:end] into the CBC-MAC state from byte `pos`, enciphering each full
        block; returns the fill of the last, partial block (0: none)."""
        x = self._x
        block = self._block
        for i in range(start, end):
            x[pos] ^= data[i]
            pos += 1
            if pos == _BLOCK:
                block(x, x)
                pos = 0
        return pos

    def _ctr(self, nonce, buf, start, length):
        s = self._s
        block = self._block
        i = 1
        off = start
        end = start + length
        while off < end:
            self._counter_block(nonce, i)
            block(self._a, s)
            k = 0
            while k < _BLOCK and off < end:
                buf[off] ^= s[k]
                off += 1
                k += 1
            i += 1
