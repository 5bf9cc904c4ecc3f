"""HELLO and STATUS payloads: what a board says about itself (type 1 and 3)."""

from protocol.wire import index_of, int_in, put_svarint, put_u8, put_u32, put_uvarint, uint_field

# The index of a name is its byte on the wire; any change is a protocol version change.
RESET_CAUSES = ("unknown", "power_on", "watchdog", "soft", "deep_sleep", "brown_out", "hard")

U32 = 0xFFFFFFFF
_COUNTERS = ("uptime_s", "free_heap", "queue_depth", "queue_dropped", "boot_count")


# HELLO: fw major, minor, patch (u8 each), config_hash u32, reset_cause u8, time u32, flags u8
def encode_hello(buf, pos, m):
    fw = m["fw"]
    if len(fw) != 3:
        raise ValueError("fw: must be [major, minor, patch]")
    for i in range(3):
        pos = put_u8(buf, pos, int_in(fw[i], 0, 255, "fw[%d]" % i))
    pos = put_u32(buf, pos, uint_field(m, "config_hash", U32))
    pos = put_u8(buf, pos, index_of(RESET_CAUSES, m["reset_cause"], "reset_cause"))
    pos = put_u32(buf, pos, uint_field(m, "time", U32))
    return put_u8(buf, pos, 1 if m["time_synced"] else 0)


def decode_hello(r):
    fw = [r.u8("fw major"), r.u8("fw minor"), r.u8("fw patch")]
    config_hash = r.u32("config_hash")
    cause = r.enum("reset_cause", RESET_CAUSES)
    t = r.u32("time")
    flags = r.u8("flags")
    if flags & 0xFE:
        r.bad("flags", flags, 1, "only bit 0 (time_synced) may be set")
    return {
        "fw": fw,
        "config_hash": config_hash,
        "reset_cause": cause,
        "time": t,
        "time_synced": bool(flags & 1),
    }


# STATUS: time u32, supply_mv, battery_mv (varints), csq u8, temp_dc zigzag, five varints
def encode_status(buf, pos, m):
    pos = put_u32(buf, pos, uint_field(m, "time", U32))
    pos = put_uvarint(buf, pos, uint_field(m, "supply_mv", 0xFFFF))
    pos = put_uvarint(buf, pos, uint_field(m, "battery_mv", 0xFFFF))
    csq = uint_field(m, "csq", 99)
    if 31 < csq < 99:
        raise ValueError("csq: %d is not 0..31 or 99" % csq)
    pos = put_u8(buf, pos, csq)
    pos = put_svarint(buf, pos, int_in(m["temp_dc"], -32768, 32767, "temp_dc"))
    for k in _COUNTERS:
        pos = put_uvarint(buf, pos, uint_field(m, k, U32))
    return pos


def decode_status(r):
    m = {"time": r.u32("time")}
    m["supply_mv"] = r.uvarint("supply_mv", 0xFFFF)
    m["battery_mv"] = r.uvarint("battery_mv", 0xFFFF)
    csq = r.u8("csq")
    if csq > 31 and csq != 99:
        r.bad("csq", csq, 1, "expected 0..31 or 99")
    m["csq"] = csq
    m["temp_dc"] = r.svarint("temp_dc", -32768, 32767)
    for k in _COUNTERS:
        m[k] = r.uvarint(k, U32)
    return m
