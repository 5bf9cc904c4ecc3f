"""EVENT payload (type 4): timestamped events such as tamper, power loss, thresholds."""

from protocol.wire import (
    I64_MAX,
    I64_MIN,
    index_of,
    int_in,
    put_svarint,
    put_u8,
    put_u32,
    uint_field,
)

# The index of a code is its byte on the wire; any change is a protocol version change.
EVENT_CODES = (
    "tamper",
    "power_fail",
    "power_restore",
    "reboot",
    "threshold",
    "queue_overflow",
    "config_error",
    "clock_set",
)
NO_CHANNEL = 0xFF  # channel byte of an event that concerns no channel


# count u8, then per event: time u32, code u8, channel u8 (ff = none), value zigzag varint
def encode_event(buf, pos, m):
    events = m["events"]
    if len(events) > 255:
        raise ValueError("events: at most 255 per frame")
    pos = put_u8(buf, pos, len(events))
    for i in range(len(events)):
        e = events[i]
        f = "events[%d]." % i
        pos = put_u32(buf, pos, uint_field(e, "time", 0xFFFFFFFF, f))
        pos = put_u8(buf, pos, index_of(EVENT_CODES, e["code"], f + "code"))
        ch = e.get("channel")
        pos = put_u8(buf, pos, NO_CHANNEL if ch is None else int_in(ch, 0, 254, f + "channel"))
        pos = put_svarint(buf, pos, int_in(e["value"], I64_MIN, I64_MAX, f + "value"))
    return pos


def decode_event(r):
    n = r.u8("event count")
    events = []
    for _ in range(n):
        t = r.u32("event time")
        code = r.enum("event code", EVENT_CODES)
        ch = r.u8("event channel")
        events.append(
            {
                "time": t,
                "code": code,
                "channel": None if ch == NO_CHANNEL else ch,
                "value": r.svarint("event value"),
            }
        )
    return {"events": events}
