"""Message dicts <-> sealed frames: `encode(msg, key)` and `decode(raw, key)` for all 7 types.

`decode` raises only ProtocolError subclasses, whatever the bytes. `encode` raises ValueError
(naming the field) for a dict the wire cannot carry: that is the sender's bug, not bad input.
Payload layouts are specified byte by byte in PROTOCOL.md. Each type's code lives in a small
module imported on first use, so a board with a small heap loads only the types it handles.
"""

import sys

from protocol import frame
from protocol.wire import Reader, index_of, uint_field

TYPE_NAMES = frame.TYPE_NAMES

# On a board, `encode` reuses one frame-sized buffer taken at import, while the heap is still
# unfragmented, instead of asking for 1 KB per message. CPython allocates per call (threads).
_SHARED = bytearray(frame.MAX_FRAME) if sys.implementation.name == "micropython" else None

# frame type -> (module, encoder, decoder)
_IMPL = (
    None,
    ("device", "encode_hello", "decode_hello"),
    ("readings", "encode_readings", "decode_readings"),
    ("device", "encode_status", "decode_status"),
    ("event", "encode_event", "decode_event"),
    ("command", "encode_ack", "decode_ack"),
    ("command", "encode_command", "decode_command"),
    ("command", "encode_result", "decode_result"),
)


def _impl(ftype, which):
    mod, enc, dec = _IMPL[ftype]
    m = __import__("protocol." + mod, None, None, ["_"])
    return getattr(m, dec if which else enc)


def encode(msg, key):
    """Encode and seal a message dict; return the frame bytes."""
    ftype = index_of(TYPE_NAMES[1:], msg.get("type"), "type") + 1
    device_id = uint_field(msg, "device_id", 0xFFFFFFFF)
    counter = uint_field(msg, "counter", 0xFFFFFFFF)
    buf = _SHARED if _SHARED is not None else bytearray(frame.MAX_FRAME)
    try:
        n = encode_payload_into(buf, frame.HEADER_LEN, msg) - frame.HEADER_LEN
    except IndexError:
        n = frame.MAX_FRAME
    if n > frame.MAX_PAYLOAD:
        raise ValueError(
            "%s: payload exceeds %d bytes; split it" % (msg["type"], frame.MAX_PAYLOAD)
        )
    n = frame.seal_into(key, buf, ftype, device_id, counter, n, ftype in frame.DOWNLINK_TYPES)
    return bytes(memoryview(buf)[0:n])


def decode(raw, key):
    """Open a frame and decode its payload; return the message dict."""
    buf = bytearray(raw)
    h = frame.open_into(key, buf)  # decrypt in place: no second copy of the payload
    body = decode_payload(h.ftype, buf, frame.HEADER_LEN, frame.HEADER_LEN + h.length)
    msg = {"type": TYPE_NAMES[h.ftype], "device_id": h.device_id, "counter": h.counter}
    msg.update(body)
    return msg


def encode_payload(msg):
    """Return the plaintext payload bytes of a message dict (no header, not encrypted)."""
    buf = bytearray(frame.MAX_PAYLOAD)
    try:
        n = encode_payload_into(buf, 0, msg)
    except IndexError:
        raise ValueError(
            "%s: payload exceeds %d bytes; split it" % (msg.get("type"), frame.MAX_PAYLOAD)
        ) from None
    return bytes(buf[0:n])


def encode_payload_into(buf, pos, msg):
    """Write the payload of `msg` at buf[pos:]; return the end position (IndexError if full)."""
    t = msg.get("type")
    ftype = index_of(TYPE_NAMES[1:], t, "type") + 1
    try:
        return _impl(ftype, 0)(buf, pos, msg)
    except KeyError as e:
        raise ValueError("%s: missing field %s" % (t, e.args[0])) from None
    except TypeError as e:
        raise ValueError("%s: wrong value type (%s)" % (t, e)) from None
    except ValueError as e:
        raise ValueError("%s: %s" % (t, e.args[0] if e.args else e)) from None


def decode_payload(ftype, payload, start=0, end=None):
    """Decode the plaintext payload[start:end] of frame type `ftype` (1..7); return a dict."""
    r = Reader(payload, TYPE_NAMES[ftype], start, end)
    body = _impl(ftype, 1)(r)
    r.done()
    return body
