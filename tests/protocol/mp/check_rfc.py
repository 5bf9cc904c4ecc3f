"""MicroPython checker: ccm.py over cryptolib against the RFC 3610 packet vectors (M = 8).

argv[1] = vectors dir. Expected values come from rfc3610.json (copied from the RFC).
"""

import gc
import sys
from binascii import unhexlify

import cryptolib
from vecio import check, counted, finish, h, load

from protocol import crypto
from protocol.ccm import CCM

check(crypto.Cipher.backend == "ccm.py+cryptolib", "backend is " + crypto.Cipher.backend)
n = 0
for v in load(sys.argv[1] + "/rfc3610.json"):
    n += 1
    key = unhexlify(v["key"])
    nonce = unhexlify(v["nonce"])
    inp = unhexlify(v["input"])
    hl = v["header_len"]
    ccm = CCM(cryptolib.aes(key, 1).encrypt, v["tag_len"])
    out = inp[:hl] + ccm.encrypt(nonce, inp[:hl], inp[hl:])
    check(h(out) == v["output"], v["name"] + " encrypt " + h(out))
    check(ccm.decrypt(nonce, inp[:hl], unhexlify(v["output"])[hl:]) == inp[hl:], v["name"])
    # The same through crypto.Cipher, which frames use.
    c = crypto.Cipher(key) if v["tag_len"] == 8 and len(key) == 16 else None
    if c is not None:
        check(c.encrypt(nonce, inp[:hl], inp[hl:]) == unhexlify(v["output"])[hl:], v["name"])
    gc.collect()
counted("rfc3610", n)
finish()
