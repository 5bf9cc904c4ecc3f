"""Downlink COMMANDs: execute once per cmd_id, persist the effect, queue a COMMAND_RESULT.

Loaded on first use. Parameters follow protocol.tables.COMMANDS; all are integers:
set_interval(channel, sample_s, upload_s), set_calibration(channel, ct_ratio, burden_mohm,
voltage_dv, pf_milli, pulse_ml), set_threshold(channel, kind, value), set_time(time),
reboot(), resend(from_counter, to_counter).
"""

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
        if c is None or c["type"] != "ct" or not 1 <= p["sample_s"] <= 3600:
            return "bad_params", 1
        c["sample_every_s"] = p["sample_s"]
        app.state.data["cal"].setdefault(str(c["id"]), {})["sample_every_s"] = p["sample_s"]
    return "ok", 0


def _set_calibration(app, p):
    c = _chan(app, p)
    if c is None:
        return "bad_params", 0
    o = {}
    for k in ("ct_ratio", "burden_mohm", "voltage_dv", "pulse_ml"):
        if k in p and p[k] < 1:
            return "bad_params", 0
    if c["type"] == "ct":
        if "pulse_ml" in p:
            return "bad_params", 6
        if "ct_ratio" in p:
            o["ct_ratio"] = p["ct_ratio"]
        if "burden_mohm" in p:
            o["burden_ohm"] = p["burden_mohm"] / 1000
        if "voltage_dv" in p:
            o["nominal_v"] = p["voltage_dv"] / 10
        if "pf_milli" in p:
            if not 0 <= p["pf_milli"] <= 1000:
                return "bad_params", 5
            o["pf"] = p["pf_milli"] / 1000
    else:
        if "pulse_ml" not in p or len(p) != 2 or p["pulse_ml"] < 1:
            return "bad_params", 6
        o["pulse_ml"] = p["pulse_ml"]
        o["litres_per_pulse"] = p["pulse_ml"] / 1000
    if not o:
        return "bad_params", 0
    c.update(o)
    app.state.data["cal"].setdefault(str(c["id"]), {}).update(o)
    for ch in app.meter.chans:
        if ch.id == c["id"] and c["type"] == "ct":
            ch.dev.calibrate(c)
    return "ok", 0


def _set_threshold(app, p):
    c = _chan(app, p)
    kind = p.get("kind", 0)
    if c is None or kind not in (0, 1) or p.get("value", 0) < 0:
        return "bad_params", 0
    app.state.data["thr"][str(c["id"])] = [kind, p.get("value", 0)]
    return "ok", 0


def _set_time(app, p):
    t = p["time"]
    if not 0 < t < 0xFFFFFFFF:
        return "bad_params", 1
    delta = t - app.hal.time()
    if app.hal.set_time(t):
        app.clock.jump += delta
    app.clock.synced = True
    return "ok", delta


def _reboot(app, p):
    app.reboot_at = app.hal.ticks_add(app.hal.ticks_ms(), 30000)  # give the result 30 s to leave
    return "ok", 0


def _resend(app, p):
    lo = p["from_counter"]
    hi = p.get("to_counter", 0xFFFFFFFF)
    if hi < lo:
        return "bad_params", 2
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


def execute(app, cmd):
    cid = cmd["cmd_id"]
    done = app.state.data["cmds"]
    if cid in done:
        return  # already executed; its result is in the queue or delivered
    fn = _TABLE.get(cmd["name"])
    if fn is None:
        status, detail = "unknown_command", 0
    else:
        try:
            status, detail = fn(app, cmd.get("params") or {})
        except (KeyError, ValueError, TypeError):
            status, detail = "bad_params", 0
        except (OSError, ArithmeticError, AttributeError, IndexError):
            status, detail = "failed", 0
    app.log("command %d %s -> %s" % (cid, cmd["name"], status))
    done.append(cid)
    if len(done) > _KEEP:
        done.pop(0)
    app.state.save()
    app.emit({"type": "command_result", "cmd_id": cid, "status": status, "detail": detail})
