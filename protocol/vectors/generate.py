"""Generate frames.json and negative.json from an INDEPENDENT encoder (CPython only).

This script must never import `protocol`: it packs every payload by hand with `struct`,
computes CRC-8 and varints with its own code written from PROTOCOL.md, and encrypts with
`cryptography`'s AESCCM. The tests then check that `protocol` (on CPython and on the real
MicroPython binary) produces and accepts exactly these bytes, so a bug in `protocol` cannot
hide by agreeing with itself. The hex of the two worked examples in PROTOCOL.md (hand-worked
byte by byte) is checked here too: `python protocol/vectors/generate.py` fails if they differ.

The files hold one vector per line (see `dump`), so the MicroPython checker can read them
line by line within a 64 KiB heap. rfc3610.json uses the same layout but is not generated:
its values are copied from the RFC text.

Usage (from the repo root):  .venv/bin/python protocol/vectors/generate.py [--check]
  --check   regenerate in memory and exit 1 if the files on disk differ (no writing)
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

HERE = Path(__file__).resolve().parent
KEY = bytes(range(16))  # 000102...0f, the key of the PROTOCOL.md examples
OTHER_KEY = bytes.fromhex("d7828d13b2b0bdc325a76236df93cc6b")

TYPES = {
    "hello": 1,
    "readings": 2,
    "status": 3,
    "event": 4,
    "ack": 5,
    "command": 6,
    "command_result": 7,
}
UNITS = ["Wh", "Wh_export", "L", "pulse"]
CAUSES = ["unknown", "power_on", "watchdog", "soft", "deep_sleep", "brown_out", "hard"]
EVENTS = [
    "tamper",
    "power_fail",
    "power_restore",
    "reboot",
    "threshold",
    "queue_overflow",
    "config_error",
    "clock_set",
]
STATUSES = ["ok", "unknown_command", "bad_params", "failed", "not_available"]
COMMANDS = [
    ("set_interval", ["channel", "sample_s", "upload_s"]),
    (
        "set_calibration",
        ["channel", "ct_ratio", "burden_mohm", "voltage_dv", "pf_milli", "pulse_ml"],
    ),
    ("set_threshold", ["channel", "kind", "value"]),
    ("set_time", ["time"]),
    ("reboot", []),
    ("resend", ["from_counter", "to_counter"]),
]


# -- independent primitives ---------------------------------------------------------------
def crc8_smbus(data: bytes) -> int:
    """CRC-8 poly x^8+x^2+x+1 via a 256-entry table (ours is bitwise; this differs on purpose)."""
    table = []
    for byte in range(256):
        c = byte
        for _ in range(8):
            c = (c << 1) ^ 0x107 if c & 0x80 else c << 1
        table.append(c & 0xFF)
    crc = 0
    for b in data:
        crc = table[crc ^ b]
    return crc


def leb128(n: int) -> bytes:
    if n < 0:
        raise ValueError(n)
    groups = []
    while True:
        groups.append(n % 128)
        n //= 128
        if n == 0:
            break
    return bytes(g | 0x80 for g in groups[:-1]) + bytes([groups[-1]])


def zz(n: int) -> bytes:
    return leb128(2 * n if n >= 0 else -2 * n - 1)


# -- payloads, packed from the PROTOCOL.md tables -----------------------------------------
def p_hello(m):
    return struct.pack(
        ">BBBIBIB",
        *m["fw"],
        m["config_hash"],
        CAUSES.index(m["reset_cause"]),
        m["time"],
        1 if m["time_synced"] else 0,
    )


def p_readings(m):
    out = struct.pack(">B", len(m["blocks"]))
    for b in m["blocks"]:
        regs, flags = b["registers"], b["flags"]
        out += struct.pack(">BB", b["channel"], UNITS.index(b["unit"]))
        out += leb128(b["interval_s"] // 60) + struct.pack(">I", b["start"]) + leb128(len(regs))
        out += leb128(regs[0]) + b"".join(zz(regs[i] - regs[i - 1]) for i in range(1, len(regs)))
        if not any(flags):
            out += b"\x00"
        elif len(set(flags)) == 1:
            out += bytes([1, flags[0]])
        else:
            out += bytes([2, *flags])
    return out


def p_status(m):
    return (
        struct.pack(">I", m["time"])
        + leb128(m["supply_mv"])
        + leb128(m["battery_mv"])
        + bytes([m["csq"]])
        + zz(m["temp_dc"])
        + b"".join(
            leb128(m[k])
            for k in ("uptime_s", "free_heap", "queue_depth", "queue_dropped", "boot_count")
        )
    )


def p_event(m):
    out = bytes([len(m["events"])])
    for e in m["events"]:
        ch = 0xFF if e["channel"] is None else e["channel"]
        out += struct.pack(">IBB", e["time"], EVENTS.index(e["code"]), ch) + zz(e["value"])
    return out


def p_command_body(c):
    names = [n for n, _ in COMMANDS]
    idx = names.index(c["name"])
    pnames = COMMANDS[idx][1]
    present = sum(1 << i for i, p in enumerate(pnames) if p in c["params"])
    out = struct.pack(">HBB", c["cmd_id"], idx, present)
    return out + b"".join(zz(c["params"][p]) for p in pnames if p in c["params"])


def p_ack(m):
    out = struct.pack(">IIB", m["acked"], m["server_time"], len(m["commands"]))
    return out + b"".join(p_command_body(c) for c in m["commands"])


def p_result(m):
    return struct.pack(">HB", m["cmd_id"], STATUSES.index(m["status"])) + zz(m["detail"])


PAYLOAD = {
    "hello": p_hello,
    "readings": p_readings,
    "status": p_status,
    "event": p_event,
    "ack": p_ack,
    "command": p_command_body,
    "command_result": p_result,
}


def header(ftype: int, downlink: bool, device_id: int, counter: int, length: int) -> bytes:
    h = b"MK" + struct.pack(
        ">BBIIH", 1, ftype | (0x80 if downlink else 0), device_id, counter, length
    )
    return h + bytes([crc8_smbus(h)])


def nonce(downlink: bool, device_id: int, counter: int) -> bytes:
    return struct.pack(">BII", 1 if downlink else 0, device_id, counter) + bytes(4)


def seal_raw(key, ftype, downlink, device_id, counter, plaintext):
    h = header(ftype, downlink, device_id, counter, len(plaintext))
    n = nonce(downlink, device_id, counter)
    ct_tag = AESCCM(key, tag_length=8).encrypt(n, plaintext, h)
    return h, n, ct_tag[:-8], ct_tag[-8:]


def vector(name, msg, key=KEY):
    ftype = TYPES[msg["type"]]
    downlink = msg["type"] in ("ack", "command")
    pt = PAYLOAD[msg["type"]](msg)
    h, n, ct, tag = seal_raw(key, ftype, downlink, msg["device_id"], msg["counter"], pt)
    return {
        "name": name,
        "key": key.hex(),
        "message": msg,
        "header": h.hex(),
        "nonce": n.hex(),
        "plaintext": pt.hex(),
        "ciphertext": ct.hex(),
        "tag": tag.hex(),
        "frame": (h + ct + tag).hex(),
    }


DEV = 0x00A1B2C3
T0 = 1764547200  # 2025-12-01T00:00:00Z, a multiple of 86400

READINGS_EXAMPLE = {
    "type": "readings",
    "device_id": DEV,
    "counter": 42,
    "blocks": [
        {
            "channel": 0,
            "unit": "Wh",
            "interval_s": 900,
            "start": T0,
            "registers": [123456, 123706, 123950, 124210],
            "flags": [0, 0, 0, 0],
        },
        {
            "channel": 1,
            "unit": "L",
            "interval_s": 3600,
            "start": T0,
            "registers": [98765],
            "flags": [2],
        },
    ],
}
ACK_EXAMPLE = {
    "type": "ack",
    "device_id": DEV,
    "counter": 7,
    "acked": 42,
    "server_time": T0 + 3600,
    "commands": [{"cmd_id": 1, "name": "set_interval", "params": {"channel": 0, "upload_s": 3600}}],
}

# Plaintexts worked by hand in PROTOCOL.md section 9 (field by field, see the annotations there).
HAND_WORKED = {
    "readings_example": "0200000f692cda8004c0c407f403e80388040001023c692cda8001cd83060102",
    "ack_example": "0000002a692ce890010001000500a038",
}


def frame_vectors():
    day = [100000 + 250 * i + (i % 7) for i in range(97)]
    v = [
        vector("readings_example", READINGS_EXAMPLE),
        vector("ack_example", ACK_EXAMPLE),
        vector(
            "hello",
            {
                "type": "hello",
                "device_id": DEV,
                "counter": 1,
                "fw": [1, 4, 2],
                "config_hash": 0xDEADBEEF,
                "reset_cause": "brown_out",
                "time": T0 + 5,
                "time_synced": False,
            },
        ),
        vector(
            "hello_synced",
            {
                "type": "hello",
                "device_id": 0xFFFFFFFF,
                "counter": 0xFFFFFFFF,
                "fw": [255, 0, 9],
                "config_hash": 0,
                "reset_cause": "hard",
                "time": 0xFFFFFFFF,
                "time_synced": True,
            },
        ),
        vector(
            "readings_day_electric",
            {
                "type": "readings",
                "device_id": DEV,
                "counter": 43,
                "blocks": [
                    {
                        "channel": 0,
                        "unit": "Wh",
                        "interval_s": 900,
                        "start": T0,
                        "registers": day[1:],
                        "flags": [0] * 96,
                    }
                ],
            },
        ),
        vector(
            "readings_flags_each_and_big_registers",
            {
                "type": "readings",
                "device_id": DEV,
                "counter": 44,
                "blocks": [
                    {
                        "channel": 255,
                        "unit": "Wh_export",
                        "interval_s": 86400,
                        "start": T0,
                        "registers": [2**64 - 1, 2**64 - 2, 2**63, 2**63 + 5],
                        "flags": [0x01, 0x20, 0x3F, 0],
                    },
                    {
                        "channel": 3,
                        "unit": "pulse",
                        "interval_s": 60,
                        "start": T0 + 60,
                        "registers": [0, 5, 3, 3, 1000000],
                        "flags": [0x10] * 5,
                    },
                ],
            },
        ),
        vector(
            "readings_no_blocks", {"type": "readings", "device_id": 1, "counter": 1, "blocks": []}
        ),
        vector(
            "status",
            {
                "type": "status",
                "device_id": DEV,
                "counter": 45,
                "time": T0 + 600,
                "supply_mv": 4980,
                "battery_mv": 0,
                "csq": 17,
                "temp_dc": -57,
                "uptime_s": 86400,
                "free_heap": 61440,
                "queue_depth": 3,
                "queue_dropped": 0,
                "boot_count": 12,
            },
        ),
        vector(
            "status_extremes",
            {
                "type": "status",
                "device_id": DEV,
                "counter": 46,
                "time": 0,
                "supply_mv": 65535,
                "battery_mv": 65535,
                "csq": 99,
                "temp_dc": -32768,
                "uptime_s": 0xFFFFFFFF,
                "free_heap": 0,
                "queue_depth": 0xFFFFFFFF,
                "queue_dropped": 0xFFFFFFFF,
                "boot_count": 0,
            },
        ),
        vector(
            "event",
            {
                "type": "event",
                "device_id": DEV,
                "counter": 47,
                "events": [
                    {"time": T0 + 1, "code": "power_fail", "channel": None, "value": 0},
                    {"time": T0 + 90, "code": "power_restore", "channel": None, "value": 89},
                    {"time": T0 + 100, "code": "threshold", "channel": 2, "value": -1500},
                    {"time": T0 + 200, "code": "clock_set", "channel": None, "value": -(2**63)},
                ],
            },
        ),
        vector(
            "command_set_calibration",
            {
                "type": "command",
                "device_id": DEV,
                "counter": 8,
                "cmd_id": 65535,
                "name": "set_calibration",
                "params": {
                    "channel": 1,
                    "ct_ratio": 2000,
                    "burden_mohm": 33000,
                    "voltage_dv": 2300,
                    "pf_milli": -950,
                    "pulse_ml": 10,
                },
            },
        ),
        vector(
            "command_reboot",
            {
                "type": "command",
                "device_id": DEV,
                "counter": 9,
                "cmd_id": 2,
                "name": "reboot",
                "params": {},
            },
        ),
        vector(
            "ack_many_commands",
            {
                "type": "ack",
                "device_id": DEV,
                "counter": 10,
                "acked": 0xFFFFFFFF,
                "server_time": T0,
                "commands": [
                    {"cmd_id": 3, "name": "set_time", "params": {"time": T0}},
                    {
                        "cmd_id": 4,
                        "name": "resend",
                        "params": {"from_counter": 10, "to_counter": 20},
                    },
                    {
                        "cmd_id": 5,
                        "name": "set_threshold",
                        "params": {"channel": 0, "kind": 1, "value": 2**63 - 1},
                    },
                ],
            },
        ),
        vector(
            "ack_empty",
            {
                "type": "ack",
                "device_id": DEV,
                "counter": 11,
                "acked": 0,
                "server_time": T0,
                "commands": [],
            },
        ),
        vector(
            "command_result",
            {
                "type": "command_result",
                "device_id": DEV,
                "counter": 48,
                "cmd_id": 65535,
                "status": "not_available",
                "detail": -3,
            },
        ),
        vector(
            "other_key",
            {
                "type": "command_result",
                "device_id": 5,
                "counter": 1,
                "cmd_id": 1,
                "status": "ok",
                "detail": 0,
            },
            key=OTHER_KEY,
        ),
    ]
    for name, hexpt in HAND_WORKED.items():
        got = next(x for x in v if x["name"] == name)["plaintext"]
        if got != hexpt:
            sys.exit(f"{name}: generator plaintext {got} != hand-worked {hexpt}")
    return v


def negative_vectors(good):
    """Frames that must fail, with the error reason the decoder must give."""
    f = bytes.fromhex(good["frame"])
    dev, ctr = DEV, 99

    def flip(b: bytes, i: int) -> str:
        return (b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1 :]).hex()

    def recrc(h: bytes) -> bytes:
        return h[:14] + bytes([crc8_smbus(h[:14])])

    def sealed(pt: bytes, ftype=2, downlink=False):
        h, _, ct, tag = seal_raw(KEY, ftype, downlink, dev, ctr, pt)
        return (h + ct + tag).hex()

    neg = [
        ("bad_tag_last_byte", flip(f, len(f) - 1), "bad_tag"),
        ("bad_tag_ciphertext_changed", flip(f, 20), "bad_tag"),
        (
            "bad_tag_counter_changed",
            (recrc(bytes.fromhex(flip(f, 11))[:15]) + f[15:]).hex(),
            "bad_tag",
        ),
        ("bad_tag_wrong_key", vector("x", ACK_EXAMPLE, key=OTHER_KEY)["frame"], "bad_tag"),
        ("truncated_body", f[:-1].hex(), "truncated"),
        ("truncated_header", f[:14].hex(), "truncated"),
        ("empty", "", "truncated"),
        ("bad_magic", ("4d4c" + f[2:].hex()), "bad_magic"),
        ("bad_version", recrc(f[:2] + b"\x02" + f[3:15]).hex() + f[15:].hex(), "bad_version"),
        ("bad_header_check", flip(f, 14), "bad_header_check"),
        ("bad_type_unknown", recrc(f[:3] + b"\x08" + f[4:15]).hex() + f[15:].hex(), "bad_type"),
        ("bad_type_zero", recrc(f[:3] + b"\x00" + f[4:15]).hex() + f[15:].hex(), "bad_type"),
        (
            "bad_type_reserved_bit",
            recrc(f[:3] + b"\x12" + f[4:15]).hex() + f[15:].hex(),
            "bad_type",
        ),
        (
            "bad_type_uplink_with_downlink_bit",
            recrc(f[:3] + b"\x82" + f[4:15]).hex() + f[15:].hex(),
            "bad_type",
        ),
        (
            "too_long_length_field",
            recrc(f[:12] + b"\x04\x01" + f[14:15]).hex() + f[15:].hex(),
            "too_long",
        ),
        ("too_long_trailing_byte", f.hex() + "00", "too_long"),
        (
            "malformed_trailing_payload_byte",
            sealed(bytes.fromhex("00" + "00")),
            "malformed_payload",
        ),
        ("malformed_empty_readings", sealed(b""), "malformed_payload"),
        (
            "malformed_unknown_unit",
            sealed(bytes.fromhex("0100090f692cda80010500")),
            "malformed_payload",
        ),
        (
            "malformed_start_not_aligned",
            sealed(bytes.fromhex("0100000f692cda81010500")),
            "malformed_payload",
        ),
        (
            "malformed_count_zero",
            sealed(bytes.fromhex("0100000f692cda800000")),
            "malformed_payload",
        ),
        (
            "malformed_register_below_zero",
            sealed(bytes.fromhex("0100000f692cda8002050d00")),
            "malformed_payload",
        ),
        (
            "malformed_varint_11_bytes",
            sealed(bytes.fromhex("0100000f692cda8001" + "ff" * 10 + "0100")),
            "malformed_payload",
        ),
        (
            "malformed_register_over_uint64",
            sealed(bytes.fromhex("0100000f692cda8001" + "ff" * 9 + "0200")),
            "malformed_payload",
        ),
        (
            "malformed_flags_mode",
            sealed(bytes.fromhex("0100000f692cda80010503")),
            "malformed_payload",
        ),
        (
            "malformed_reserved_flag_bit",
            sealed(bytes.fromhex("0100000f692cda8001050140")),
            "malformed_payload",
        ),
        (
            "malformed_interval_zero",
            sealed(bytes.fromhex("01000000692cda80010500")),
            "malformed_payload",
        ),
        (
            "malformed_unknown_event_code",
            sealed(bytes.fromhex("01692cda8008ff00"), ftype=4),
            "malformed_payload",
        ),
        (
            "malformed_unknown_command",
            sealed(bytes.fromhex("00010600"), ftype=6, downlink=True),
            "malformed_payload",
        ),
        (
            "malformed_param_bit_out_of_table",
            sealed(bytes.fromhex("0001030200"), ftype=6, downlink=True),
            "malformed_payload",
        ),
        (
            "malformed_hello_flag_bits",
            sealed(bytes.fromhex("0102030000000001692cda8002"), ftype=1),
            "malformed_payload",
        ),
        (
            "malformed_csq",
            sealed(bytes.fromhex("692cda80000032000000000000"), ftype=3),
            "malformed_payload",
        ),
    ]
    return [{"name": n, "key": KEY.hex(), "frame": h, "reason": r} for n, h, r in neg]


def build() -> dict[str, str]:
    frames = frame_vectors()
    good = next(x for x in frames if x["name"] == "readings_example")
    docs = {
        "frames.json": {
            "source": "protocol/vectors/generate.py: hand-written struct packing + cryptography "
            "AESCCM (independent of the protocol package)",
            "fields": "header+ciphertext+tag = frame; nonce and plaintext shown for checking",
            "vectors": frames,
        },
        "negative.json": {
            "source": "protocol/vectors/generate.py",
            "fields": "decode(frame, key) must raise the ProtocolError whose reason is `reason`",
            "vectors": negative_vectors(good),
        },
    }
    return {name: dump(doc) for name, doc in docs.items()}


def dump(doc: dict) -> str:
    """JSON with one vector per line: a board-sized reader can parse them one at a time."""
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in doc.items() if k != "vectors"]
    lines.append('  "vectors": [')
    vecs = [json.dumps(v) for v in doc["vectors"]]
    lines += ["    " + v + ("," if i < len(vecs) - 1 else "") for i, v in enumerate(vecs)]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    out = build()
    if "--check" in argv:
        stale = [n for n, text in out.items() if (HERE / n).read_text() != text]
        for n in stale:
            print(f"{n} is out of date: run protocol/vectors/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for name, text in out.items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
