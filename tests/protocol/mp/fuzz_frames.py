"""MicroPython fuzz: mutated frames and payloads raise nothing but the protocol's own errors.

argv[1] = vectors dir, argv[2] = number of cases, argv[3] = seed. Deterministic: a xorshift32
generator of its own (not the port's `random`), so a failing case number repeats anywhere.
Three kinds of case, in turn: a vector frame with bytes flipped, inserted, deleted or cut off
(decode); a vector plaintext mutated the same way and sealed with a valid tag (the payload
decoder sees arbitrary bytes); and a mutated frame between random bytes fed to a Deframer in
random pieces, every frame it returns then decoded. Prints "REASON name count" lines, one
"UNEXPECTED ..." line per foreign exception, and "CASES n" at the end.
"""

import sys
from binascii import unhexlify

from vecio import load

from protocol import codec, frame
from protocol.errors import ProtocolError
from protocol.stream import Deframer

N = int(sys.argv[2])
state = [int(sys.argv[3]) or 1]


def rnd(n):
    """0..n-1 from xorshift32."""
    x = state[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    state[0] = x
    return x % n


def mutate(src):
    b = bytearray(src)
    for _ in range(1 + rnd(4)):
        op = rnd(5)
        i = rnd(len(b)) if b else 0
        if op == 0 and b:
            b[i] ^= 1 << rnd(8)
        elif op == 1 and b:
            b[i] = (0x00, 0x7F, 0x80, 0xFF)[rnd(4)]
        elif op == 2:
            b[i:i] = bytes([rnd(256)])
        elif op == 3 and b:
            b[i : i + 1] = b""
        elif op == 4 and rnd(4) == 0:  # cutting often leaves nothing to mutate: rarer
            b[i:] = b""
    return bytes(b)


frames = []
plains = []
for v in load(sys.argv[1] + "/frames.json"):
    raw = unhexlify(v["frame"])
    frames.append((unhexlify(v["key"]), raw))
    plains.append((unhexlify(v["key"]), frame.parse_header(raw), unhexlify(v["plaintext"])))

reasons = {}
unexpected = [0]


def attempt(fn, *args):
    try:
        fn(*args)
        reasons["ok"] = reasons.get("ok", 0) + 1
    except ProtocolError as e:
        if not e.reason or not isinstance(e.detail, str):
            print("UNEXPECTED empty reason/detail", repr(e))
            unexpected[0] += 1
        reasons[e.reason] = reasons.get(e.reason, 0) + 1
    except Exception as e:  # exactly what this fuzz looks for
        print("UNEXPECTED", repr(e), "case", case)
        unexpected[0] += 1


for case in range(N):
    kind = case % 3
    if kind == 0:
        key, raw = frames[rnd(len(frames))]
        attempt(codec.decode, mutate(raw), key)
    elif kind == 1:
        key, h, pt = plains[rnd(len(plains))]
        sealed = frame.seal(key, h.ftype, h.device_id, h.counter, mutate(pt), h.downlink)
        attempt(codec.decode, sealed, key)
    else:
        key, raw = frames[rnd(len(frames))]
        junk = bytes(rnd(256) for _ in range(rnd(40)))
        stream = junk + mutate(raw) + junk + raw
        df = Deframer()
        i = 0
        while i < len(stream):
            k = 1 + rnd(64)
            try:
                got = df.feed(stream[i : i + k])
            except Exception as e:  # a deframer must never raise on bytes
                print("UNEXPECTED deframer", repr(e), "case", case)
                unexpected[0] += 1
                break
            for f in got:
                attempt(codec.decode, f, key)
            i += k

for name in sorted(reasons):
    print("REASON", name, reasons[name])
print("CASES", N)
sys.exit(1 if unexpected[0] else 0)
