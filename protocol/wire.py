"""Payload primitives: fixed big-endian ints, LEB128 varints, zigzag, and a bounds-checked reader.

Writers take (buf, pos, value) and return the new position, so a board can fill a
preallocated bytearray without allocating. Reading goes through `Reader`, which turns every
overrun or out-of-range value into `Malformed` naming the field and byte offset.
"""

from protocol.errors import Malformed

U64_MAX = 0xFFFFFFFFFFFFFFFF
I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1
VARINT_MAX_BYTES = 10


def put_u8(buf, pos, v):
    buf[pos] = v
    return pos + 1


def put_u16(buf, pos, v):
    buf[pos] = v >> 8
    buf[pos + 1] = v & 0xFF
    return pos + 2


def put_u32(buf, pos, v):
    buf[pos] = (v >> 24) & 0xFF
    buf[pos + 1] = (v >> 16) & 0xFF
    buf[pos + 2] = (v >> 8) & 0xFF
    buf[pos + 3] = v & 0xFF
    return pos + 4


def put_uvarint(buf, pos, v):
    """Unsigned LEB128: 7 bits per byte, least significant group first, bit 7 = more."""
    while v >= 0x80:
        buf[pos] = (v & 0x7F) | 0x80
        v >>= 7
        pos += 1
    buf[pos] = v
    return pos + 1


def zigzag(v):
    """Map a signed int to unsigned: 0, -1, 1, -2, 2 ... -> 0, 1, 2, 3, 4 ..."""
    return v << 1 if v >= 0 else ((-v) << 1) - 1


def unzigzag(u):
    return u >> 1 if not u & 1 else -((u + 1) >> 1)


def put_svarint(buf, pos, v):
    return put_uvarint(buf, pos, zigzag(v))


def uvarint_len(v):
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


class Reader:
    """Bounds-checked reads from buf[pos:end]; errors name the message type and field."""

    def __init__(self, buf, what, pos=0, end=None):
        self.buf = buf
        self.what = what  # message type name, for error texts
        self.pos = pos
        self.end = len(buf) if end is None else end

    def _need(self, n, field):
        if self.pos + n > self.end:
            raise Malformed(
                "%s: payload ends inside %s at byte %d (needs %d, %d left)"
                % (self.what, field, self.pos, n, self.end - self.pos)
            )

    def u8(self, field):
        self._need(1, field)
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def u16(self, field):
        self._need(2, field)
        b = self.buf
        p = self.pos
        self.pos = p + 2
        return (b[p] << 8) | b[p + 1]

    def u32(self, field):
        self._need(4, field)
        b = self.buf
        p = self.pos
        self.pos = p + 4
        return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]

    def uvarint(self, field, hi=U64_MAX):
        """Read an unsigned varint (at most 10 bytes) and check it is <= hi."""
        b = self.buf
        start = p = self.pos
        v = 0
        shift = 0
        while True:
            if p >= self.end:
                self.pos = p
                self._need(1, field)
            c = b[p]
            p += 1
            v |= (c & 0x7F) << shift
            if not c & 0x80:
                break
            shift += 7
            if p - start >= VARINT_MAX_BYTES:
                raise Malformed(
                    "%s: varint %s at byte %d runs past %d bytes"
                    % (self.what, field, start, VARINT_MAX_BYTES)
                )
        self.pos = p
        if v > hi:
            raise Malformed(
                "%s: %s at byte %d is %d, maximum %d" % (self.what, field, start, v, hi)
            )
        return v

    def svarint(self, field, lo=I64_MIN, hi=I64_MAX):
        """Read a zigzag varint and check lo <= value <= hi."""
        start = self.pos
        v = unzigzag(self.uvarint(field))
        if v < lo or v > hi:
            raise Malformed(
                "%s: %s at byte %d is %d, expected %d..%d" % (self.what, field, start, v, lo, hi)
            )
        return v

    def enum(self, field, names):
        """Read a u8 index into `names` (a tuple of strings)."""
        start = self.pos
        i = self.u8(field)
        if i >= len(names):
            raise Malformed(
                "%s: %s at byte %d is %d, known values 0..%d"
                % (self.what, field, start, i, len(names) - 1)
            )
        return names[i]

    def bad(self, field, value, size, expected):
        """Raise Malformed for the `size`-byte field just read."""
        raise Malformed(
            "%s: %s at byte %d is %d, %s" % (self.what, field, self.pos - size, value, expected)
        )

    def done(self):
        if self.pos != self.end:
            raise Malformed(
                "%s: %d unexpected bytes after the last field (byte %d)"
                % (self.what, self.end - self.pos, self.pos)
            )


def int_in(v, lo, hi, field):
    """Encoder-side check: `v` is an int (not a bool) in lo..hi, else ValueError naming field."""
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or v > hi:
        raise ValueError("%s: %r is not an integer in %d..%d" % (field, v, lo, hi))
    return v


def uint_field(m, key, hi, prefix=""):
    """Encoder-side: m[key] must exist and be an int in 0..hi."""
    if key not in m:
        raise ValueError("%s%s: missing" % (prefix, key))
    return int_in(m[key], 0, hi, prefix + key)


def index_of(names, name, field):
    """Wire index of `name` in `names`; ValueError naming the field otherwise (encoder side)."""
    for i in range(len(names)):
        if names[i] == name:
            return i
    raise ValueError("%s: %r is not one of %s" % (field, name, ", ".join(names)))
