"""Protocol speed on CPython and heap allocated per frame under the real MicroPython binary.

Run: .venv/bin/python bench/protocol_speed.py

CPython: microseconds per encode+encrypt (`codec.encode`) and per decrypt+decode
(`codec.decode`) for an hourly READINGS frame (4 quarter-hours + 1 gas hour) and a daily one
(96 quarter-hours), next to two references measured in the same run: the bare AES-128-CCM
seal/open of the same payload bytes and header (`cryptography`'s AESCCM, no codec: the floor),
and the same message as JSON (`json.dumps` + the same AESCCM seal / open + `json.loads`: what a
JSON wire format would cost), with the ratios.

MicroPython (unix port, 64-bit): heap bytes allocated per frame, measured with gc.mem_alloc()
deltas with the collector disabled, for the dict API and for the firmware hot path
(readings.encode_block_into + frame.seal_into into preallocated buffers), plus time per frame
on this host (a board is much slower; the relative figures matter).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.ciphers.aead import AESCCM  # noqa: E402

from protocol import codec, frame  # noqa: E402

KEY = bytes(range(16))
T0 = 1764547200

HOURLY = {
    "type": "readings",
    "device_id": 0x00A1B2C3,
    "counter": 42,
    "blocks": [
        {
            "channel": 0,
            "unit": "Wh",
            "interval_s": 900,
            "start": T0,
            "registers": [4815292, 4815455, 4815610, 4815779],
            "flags": [0, 0, 0, 0],
        },
        {
            "channel": 1,
            "unit": "L",
            "interval_s": 3600,
            "start": T0,
            "registers": [1235601],
            "flags": [0],
        },
    ],
}
DAILY = {
    "type": "readings",
    "device_id": 0x00A1B2C3,
    "counter": 43,
    "blocks": [
        {
            "channel": 0,
            "unit": "Wh",
            "interval_s": 900,
            "start": T0,
            "registers": [4815000 + 250 * i + i % 7 for i in range(96)],
            "flags": [0] * 96,
        }
    ],
}

MP_SCRIPT = r"""
import gc, sys, time, json
from protocol import codec, crypto, frame, readings
KEY = bytes(range(16))
msgs = json.loads(sys.stdin.read())
N = 50

def per_frame(fn):
    fn()  # warm: imports, cipher cache, first-use allocations
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(N):
        fn()
    b = gc.mem_alloc()
    gc.enable()
    gc.collect()
    best = None
    for _ in range(5):  # the host is shared: keep the fastest of 5 runs
        t = time.ticks_us()
        for _ in range(N):
            fn()
        dt = time.ticks_diff(time.ticks_us(), t)
        best = dt if best is None or dt < best else best
        gc.collect()
    return (b - a) / N, best / N

for name, m in msgs:
    raw = codec.encode(m, KEY)
    enc = per_frame(lambda: codec.encode(m, KEY))
    dec = per_frame(lambda: codec.decode(raw, KEY))
    print("mp %s dict-encode %d B %d us" % (name, enc[0], enc[1]))
    print("mp %s dict-decode %d B %d us" % (name, dec[0], dec[1]))

# Firmware hot path: everything preallocated once, registers kept in a preallocated list.
cipher = crypto.Cipher(KEY)
buf = bytearray(frame.MAX_FRAME)
nonce = bytearray(13)
for name, m in msgs:
    blocks = m["blocks"]
    def hot():
        pos = frame.HEADER_LEN
        buf[pos] = len(blocks)
        pos += 1
        for b in blocks:
            pos = readings.encode_block_into(buf, pos, b["channel"], 0 if b["unit"] == "Wh" else 2,
                                             b["interval_s"], b["start"], b["registers"], None)
        return frame.seal_into(cipher, buf, 2, m["device_id"], m["counter"],
                               pos - frame.HEADER_LEN, False, nonce)
    hp = per_frame(hot)
    print("mp %s hot-path-encode %d B %d us" % (name, hp[0], hp[1]))
    raw = codec.encode(m, KEY)
    rx = bytearray(frame.MAX_FRAME)
    def opn():
        rx[0:len(raw)] = raw
        return frame.open_into(cipher, rx, len(raw), nonce)
    op = per_frame(opn)
    print("mp %s hot-path-open %d B %d us" % (name, op[0], op[1]))
