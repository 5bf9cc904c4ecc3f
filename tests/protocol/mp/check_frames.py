"""MicroPython checker: every vector of frames.json and negative.json in ONE process.

argv[1] = vectors dir. Run under the default heap: it loads every payload module and reuses
ciphers across vectors, as a long-running gateway-side decoder would. (check_one.py covers
the 64 KiB heap, one vector per process.) Expected values come from the vector files only.
"""

import gc
import sys
from binascii import unhexlify

from vecio import check, counted, finish, h, load

from protocol import codec, frame
from protocol.errors import ProtocolError

VEC = sys.argv[1]

n = 0
for v in load(VEC + "/frames.json"):
    n += 1
    key = unhexlify(v["key"])
    raw = codec.encode(v["message"], key)
    check(h(raw) == v["frame"], v["name"] + " encode " + h(raw))
    raw = unhexlify(v["frame"])
    msg = codec.decode(raw, key)
    check(msg == v["message"], v["name"] + " decode differs")
    hd, pt = frame.open_frame(key, raw)
    check(h(pt) == v["plaintext"], v["name"] + " plaintext")
    check(h(frame.nonce_for(hd.downlink, hd.device_id, hd.counter)) == v["nonce"], v["name"])
    gc.collect()
counted("frames", n)

n = 0
for v in load(VEC + "/negative.json"):
    n += 1
    try:
        codec.decode(unhexlify(v["frame"]), unhexlify(v["key"]))
        check(False, v["name"] + " decoded without error")
    except ProtocolError as e:
        check(e.reason == v["reason"], v["name"] + " gave " + str(e))
    except Exception as e:  # exactly what this checker must report
        check(False, v["name"] + " raised " + repr(e))
counted("negative", n)
finish()
