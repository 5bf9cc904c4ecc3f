"""Downlink COMMANDs: execute once per cmd_id, persist the effect, queue a COMMAND_RESULT.

Loaded on first use. Parameters follow protocol.command.COMMANDS; all are integers:
set_interval(channel, sample_s, upload_s), set_calibration(channel, ct_ratio, burden_mohm,
voltage_dv, pf_milli, pulse_ml), set_threshold(channel, kind, value), set_time(time),
reboot(), resend(from_counter, to_counter). Meanings and ranges: PROTOCOL.md 5.6. A
bad_params result's detail is the table index of the parameter at fault, -1 if none is.
"""

import json

_KEEP = 16  # cmd_ids remembered (the gateway repeats a command until its result arrives)


def _chan(app, p):
    ch = p.get("channel")
    for c in app.cfg["channels"]:
        if c["id"] == ch:
            return c
    return None


def _set_interval(app, p):
    if "upload_s" in p:
        if not 0 <= p["upload_s"] <= 86400:
            return "bad_params", 2
        app.state.data["upload_s"] = p["upload_s"]
    if "sample_s" in p:
        c = _chan(app, p)
        if c is None or c["type"] != "ct":  # bursts exist on CT channels only
            return "bad_params", 0
        if not 1 <= p["sample_s"] <= 3600:
            return "bad_params", 1
        c["sample_every_s"] = p["sample_s"]
        app.state.data["cal"].setdefault(str(c["id"]), {})["sample_every_s"] = p["sample_s"]
    return "ok", 0


def _set_calibration(app, p):
    c = _chan(app, p)
    if c is None:
        return "bad_params", 0
    o = {}
    for i, k in ((1, "ct_ratio"), (2, "burden_mohm"), (3, "voltage_dv"), (5, "pulse_ml")):
        if k in p and p[k] < 1:
            return "bad_params", i
    if c["type"] == "ct":
        if "pulse_ml" in p:
            return "bad_params", 5
        if "ct_ratio" in p:
            o["ct_ratio"] = p["ct_ratio"]
        if "burden_mohm" in p:
            o["burden_ohm"] = p["burden_mohm"] / 1000
        if "voltage_dv" in p:
            o["nominal_v"] = p["voltage_dv"] / 10
        if "pf_milli" in p:
            if not 0 <= p["pf_milli"] <= 1000:
                return "bad_params", 4
            o["pf"] = p["pf_milli"] / 1000
    else:
        for i, k in ((1, "ct_ratio"), (2, "burden_mohm"), (3, "voltage_dv"), (4, "pf_milli")):
            if k in p:  # a CT setting sent to a pulse channel
                return "bad_params", i
        if "pulse_ml" not in p:
            return "bad_params", -1
        o["pulse_ml"] = p["pulse_ml"]
        o["litres_per_pulse"] = p["pulse_ml"] / 1000
    if not o:
        return "bad_params", -1
    c.update(o)
    app.state.data["cal"].setdefault(str(c["id"]), {}).update(o)
    for ch in app.meter.chans:
        if ch.id == c["id"] and c["type"] == "ct":
            ch.dev.calibrate(c)
    return "ok", 0


def _set_threshold(app, p):
    c = _chan(app, p)
    kind = p.get("kind", 0)
    if c is None:
        return "bad_params", 0
    if kind not in (0, 1):
        return "bad_params", 1
    if p.get("value", 0) < 0:
        return "bad_params", 2
    app.state.data["thr"][str(c["id"])] = [kind, p.get("value", 0)]
    return "ok", 0


def _set_time(app, p):
    t = p.get("time", 0)
    if not 0 < t < 0xFFFFFFFF:
        return "bad_params", 0
    delta = t - app.hal.time()
    if app.hal.set_time(t):
        app.clock.jump += delta
    app.clock.synced = True
    return "ok", delta


def _reboot(app, p):
    app.reboot_at = app.hal.ticks_add(app.hal.ticks_ms(), 30000)  # give the result 30 s to leave
    return "ok", 0


def _resend(app, p):
    lo = p.get("from_counter", -1)
    if lo < 0:
        return "bad_params", 0
    hi = p.get("to_counter", 0xFFFFFFFF)
    if hi < lo:
        return "bad_params", 1
    if not app.session.resend(lo, hi):
        return "not_available", 0
    return "ok", 0


_TABLE = {
    "set_interval": _set_interval,
    "set_calibration": _set_calibration,
    "set_threshold": _set_threshold,
    "set_time": _set_time,
    "reboot": _reboot,
    "resend": _resend,
}


def _settings(d):
    return json.dumps([d.get("upload_s"), d["cal"], d["thr"]])


def _undo(app, chans, keep):
    """Back to the settings of before the command (`chans`: copies of the channel dicts)."""
    d = app.state.data
    u, d["cal"], d["thr"] = json.loads(keep)
    if u is None:
        d.pop("upload_s", None)
    else:
        d["upload_s"] = u
    for c, o in zip(app.cfg["channels"], chans):
        c.clear()
        c.update(o)
    for ch in app.meter.chans:
        if ch.cfg["type"] == "ct":
            ch.dev.calibrate(ch.cfg)


def execute(app, cmd):
    """A setting is answered ok only once it is in the state file; otherwise it is undone."""
    cid = cmd["cmd_id"]
    d = app.state.data
    done = d["cmds"]
    if cid in done:
        return  # already executed; its result is in the queue or delivered
    chans = [dict(c) for c in app.cfg["channels"]]
    keep = _settings(d)
    fn = _TABLE.get(cmd["name"])
    if fn is None:
        status, detail = "unknown_command", 0
    else:
        try:
            status, detail = fn(app, cmd.get("params") or {})
        except (KeyError, ValueError, TypeError):
            status, detail = "bad_params", -1
        except (OSError, ArithmeticError, AttributeError, IndexError):
            status, detail = "failed", 0
    changed = _settings(d) != keep
    if changed and status != "ok":  # rejected half-way (set_interval): nothing applied
        _undo(app, chans, keep)
        changed = False
    d["cmds"] = (done + [cid])[-_KEEP:]
    why = ""
    if not app.state.save() and changed:
        # the change would live in RAM only: lost at a reboot, or written by a later save
        # though answered failed. Undone, and not marked done: the gateway may send it again.
        _undo(app, chans, keep)
        d["cmds"] = done
        status, detail = "failed", 28  # ENOSPC
        why = ": state not saved: flash full"
    app.log("command %d %s -> %s%s" % (cid, cmd["name"], status, why))
    app.emit({"type": "command_result", "cmd_id": cid, "status": status, "detail": detail})
