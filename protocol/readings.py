"""READINGS payload: blocks of cumulative registers per channel; the firmware's hot path.

A board calls `encode_block_into` once per channel into its preallocated frame buffer (after
the 15 header bytes and the block-count byte), then `frame.seal_into`. Nothing here allocates
for registers below 2**30 (MicroPython small ints).
"""

from protocol.errors import Malformed
from protocol.wire import (
    I64_MAX,
    I64_MIN,
    U64_MAX,
    index_of,
    put_svarint,
    put_u8,
    put_u32,
    put_uvarint,
)

# The index of a unit is its byte on the wire; any change is a protocol version change.
UNITS = ("Wh", "Wh_export", "L", "pulse")

# Flag bits per interval.
FLAG_PARTIAL = 0x01  # interval cut short (reboot, power loss)
FLAG_CLOCK_UNSYNCED = 0x02  # board clock not yet set by the gateway
FLAG_POWER_LOSS = 0x04
FLAG_SENSOR_FAULT = 0x08
FLAG_ROLLOVER = 0x10  # the register wrapped
FLAG_REGISTER_RESET = 0x20  # the register went back (meter replaced, board reset)
FLAGS_DEFINED = 0x3F

MAX_INTERVAL_S = 86400
FLAGS_ZERO = 0  # flags mode byte: every interval has flags 0, nothing follows
FLAGS_SAME = 1  # one flags byte follows, valid for every interval
FLAGS_EACH = 2  # one flags byte per interval follows


def flags_mode(flags, n):
    """Canonical flags mode for the first n entries of `flags` (None means all zero)."""
    if flags is None:
        return FLAGS_ZERO
    first = flags[0]
    for i in range(1, n):
        if flags[i] != first:
            return FLAGS_EACH
    return FLAGS_SAME if first else FLAGS_ZERO