"""


def _best_us(fn: Callable[[], object], n: int) -> float:
    """Fastest of 7 runs of n calls, in microseconds per call (the host is shared)."""
    return min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6


def _compare(name: str, m: dict, aead: AESCCM) -> None:
    """One frame: the codec against bare CCM and against JSON + CCM, same run, same key."""
    raw = codec.encode(m, KEY)
    n = 2000 if name == "hourly" else 500
    enc = _best_us(lambda: codec.encode(m, KEY), n)
    dec = _best_us(lambda: codec.decode(raw, KEY), n)
    # the same bytes the codec seals: header as associated data, nonce per PROTOCOL.md 4
    header = raw[: frame.HEADER_LEN]
    payload = codec.encode_payload(m)
    nonce = bytes([0]) + raw[4:12] + bytes(4)
    sealed = aead.encrypt(nonce, payload, header)
    if header + sealed != raw:
        raise SystemExit(f"{name}: the reference does not seal what the codec sends")
    bare_seal = _best_us(lambda: aead.encrypt(nonce, payload, header), n)
    bare_open = _best_us(lambda: aead.decrypt(nonce, sealed, header), n)
    body = {k: v for k, v in m.items() if k not in ("device_id", "counter")}
    js = json.dumps(body, separators=(",", ":")).encode()
    js_sealed = aead.encrypt(nonce, js, header)
    js_enc = _best_us(lambda: aead.encrypt(
        nonce, json.dumps(body, separators=(",", ":")).encode(), header), n)
    js_dec = _best_us(lambda: json.loads(aead.decrypt(nonce, js_sealed, header)), n)
    print(f"  {name:7} frame {len(raw):4} B (payload {len(payload)} B; as JSON {len(js)} B)")
    print(f"    encode+encrypt {enc:7.1f} us | bare AESCCM seal {bare_seal:6.1f} us "
          f"(x{enc / bare_seal:4.1f}) | json.dumps+seal {js_enc:6.1f} us (x{enc / js_enc:4.2f})")
    print(f"    decrypt+decode {dec:7.1f} us | bare AESCCM open {bare_open:6.1f} us "
          f"(x{dec / bare_open:4.1f}) | open+json.loads {js_dec:6.1f} us (x{dec / js_dec:4.2f})")


def cpython() -> None:
    print("CPython", sys.version.split()[0], "(cryptography AESCCM backend)")
    aead = AESCCM(KEY, tag_length=frame.TAG_LEN)
    for name, m in (("hourly", HOURLY), ("daily", DAILY)):
        _compare(name, m, aead)
    print("  (xN: the codec's time / the reference's; over bare CCM the codec adds the payload "
          "encoding or decoding and the dict checks)")


def micropython() -> None:
    mp = Path(sys.executable).parent / "micropython"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(MP_SCRIPT)
        script = f.name
    data = json.dumps([["hourly", HOURLY], ["daily", DAILY]]).encode()
    proc = subprocess.run(
        [str(mp), script],
        input=data,
        capture_output=True,
        timeout=300,
        env={"MICROPYPATH": f"{ROOT}:.frozen", "PATH": "/usr/bin:/bin"},
    )
    Path(script).unlink()
    if proc.returncode:
        print(proc.stdout.decode(), proc.stderr.decode())
        raise SystemExit("micropython run failed")
    print("MicroPython (unix port, 64-bit; pure ccm.py over cryptolib), per frame:")
    for line in proc.stdout.decode().splitlines():
        _, name, what, b, _, us, _ = line.split()
        print(f"  {name:7} {what:16} heap {int(b):6} B   time {int(us):6} us")


if __name__ == "__main__":
    cpython()
    micropython()
