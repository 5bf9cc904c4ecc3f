"""COMMAND, ACK and COMMAND_RESULT payloads (types 6, 5, 7): the downlink and its answers."""

from protocol.wire import (
    I64_MAX,
    I64_MIN,
    index_of,
    int_in,
    put_svarint,
    put_u8,
    put_u16,
    put_u32,
    uint_field,
)

# Command name -> parameter names. The index of a command is its byte on the wire; the
# position of a parameter is its bit in the presence byte. Any change is a version change.
COMMANDS = (
    ("set_interval", ("channel", "sample_s", "upload_s")),
    (
        "set_calibration",
        ("channel", "ct_ratio", "burden_mohm", "voltage_dv", "pf_milli", "pulse_ml"),
    ),
    ("set_threshold", ("channel", "kind", "value")),
    ("set_time", ("time",)),
    ("reboot", ()),
    ("resend", ("from_counter", "to_counter")),
)
NAMES = tuple(c[0] for c in COMMANDS)
RESULT_STATUSES = ("ok", "unknown_command", "bad_params", "failed", "not_available")


# Command body: cmd_id u16, name u8, presence u8 (bit i = parameter i present), zigzag values
def encode_command(buf, pos, c, f=""):
    pos = put_u16(buf, pos, uint_field(c, "cmd_id", 0xFFFF, f))
    name = c["name"]
    idx = index_of(NAMES, name, f + "name")
    names = COMMANDS[idx][1]
    params = c.get("params") or {}
    for k in params:
        if k not in names:
            raise ValueError(
                "%sparams: %r is not a parameter of %s (%s)"
                % (f, k, name, ", ".join(names) or "none")
            )
    present = 0
    for i in range(len(names)):
        if names[i] in params:
            present |= 1 << i
    pos = put_u8(buf, pos, idx)
    pos = put_u8(buf, pos, present)
    for i in range(len(names)):
        if present & (1 << i):
            v = int_in(params[names[i]], I64_MIN, I64_MAX, f + "params." + names[i])
            pos = put_svarint(buf, pos, v)
    return pos


def decode_command(r):
    cmd_id = r.u16("cmd_id")
    name = r.enum("command name", NAMES)
    names = COMMANDS[NAMES.index(name)][1]
    present = r.u8("parameter presence")
    if present >> len(names):
        r.bad("parameter presence", present, 1, "%s has %d parameters" % (name, len(names)))
    params = {}
    for i in range(len(names)):
        if present & (1 << i):
            params[names[i]] = r.svarint(names[i])
    return {"cmd_id": cmd_id, "name": name, "params": params}


# ACK: acked u32, server_time u32, command count u8, command bodies
def encode_ack(buf, pos, m):
    pos = put_u32(buf, pos, uint_field(m, "acked", 0xFFFFFFFF))
    pos = put_u32(buf, pos, uint_field(m, "server_time", 0xFFFFFFFF))
    cmds = m.get("commands") or []
    if len(cmds) > 255:
        raise ValueError("commands: at most 255 per ack")
    pos = put_u8(buf, pos, len(cmds))
    for i in range(len(cmds)):
        pos = encode_command(buf, pos, cmds[i], "commands[%d]." % i)
    return pos


def decode_ack(r):
    acked = r.u32("acked")
    server_time = r.u32("server_time")
    n = r.u8("command count")
    return {
        "acked": acked,
        "server_time": server_time,
        "commands": [decode_command(r) for _ in range(n)],
    }


# COMMAND_RESULT: cmd_id u16, status u8, detail zigzag varint
def encode_result(buf, pos, m):
    pos = put_u16(buf, pos, uint_field(m, "cmd_id", 0xFFFF))
    pos = put_u8(buf, pos, index_of(RESULT_STATUSES, m["status"], "status"))
    return put_svarint(buf, pos, int_in(m.get("detail", 0), I64_MIN, I64_MAX, "detail"))


def decode_result(r):
    return {
        "cmd_id": r.u16("cmd_id"),
        "status": r.enum("status", RESULT_STATUSES),
        "detail": r.svarint("detail"),
    }
