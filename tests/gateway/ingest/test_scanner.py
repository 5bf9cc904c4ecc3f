"""FrameScanner: every genuine frame is found whatever garbage or cut frames surround it."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ingest.scanner import FrameScanner
from protocol import codec
from tests.gateway.ingest.board import readings

KEY = os.urandom(16)
GENUINE = [codec.encode(readings(0xA1, c, n=1 + c % 5), KEY) for c in range(1, 40)]

# garbage pieces: random bytes, a fake magic, a cut genuine frame (header intact)
garbage = st.one_of(
    st.binary(max_size=60),
    st.just(b"MK\x01"),
    st.integers(0, len(GENUINE) - 1).flatmap(
        lambda i: st.integers(15, len(GENUINE[i]) - 1).map(lambda n: GENUINE[i][:n])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(garbage, st.integers(0, len(GENUINE) - 1)), max_size=12),
       st.integers(1, 97))
def test_finds_every_genuine_frame(pieces: list[tuple[bytes, int]], chunk: int) -> None:
    stream = b"".join(g + GENUINE[i] for g, i in pieces) + bytes(1100)  # later traffic
    expected = [GENUINE[i] for _, i in pieces]
    genuine = set(GENUINE)
    scanner = FrameScanner()
    found = []
    for pos in range(0, len(stream), chunk):
        scanner.feed(stream[pos:pos + chunk])
        while (raw := scanner.peek()) is not None:
            assert scanner.header is not None and scanner.header.total_len == len(raw)
            if raw in genuine:          # stands in for the AES-CCM tag check
                scanner.accept()
                found.append(raw)
            else:
                scanner.reject()
    assert found == expected
    assert scanner.buffered() <= 1100
