"""MicroPython checker for ONE vector passed on the command line (used under a 64 KiB heap).

argv[1]: kind ("frame", "negative" or "rfc"); stdin: the vector as JSON, exactly as in the
vector file. The JSON text is read first, on a clean heap (this unix build aborts on long argv
strings), then only the modules a board needs for that frame type are compiled. Prints
"OK 1" or "FAIL ..." and exits 1 on failure. Expected values come from the vector, never
from the code under test.
"""

import gc
import json
import sys
from binascii import hexlify, unhexlify

KIND = sys.argv[1]
text = sys.stdin.read()
TYPES = ("", "hello", "readings", "status", "event", "ack", "command", "command_result")
MODULE_OF = ("", "device", "readings", "device", "event", "command", "command", "command")

# Which frame type does this vector exercise? Read from the raw text, before parsing.
t = 0
i = text.find('"type": "')
if KIND == "frame" and i >= 0:
    t = TYPES.index(text[i + 9 : text.index('"', i + 9)])
elif KIND == "negative":
    i = text.find('"frame": "') + 10
    raw = text[i : text.index('"', i)]
    b = int(raw[6:8], 16) if len(raw) >= 8 else 0
    t = b & 0x0F if (b & 0x0F) < 8 and not b & 0x70 else 0
    raw = None

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL", what)


def h(b):
    return hexlify(b).decode()


if KIND == "rfc":
    import cryptolib

    from protocol.ccm import CCM

    v = json.loads(text)
    key = unhexlify(v["key"])
    nonce = unhexlify(v["nonce"])
    inp = unhexlify(v["input"])
    hl = v["header_len"]
    ccm = CCM(cryptolib.aes(key, 1).encrypt, v["tag_len"])
    out = inp[:hl] + ccm.encrypt(nonce, inp[:hl], inp[hl:])
    check(h(out) == v["output"], "encrypt " + h(out))
    check(ccm.decrypt(nonce, inp[:hl], unhexlify(v["output"])[hl:]) == inp[hl:], "decrypt")
else:
    # The frame layer first, then the payload module, then crypto and the dict codec.
    from protocol import frame

    if t:
        __import__("protocol." + MODULE_OF[t])
    from protocol import crypto  # noqa: F401, I001 - order matters, see above
    from protocol import codec
    from protocol.errors import ProtocolError

    gc.collect()
    v = json.loads(text)
    text = None
    key = unhexlify(v["key"])
    if KIND == "frame":
        raw = codec.encode(v["message"], key)
        check(h(raw) == v["frame"], "encode differs")
        raw = None
        gc.collect()
        raw = unhexlify(v["frame"])
        msg = codec.decode(raw, key)
        check(msg == v["message"], "decode differs")  # no repr(msg): 1 KB on a small heap
        hd, pt = frame.open_frame(key, raw)
        check(h(pt) == v["plaintext"], "plaintext")
        check(h(frame.nonce_for(hd.downlink, hd.device_id, hd.counter)) == v["nonce"], "nonce")
    else:
        try:
            codec.decode(unhexlify(v["frame"]), key)
            check(False, "decoded without error")
        except ProtocolError as e:
            check(e.reason == v["reason"], "gave " + str(e))
        except Exception as e:  # exactly what this checker must report
            check(False, "raised " + repr(e))

print(f"FAIL {len(failures)}" if failures else "OK 1")
sys.exit(1 if failures else 0)