def encode_block_into(buf, pos, channel, unit, interval_s, start, registers, flags=None, n=None):
    """Write one block at buf[pos:]; return the position after it.

    unit: wire code 0..3 or its name ("Wh", "Wh_export", "L", "pulse"). registers: the
    cumulative register at the END of each interval (first n entries are used; n defaults to
    len(registers)). flags: None (all zero) or one bitmask per interval. Raises ValueError
    for values the wire cannot carry and IndexError when buf is too small.
    """
    if n is None:
        n = len(registers)
    if isinstance(unit, str):
        unit = index_of(UNITS, unit, "unit")
    _check_block(channel, unit, interval_s, start, n)
    pos = put_u8(buf, pos, channel)
    pos = put_u8(buf, pos, unit)
    pos = put_uvarint(buf, pos, interval_s // 60)
    pos = put_u32(buf, pos, start)
    pos = put_uvarint(buf, pos, n)
    prev = registers[0]
    if not 0 <= prev <= U64_MAX:
        raise ValueError("registers[0] = %r is not a uint64" % (prev,))
    pos = put_uvarint(buf, pos, prev)
    for i in range(1, n):
        r = registers[i]
        if not 0 <= r <= U64_MAX:
            raise ValueError("registers[%d] = %r is not a uint64" % (i, r))
        d = r - prev
        if d < I64_MIN or d > I64_MAX:
            raise ValueError(
                "registers[%d]: step %d does not fit an int64; start a new block" % (i, d)
            )
        pos = put_svarint(buf, pos, d)
        prev = r
    if flags is not None:
        if len(flags) < n:
            raise ValueError("flags has %d entries, registers %d" % (len(flags), n))
        for i in range(n):
            f = flags[i]
            if f < 0 or f & ~FLAGS_DEFINED:
                raise ValueError("flags[%d] = %r has bits outside 0x3f" % (i, f))
    mode = flags_mode(flags, n)
    pos = put_u8(buf, pos, mode)
    if mode == FLAGS_SAME:
        pos = put_u8(buf, pos, flags[0])
    elif mode == FLAGS_EACH:
        for i in range(n):
            pos = put_u8(buf, pos, flags[i])
    return pos


def encode_readings(buf, pos, m):
    """Write the READINGS payload of message dict `m` at buf[pos:]; return the end position."""
    return encode_readings_into(buf, pos, m["blocks"])


def encode_readings_into(buf, pos, blocks):
    """Write a whole READINGS payload (count byte + blocks given as dicts); return end pos."""
    if not 0 <= len(blocks) <= 255:
        raise ValueError("blocks: %d blocks, at most 255" % len(blocks))
    pos = put_u8(buf, pos, len(blocks))
    for i in range(len(blocks)):
        b = blocks[i]
        try:
            regs = b["registers"]
            flags = b.get("flags")
            if flags is not None and len(flags) != len(regs):
                raise ValueError("flags has %d entries, registers %d" % (len(flags), len(regs)))
            pos = encode_block_into(
                buf, pos, b["channel"], b["unit"], b["interval_s"], b["start"], regs, flags
            )
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError("blocks[%d]: %s" % (i, _msg(e))) from None
    return pos


def decode_block(r):
    """Read one block from a wire.Reader; return it as a dict."""
    channel = r.u8("channel")
    unit = r.enum("unit", UNITS)
    at = r.pos
    minutes = r.uvarint("interval", MAX_INTERVAL_S // 60)
    if minutes == 0:
        raise Malformed("readings: interval at byte %d is 0 minutes, expected 1..1440" % at)
    interval_s = minutes * 60
    at = r.pos
    start = r.u32("start")
    if start % interval_s:
        raise Malformed(
            "readings: start %d at byte %d is not a multiple of interval %d s"
            % (start, at, interval_s)
        )
    at = r.pos
    n = r.uvarint("count", 0xFFFF)
    # Each register takes at least one byte: refuse counts the payload cannot hold before
    # allocating lists for them.
    if n == 0 or n > r.end - r.pos:
        raise Malformed(
            "readings: count %d at byte %d, expected 1..%d (bytes left)" % (n, at, r.end - r.pos)
        )
    # Lists sized once: appending would regrow them (and fragment a small heap).
    registers = [0] * n
    v = registers[0] = r.uvarint("register")
    for i in range(1, n):
        at = r.pos
        v += r.svarint("register delta")
        if v < 0 or v > U64_MAX:
            raise Malformed(
                "readings: register delta at byte %d takes the register to %d" % (at, v)
            )
        registers[i] = v
    at = r.pos
    mode = r.u8("flags mode")
    if mode == FLAGS_ZERO:
        flags = [0] * n
    elif mode == FLAGS_SAME:
        f = _flag(r)
        flags = [f] * n
    elif mode == FLAGS_EACH:
        flags = [0] * n
        for i in range(n):
            flags[i] = _flag(r)
    else:
        raise Malformed("readings: flags mode at byte %d is %d, expected 0, 1 or 2" % (at, mode))
    return {
        "channel": channel,
        "unit": unit,
        "interval_s": interval_s,
        "start": start,
        "registers": registers,
        "flags": flags,
    }


def decode_readings(r):
    n = r.u8("block count")
    blocks = [decode_block(r) for _ in range(n)]
    return {"blocks": blocks}


def _flag(r):
    at = r.pos
    f = r.u8("flags")
    if f & ~FLAGS_DEFINED:
        raise Malformed("readings: flags byte at %d is %02x, bits 0x40/0x80 are reserved" % (at, f))
    return f


def _check_block(channel, unit, interval_s, start, n):
    if not 0 <= channel <= 255:
        raise ValueError("channel %r is not 0..255" % (channel,))
    if not 0 <= unit < len(UNITS):
        raise ValueError("unit code %r is not 0..%d" % (unit, len(UNITS) - 1))
    if interval_s <= 0 or interval_s > MAX_INTERVAL_S or interval_s % 60:
        raise ValueError("interval_s %r is not a multiple of 60 in 60..86400" % (interval_s,))
    if not 0 <= start <= 0xFFFFFFFF or start % interval_s:
        raise ValueError("start %r is not a uint32 multiple of interval_s %d" % (start, interval_s))
    if not 1 <= n <= 0xFFFF:
        raise ValueError("a block needs 1..65535 registers, got %d" % n)


def _msg(e):
    if isinstance(e, KeyError):
        return "missing field %s" % (e.args[0],)
    return e.args[0] if e.args else repr(e)
