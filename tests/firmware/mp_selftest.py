"""MicroPython side of the self-test test: firmware.selftest.run on a SimHal set up from JSON.

Usage: micropython mp_selftest.py CASE.json, CASE = {"config": path, "feed": path or null,
"modem": "host:port" or null, "idle": {channel: level}, "reg_wait_s", "limit_s",
"modem_type": set after the config check (a type without an AT table), "stream_error": the
name of an exception SimHal.modem_stream raises (bad UART pins on a board)}.
Prints "RESULT {"checks": [[name, status, detail], ...], "ms": elapsed, "power": [on, ...]}"
(power: the HAL's modem_power calls, in order).
"""

import json
import sys
import time

from firmware import config, selftest
from firmware.hal_sim import SimHal


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    cfg, errs, _h = config.load(case["config"])
    if cfg is None or errs:
        raise SystemExit("bad test config: " + repr(errs))
    hal = SimHal(case.get("state", "."), start=1767225600, feed=case.get("feed"),
                 modem=case.get("modem"))
    for ch, level in case.get("idle", {}).items():
        hal.idle_level[int(ch)] = level
    if case.get("modem_type"):
        cfg["modem"]["type"] = case["modem_type"]
    power = []
    modem_power = hal.modem_power

    def record(on):
        power.append(on)
        modem_power(on)

    hal.modem_power = record
    err = case.get("stream_error")
    if err:
        async def broken(m):
            raise {"ValueError": ValueError, "OSError": OSError}[err]("invalid pin")

        hal.modem_stream = broken
    t0 = time.ticks_ms()
    res = selftest.run(cfg, hal, reg_wait_s=case.get("reg_wait_s", 3),
                       limit_s=case.get("limit_s", 30))
    ms = time.ticks_diff(time.ticks_ms(), t0)
    print("RESULT " + json.dumps({"checks": [[k, v[0], v[1]] for k, v in res.items()],
                                  "ms": ms, "power": power}))


main()
