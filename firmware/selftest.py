"""Installer self-test: CT inputs, pulse inputs, modem, SIM, signal, network registration, heap.

Imported only by the provisioning self-test (provisioning/selftest.py, over the raw REPL),
never by the running firmware. `run(cfg)` returns {name: (status, detail)}, in check order;
status is "ok", "fail" or "n/a", detail a short English text with the measured figure. It uses
the HAL only (BoardHal on a board, SimHal on the unix port), never opens a data connection and
leaves the modem powered down, also when it times out or fails.
Thresholds and what a failure means: docs/INSTALLER.md ("Self-test checks").
"""

import gc
import sys
import time

try:
    from collections import OrderedDict as _Dict  # the installer reads the checks in order
except ImportError:
    _Dict = dict

_FULL = 65535
_RAIL = 0.05  # mean within 5 % of a rail: stuck input (no bias network, wrong pin)
_BIAS = 0.15  # mean further than this from 50 %: bias network wrong, clips early on one side
_CSQ_MIN = 5  # CSQ 0..4 (below -103 dBm): too weak for a reliable link
_REG = {0: "not searching", 1: "home network", 2: "searching", 3: "denied", 5: "roaming"}
_OFF = {"sim7000": "AT+CPOWD=1", "sim7600": "AT+CPOF", "bg96": "AT+QPOWD"}
LIMIT_S = 100  # the whole self-test (provisioning gives the raw REPL more)
REG_WAIT_S = 60  # network registration after power-on takes up to about a minute


def run(cfg, hal=None, reg_wait_s=REG_WAIT_S, limit_s=LIMIT_S):
    t0 = time.ticks_ms()
    if hal is None:
        if sys.platform == "linux":
            from firmware.hal_sim import SimHal

            hal = SimHal(".")
        else:
            from firmware.hal_board import BoardHal

            hal = BoardHal()
    hal.attach(cfg)
    r = _Dict()
    for c in cfg["channels"]:
        ct = c["type"] == "ct"
        try:
            res = _ct(hal, c) if ct else _pulse(hal, c)
        except Exception as e:  # a wrong pin raises here on a board: report it, go on
            res = ("fail", "pin %d: %r" % (c["pin"], e))
        r[("adc%d" if ct else "pulse%d") % c["id"]] = res
        gc.collect()
    left = limit_s * 1000 - time.ticks_diff(time.ticks_ms(), t0)
    _modem(hal, cfg["modem"], r, reg_wait_s, left if left > 1000 else 1000)
    gc.collect()
    r["heap"] = ("ok", "%d bytes free after the checks" % gc.mem_free())
    return r


# -- inputs ----------------------------------------------------------------------------------
def _level(buf):
    """(status, text) of one burst's DC level: stuck at a rail, or bias away from mid-rail."""
    lo = min(buf)
    hi = max(buf)
    f = sum(buf) / len(buf) / _FULL
    t = "ADC counts %d..%d, bias %.1f %% of range" % (lo, hi, f * 100)
    if f < _RAIL or f > 1 - _RAIL:
        return "fail", t + ": stuck at a rail (no bias network or wrong pin)"
    if abs(f - 0.5) > _BIAS:
        return "fail", t + ": bias far from mid-rail (check the bias resistors)"
    if lo == 0 or hi == _FULL:
        return "fail", t + ": clipping (current above the clamp's range)"
    return "ok", t


def _ct(hal, c):
    from firmware.ct import CtChannel

    ch = CtChannel(hal, c)
    ch.burst()  # the firmware's own maths and calibration: Irms as the meter will report it
    st, t = _level(ch._buf)
    if st == "ok" and ch.fault:  # the rails are covered above: what is left is a flat input
        st, t = "fail", t + ": no noise at all (input not connected to the ADC?)"
    t += ", %.2f A rms" % ch.irms
    if ch._vbuf is not None:
        vst, vt = _level(ch._vbuf)
        if vst != "ok":
            return vst, "voltage input " + vt
        t += ", %.0f V rms" % ch.vrms
    return st, t


def _noop(pin):
    pass


def _pulse(hal, c):
    lv = hal.pulse_setup(c["id"], c, _noop)
    want = 1 if c["edge"] == "falling" else 0
    if lv == want:
        return "ok", "idle level %d (contact open, %s edge)" % (lv, c["edge"])
    return "fail", ("idle level %d, expected %d for a %s edge: contact closed or shorted, wrong "
                    "pin or pull (or the meter stopped with its magnet on the reed)"
                    % (lv, want, c["edge"]))


