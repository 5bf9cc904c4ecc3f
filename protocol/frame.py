"""Frame layer: the 15-byte header, CRC-8 header check, nonce, seal and open (ADR 001)."""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from protocol.errors import (
    BadHeaderCheck,
    BadMagic,
    BadType,
    BadVersion,
    TooLong,
    Truncated,
)
from protocol.wire import put_u32

MAGIC = b"MK"
VERSION = const(1)
HEADER_LEN = const(15)
TAG_LEN = const(8)
MAX_PAYLOAD = const(1024)
MAX_FRAME = const(1047)  # HEADER_LEN + MAX_PAYLOAD + TAG_LEN

HELLO = const(1)
READINGS = const(2)
STATUS = const(3)
EVENT = const(4)
ACK = const(5)
COMMAND = const(6)
COMMAND_RESULT = const(7)

DOWNLINK_BIT = const(0x80)
# Frame types that travel gateway -> device; every other known type travels device -> gateway.
DOWNLINK_TYPES = (ACK, COMMAND)
TYPE_NAMES = ("", "hello", "readings", "status", "event", "ack", "command", "command_result")


class Header:
    """A parsed, checked header. `total_len` = header + ciphertext + tag."""

    def __init__(self, ftype, downlink, device_id, counter, length):
        self.ftype = ftype
        self.downlink = downlink
        self.device_id = device_id
        self.counter = counter
        self.length = length
        self.total_len = HEADER_LEN + length + TAG_LEN

    def __repr__(self):
        return "Header(%s, %s, device_id=0x%08x, counter=%d, length=%d)" % (
            TYPE_NAMES[self.ftype],
            "downlink" if self.downlink else "uplink",
            self.device_id,
            self.counter,
            self.length,
        )


