"""MicroPython checker: frames.json (encode and decode) and negative.json (error reasons).

argv: vectors dir, then optionally a vector name or a frame type ("readings", ..., "other" for
negatives with an invalid type byte) to check only those vectors. Modules are compiled first,
on a clean heap (compiling from source needs big transient blocks); vectors are then streamed
one at a time. Expected values come from the vector files, never from the code under test.
"""

import gc
import sys
from binascii import unhexlify

from vecio import check, checks, finish, h, load

from protocol import codec, command, device, event, frame, readings  # noqa: F401
from protocol.errors import ProtocolError

VEC = sys.argv[1]
ONLY = sys.argv[2] if len(sys.argv) > 2 else None
gc.collect()

for v in load(VEC + "/frames.json", ONLY):
    key = unhexlify(v["key"])
    raw = codec.encode(v["message"], key)
    check(h(raw) == v["frame"], v["name"] + " encode " + h(raw))
    raw = unhexlify(v["frame"])
    msg = codec.decode(raw, key)
    check(msg == v["message"], v["name"] + " decode " + repr(msg))
    hd, pt = frame.open_frame(key, raw)
    check(h(pt) == v["plaintext"], v["name"] + " plaintext")
    n = frame.nonce_for(hd.downlink, hd.device_id, hd.counter)
    check(h(n) == v["nonce"], v["name"] + " nonce")
    raw = msg = pt = None
    gc.collect()

for v in load(VEC + "/negative.json", ONLY):
    try:
        codec.decode(unhexlify(v["frame"]), unhexlify(v["key"]))
        check(False, v["name"] + " decoded without error")
    except ProtocolError as e:
        check(e.reason == v["reason"], v["name"] + " gave " + str(e))
    except Exception as e:  # noqa: BLE001 - exactly what this checker must report
        check(False, v["name"] + " raised " + repr(e))
    gc.collect()
check(checks[0] > 0, "no vector selected by %r" % ONLY)
finish()
