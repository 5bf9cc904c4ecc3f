"""Property tests: random and mutated bytes never raise anything but ProtocolError subclasses."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec, frame
from protocol.errors import BadTag, ProtocolError
from protocol.stream import Deframer
from tests.protocol.conftest import load_vectors

KEY = bytes(range(16))
VECTORS = load_vectors("frames.json")
FRAMES = [bytes.fromhex(v["frame"]) for v in VECTORS if v["key"] == KEY.hex()]
PLAINTEXTS = [
    (frame.parse_header(bytes.fromhex(v["frame"])).ftype, bytes.fromhex(v["plaintext"]))
    for v in VECTORS
]
FAST = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_protocol_errors(fn, *args) -> object:
    try:
        return fn(*args)
    except ProtocolError as e:
        assert e.reason and isinstance(e.detail, str)
        return e


@st.composite
def mutated(draw, sources: list[bytes]) -> bytes:
    """A valid frame or payload with a few bytes flipped, inserted, deleted or cut off."""
    b = bytearray(draw(st.sampled_from(sources)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        i = draw(st.integers(0, max(len(b) - 1, 0)))
        if op == "flip" and b:
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and b:
            b[i] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
        elif op == "insert":
            b.insert(i, draw(st.integers(0, 255)))
        elif op == "delete" and b:
            del b[i]
        elif op == "truncate":
            del b[i:]
    return bytes(b)


@FAST
@given(st.one_of(st.binary(max_size=80), mutated(FRAMES)))
def test_decode_and_parse_header_raise_only_protocol_errors(raw: bytes) -> None:
    only_protocol_errors(codec.decode, raw, KEY)
    only_protocol_errors(frame.parse_header, raw)
    only_protocol_errors(frame.open_frame, KEY, raw)


@FAST
@given(st.integers(1, 7), st.one_of(st.binary(max_size=60), mutated([p for _, p in PLAINTEXTS])))
def test_payload_decoders_raise_only_malformed(ftype: int, payload: bytes) -> None:
    # Behind a valid tag only the payload decoders remain: hit them directly, every type.
    result = only_protocol_errors(codec.decode_payload, ftype, payload)
    assert not isinstance(result, ProtocolError) or result.reason == "malformed_payload"


@FAST
@given(st.integers(1, 7), st.binary(max_size=60))
def test_sealed_garbage_payloads_decode_or_fail_cleanly(ftype: int, payload: bytes) -> None:
    raw = frame.seal(KEY, ftype, 1, 1, payload, ftype in frame.DOWNLINK_TYPES)
    result = only_protocol_errors(codec.decode, raw, KEY)
    if not isinstance(result, ProtocolError):
        assert codec.encode(result, KEY) == raw  # whatever decodes re-encodes bit-exact


@FAST
@given(st.lists(st.binary(max_size=12), max_size=20))
def test_deframer_on_random_bytes(chunks: list[bytes]) -> None:
    d = Deframer()
    for c in chunks:
        for raw in only_protocol_errors(d.feed, c):
            frame.parse_header(raw)  # whatever it returns has a valid header
        assert d.buffered() <= d.max_buffer


@settings(max_examples=400, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(FRAMES) - 1), min_size=1, max_size=6),
    garbage=st.lists(st.binary(max_size=40), min_size=7, max_size=7),
    chunk=st.integers(1, 50),
)
def test_deframer_recovers_every_frame_embedded_in_garbage(picks, garbage, chunk) -> None:
    frames = [FRAMES[i] for i in picks]
    stream = b"".join(garbage[i] + f for i, f in enumerate(frames)) + garbage[-1]
    # accept= verifies the tag, so a false header found in the garbage cannot swallow frames.
    d = Deframer(accept=tag_ok)
    got: list[bytes] = []
    for i in range(0, len(stream), chunk):
        got += d.feed(stream[i : i + chunk])
    assert got == frames
    assert d.frames == len(frames)


def tag_ok(raw: bytes) -> bool:
    try:
        frame.open_frame(KEY, raw)
    except BadTag:
        return False
    return True
