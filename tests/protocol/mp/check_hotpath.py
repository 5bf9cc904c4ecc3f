"""MicroPython checker: the firmware hot path (preallocated buffers) and the Deframer.

stdin: JSON list of frame vectors from frames.json, the first being "readings_example". It is
read first, on a clean heap; then only the modules a board's send path needs are compiled.
The worked READINGS example is built with readings.encode_block_into and frame.seal_into in
one buffer and must equal its vector; a downlink ACK is opened in place with frame.open_into.
"""

import gc
import json
import sys
from binascii import hexlify, unhexlify

vectors = json.loads(sys.stdin.read())

# Order matters under a small heap: the biggest module compiles first, on the cleanest heap.
from protocol import frame  # noqa: E402, I001 - after reading stdin, see the docstring
from protocol import readings  # noqa: E402
from protocol import crypto  # noqa: E402
from protocol.stream import Deframer  # noqa: E402

gc.collect()
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL", what)


ex = vectors[0]
m = ex["message"]
buf = bytearray(frame.MAX_FRAME)
nonce_buf = bytearray(13)
cipher = crypto.Cipher(unhexlify(ex["key"]))
pos = frame.HEADER_LEN
buf[pos] = len(m["blocks"])
pos += 1
for b in m["blocks"]:
    pos = readings.encode_block_into(
        buf, pos, b["channel"], b["unit"], b["interval_s"], b["start"], b["registers"], b["flags"]
    )
n = frame.seal_into(
    cipher,
    buf,
    frame.READINGS,
    m["device_id"],
    m["counter"],
    pos - frame.HEADER_LEN,
    False,
    nonce_buf,
)
check(hexlify(buf[:n]).decode() == ex["frame"], "seal_into")

# Downlink: open an ACK in the same receive buffer, in place.
for v in vectors:
    if v["name"] == "ack_example":
        raw = unhexlify(v["frame"])
        buf[0 : len(raw)] = raw
        h = frame.open_into(cipher, buf, len(raw), nonce_buf)
        pt = hexlify(buf[frame.HEADER_LEN : frame.HEADER_LEN + h.length]).decode()
        check(pt == v["plaintext"] and h.counter == v["message"]["counter"], "open_into")

# Deframer: frames in 3-byte reads among garbage, with a magic split across reads.
frames = [unhexlify(v["frame"]) for v in vectors[:4]]
stream = b"\x00MK\x01junk" + frames[0] + b"MM" + frames[1] + frames[2] + b"\xffMK" + frames[3]
d = Deframer()
got = []
for i in range(0, len(stream), 3):
    got += d.feed(stream[i : i + 3])
check(got == frames, f"deframer returned {len(got)} frames")
check(d.frames == 4 and d.buffered() == 0, "deframer counters")

print(f"FAIL {len(failures)}" if failures else "OK 4")
sys.exit(1 if failures else 0)
