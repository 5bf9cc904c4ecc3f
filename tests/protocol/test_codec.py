"""Message codec: shared vectors (bit-exact both ways), negatives, encoder errors, round trips."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec, frame
from protocol.errors import ProtocolError
from tests.protocol.conftest import VECTORS, load_vectors

FRAMES = load_vectors("frames.json")
NEGATIVE = load_vectors("negative.json")
KEY = bytes(range(16))


@pytest.mark.parametrize("v", FRAMES, ids=lambda v: v["name"])
def test_encode_is_bit_exact(v: dict) -> None:
    assert codec.encode(v["message"], bytes.fromhex(v["key"])).hex() == v["frame"]


@pytest.mark.parametrize("v", FRAMES, ids=lambda v: v["name"])
def test_decode_gives_the_message(v: dict) -> None:
    raw = bytes.fromhex(v["frame"])
    assert codec.decode(raw, bytes.fromhex(v["key"])) == v["message"]
    _, pt = frame.open_frame(bytes.fromhex(v["key"]), raw)
    assert pt.hex() == v["plaintext"]
    assert codec.encode_payload(v["message"]).hex() == v["plaintext"]
    assert raw[:15].hex() == v["header"] and raw[-8:].hex() == v["tag"]


@pytest.mark.parametrize("v", NEGATIVE, ids=lambda v: v["name"])
def test_negative_vectors_give_their_reason(v: dict) -> None:
    with pytest.raises(ProtocolError) as e:
        codec.decode(bytes.fromhex(v["frame"]), bytes.fromhex(v["key"]))
    assert e.value.reason == v["reason"]
    assert e.value.detail  # always says what was wrong


def test_every_type_and_every_error_reason_has_vectors() -> None:
    assert {v["message"]["type"] for v in FRAMES} == set(frame.TYPE_NAMES[1:])
    assert {v["reason"] for v in NEGATIVE} == {
        "bad_magic",
        "bad_version",
        "bad_type",
        "truncated",
        "too_long",
        "bad_header_check",
        "bad_tag",
        "malformed_payload",
    }


def test_vector_files_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("generate", VECTORS / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.main(["--check"]) == 0


def test_protocol_md_worked_examples_match_the_vectors() -> None:
    # PROTOCOL.md shows each worked example's frame as hex; it must be the vector's frame.
    text = (Path(frame.__file__).parent / "PROTOCOL.md").read_text()
    for name in ("readings_example", "ack_example"):
        v = next(x for x in FRAMES if x["name"] == name)
        for part in ("header", "nonce", "plaintext", "ciphertext", "tag"):
            assert v[part] in "".join(text.split()).lower(), (name, part)


def msg(**kw) -> dict:
    return {"device_id": 1, "counter": 1, **kw}


def readings(**block) -> dict:
    """A READINGS message of one block: a valid quarter-hour block unless overridden."""
    return msg(type="readings", blocks=[{"channel": 0, "unit": "Wh", "interval_s": 900,
                                         "start": 900, "registers": [1], "flags": [0], **block}])


@pytest.mark.parametrize(
    ("m", "words"),
    [
        (msg(type="nope"), "type"),
        (msg(type="status", time=1), "supply_mv"),
        (
            msg(
                type="hello", fw=[1, 2], config_hash=0, reset_cause="soft", time=0, time_synced=True
            ),
            "fw",
        ),
        (
            msg(
                type="hello",
                fw=[1, 2, 3],
                config_hash=0,
                reset_cause="sleepy",
                time=0,
                time_synced=True,
            ),
            "reset_cause",
        ),
        (
            {**msg(type="command_result", cmd_id=1, status="ok", detail=0), "device_id": -1},
            "device_id",
        ),
        (msg(type="command", cmd_id=1, name="reboot", params={"time": 5}), "params"),
        (msg(type="command", cmd_id=70000, name="reboot", params={}), "cmd_id"),
        (
            msg(type="event", events=[{"time": 1, "code": "tamper", "channel": 255, "value": 0}]),
            "events[0].channel",
        ),
        (readings(start=901), "blocks[0]"),
        (readings(unit="kWh"), "unit"),
        (readings(registers=[1, 2]), "flags"),
        (readings(flags=[0x40]), "0x3f"),
        (readings(registers=[0, 2**64 - 1], flags=[0, 0]), "int64"),
        (readings(interval_s=60, start=0, registers=list(range(0, 10**8, 10**5)),
                  flags=[0] * 1000), "exceeds 1024"),
    ],
)
def test_encoder_refuses_bad_messages_naming_the_field(m: dict, words: str) -> None:
    with pytest.raises(ValueError) as e:
        codec.encode(m, KEY)
    assert words in str(e.value)


# -- round trips over generated messages ---------------------------------------------------
u32 = st.integers(0, 2**32 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
flags = st.integers(0, 0x3F)


@st.composite
def blocks(draw) -> dict:
    interval = draw(st.sampled_from([60, 900, 3600, 86400, 60 * draw(st.integers(1, 1440))]))
    n = draw(st.integers(1, 20))
    first = draw(st.integers(0, 2**64 - 1))
    regs = [first]
    for _ in range(n - 1):
        regs.append(min(max(regs[-1] + draw(st.integers(-(2**40), 2**40)), 0), 2**64 - 1))
    fl = draw(
        st.one_of(
            st.just([0] * n), flags.map(lambda f: [f] * n), st.lists(flags, min_size=n, max_size=n)
        )
    )
    return {
        "channel": draw(st.integers(0, 255)),
        "unit": draw(st.sampled_from(["Wh", "Wh_export", "L", "pulse"])),
        "interval_s": interval,
        "start": draw(st.integers(0, (2**32 - 1) // interval)) * interval,
        "registers": regs,
        "flags": fl,
    }


command_bodies = st.sampled_from(
    [
        ("set_interval", ("channel", "sample_s", "upload_s")),
        (
            "set_calibration",
            ("channel", "ct_ratio", "burden_mohm", "voltage_dv", "pf_milli", "pulse_ml"),
        ),
        ("set_threshold", ("channel", "kind", "value")),
        ("set_time", ("time",)),
        ("reboot", ()),
        ("resend", ("from_counter", "to_counter")),
    ]
).flatmap(
    lambda c: st.fixed_dictionaries(
        {
            "cmd_id": st.integers(0, 65535),
            "name": st.just(c[0]),
            "params": st.dictionaries(st.sampled_from(c[1]), i64) if c[1] else st.just({}),
        }
    )
)

messages = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("hello"),
            "fw": st.lists(st.integers(0, 255), min_size=3, max_size=3),
            "config_hash": u32,
            "reset_cause": st.sampled_from(
                ["unknown", "power_on", "watchdog", "soft", "deep_sleep", "brown_out", "hard"]
            ),
            "time": u32,
            "time_synced": st.booleans(),
        }
    ),
    st.fixed_dictionaries({"type": st.just("readings"), "blocks": st.lists(blocks(), max_size=4)}),
    st.fixed_dictionaries(
        {
            "type": st.just("status"),
            "time": u32,
            "supply_mv": st.integers(0, 65535),
            "battery_mv": st.integers(0, 65535),
            "csq": st.one_of(st.integers(0, 31), st.just(99)),
            "temp_dc": st.integers(-32768, 32767),
            "uptime_s": u32,
            "free_heap": u32,
            "queue_depth": u32,
            "queue_dropped": u32,
            "boot_count": u32,
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("event"),
            "events": st.lists(
                st.fixed_dictionaries(
                    {
                        "time": u32,
                        "code": st.sampled_from(
                            [
                                "tamper",
                                "power_fail",
                                "power_restore",
                                "reboot",
                                "threshold",
                                "queue_overflow",
                                "config_error",
                                "clock_set",
                            ]
                        ),
                        "channel": st.one_of(st.none(), st.integers(0, 254)),
                        "value": i64,
                    }
                ),
                max_size=10,
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("ack"),
            "acked": u32,
            "server_time": u32,
            "commands": st.lists(command_bodies, max_size=4),
        }
    ),
    command_bodies.map(lambda c: {"type": "command", **c}),
    st.fixed_dictionaries(
        {
            "type": st.just("command_result"),
            "cmd_id": st.integers(0, 65535),
            "status": st.sampled_from(
                ["ok", "unknown_command", "bad_params", "failed", "not_available"]
            ),
            "detail": i64,
        }
    ),
)


@settings(max_examples=400, deadline=None)
@given(m=messages, device_id=u32, counter=u32)
def test_round_trip(m: dict, device_id: int, counter: int) -> None:
    m = {**m, "device_id": device_id, "counter": counter}
    original = copy.deepcopy(m)
    raw = codec.encode(m, KEY)
    assert m == original  # encode does not touch its input
    assert codec.decode(raw, KEY) == m
    h = frame.parse_header(raw)
    assert h.downlink == (m["type"] in ("ack", "command"))
    assert len(raw) == h.total_len <= frame.MAX_FRAME
