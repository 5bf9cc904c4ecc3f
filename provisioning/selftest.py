"""The on-board self-test: the board validates its own config and checks its inputs.

Runs on the board over the raw REPL after the files are written. Checks, each "ok", "fail"
or "n/a": `config` (firmware/config.py loads config.json without errors; its hash),
`modules` (every firmware module imports), then the hardware: if the firmware provides
`firmware/selftest.py` with `run(cfg) -> {name: (status, detail)}` (the entry point proposed in
docs/decisions/013-provisioning.md: modem answers AT, SIM present, ADC reads, pulse level) it
is used; on the unix port the simulated HAL's ADC and pulse inputs are read instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from provisioning.board import Board
from provisioning.errors import BoardExecError

__all__ = ["SelfTest", "run_selftest"]

_SCRIPT = """\
import sys, json
r = {}
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
for m in mods:
    try:
        __import__("firmware." + m)
    except Exception as e:
        bad.append(m + ": " + repr(e))
r["modules"] = ["fail", "; ".join(bad)] if bad else ["ok", "%%d modules import" %% len(mods)]
try:
    from firmware import selftest as _st
except ImportError:
    _st = None
if _st is not None and cfg is not None:
    for k, v in _st.run(cfg).items():
        r[k] = list(v)
elif sys.platform == "linux" and cfg is not None:
    import array
    from firmware.hal_sim import SimHal
    hal = SimHal(".")
    for c in cfg["channels"]:
        hal.chan_cfg[c["id"]] = c
        if c["type"] == "ct":
            buf = array.array("H", bytes(128))
            hal.adc_burst(c["id"], buf, 64, 625)
            lo, hi = min(buf), max(buf)
            ok = 4096 < lo and hi < 61440
            r["adc%%d" %% c["id"]] = ["ok" if ok else "fail", "counts %%d..%%d" %% (lo, hi)]
        else:
            lv = hal.pulse_setup(c["id"], c, lambda p: None)
            want = 1 if c["edge"] == "falling" else 0
            r["pulse%%d" %% c["id"]] = ["ok" if lv == want else "fail", "idle level %%d" %% lv]
    r["modem"] = ["n/a", "unix port: no modem"]
else:
    for k in ("modem", "sim", "adc", "pulse"):
        r[k] = ["n/a", "firmware has no selftest entry point"]
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


def run_selftest(board: Board, modules: list[str]) -> SelfTest:
    """Run the checks on `board`; `modules` are the firmware module names to import."""
    out = board.run(_SCRIPT % {"mods": modules}, timeout_s=30)
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BoardExecError("the self-test gave no result", where=board.where, why=out[-200:],
                             todo="reset the board and run `meterkit provision check`") from None
    checks = {k: (str(v[0]), str(v[1])) for k, v in data.items() if not k.startswith("_")}
    return SelfTest(checks, data.get("_hash"), data.get("_id"))
