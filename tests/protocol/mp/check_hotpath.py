"""MicroPython checker: the firmware hot path (preallocated buffer) and the Deframer.

argv[1] = vectors dir. The worked READINGS example is built with readings.encode_block_into
and frame.seal_into into one buffer and must equal the frame in frames.json.
"""

import sys
from binascii import unhexlify

from vecio import check, finish, h, load

from protocol import crypto, frame, readings
from protocol.stream import Deframer

VEC = sys.argv[1]
ex = next(load(VEC + "/frames.json", "readings_example"))
others = [unhexlify(v["frame"]) for v in load(VEC + "/frames.json")
          if v["name"] in ("ack_example", "hello", "status")]
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
    cipher, buf, frame.READINGS, m["device_id"], m["counter"], pos - frame.HEADER_LEN, False,
    nonce_buf,
)
check(h(buf[:n]) == ex["frame"], "hot path seal_into " + h(buf[:n]))

# Deframer: frames in 3-byte reads among garbage, with a magic split across reads.
frames = [unhexlify(ex["frame"])] + others
stream = b"\x00MK\x01junk" + frames[0] + b"MM" + frames[1] + frames[2] + b"\xffMK" + frames[3]
d = Deframer()
got = []
for i in range(0, len(stream), 3):
    got += d.feed(stream[i : i + 3])
check(got == frames, "deframer returned %d frames" % len(got))
check(d.frames == 4 and d.buffered() == 0, "deframer counters")
finish()
