
"""MicroPython side of the full-flash command test: firmware.commands.execute on a littlefs in
RAM filled to the last byte (state saves fail), then with room again. Prints "RESULT {json}"."""

import json
import os

import vfs
from mp_fullfs import BS, fill_all

from firmware import commands
from firmware.blockdev import BlockDev
from firmware.fqueue import FlashQueue
from firmware.state import State


class Dev:
    def __init__(self, c):
        self.ct_ratio = c["ct_ratio"]

    def calibrate(self, c):
        self.ct_ratio = c["ct_ratio"]


class Chan:
    def __init__(self, c):
        self.cfg = c
        self.id = c["id"]
        self.dev = Dev(c)


class Obj:
    pass


class Hal:
    def __init__(self):
        self.t = 1767225600

    def time(self):
        return self.t

    def set_time(self, t):
        self.t = t
        return True

    def ticks_ms(self):
        return 0

    def ticks_add(self, a, b):
        return a + b


def app_on(root):
    q = FlashQueue(root + "/q", 16 * 1024, 1200)
    app = Obj()
    app.state = State(root + "/state")
    app.state.room = q.make_room
    app.state.save()
    app.cfg = {"channels": [
        {"id": 0, "type": "ct", "ct_ratio": 2000, "burden_ohm": 33.0, "nominal_v": 230.0,
         "pf": 1.0, "sample_every_s": 10, "unit": "Wh"},
        {"id": 1, "type": "pulse", "pulse_ml": 10000, "litres_per_pulse": 10.0, "unit": "L"},
    ]}
    app.meter = Obj()
    app.meter.chans = [Chan(app.cfg["channels"][0])]
    app.hal = Hal()
    app.clock = Obj()
    app.clock.jump = 0
    app.clock.synced = False
    app.reboot_at = None
    app.sent = []
    app.log = print
    app.emit = app.sent.append
    return app


def run(app, cid, name, params):
    n = len(app.sent)
    commands.execute(app, {"cmd_id": cid, "name": name, "params": params})
    return [[m["status"], m["detail"]] for m in app.sent[n:]]


def main():
    bd = BlockDev(BS, 64)
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), "/f")
    app = app_on("/f")
    c0, c1 = app.cfg["channels"]
    out = {}
    names = fill_all()
    out["full_saved"] = app.state.save()
    out["cal"] = run(app, 1, "set_calibration", {"channel": 0, "ct_ratio": 3000})
    out["cal_pulse"] = run(app, 2, "set_calibration", {"channel": 1, "pulse_ml": 20000})
    out["thr"] = run(app, 3, "set_threshold", {"channel": 0, "kind": 0, "value": 50})
    out["interval"] = run(app, 4, "set_interval", {"upload_s": 600})
    out["time"] = run(app, 5, "set_time", {"time": 1767225700})  # no settings: not undone
    # what the board runs with after the failed commands: the old settings
    d = app.state.data
    out["ram"] = json.loads(json.dumps([  # a copy: the dicts change later
        c0["ct_ratio"], app.meter.chans[0].dev.ct_ratio, c1["pulse_ml"], c1["litres_per_pulse"],
        d["cal"], d["thr"], "upload_s" in d, d["cmds"]]))
    # a later save (the meter's registers) must not make the failed commands durable
    for name in names:
        os.remove(name)
    out["later_saved"] = app.state.save()
    s = State("/f/state").data
    out["file_after_failure"] = [s["cal"], s["thr"], "upload_s" in s]
    # the gateway sends a failed command again: executed, now durable and answered ok
    out["again"] = run(app, 1, "set_calibration", {"channel": 0, "ct_ratio": 3000})
    out["again_twice"] = run(app, 1, "set_calibration", {"channel": 0, "ct_ratio": 3000})
    s = State("/f/state").data
    out["file_after_ok"] = [s["cal"], s["cmds"]]
    out["ram_after_ok"] = [c0["ct_ratio"], app.meter.chans[0].dev.ct_ratio]
    # rejected half-way (upload_s valid, sample_s not): nothing of it applied
    out["half"] = run(app, 6, "set_interval", {"channel": 0, "sample_s": 0, "upload_s": 600})
    out["half_applied"] = ["upload_s" in app.state.data, "upload_s" in State("/f/state").data]
    print("RESULT " + json.dumps(out))


main()