def crc8(buf, start=0, end=None):
    """CRC-8, poly 0x07, init 0x00, no reflection, no final xor (CRC-8/SMBUS)."""
    if end is None:
        end = len(buf)
    crc = 0
    for i in range(start, end):
        crc ^= buf[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def parse_header(buf, max_payload=MAX_PAYLOAD):
    """Check and parse the first 15 bytes of `buf`; raise a ProtocolError subclass if bad.

    Checks run in the order magic, version, header check, type, length, so a false magic
    found in garbage is reported as `bad_header_check`, not as a misleading field error.
    """
    n = len(buf)
    if n < HEADER_LEN:
        raise Truncated("header needs %d bytes, got %d" % (HEADER_LEN, n))
    if buf[0] != 0x4D or buf[1] != 0x4B:
        raise BadMagic("bytes 0-1 are %02x %02x, expected 4d 4b ('MK')" % (buf[0], buf[1]))
    if buf[2] != VERSION:
        raise BadVersion("byte 2 (version) is %d, this decoder speaks version 1" % buf[2])
    check = crc8(buf, 0, 14)
    if buf[14] != check:
        raise BadHeaderCheck(
            "byte 14 (header check) is %02x, CRC-8 of bytes 0-13 is %02x" % (buf[14], check)
        )
    tb = buf[3]
    ftype = tb & 0x0F
    downlink = bool(tb & DOWNLINK_BIT)
    if tb & 0x70:
        raise BadType("byte 3 (type) is %02x: reserved bits 4-6 must be zero" % tb)
    if ftype < HELLO or ftype > COMMAND_RESULT:
        raise BadType("byte 3 (type) is %02x: frame type %d is not 1..7" % (tb, ftype))
    if downlink != (ftype in DOWNLINK_TYPES):
        raise BadType(
            "byte 3 (type) is %02x: %s frames must have the downlink bit %s"
            % (tb, TYPE_NAMES[ftype], "set" if ftype in DOWNLINK_TYPES else "clear")
        )
    length = (buf[12] << 8) | buf[13]
    if length > max_payload:
        raise TooLong("bytes 12-13 (length) say %d, the maximum is %d" % (length, max_payload))
    device_id = (buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]
    counter = (buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]
    return Header(ftype, downlink, device_id, counter, length)


def write_header(buf, ftype, device_id, counter, length, downlink=False):
    """Write the 15 header bytes at buf[0:15] (buf: a bytearray of at least 15 bytes)."""
    # Wrong arguments are the sender's bug: ValueError, not ProtocolError.
    if not HELLO <= ftype <= COMMAND_RESULT or bool(downlink) != (ftype in DOWNLINK_TYPES):
        raise ValueError("frame type %r with downlink=%r" % (ftype, downlink))
    if not (0 <= device_id <= 0xFFFFFFFF and 0 <= counter <= 0xFFFFFFFF):
        raise ValueError("device_id %r / counter %r not uint32" % (device_id, counter))
    if not 0 <= length <= MAX_PAYLOAD:
        raise ValueError("payload length %r not 0..%d" % (length, MAX_PAYLOAD))
    buf[0] = 0x4D
    buf[1] = 0x4B
    buf[2] = VERSION
    buf[3] = ftype | (DOWNLINK_BIT if downlink else 0)
    put_u32(buf, 4, device_id)
    put_u32(buf, 8, counter)
    buf[12] = length >> 8
    buf[13] = length & 0xFF
    buf[14] = crc8(buf, 0, 14)


def nonce_for(downlink, device_id, counter, out=None):
    """The 13-byte CCM nonce: direction, device id (BE), counter (BE), four zero bytes."""
    n = out if out is not None else bytearray(13)
    n[0] = 1 if downlink else 0
    put_u32(n, 1, device_id)
    put_u32(n, 5, counter)
    n[9] = n[10] = n[11] = n[12] = 0
    return n


def seal_into(cipher, buf, ftype, device_id, counter, length, downlink=False, nonce_buf=None):
    """Seal in place: buf[15:15+length] holds the plaintext payload; returns the frame length.

    Writes the header into buf[0:15], encrypts the payload in place and writes the tag after
    it. `buf` must hold at least 15 + length + 8 bytes. With a `nonce_buf` (bytearray(13)) and
    a `crypto.Cipher` this allocates nothing on MicroPython.
    """
    write_header(buf, ftype, device_id, counter, length, downlink)
    nonce = nonce_for(downlink, device_id, counter, nonce_buf)
    cipher = _cipher_for(cipher)
    # The AAD is the header itself: pass the buffer and its length, nothing is copied.
    cipher.seal_into(nonce, buf, buf, HEADER_LEN, length, HEADER_LEN)
    return HEADER_LEN + length + TAG_LEN


def seal(key, ftype, device_id, counter, plaintext, downlink=False):
    """Return a complete frame (header, ciphertext, tag) as bytes."""
    n = len(plaintext)
    if n > MAX_PAYLOAD:
        raise ValueError("payload is %d bytes, the maximum is %d" % (n, MAX_PAYLOAD))
    buf = bytearray(HEADER_LEN + n + TAG_LEN)
    buf[HEADER_LEN : HEADER_LEN + n] = plaintext
    seal_into(key, buf, ftype, device_id, counter, n, downlink)
    return bytes(buf)


def open_frame(key, raw):
    """Check and decrypt one complete frame; return (Header, plaintext bytes).

    Raises Truncated / TooLong when `raw` is shorter / longer than the header says, BadTag
    when authentication fails, and the header errors of `parse_header`.
    """
    buf = bytearray(raw)
    h = open_into(key, buf)
    return h, bytes(memoryview(buf)[HEADER_LEN : HEADER_LEN + h.length])


def open_into(key, buf, n=None, nonce_buf=None):
    """Check and decrypt the frame in buf[0:n] in place; return its Header.

    The plaintext is then buf[15:15 + header.length]. `buf` must be a bytearray; `n` defaults
    to len(buf). With a `crypto.Cipher` and a `nonce_buf` this allocates only the Header, so a
    board can open downlink frames in its receive buffer.
    """
    h = parse_header(buf)
    if n is None:
        n = len(buf)
    if n < h.total_len:
        raise Truncated("header announces a %d-byte frame, got %d bytes" % (h.total_len, n))
    if n > h.total_len:
        raise TooLong(
            "header announces a %d-byte frame, got %d bytes (%d extra)"
            % (h.total_len, n, n - h.total_len)
        )
    nonce = nonce_for(h.downlink, h.device_id, h.counter, nonce_buf)
    _cipher_for(key).open_into(nonce, buf, buf, HEADER_LEN, h.length, HEADER_LEN)
    return h


_crypto = None


def _cipher_for(key):
    # crypto is imported on first use (a deframer alone needs none) and kept: an import
    # statement in the per-frame path would allocate on every call.
    global _crypto
    if _crypto is None:
        from protocol import crypto

        _crypto = crypto
    return _crypto.cipher_for(key)


try:
    import micropython  # noqa: F401  - on a board keep the bitwise crc8 above
except ImportError:
    from protocol.fastcrc import crc8  # CPython: table-driven, same results