# -- modem -----------------------------------------------------------------------------------
def _modem(hal, m, r, reg_wait_s, left_ms):
    if m["type"] == "none":
        r["modem"] = ("n/a", "no modem in the config (modem.type none)")
        return
    if getattr(hal, "modem_addr", 0) is None:  # SimHal started without --modem
        r["modem"] = ("n/a", "simulated board without a modem")
        return
    import asyncio

    out = {}
    late = "self-test time limit reached after %d s" % (left_ms // 1000)
    try:
        asyncio.run(_bounded(hal, m, out, reg_wait_s, left_ms))
    except asyncio.TimeoutError:
        pass
    except Exception as e:  # the modem's answer (AtError), or bad pins, ...: one check fails
        late = ("modem error: " if "modem" in out else "") + _why(e)
    late = ("fail", late)
    for k in ("modem", "sim", "signal", "network"):
        r[k] = out.get(k) or late
        if r[k] is late:
            late = ("n/a", "not reached")


def _why(e):
    return str(e) if isinstance(e, OSError) else "%s: %s" % (type(e).__name__, e)


async def _bounded(hal, m, out, reg_wait_s, left_ms):
    import asyncio

    ms = 2000  # timed out or failed: a short wait for the power-down's answer
    try:
        await asyncio.wait_for_ms(_at(hal, m, out, reg_wait_s), left_ms)
        ms = 5000
    finally:  # whatever happened, the modem goes off: the firmware's boot switches it on
        await _off(hal, out.get("at"), m, ms)


async def _at(hal, m, out, reg_wait_s):
    from firmware.at_modem import AtError, AtModem
    from firmware.at_table import TABLES

    t = TABLES[m["type"]]
    try:
        rd, wr = await hal.modem_stream(m)
        at = AtModem(hal, rd, wr, t)
        try:
            await at.sync(8)
        except AtError:
            hal.modem_power(True)  # PWRKEY toggles: the first pulse may have switched it off
            await at.sync(8)
    except Exception as e:  # no answer (AtError), bad UART pins (ValueError on a board)
        out["modem"] = ("fail", "%s (%s, UART%d tx %d rx %d, %d baud): check power and wiring"
                        % (_why(e), m["type"], m["uart"], m["tx"], m["rx"], m["baud"]))
        out["sim"] = out["signal"] = out["network"] = ("n/a", "needs the modem")
        return
    out["at"] = at  # it answers: powered down with an AT command at the end
    out["modem"] = ("ok", "answers AT (%s)" % m["type"])
    try:
        await at.cmd("AT+CMEE=2")  # errors as text: "+CME ERROR: SIM not inserted"
    except AtError:
        pass
    t0 = time.ticks_ms()
    while True:  # the SIM needs a few seconds after the modem boots
        pin = await _cpin(at)
        if pin == "READY":
            out["sim"] = ("ok", "SIM ready")
            break
        if "PIN" in pin or "PUK" in pin or time.ticks_diff(time.ticks_ms(), t0) > min(
                10, reg_wait_s) * 1000:
            out["sim"] = ("fail", "SIM not ready: %s" % pin)
            out["signal"] = out["network"] = ("n/a", "needs the SIM")
            return
        await hal.sleep_ms(1000)
    t0 = time.ticks_ms()
    while True:  # the signal is read on every poll: it is known even if time runs out
        st = await at.registration()
        out["signal"] = _signal(await at.signal())
        ms = time.ticks_diff(time.ticks_ms(), t0)
        left = reg_wait_s * 1000 - ms
        if st in (1, 3, 5) or left <= 0:
            break
        await hal.sleep_ms(2000 if left > 2000 else left)
    s = ms // 1000
    name = _REG.get(st, "state %d" % st)
    if st in (1, 5):
        out["network"] = ("ok", "registered (%s) after %d s" % (name, s))
    elif st == 3:
        out["network"] = ("fail", "registration denied: SIM not activated or not allowed here")
    else:
        out["network"] = ("fail", "not registered after %d s (%s): coverage, antenna or the "
                          "SIM's network" % (s, name))


def _signal(csq):
    dbm = -113 + 2 * csq
    if csq == 99:
        return "fail", "no signal (CSQ 99): antenna not connected or no coverage"
    if csq < _CSQ_MIN:
        return "fail", "very weak: CSQ %d, %d dBm: move the antenna" % (csq, dbm)
    return "ok", "%sCSQ %d, %d dBm" % ("weak: " if csq < 10 else "", csq, dbm)


async def _cpin(at):
    """The SIM state ("READY", "SIM PIN", ...) or the modem's error."""
    from firmware.at_modem import AtError

    try:
        await at.cmd("AT+CPIN?")
    except AtError as e:
        return str(e)
    for ln in at.lines:
        if ln.startswith("+CPIN:"):
            return ln[6:].strip()
    return "no +CPIN answer"


async def _off(hal, at, m, ms):
    """Power the modem down as at power-on: the firmware's first PWRKEY pulse switches it on.
    Best effort, bounded: the model's power-down command (if the modem answered), then the
    HAL's power switch."""
    try:
        if at is not None:
            await at.cmd(_OFF[m["type"]], ("OK", "NORMAL POWER DOWN", "POWERED DOWN"), ms)
    except Exception:  # no answer, stream gone: the power switch is all that is left
        pass
    try:
        hal.modem_power(False)
    except Exception:  # e.g. a bad power pin: the other results still count
        pass
