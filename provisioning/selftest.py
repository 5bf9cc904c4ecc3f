"""The on-board self-test: the board validates its own config and checks its hardware.

Runs on the board over the raw REPL after the files are written. Checks, each "ok", "fail"
or "n/a", in this order: `config` (firmware/config.py loads config.json without errors; its
hash), `modules` (every firmware module imports), then the firmware's own hardware self-test,
`firmware/selftest.py` `run(cfg)`: `adcN` per CT channel (not stuck at a rail, bias near
mid-rail, no clipping, and the RMS current it measures), `pulseN` per pulse channel (idle
level matches the edge), `modem`, `sim`, `signal`, `network` (AT, AT+CPIN?, AT+CSQ,
registration within 60 s; no data connection) and `heap`. The same code runs on a board
(BoardHal) and on the unix port (SimHal; no modem there). A firmware without
`firmware/selftest.py` (an older release kept with --config-only) reports the hardware "n/a".
Thresholds and what to do on a failure: docs/INSTALLER.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from provisioning.board import Board
from provisioning.errors import BoardExecError

__all__ = ["TIMEOUT_S", "SelfTest", "run_selftest"]

# The board's self-test stops itself after 100 s (firmware/selftest.py LIMIT_S: up to 60 s of
# it waiting for network registration); the rest covers importing every module from source.
TIMEOUT_S = 150

_SCRIPT = """\
import json
try:
    from collections import OrderedDict as _D
except ImportError:
    _D = dict
r = _D()
mods = %(mods)r
cfg = None
try:
    from firmware import config as _c
    cfg, errs, h = _c.load("config.json")
    if cfg is None:
        r["config"] = ["fail", errs[0][1]]
    elif errs:
        r["config"] = ["fail", "; ".join([e[1] for e in errs])]
    else:
        r["config"] = ["ok", "device %%08x, %%d channel(s)" %% (cfg["device_id"],
                                                              len(cfg["channels"]))]
        r["_hash"] = h & 0xFFFFFFFF
        r["_id"] = cfg["device_id"]
except Exception as e:
    r["config"] = ["fail", repr(e)]
bad = []
for m in mods or ():
    try:
        __import__("firmware." + m)
    except Exception as e:
        bad.append(m + ": " + repr(e))
if mods is None:
    r["modules"] = ["n/a", "not checked: this tool has no firmware files to list them"]
else:
    r["modules"] = ["fail", "; ".join(bad)] if bad else ["ok", "%%d modules import" %% len(mods)]
if cfg is None:
    r["hardware"] = ["n/a", "config not loaded"]
else:
    try:
        from firmware import selftest as _st
    except ImportError:
        _st = None
    if _st is None:
        r["hardware"] = ["n/a", "firmware has no selftest module"]
    else:
        try:
            for k, v in _st.run(cfg).items():
                r[k] = list(v)
        except Exception as e:
            r["hardware"] = ["fail", "self-test error: " + repr(e)]
print(json.dumps(r))
"""


@dataclass(frozen=True, slots=True)
class SelfTest:
    """The checks and what the board computed from its own config."""

    checks: dict[str, tuple[str, str]]
    config_hash: int | None
    device_id: int | None

    @property
    def failed(self) -> list[str]:
        return [k for k, (status, _d) in self.checks.items() if status == "fail"]


def run_selftest(board: Board, modules: list[str] | None) -> SelfTest:
    """Run the checks on `board`; `modules` are the firmware module names to import (None:
    unknown here, the `modules` check says "n/a")."""
    out = board.run(_SCRIPT % {"mods": modules}, timeout_s=TIMEOUT_S)
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BoardExecError("the self-test gave no result", where=board.where, why=out[-200:],
                             todo="reset the board and run `meterkit provision check`") from None
    checks = {k: (str(v[0]), str(v[1])) for k, v in data.items() if not k.startswith("_")}
    return SelfTest(checks, data.get("_hash"), data.get("_id"))
